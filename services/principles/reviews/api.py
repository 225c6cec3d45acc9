from services.chassis.resources import crud_router
from services.principles.reviews.schemas import CRITERIA_TEXT, OUTCOME_RULE
from services.principles.reviews.service import reviews

router = crud_router(
    reviews,
    descriptions={
        "list": "Filter by `subject`, `phase`, `outcome` or `reviewer`.",
        "get": "One simplicity review with its scores and the derived outcome.",
        "create": (
            "Architects record a review on simplicity (eenvoud) of a design or project, at `start` or during "
            "`execution`. The subject is read by reference with your token (older records about it follow its "
            "classification as read now). Criteria, each 1..5 (5 = "
            "simplest):\n\n" + CRITERIA_TEXT + "\n\nThe outcome is derived, never typed in: " + OUTCOME_RULE
        ),
        "update": "The reviewer (or an admin) rescores or adds notes; the outcome is derived again.",
        "archive": "Architects only: withdraw a review recorded by mistake.",
    },
)
