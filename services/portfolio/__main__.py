"""``python -m services.portfolio [prestart|migrate|seed|revision -m MSG|current|check]``."""

from services.chassis.cli import service_main
from services.portfolio.app import MIGRATIONS
from services.portfolio.models import Base
from services.portfolio.seed import load

service_main("portfolio", migrations_dir=MIGRATIONS, metadata=Base.metadata, seed=load)
