"""Typed references to this service's own collections (their schemas carry ``x-reference``)."""

from services.chassis.references import ref_type

PRINCIPLES_PATH = "/principles/v1/principles"
ASSESSMENTS_PATH = "/principles/v1/assessments"
EVALUATIONS_PATH = "/principles/v1/evaluations"
EXPLANATIONS_PATH = "/principles/v1/explanations"
REVIEWS_PATH = "/principles/v1/simplicity-reviews"


class PrincipleRef(ref_type("PrincipleRef", PRINCIPLES_PATH, "A principle.")):  # type: ignore[misc]
    """A principle, by its href."""


class EvaluationRef(ref_type("EvaluationRef", EVALUATIONS_PATH, "An evaluation.")):  # type: ignore[misc]
    """An evaluation, by its href."""


class ExplanationRef(ref_type("ExplanationRef", EXPLANATIONS_PATH, "An explanation.")):  # type: ignore[misc]
    """An explanation, by its href."""


class AssessmentRef(ref_type("AssessmentRef", ASSESSMENTS_PATH, "An assessment.")):  # type: ignore[misc]
    """An assessment, by its href."""
