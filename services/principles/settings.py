"""Settings of the principles service beyond the chassis's: rule budgets and the change-feed follower.

Each can be set in the environment as ``IV_PRINCIPLES_<NAME>``, e.g. ``IV_PRINCIPLES_FOLLOW_INTERVAL_SECONDS=5``.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from services.chassis.settings import ServiceSettings


def _env(name: str, **kwargs: Any) -> Any:
    return Field(validation_alias=AliasChoices(name, f"IV_PRINCIPLES_{name.upper()}"), **kwargs)


class PrinciplesSettings(ServiceSettings):
    # Rules ("spelregels als code"): each evaluation of one rule on one subject gets this much
    # wall-clock time, the subject at most this many bytes of JSON, the evaluator this much memory.
    rule_timeout_seconds: float = _env("rule_timeout_seconds", default=1.0, gt=0, le=30)
    rule_max_subject_bytes: int = _env("rule_max_subject_bytes", default=65_536, ge=1024)
    rule_memory_mb: int = _env("rule_memory_mb", default=512, ge=64)
    # A collection evaluation reads at most this many subjects (narrow it with filters otherwise).
    max_collection_subjects: int = _env("max_collection_subjects", default=5000, ge=1)

    # Comply or explain: an explanation counts at most this long after it is approved (its review_by
    # must fall within it), and after a new revision of its principle it keeps counting for this many
    # days, until an architect confirms it under the new revision.
    explanation_max_validity_days: int = _env("explanation_max_validity_days", default=730, ge=1)
    revision_review_days: int = _env("revision_review_days", default=90, ge=0)

    # Keeping assessments current by following the other services' change feeds.
    follow_enabled: bool = _env("follow_enabled", default=True)
    follow_interval_seconds: float = _env("follow_interval_seconds", default=2.0, gt=0)
    follow_lease_seconds: float = _env("follow_lease_seconds", default=30.0, gt=0)
    follow_max_backoff_seconds: float = _env("follow_max_backoff_seconds", default=60.0, gt=0)
    follow_page_size: int = _env("follow_page_size", default=100, ge=1, le=100)
    follow_feeds: tuple[str, ...] = _env("follow_feeds", default=("portfolio", "valuechains"))
