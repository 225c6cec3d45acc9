from services.chassis.migrations import run_env
from services.principles.models import Base

run_env(Base.metadata)
