"""The portfolio service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.portfolio.programmes.api import router as programmes_router
from services.portfolio.programmes.service import programmes

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """The rolling portfolio: remade several times a year in rounds. Big ambitions live in
programmes, made of small initiatives that deliver working functionality; the register of EBOs
(systems units built themselves) and the search for things built twice ("ontdubbelen")."""


create_app = service_factory(
    "portfolio",
    title="IV-platform: portfolio",
    description=DESCRIPTION,
    collections=[programmes],
    routers=[programmes_router],
    migrations_dir=MIGRATIONS,
)
