"""The principles service."""

from pathlib import Path

from services.chassis.app import service_factory
from services.principles.assessments.api import router as assessments_router
from services.principles.assessments.service import assessments
from services.principles.checks.api import router as checks_router
from services.principles.evaluations.api import router as evaluations_router
from services.principles.evaluations.service import evaluations
from services.principles.explanations.api import router as explanations_router
from services.principles.explanations.service import explanations
from services.principles.follower.service import follow_changes, follower_figures
from services.principles.principles.api import router as principles_router
from services.principles.principles.service import principles
from services.principles.reports.api import router as reports_router
from services.principles.reviews.api import router as reviews_router
from services.principles.reviews.schemas import CRITERIA_TEXT, OUTCOME_RULE
from services.principles.reviews.service import reviews
from services.principles.rules.engine import rule_figures
from services.principles.settings import PrinciplesSettings

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """Comply or explain ("pas toe of leg uit"): the few simple rules of the game ("spelregels") in five
categories, rules as code evaluated against live data read by reference, explanations recorded in advance
and approved by a second architect, and simplicity reviews ("eenvoud") at the start and during execution.

- **principles**: only architects change them; a normative change makes a new `revision` (the old ones stay
  readable); `version` is the ETag of the resource, `revision` what assessments are pinned to.
- **evaluations** read subjects from their owners with your token and record **assessments** (complies,
  deviates, explained, error); the service also follows the portfolio and valuechains change feeds and
  re-evaluates what changed, within seconds, as `service:principles`.
- **explanations** ("leg uit") count only once approved by an architect who did not ask, and until `review_by`.
- **simplicity-reviews** and the **compliance report** complete the picture."""

TAGS = [
    {"name": "principles", "description": 'The rules of the game ("spelregels"), each optionally with a rule in CEL.'},
    {"name": "evaluations", "description": "Run the rules over live subjects, read by reference."},
    {"name": "assessments", "description": "Outcomes per principle and subject: pas toe of leg uit."},
    {"name": "explanations", "description": '"Leg uit": deviations explained in advance, four eyes, and the register.'},
    {
        "name": "compliance-checks",
        "description": "Before a change that starts the work: does it comply, or is every deviation explained?",
    },
    {
        "name": "simplicity-reviews",
        "description": "Reviews on simplicity (eenvoud). Criteria, each 1..5 (5 = simplest):\n\n"
        + CRITERIA_TEXT
        + "\n\nOutcome: "
        + OUTCOME_RULE,
    },
    {"name": "reports", "description": "The compliance report, computed in the database."},
]


create_app = service_factory(
    "principles",
    title="IV-platform: principles",
    description=DESCRIPTION,
    collections=[principles, assessments, evaluations, explanations, reviews],
    routers=[
        principles_router,
        evaluations_router,
        assessments_router,
        explanations_router,
        checks_router,
        reviews_router,
        reports_router,
    ],
    migrations_dir=MIGRATIONS,
    tags=TAGS,
    background=[follow_changes],
    figures=[follower_figures, rule_figures],
    settings_class=PrinciplesSettings,
)
