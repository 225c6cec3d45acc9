"""Demo data for ``make run``. ILLUSTRATIVE ONLY: the strategy's example principles worded for this
demo, plus a few more; invented people, explanations and reviews.

Ids are fixed (principles 019a0002-0000-..., explanations 019a0002-0001-..., reviews 019a0002-0002-...).
Subjects are the portfolio's demo initiatives, by href (not checked while seeding: the other services
may not run yet): 07 (active renewal on public cloud, confidential), 08 (approved renewal on public
cloud, confidential), 01 and 14 (active, on own platforms). Their classifications are recorded as the
portfolio's demo data has them, so need to know holds for the demo records too.

No assessments are seeded: they appear when someone evaluates (``POST /principles/v1/evaluations`` with
``{"subject": {"href": "/portfolio/v1/initiatives"}}``), and then show 07 `explained` and 08 `deviates`
on the cloud principle.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from services.chassis.db import utcnow
from services.chassis.uow import RequestContext
from services.principles.explanations.models import Explanation
from services.principles.explanations.service import explanations
from services.principles.principles.service import principles
from services.principles.reviews.service import reviews


def principle_id(n: int) -> str:
    return f"019a0002-0000-7000-8000-{n:012d}"


def explanation_id(n: int) -> str:
    return f"019a0002-0001-7000-8000-{n:012d}"


def review_id(n: int) -> str:
    return f"019a0002-0002-7000-8000-{n:012d}"


def initiative(n: int) -> str:
    return f"/portfolio/v1/initiatives/019a0001-0001-7000-8000-{n:012d}"


ARCHITECT_1 = "demo-architect-1"  # R. van Dijk (demo)
ARCHITECT_2 = "demo-architect-2"  # S. Koster (demo)
PORTFOLIO_MANAGER = "demo-pm-nb"  # H. Willems (demo), owner of programme IV Next Base

CLOUD_RULE = "!(subject.data_classification in ['confidential', 'secret']) || subject.hosting == 'own_platform'"
SMALL_STEPS_RULE = (
    "subject.budget_eur <= 2000000 ||\n"
    "  timestamp(subject.end + 'T00:00:00Z') - timestamp(subject.start + 'T00:00:00Z') <= duration('8784h')"
)
# Reads the value chain through the initiative's reference (fetched from valuechains, never stored):
# open renewal on a chain with open critical findings deviates.
FOUNDATION_FIRST_RULE = (
    "subject.kind != 'renewal' || subject.status in ['delivered', 'stopped'] ||\n"
    "  subject.value_chain.open_critical_findings == 0"
)
EXTERNALS_RULE = "double(subject.fte_external) <= 0.4 * (double(subject.fte_internal) + double(subject.fte_external))"

DEMO_PRINCIPLES: list[dict[str, Any]] = [
    {
        "id": principle_id(1),
        "code": "CS-01",
        "category": "continuity_security",
        "title": "Continuïteit en security vóór doorontwikkeling en innovatie",
        "statement": "Keeping IT available, current and secure comes before further development and innovation.",
        "rationale": "The police cannot accept vulnerable data or systems; technical debt made maintenance lag.",
        "implications": "No renewal goes ahead on a value chain whose applications carry open critical "
        "security findings, unless explained in advance: fix the foundation first.",
        "applies_to": ["initiative"],
        "rule": FOUNDATION_FIRST_RULE,
        "status": "active",
    },
    {
        "id": principle_id(2),
        "code": "CS-02",
        "category": "continuity_security",
        "title": "Security heeft een vaste plek in elke afweging",
        "statement": "Every chain reserves a fixed share of its budget for security.",
        "rationale": "Criminals attack police IT continuously; security that waits for spare money never comes.",
        "implications": "An allocation gives security at least 10 percent.",
        "applies_to": ["allocation"],
        "rule": "subject.security >= 10",
        "status": "active",
    },
    {
        "id": principle_id(3),
        "code": "RI-01",
        "category": "renewal_innovation",
        "title": "Generieke voorzieningen, tenzij",
        "statement": "We build on the generic facilities, unless there is a reason not to, explained in advance.",
        "rationale": "Generic facilities are cheaper to keep current and let us build once and use many times.",
        "implications": "An initiative that does not use the generic facilities needs an approved explanation.",
        "applies_to": ["initiative"],
        "rule": "subject.uses_generic_facilities",
        "status": "active",
    },
    {
        "id": principle_id(4),
        "code": "RI-02",
        "category": "renewal_innovation",
        "title": "Cloud first, maar gevoelige politiedata blijft op eigen platforms",
        "statement": "We use cloud services first; sensitive police data stays on our own platforms.",
        "rationale": "Cloud gives speed and scale; sensitive police data cannot leave the police's control.",
        "implications": "Confidential and secret data is hosted on own platforms.",
        "applies_to": ["initiative", "ebo"],
        "rule": CLOUD_RULE,
        "status": "active",
    },
    {
        "id": principle_id(5),
        "code": "DP-01",
        "category": "data_privacy",
        "title": "Data op één plek, meervoudig gebruik",
        "statement": "Each fact is recorded once, at its source, and used by everyone who needs it from there.",
        "rationale": "Copies drift apart, leak and cost money; one source is current and lawful.",
        "implications": "No new stores that copy data another system owns; read it by reference.",
        "applies_to": ["initiative", "ebo"],
        "status": "active",
    },
    {
        "id": principle_id(6),
        "code": "DP-02",
        "category": "data_privacy",
        "title": "We versturen geen data maar ontsluiten deze veilig",
        "statement": "We do not send data around; we make it available securely where it is.",
        "rationale": "Every copy sent is a copy to protect, correct and delete again.",
        "implications": "Integrations read through interfaces with the reader's own authorisation.",
        "applies_to": ["initiative", "ebo"],
        "status": "active",
    },
    {
        "id": principle_id(7),
        "code": "CO-01",
        "category": "craftsmanship_organisation",
        "title": "Beheerst werken met externen",
        "statement": "External staff strengthen our teams; knowledge and control stay with our own people.",
        "rationale": "Teams that lean on externals lose the knowledge to steer and maintain what they built.",
        "implications": "At most 40 percent of a team's FTE is external.",
        "applies_to": ["team"],
        "rule": EXTERNALS_RULE,
        "status": "active",
    },
    {
        "id": principle_id(8),
        "code": "CO-02",
        "category": "craftsmanship_organisation",
        "title": "Eén loket IV: de dienst IV",
        "statement": "Colleagues ask for IT at one place: the dienst IV.",
        "rationale": "One front door prevents systems being built twice and unmanaged environments (EBO's).",
        "implications": "Units register self-built systems and bring them under the dienst IV's care.",
        "applies_to": ["ebo", "initiative"],
        "status": "active",
    },
    {
        "id": principle_id(9),
        "code": "FC-01",
        "category": "finance_control",
        "title": "Grote ambities maar kleine stappen",
        "statement": "Big ambitions are delivered in small, manageable steps that each deliver working functionality.",
        "rationale": "Small steps show results early and can be stopped or adjusted before much money is spent.",
        "implications": "An initiative costs at most 2 million euros, or runs at most a year.",
        "applies_to": ["initiative"],
        "rule": SMALL_STEPS_RULE,
        "status": "active",
    },
    {
        "id": principle_id(10),
        "code": "FC-02",
        "category": "finance_control",
        "title": "In een rolling portfolio",
        "statement": "We decide on initiatives several times a year in a rolling portfolio, not once a year.",
        "rationale": "A rolling portfolio lets the force respond to what operations need now.",
        "implications": "Every initiative is part of the current portfolio round and can be stopped at the next.",
        "applies_to": ["initiative", "programme"],
        "status": "active",
    },
    {
        "id": principle_id(11),
        "code": "FC-03",
        "category": "finance_control",
        "title": "Beheer wordt structureel gefinancierd",
        "statement": "Maintenance and security are funded structurally; only renewal may start on incidental money.",
        "rationale": "What we run must be kept running after the one-off money is gone.",
        "implications": "Maintenance and security initiatives have structural funding.",
        "applies_to": ["initiative"],
        "rule": "subject.kind == 'renewal' || subject.funding == 'structural'",
        "status": "active",
    },
    {
        "id": principle_id(12),
        "code": "CS-03",
        "category": "continuity_security",
        "title": "Eerst het fundament: beheer en beveiliging krijgen minstens de helft",
        "statement": "Each chain owner funds the foundation first: maintenance and security together take at "
        "least half of a period's budget.",
        "rationale": "Technical debt made maintenance lag and had to be caught up from 2021.",
        "implications": "An allocation below 50 % for beheer and beveiliging is explained in advance.",
        "applies_to": ["allocation"],
        "rule": "subject.maintenance + subject.security >= 50",
        "status": "active",
    },
]


def demo_explanations(today: dt.date) -> list[dict[str, Any]]:
    at = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
    return [
        {  # approved by a second architect, in advance: initiative 07 is `explained` on the cloud principle
            "id": explanation_id(1),
            "principle_id": principle_id(4),
            "principle_revision": 1,
            "subject": initiative(7),
            "subject_kind": "initiative",
            "reason": "Analysing seized camera footage needs GPU capacity our own platform does not offer yet; "
            "only pseudonymised frames go to the cloud, and the work moves back when IV Next Base offers GPUs.",
            "review_by": dt.date(today.year + 1, 12, 31),
            "requested_by": ARCHITECT_1,
            "requested_at": at - dt.timedelta(days=3),
            "approved_by": ARCHITECT_2,
            "approved_at": at,
            "decision_note": "Approved until the end of next year, pseudonymised data only.",
            "data_classification": "confidential",
            "status": "approved",
        },
        {  # approved, but only after the initiative had started: late
            "id": explanation_id(2),
            "principle_id": principle_id(9),
            "principle_revision": 1,
            "subject": initiative(7),
            "subject_kind": "initiative",
            "reason": "The analysis platform only pays off at this size; it is split in three releases.",
            "review_by": today + dt.timedelta(days=60),
            "requested_by": ARCHITECT_1,
            "requested_at": dt.datetime(2026, 2, 20, 10, 0, tzinfo=dt.UTC),
            "approved_by": ARCHITECT_2,
            "approved_at": dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC),
            "decision_note": "Approved; should have been asked before the start.",
            "data_classification": "confidential",
            "status": "approved",
        },
        {  # asked, not yet approved: initiative 08 still `deviates` on the cloud principle
            "id": explanation_id(3),
            "principle_id": principle_id(4),
            "principle_revision": 1,
            "subject": initiative(8),
            "subject_kind": "initiative",
            "reason": "Open-source intelligence is collected from public sources; the platform is only offered "
            "as a cloud service.",
            "review_by": today + dt.timedelta(days=180),
            "requested_by": PORTFOLIO_MANAGER,
            "requested_at": dt.datetime.combine(today - dt.timedelta(days=10), dt.time(11), dt.UTC),
            "data_classification": "confidential",
            "status": "requested",
        },
        {  # the foundation comes first, but this renewal is what closes two of the chain's findings
            "id": explanation_id(5),
            "principle_id": principle_id(1),
            "principle_revision": 1,
            "subject": initiative(3),
            "subject_kind": "initiative",
            "reason": "This renewal replaces the evidence module that carries two of the chain's critical "
            "findings; stopping it would keep them open longer.",
            "review_by": today + dt.timedelta(days=120),
            "requested_by": ARCHITECT_1,
            "requested_at": dt.datetime(2026, 1, 8, 9, 0, tzinfo=dt.UTC),
            "approved_by": ARCHITECT_2,
            "approved_at": dt.datetime(2026, 1, 9, 15, 0, tzinfo=dt.UTC),
            "decision_note": "Approved while the module is being replaced; review in four months.",
            "data_classification": "confidential",
            "status": "approved",
        },
        {  # approved long ago, review_by passed: no longer counts
            "id": explanation_id(4),
            "principle_id": principle_id(3),
            "principle_revision": 1,
            "subject": initiative(14),
            "subject_kind": "initiative",
            "reason": "The analysis servers need a hardware profile the generic platform did not have.",
            "review_by": today - dt.timedelta(days=20),
            "requested_by": ARCHITECT_2,
            "requested_at": dt.datetime(2025, 8, 14, 9, 0, tzinfo=dt.UTC),
            "approved_by": ARCHITECT_1,
            "approved_at": dt.datetime(2025, 8, 20, 10, 0, tzinfo=dt.UTC),
            "decision_note": "Approved for the replacement only.",
            "data_classification": "confidential",
            "status": "approved",
        },
    ]


def demo_reviews(today: dt.date) -> list[dict[str, Any]]:
    def scores(a: int, b: int, c: int, d: int, e: int) -> dict[str, int]:
        return {"needed_now": a, "generic_facilities": b, "new_technologies": c, "integrations": d, "one_page": e}

    return [
        {
            "id": review_id(1),
            "subject": initiative(7),
            "phase": "start",
            "scores": scores(4, 2, 3, 3, 4),
            "reviewer": ARCHITECT_2,
            "reviewed_on": dt.date(2026, 1, 10),
            "notes": "Bespoke analysis stack instead of the generic data platform: concerns, revisit midway.",
            "data_classification": "confidential",
        },
        {
            "id": review_id(2),
            "subject": initiative(7),
            "phase": "execution",
            "scores": scores(4, 4, 4, 3, 4),
            "reviewer": ARCHITECT_1,
            "reviewed_on": today - dt.timedelta(days=60),
            "notes": "Moved storage to the generic data platform; only the GPU work stays bespoke.",
            "data_classification": "confidential",
        },
        {
            "id": review_id(3),
            "subject": initiative(1),
            "phase": "start",
            "scores": scores(5, 5, 4, 3, 4),
            "reviewer": ARCHITECT_1,
            "reviewed_on": dt.date(2025, 8, 25),
            "notes": "One case file on the generic document store; start with one region.",
            "data_classification": "confidential",
        },
        {
            "id": review_id(4),
            "subject": initiative(1),
            "phase": "execution",
            "scores": scores(4, 5, 4, 2, 4),
            "reviewer": ARCHITECT_2,
            "reviewed_on": today - dt.timedelta(days=250),
            "notes": "Integrations with the prosecutor grow bespoke; more than six months ago, due again.",
            "data_classification": "confidential",
        },
        {
            "id": review_id(5),
            "subject": initiative(8),
            "phase": "start",
            "scores": scores(3, 1, 2, 3, 3),
            "reviewer": ARCHITECT_2,
            "reviewed_on": today - dt.timedelta(days=40),
            "notes": "A commercial platform with its own data store: fail on generic facilities.",
            "data_classification": "confidential",
        },
    ]


async def load(ctx: RequestContext) -> None:
    today = utcnow().date()
    for principle in DEMO_PRINCIPLES:
        await principles.insert(ctx, principles.to_columns(principle))
    for explanation in demo_explanations(today):
        requested = explanation.pop("requested_at")
        obj = await explanations.insert(ctx, {"subject_kind": "initiative", **explanation})
        # Illustrative history: asked days before it was decided, not at the moment of seeding.
        await ctx.session.execute(
            update(Explanation).where(Explanation.id == obj.id).values(created_at=requested, updated_at=requested)
        )
    for review in demo_reviews(today):
        await reviews.insert(ctx, reviews.to_columns({**review, "subject_kind": "initiative", "status": "recorded"}))
