"""The principles service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.principles.principles.api import router as principles_router
from services.principles.principles.service import principles

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """Comply or explain ("pas toe of leg uit"): principles in five categories, automatic
evaluation of initiatives against them, explanations recorded in advance and approved by a second
person, and simplicity reviews at the start and during execution."""


create_app = service_factory(
    "principles",
    title="IV-platform: principles",
    description=DESCRIPTION,
    collections=[principles],
    routers=[principles_router],
    migrations_dir=MIGRATIONS,
)
