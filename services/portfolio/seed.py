"""Demo data for ``make run``. ILLUSTRATIVE ONLY: invented figures and people."""

from services.chassis.uow import RequestContext
from services.portfolio.programmes.service import programmes

DEMO_PROGRAMMES = [
    {
        "code": "VR",
        "name": "Vernieuwend Registreren",
        "ambition": "Register once, at the source, so every colleague can use it: fewer forms, better data.",
        "owner": {"subject": "demo-pm-vr", "name": "F. Bos (demo)", "unit": "Dienst IV"},
    },
    {
        "code": "MIB",
        "name": "Modernisering Informatievoorziening Bedrijfsvoering",
        "ambition": "Move business operations onto simple, generic facilities.",
        "owner": {"subject": "demo-pm-mib", "name": "G. Hendriks (demo)", "unit": "Politiedienstencentrum"},
    },
]


async def load(ctx: RequestContext) -> None:
    for programme in DEMO_PROGRAMMES:
        await programmes.insert(ctx, programmes.to_columns(programme))
