"""Who manages a chain: its owner (ketenverantwoordelijke) acting as chain_owner, or an admin.

Kept apart from the chains collection so that the rows a chain owns (teams, allocations,
applications) can use it while the collection itself reads figures from those rows.
"""

from services.chassis.auth import Principal
from services.chassis.errors import Forbidden
from services.valuechains.chains.models import Chain


def owns(principal: Principal, chain: Chain) -> bool:
    """The caller is this chain's owner (ketenverantwoordelijke) acting as chain_owner."""
    return "chain_owner" in principal.roles and chain.owner_subject == principal.sub


def ensure_manages(principal: Principal, chain: Chain, doing: str) -> None:
    """403 unless the caller is an admin or this chain's owner. ``doing``: "change teams of"."""
    if principal.is_admin or owns(principal, chain):
        return
    if not principal.has_role("chain_owner"):
        raise Forbidden(f"to {doing} chain {chain.code} needs the chain_owner role (as its owner) or admin")
    raise Forbidden(f"only the owner of chain {chain.code} ({chain.owner_name}) or an admin may {doing} it")
