"""Applications: per chain (list, create) and across chains (list, batch get, get, change, archive)."""

from services.chassis.resources import crud_router, nested_router
from services.valuechains.applications.schemas import ApplicationCreate, ChainApplicationQuery
from services.valuechains.applications.service import applications
from services.valuechains.chains.service import chains

NEED_TO_KNOW = (
    "Need to know: `confidential` and `secret` applications exist only for tokens whose `clearance` is at "
    "least that level; for everyone else they are 404 and absent from lists and batch gets."
)

router = crud_router(
    applications,
    create=False,
    descriptions={
        "list": (
            "The applications of every value chain (IV-waardeketen): the foundation (een goed fundament) the "
            "chains keep running. Filter by `chain` (href or id), `category`, `disposition`, `hosting` or "
            "`data_classification`; `?id=a&id=b` is the batch get other services and the gateway use to "
            f"resolve application references. {NEED_TO_KNOW}"
        ),
        "get": (
            "One application with its end of support, last release and open security findings (technische "
            f"schuld at a glance). {NEED_TO_KNOW}"
        ),
        "update": (
            "Change an application: only the owner of its chain (ketenverantwoordelijke, role `chain_owner`) "
            'or an admin. `findings` changes only the severities sent: `{"findings": {"critical": 0}}` '
            "records that the last critical finding is closed, which the chain's `open_critical_findings` "
            "shows at once. Sending `chain` moves the application to another chain, an audited change for "
            "which you must own both chains; the target chain must not be archived (409). Raising "
            "`data_classification` above your own clearance is 403."
        ),
        "archive": (
            "Archive an application that is no longer in use (the chain's owner or an admin). It leaves "
            "lists, the chain's figures and the foundation report, but stays readable by href."
        ),
    },
)


router.include_router(
    nested_router(
        chains,
        applications,
        column="chain_id",
        query=ChainApplicationQuery,
        create=ApplicationCreate,
        list_description=(
            "The applications this value chain (IV-waardeketen) delivers and keeps running, with the same "
            "filters, paging and batch get as `GET /v1/applications`. Archived applications are left out unless "
            f"`include_archived=true`. {NEED_TO_KNOW}"
        ),
        create_summary="Register an application of a chain",
        create_description=(
            "Register an application this chain delivers and keeps running, with its end of support "
            "(`supported_until`), last release and open security findings, so that its technical debt "
            "(technische schuld) counts for the chain. Only the chain's owner (ketenverantwoordelijke) or an "
            "admin; another chain's owner gets 403, and so does classifying it above your own clearance. "
            "`findings` left out are 0."
        ),
    )
)
