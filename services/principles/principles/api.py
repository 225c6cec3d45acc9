from services.chassis.resources import crud_router
from services.principles.principles.service import principles

router = crud_router(principles)
