"""The portfolio service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.portfolio.duplicates.api import dismissals_router
from services.portfolio.duplicates.api import router as duplicates_router
from services.portfolio.duplicates.dismissals import dismissals
from services.portfolio.ebos.api import router as ebos_router
from services.portfolio.ebos.service import ebos
from services.portfolio.initiatives.api import router as initiatives_router
from services.portfolio.initiatives.service import initiatives
from services.portfolio.programmes.api import router as programmes_router
from services.portfolio.programmes.service import programmes
from services.portfolio.reports.api import router as reports_router
from services.portfolio.rounds.api import router as rounds_router
from services.portfolio.rounds.items import round_items
from services.portfolio.rounds.service import rounds
from services.portfolio.settings import PortfolioSettings

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """The rolling portfolio: remade several times a year in rounds. Big ambitions live in
programmes, made of small initiatives that deliver working functionality ("grote ambities, kleine
stappen"); each round ranks the initiatives and decides on each, against a target split between run
("beheer": maintenance and security) and renewal ("vernieuwing"), which the strategy wants to move
from about 66:34 toward renewal. Also the register of EBOs ("Eigen Beheerde Omgevingen": systems
units built themselves) and the search for things built twice ("ontdubbelen")."""

TAGS = [
    {"name": "programmes", "description": "Big ambitions (programma's), e.g. Vernieuwend Registreren."},
    {"name": "initiatives", "description": "Small initiatives that deliver working functionality."},
    {"name": "ebos", "description": "EBOs: Eigen Beheerde Omgevingen, systems units built and run themselves."},
    {"name": "rounds", "description": "The rolling portfolio: ranked rounds of decisions, and what changed."},
    {
        "name": "reports",
        "description": (
            "The run (beheer) : renewal (vernieuwing) ratio, per chain and over time, and the reconciliation of "
            "a year's money with the chain owners' allocations."
        ),
    },
    {"name": "duplicates", "description": "Ontdubbelen: EBOs and initiatives built twice."},
    {"name": "duplicate_dismissals", "description": "Candidate duplicates dismissed with a reason (and undone)."},
    {"name": "references", "description": "Who points at a resource."},
    {"name": "changes", "description": "The change feed and audit trail."},
    {"name": "operations", "description": "Health and readiness."},
]


create_app = service_factory(
    "portfolio",
    title="IV-platform: portfolio",
    description=DESCRIPTION,
    collections=[programmes, initiatives, ebos, rounds, round_items, dismissals],
    routers=[
        programmes_router,
        initiatives_router,
        ebos_router,
        rounds_router,
        reports_router,
        duplicates_router,
        dismissals_router,
    ],
    migrations_dir=MIGRATIONS,
    tags=TAGS,
    settings_class=PortfolioSettings,
)
