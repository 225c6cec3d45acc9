"""References a rule reads are expanded like the gateway expands them, unresolved ones included."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from services.chassis.auth import Principal
from services.chassis.references import Upstreams
from services.principles.subjects import expand

CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"
HIDDEN = "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000002"
READER = Principal(sub="u1", roles=frozenset({"reader"}))


class Owner:
    """Answers the batch get: the one chain this caller may see."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, hrefs: Iterable[str], principal: Principal) -> dict[str, dict[str, Any] | None]:
        self.asked = sorted(hrefs)
        return {h: ({"href": h, "name": "Opsporing"} if h == CHAIN else None) for h in self.asked}


async def test_an_unresolved_reference_has_the_gateways_shape() -> None:
    owner = Owner()
    subjects: list[dict[str, Any]] = [
        {"href": "/portfolio/v1/initiatives/1", "value_chain": {"href": CHAIN}},
        {"href": "/portfolio/v1/initiatives/2", "value_chain": {"href": HIDDEN}},
        {"href": "/portfolio/v1/initiatives/3", "value_chain": None},
    ]
    seen = await expand(cast(Upstreams, owner), subjects, {"value_chain"}, READER)
    assert owner.asked == [CHAIN, HIDDEN]
    assert seen[0]["value_chain"] == {"href": CHAIN, "name": "Opsporing"}
    assert seen[1]["value_chain"] == {
        "href": HIDDEN,
        "error": {
            "type": "/problems/not-found",
            "title": "Not found",
            "status": 404,
            "detail": f"no resource at {HIDDEN}",
        },
    }
    assert seen[2]["value_chain"] is None
    assert subjects[1]["value_chain"] == {"href": HIDDEN}  # the subjects themselves are left alone
