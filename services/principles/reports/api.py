from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from services.chassis.exports import Accepted, Export
from services.chassis.queries import strict_router
from services.chassis.uow import Ctx
from services.principles.reports.schemas import ComplianceByChain, ComplianceReport, GroupBy
from services.principles.reports.service import compliance, compliance_by_chain

router = strict_router(tags=["reports"])

COMPLIANCE = Export(
    filename="compliance",
    sections=(
        "",
        "totals",
        "groups",
        "open_deviations",
        "expired_explanations",
        "expiring_explanations",
        "late_explanations",
        "missing_reviews",
    ),
    names=("key", "subject.href"),
)

DESCRIPTION = """How well do we play by the rules ("pas toe of leg uit")? Computed in the database over the
**latest** assessment per principle and subject, for active principles:

- `totals` and `groups` (by `category`, `principle` or `subject`): counts per outcome. Outcomes are as they
  stand today: a deviation counts as `explained` only while an approved explanation's `review_by` has not
  passed, so an expired explanation turns it back into an open deviation without re-evaluating.
- `open_deviations`: deviations without a valid explanation.
- `expired_explanations` (approved, `review_by` passed) and `expiring_explanations` (within 90 days).
- `late_explanations`: approved only after the subject became active, the moment its work started (the
  strategy asks to explain in advance). Decided once, when the subject first becomes active, and kept.
  Each subject's `start` is read by reference from its owner with your token when the report is made
  (one batch per collection), never stored here.
- `missing_reviews`: active initiatives (read from the portfolio with your token) without a simplicity review
  at `start`, or without one during `execution` in the last 6 months ("beoordelen op eenvoud").

**Need to know**: counts count every assessment, also those about subjects you may not see (a count names no
subject, and leaving them out would make compliance look better than it is): `totals`, and `groups` by category
or principle. What names a subject or an explanation is over what you may see: the lists, and `groups` by
subject. `coverage` says for each part how many records it is computed over and how many of them you may not
see, or were left out.

When another service does not answer, the parts that need it are empty and `incomplete` says why."""


@router.get(
    "/v1/reports/compliance",
    response_model=ComplianceReport,
    summary="Compliance report: comply or explain, open deviations, late and expired explanations",
    description=DESCRIPTION + COMPLIANCE.note,
    responses=COMPLIANCE.responses(ComplianceReport, 401, 403, 422),
)
async def compliance_report(
    ctx: Ctx,
    media: Accepted,
    group_by: Annotated[GroupBy, Query(description="Group the counts by `category`, `principle` or `subject`.")] = (
        "category"
    ),
) -> Response:
    report = await compliance(ctx, group_by)
    return await COMPLIANCE.respond(ctx, media, report, filename=f"compliance-{report.as_of.isoformat()}")


BY_CHAIN = Export(filename="compliance-by-chain", sections=("", "principles.chains"))


@router.get(
    "/v1/reports/compliance/chains",
    response_model=ComplianceByChain,
    summary="Compliance by principle and chain: counts per outcome (the heatmap)",
    description=(
        "For each active principle, the latest assessments per outcome (as they stand today, as in "
        "`/v1/reports/compliance`) in each value chain: an assessment counts in the chain its subject belongs "
        "to now (the chain itself, its teams and allocations, the initiatives and EBOs of that chain), as the "
        "owners say when you ask (read by reference as this service, one batch per collection; this service keeps "
        "no copy of which chain a subject belongs to). One whose subject belongs to no chain counts in the "
        "principle's `not_placed`, so each row adds up to its `totals`.\n\n"
        "**Need to know**: these are counts, naming no subject, so every latest assessment counts (basis `all`), "
        "also those about subjects you may not see, in their chain: the figures are the same whoever asks, and "
        "`coverage.not_visible` says how many assessments are about subjects you may not see. When an owner does "
        "not answer, its subjects are `not_placed` and `incomplete` says so." + BY_CHAIN.note
    ),
    responses=BY_CHAIN.responses(ComplianceByChain, 401, 403, 422),
)
async def compliance_by_chain_report(ctx: Ctx, media: Accepted) -> Response:
    report = await compliance_by_chain(ctx)
    return await BY_CHAIN.respond(ctx, media, report, filename=f"compliance-by-chain-{report.as_of.isoformat()}")
