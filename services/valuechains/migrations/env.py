from services.chassis.migrations import run_env
from services.valuechains.models import Base

run_env(Base.metadata)
