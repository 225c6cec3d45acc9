from services.chassis.resources import crud_router
from services.portfolio.programmes.service import programmes

router = crud_router(
    programmes,
    descriptions={
        "create": "Portfolio managers only. `code` is unique among programmes (409 when taken).",
        "update": "`status` moves proposed → active → completed; any other move is 409 naming the allowed ones.",
    },
)
