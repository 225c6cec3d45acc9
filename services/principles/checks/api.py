from services.chassis.errors import problem_responses
from services.chassis.queries import strict_router
from services.chassis.resources import write
from services.chassis.uow import Ctx
from services.principles.checks.schemas import ComplianceCheck, ComplianceCheckCreate
from services.principles.checks.service import CHECK, check

router = strict_router(tags=["compliance-checks"])


@write(
    router,
    "POST",
    "/v1/compliance-checks",
    operation=CHECK,
    response_model=ComplianceCheck,
    summary="Check a subject before a change: does it comply, or is every deviation explained?",
    description=(
        '"Pas toe of leg uit", in advance: judges a subject **as it is about to be** (`facts`: its whole '
        "representation after the change, as its owner sends it; `subject` its href, or `kind` for one that does "
        "not exist yet) against every active principle that applies: principles with a rule run it on the "
        "facts, principles without one take their latest manual assessment. A deviation counts as `explained` "
        "only while an approved explanation counts for that principle and subject; what this service holds "
        "about the subject shows only as far as you may see it. `open_deviations` lists "
        "what is left, each with how to resolve it. The portfolio asks this before an initiative or "
        "programme is approved or activated, or an EBO adopted or tolerated, and refuses the change while "
        "anything is open. Records nothing. Roles: architect, portfolio_manager, chain_owner (or admin)."
    ),
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def create_compliance_check(ctx: Ctx, body: ComplianceCheckCreate) -> ComplianceCheck:
    return await check(ctx, body)
