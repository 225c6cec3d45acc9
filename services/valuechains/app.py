"""The valuechains service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.valuechains.allocations.api import router as allocations_router
from services.valuechains.allocations.service import allocations
from services.valuechains.applications.api import router as applications_router
from services.valuechains.applications.service import applications
from services.valuechains.chains.api import router as chains_router
from services.valuechains.chains.service import chains
from services.valuechains.reports.api import router as reports_router
from services.valuechains.settings import ValuechainsSettings
from services.valuechains.teams.api import router as teams_router
from services.valuechains.teams.service import teams

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """IT value chains ("IV-waardeketens"): production lines that each equip one part of
police work with good IT, owning renewal and maintenance alike. Each chain has exactly one
accountable owner from operations (the ketenverantwoordelijke), who manages the chain's agile teams
and weighs its investment between maintenance (beheer), security (beveiliging) and renewal
(vernieuwing). Each chain's applications show how good its foundation is ("een goed fundament"):
support, releases and open security findings, summed up as technical debt (technische schuld).

Who may write: an admin everything; a `chain_owner` only the chains whose `owner.subject` is their
token's `sub`, with those chains' teams, allocations and applications (403 otherwise). Everyone with a
role reads, except confidential and secret applications, which need a clearance of that level."""

TAGS = [
    {
        "name": "chains",
        "description": (
            "IV-waardeketens. Each has exactly one owner (`owner`: the ketenverantwoordelijke from "
            "operations); only that owner or an admin changes it; reassigning the owner is an explicit, "
            "audited admin action (`PUT /v1/chains/{id}/owner`)."
        ),
    },
    {
        "name": "teams",
        "description": (
            "The agile teams of a chain, with internal (eigen personeel) and external (inhuur) FTE and "
            "maturity. Managed by the chain's owner; moving a team between chains is audited."
        ),
    },
    {
        "name": "allocations",
        "description": (
            "The owner's split of a period's budget between beheer, beveiliging and vernieuwing, set with "
            "PUT per chain and period. Every revision is kept."
        ),
    },
    {
        "name": "applications",
        "description": (
            "The applications each chain delivers and keeps running: een goed fundament. End of support, "
            "last release and open security findings make technical debt (technische schuld) visible; every "
            "chain shows its open critical findings and applications past support. Managed by the chain's "
            "owner; need to know applies to confidential and secret ones."
        ),
    },
    {
        "name": "reports",
        "description": "Staffing mix, investment split and the foundation (technical debt), computed in the database.",
    },
    {"name": "references", "description": "Who points at a resource (ask before archiving)."},
    {"name": "changes", "description": "The change feed: audit trail and outbox, hash-chained."},
]

create_app = service_factory(
    "valuechains",
    title="IV-platform: valuechains",
    description=DESCRIPTION,
    collections=[chains, teams, allocations, applications],
    routers=[chains_router, teams_router, allocations_router, applications_router, reports_router],
    migrations_dir=MIGRATIONS,
    tags=TAGS,
    settings_class=ValuechainsSettings,
)
