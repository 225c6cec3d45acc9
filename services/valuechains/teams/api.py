"""Teams: per chain (list, create) and across chains (list, batch get, get, change, archive)."""

from services.chassis.resources import crud_router, nested_router
from services.valuechains.chains.service import chains
from services.valuechains.teams.schemas import ChainTeamQuery, TeamCreate
from services.valuechains.teams.service import teams

router = crud_router(
    teams,
    create=False,
    descriptions={
        "list": (
            "Teams across all value chains. Filter by `chain` (href or id), `maturity`, `name` or "
            "`name_contains`; `?id=a&id=b` is the batch get other services and the gateway use to "
            "resolve team references."
        ),
        "get": "One team, with its chain as a reference and its FTE as numbers (3.5).",
        "update": (
            "Change a team: only the owner of its chain (ketenverantwoordelijke, role `chain_owner`) "
            "or an admin. Sending `chain` moves the team to another chain: an audited change (the "
            "change feed shows `chain` as [old, new]) for which you must own **both** chains, because "
            "it takes capacity from one owner and gives it to another; the target chain must not be "
            "archived (409)."
        ),
        "archive": (
            "Archive a team (the chain's owner or an admin). It leaves lists and the staffing report "
            "but stays readable by href."
        ),
    },
)


router.include_router(
    nested_router(
        chains,
        teams,
        column="chain_id",
        query=ChainTeamQuery,
        create=TeamCreate,
        list_description=(
            "The teams working for this value chain (IV-waardeketen), with the same filters, paging and "
            "batch get as `GET /v1/teams`. Archived teams are left out unless `include_archived=true`."
        ),
        create_summary="Add a team to a chain",
        create_description=(
            "Register an agile team under this chain. Only the chain's owner (ketenverantwoordelijke) or "
            "an admin; another chain's owner gets 403. FTE are non-negative numbers with at most one "
            "decimal (6.5)."
        ),
    )
)
