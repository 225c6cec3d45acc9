"""Every table of the principles database, for alembic."""

from services.principles.assessments.models import Assessment
from services.principles.base import Base
from services.principles.evaluations.models import Evaluation
from services.principles.explanations.models import Explanation, SubjectMilestone
from services.principles.follower.models import FeedCursor
from services.principles.principles.models import Principle, PrincipleVersion
from services.principles.reviews.models import SimplicityReview

__all__ = [
    "Assessment",
    "Base",
    "Evaluation",
    "Explanation",
    "FeedCursor",
    "Principle",
    "PrincipleVersion",
    "SimplicityReview",
    "SubjectMilestone",
]
