"""Demo data for ``make run``. ILLUSTRATIVE ONLY: the strategy's example principles, worded for this demo."""

from services.chassis.uow import RequestContext
from services.principles.principles.service import principles

DEMO_PRINCIPLES = [
    {
        "code": "CS-01",
        "category": "continuity_security",
        "title": "Continuïteit en security vóór doorontwikkeling en innovatie",
        "statement": "Keeping IT available and secure comes before further development and innovation.",
        "rationale": "The police cannot accept vulnerabilities in data or systems.",
        "implications": "Renewal waits where the foundation it builds on is not in order.",
        "applies_to": ["initiative"],
        "status": "active",
    },
    {
        "code": "RI-02",
        "category": "renewal_innovation",
        "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
        "statement": "Use cloud services first; sensitive police data stays on our own platforms.",
        "rationale": "Cloud gives speed and scale; sensitive police data cannot leave our control.",
        "implications": "Confidential and secret data is hosted on own platforms.",
        "applies_to": ["initiative", "ebo"],
        "rule": "!(subject.data_classification in ['confidential', 'secret']) || subject.hosting == 'own_platform'",
        "status": "active",
    },
]


async def load(ctx: RequestContext) -> None:
    for principle in DEMO_PRINCIPLES:
        await principles.insert(ctx, principles.to_columns(principle))
