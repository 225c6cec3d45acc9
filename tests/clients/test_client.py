"""The Python client against the platform in-process: reads by href, pages, batch get, expand and
include, creates that are done once however often they are retried, updates with If-Match, and
problems as typed exceptions."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from iv_client import (
    Client,
    ClientCredentials,
    Ebo,
    EboRegistered,
    ForbiddenError,
    InFlightError,
    IVConnectionError,
    NotFoundError,
    RetryPolicy,
    StateConflictError,
    UnauthenticatedError,
    UnavailableError,
    UnprocessableError,
    VersionConflictError,
)
from iv_client.models import Chain, Ref, Team
from services.chassis.errors import CONFLICT, problem_body
from tests.clients.conftest import Platform
from tests.support import unique_code

UNIT = "Eenheid Rotterdam"


def chain_body() -> dict[str, Any]:
    return {
        "code": unique_code("CLI"),
        "name": "Keten van de client",
        "domain": "Investigation",
        "mission": "Serve investigators.",
        "owner": {"subject": "u-client-owner", "name": "C. Lient", "unit": UNIT},
    }


def ebo_body(chain: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Verhoorplanner",
        "unit": UNIT,
        "description": "Plans interview rooms.",
        "hosting": "own_platform",
        "data_classification": "internal",
        "users": 12,
        **fields,
    }
    if chain:
        body["value_chain"] = {"href": chain}
    return body


class Flaky(httpx2.BaseTransport):
    """Fails the first requests that ``match`` as ``failures`` says, then passes all on to ``inner``:
    "refuse" (never sent), "drop" (sent, the answer lost), or a status to answer instead."""

    def __init__(self, inner: httpx2.BaseTransport, failures: list[str | int], match: str = "") -> None:
        self.inner, self.failures, self.match = inner, list(failures), match
        self.seen: list[httpx2.Request] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.match not in request.url.path or not self.failures:
            return self.inner.handle_request(request)
        self.seen.append(request)
        failure = self.failures.pop(0)
        if failure == "refuse":
            raise httpx2.ConnectError("connection refused", request=request)
        if failure == "drop":
            self.inner.handle_request(request).read()
            raise httpx2.ReadError("connection reset", request=request)
        if failure == 409:
            body = problem_body(CONFLICT, "a request with this Idempotency-Key is still in flight; retry when done")
            return httpx2.Response(
                409, json=body, headers={"Retry-After": "0", "Content-Type": "application/problem+json"}
            )
        assert isinstance(failure, int)
        return httpx2.Response(failure, json={"type": "/problems/x", "title": "Down", "status": failure, "detail": "!"})


async def test_get_by_href_list_across_pages_and_batch_get(platform: Platform) -> None:
    admin = platform.client(platform.token("admin"))

    def scenario() -> None:
        chains = [admin.create("/valuechains/v1/chains", chain_body()) for _ in range(3)]
        assert all(isinstance(c, Chain) for c in chains)
        got = admin.get(chains[0].href)
        assert isinstance(got, Chain) and got.code == chains[0].code and got.version == 1
        listed = [c.href for c in admin.list("/valuechains/v1/chains", filters={"domain": "Investigation"}, limit=2)]
        assert {c.href for c in chains} <= set(listed)
        pages = list(admin.pages("/valuechains/v1/chains", limit=2))
        assert len(pages) >= 2 and pages[-1].next is None and all(len(p.items) <= 2 for p in pages)
        batch = admin.batch_get(
            "/valuechains/v1/chains", [chains[2].href, chains[0].id, "019a0000-0000-7000-8000-00000000dead"]
        )
        assert sorted(c.href for c in batch) == sorted([chains[0].href, chains[2].href])

    await platform.call(scenario)


async def test_expand_and_include(platform: Platform) -> None:
    admin = platform.client(platform.token("admin"))

    def scenario() -> None:
        chain = admin.create("/valuechains/v1/chains", chain_body())
        team = admin.create(f"{chain.href}/teams", {"name": "Team Client", "fte_internal": 5, "maturity": 2})
        assert isinstance(team, Team)
        expanded = admin.get(team.href, expand="chain")
        assert isinstance(expanded.chain, Ref) and expanded.chain.expanded is not None
        assert expanded.chain.expanded["code"] == chain.code
        with_teams = admin.get(chain.href, include=["teams"])
        assert [t["href"] for t in with_teams.included("teams")] == [team.href]
        listed = list(admin.list("/valuechains/v1/teams", filters={"chain": chain.href}, expand=["chain"]))
        assert [t.chain.expanded["name"] for t in listed] == [chain.name]

    await platform.call(scenario)


async def test_a_create_retried_after_its_answer_was_lost_is_done_once(platform: Platform) -> None:
    token = platform.token("contributor", unit=UNIT)
    flaky = Flaky(platform.bridge, ["refuse", 503, "drop", 504, 409], match="/portfolio/v1/ebos")
    client = platform.client(token, transport=flaky, retry=RetryPolicy(attempts=6, initial=0.01, maximum=0.02))

    def scenario() -> None:
        registered = client.register_ebo(ebo_body(name="Eenmalig"))
        assert isinstance(registered, EboRegistered) and registered.duplicate_check.ebos == "compared"
        keys = {r.headers["Idempotency-Key"] for r in flaky.seen}
        assert len(flaky.seen) == 5 and len(keys) == 1  # every attempt carried the same key
        mine = list(client.list("/portfolio/v1/ebos", filters={"unit": UNIT}))
        assert [e.name for e in mine].count("Eenmalig") == 1

    await platform.call(scenario)


async def test_retries_stop_and_say_why(platform: Platform) -> None:
    token = platform.token("contributor", unit=UNIT)

    def scenario() -> None:
        refused = platform.client(token, transport=Flaky(platform.bridge, ["refuse"] * 10))
        with pytest.raises(IVConnectionError):
            refused.get("/portfolio/v1/ebos")
        in_flight = platform.client(token, transport=Flaky(platform.bridge, [409] * 10, match="/ebos"))
        with pytest.raises(InFlightError):
            in_flight.register_ebo(ebo_body())
        # A change whose answer was lost is not sent again: a repeat would be refused as stale.
        client = platform.client(token)
        ebo = client.register_ebo(ebo_body(name="Eens"))
        dropped = Flaky(platform.bridge, ["drop"], match=ebo.id)
        with pytest.raises(IVConnectionError):
            platform.client(token, transport=dropped).update(ebo, users=13)
        assert len(dropped.seen) == 1 and client.get(ebo.href).users == 13
        # ... but one refused before it was sent, or answered 503 (nothing changed), is.
        again = Flaky(platform.bridge, ["refuse", 503], match=ebo.id)
        updated = platform.client(token, transport=again).update(client.get(ebo.href), users=14)
        assert updated.users == 14 and len(again.seen) == 2
        with pytest.raises(UnavailableError):
            platform.client(token, transport=Flaky(platform.bridge, [503] * 10)).get(ebo.href)

    await platform.call(scenario)


async def test_update_sends_if_match_and_a_stale_version_is_a_conflict_with_the_current_one(
    platform: Platform,
) -> None:
    token = platform.token("contributor", unit=UNIT)
    client = platform.client(token)

    def scenario() -> None:
        ebo = client.register_ebo(ebo_body())
        first = client.update(ebo, users=20)
        assert isinstance(first, Ebo) and first.version == ebo.version + 1 and first.users == 20
        with pytest.raises(VersionConflictError) as conflict:
            client.update(ebo, {"users": 30})  # the representation it came from is stale now
        assert conflict.value.status == 412 and conflict.value.current_version == first.version
        assert isinstance(conflict.value.current, Ebo) and conflict.value.current.users == 20
        reapplied = client.update(conflict.value.current, users=30)
        assert reapplied.users == 30
        assert client.update(ebo.href, hosting="hybrid").hosting == "hybrid"  # by href: read first

    await platform.call(scenario)


async def test_problems_become_typed_exceptions_with_their_fields(platform: Platform) -> None:
    contributor = platform.client(platform.token("contributor", unit=UNIT))
    admin = platform.client(platform.token("admin"))

    def scenario() -> None:
        with pytest.raises(UnprocessableError) as invalid:
            contributor.register_ebo(ebo_body(users="many", hosting="moon"))
        assert invalid.value.status == 422 and invalid.value.type == "/problems/validation"
        assert {tuple(e["loc"]) for e in invalid.value.errors} >= {("body", "users"), ("body", "hosting")}
        assert any(line.startswith("body.users: ") for line in invalid.value.field_errors())
        with pytest.raises(ForbiddenError):
            contributor.register_ebo(ebo_body(unit="Eenheid Amsterdam"))
        with pytest.raises(NotFoundError):
            contributor.get("/portfolio/v1/ebos/019a0000-0000-7000-8000-00000000dead")
        with pytest.raises(UnauthenticatedError):
            platform.client("not-a-token").get("/portfolio/v1/ebos")
        ebo = contributor.register_ebo(ebo_body())
        with pytest.raises(StateConflictError) as illegal:
            admin.create(f"{ebo.href}/decision", {"status": "adopted", "reason": "Skips the review."})
        assert illegal.value.status == 409 and illegal.value.allowed == ["under_review"]
        assert illegal.value.extra["current"] == "registered"

    await platform.call(scenario)


async def test_client_credentials_fetch_a_token_and_renew_it(platform: Platform) -> None:
    issued: list[str] = []

    def identity_provider(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        assert b"grant_type=client_credentials" in request.content
        token = platform.token("reader", sub=f"service:ebo-{len(issued)}")
        issued.append(token)
        return httpx2.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": 600})

    credentials = ClientCredentials(
        "http://idp.test/token", "ebo", "s3cret", http=httpx2.Client(transport=httpx2.MockTransport(identity_provider))
    )
    client = Client("http://gateway.test", auth=credentials, transport=platform.bridge)

    def scenario() -> None:
        client.get("/valuechains/v1/chains")
        client.get("/valuechains/v1/teams")
        assert credentials.fetched == 1  # kept while it is good
        credentials.token(renew=True)
        credentials._token = "revoked"  # a token the platform refuses: asked again, request sent again
        assert isinstance(client.get("/valuechains/v1/chains"), dict)
        assert credentials.fetched == 3

    await platform.call(scenario)


async def test_archive_with_if_match_and_with_force(platform: Platform) -> None:
    admin = platform.client(platform.token("admin"))

    def scenario() -> None:
        chain = admin.create("/valuechains/v1/chains", chain_body())
        ebo = admin.register_ebo(ebo_body(chain.href))
        admin.update(ebo, users=1)
        with pytest.raises(VersionConflictError):
            admin.archive(ebo)  # from the representation before that change
        assert admin.archive(admin.get(ebo.href)).status == "archived"
        team = admin.create(f"{chain.href}/teams", {"name": "Houdt vast", "fte_internal": 1, "maturity": 1})
        with pytest.raises(StateConflictError):  # a team still holds it
            admin.archive(chain.href)
        archived = admin.archive(chain.href, force=True, reason="The chain is split in two.")
        assert archived.status == "archived" and admin.get(team.href).status == "active"

    await platform.call(scenario)
