from services.chassis.resources import crud_router
from services.portfolio.initiatives.service import initiatives

router = crud_router(
    initiatives,
    descriptions={
        "create": (
            "Portfolio managers only. `value_chain` is checked with the valuechains service, with your "
            "token, before anything is stored: an unknown chain is 422 naming `value_chain`, an unreachable "
            "valuechains service 503. `end` before `start` is 422. kind: maintenance and security are run "
            "(beheer), renewal is vernieuwing."
        ),
        "update": (
            "`status` moves proposed → approved → active → delivered, or to stopped from any open state; any "
            "other move is 409 naming the allowed ones (`allowed`). A new `value_chain` is checked like on "
            "create; `end` before `start` is 422."
        ),
    },
)
