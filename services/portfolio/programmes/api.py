from services.chassis.resources import crud_router
from services.portfolio.programmes.service import programmes

router = crud_router(programmes)
