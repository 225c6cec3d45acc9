"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented chains, people and figures."""

from services.chassis.uow import RequestContext
from services.valuechains.chains.service import chains

# Fixed ids so the other services' demo data can point at these chains by href.
DEMO_CHAINS = [
    {
        "id": "019a0000-0000-7000-8000-000000000001",
        "code": "OPS",
        "name": "Opsporing",
        "domain": "Criminal investigation",
        "mission": "Equip investigation teams with reliable case, evidence and analysis systems.",
        "owner": {"subject": "demo-owner-ops", "name": "A. Jansen (demo)", "unit": "Eenheid Rotterdam"},
    },
    {
        "id": "019a0000-0000-7000-8000-000000000002",
        "code": "INT",
        "name": "Intelligence",
        "domain": "Intelligence and information position",
        "mission": "Give every unit a current, lawful information position on people, places and threats.",
        "owner": {"subject": "demo-owner-int", "name": "B. de Boer (demo)", "unit": "Landelijke Eenheid"},
    },
    {
        "id": "019a0000-0000-7000-8000-000000000003",
        "code": "INS",
        "name": "Intake en Service",
        "domain": "Intake, reporting and service to citizens",
        "mission": "Let citizens and businesses report and be helped online, by phone and at the desk.",
        "owner": {"subject": "demo-owner-ins", "name": "C. Visser (demo)", "unit": "Eenheid Oost-Nederland"},
    },
    {
        "id": "019a0000-0000-7000-8000-000000000004",
        "code": "NHM",
        "name": "Noodhulp en Meldkamer",
        "domain": "Emergency response and control rooms",
        "mission": "Keep control rooms and emergency response connected and available, always.",
        "owner": {"subject": "demo-owner-nhm", "name": "D. Smit (demo)", "unit": "Landelijke Meldkamer Samenwerking"},
    },
    {
        "id": "019a0000-0000-7000-8000-000000000005",
        "code": "BVO",
        "name": "Bedrijfsvoering",
        "domain": "Business operations (HR, finance, logistics)",
        "mission": "Run the force's own operations on simple, generic facilities.",
        "owner": {"subject": "demo-owner-bvo", "name": "E. Mulder (demo)", "unit": "Politiedienstencentrum"},
    },
]


async def load(ctx: RequestContext) -> None:
    for chain in DEMO_CHAINS:
        await chains.insert(ctx, chains.to_columns(chain))
