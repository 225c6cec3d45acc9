"""``python -m services.valuechains [prestart|migrate|seed|revision -m MSG|current|check]``."""

from services.chassis.cli import service_main
from services.valuechains.app import MIGRATIONS
from services.valuechains.models import Base
from services.valuechains.seed import load

service_main("valuechains", migrations_dir=MIGRATIONS, metadata=Base.metadata, seed=load)
