"""``python -m services.principles [prestart|migrate|seed|revision -m MSG|current|check]``."""

from services.chassis.cli import service_main
from services.principles.app import MIGRATIONS
from services.principles.models import Base
from services.principles.seed import load

service_main("principles", migrations_dir=MIGRATIONS, metadata=Base.metadata, seed=load)
