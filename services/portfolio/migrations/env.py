from services.chassis.migrations import run_env
from services.portfolio.models import Base

run_env(Base.metadata)
