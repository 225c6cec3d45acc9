from services.chassis.resources import crud_router
from services.valuechains.chains.service import chains

router = crud_router(chains)
