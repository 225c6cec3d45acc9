"""The valuechains service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.valuechains.chains.api import router as chains_router
from services.valuechains.chains.service import chains

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """IT value chains ("IV-waardeketens"): production lines that each equip one part of
police work with good IT, owning renewal and maintenance alike. Each chain has exactly one
accountable owner from operations, who weighs investment between maintenance, security and renewal."""


create_app = service_factory(
    "valuechains",
    title="IV-platform: valuechains",
    description=DESCRIPTION,
    collections=[chains],
    routers=[chains_router],
    migrations_dir=MIGRATIONS,
)
