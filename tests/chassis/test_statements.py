"""Statements built once per shape (services.chassis.statements): reused only for callers need to
know cannot tell apart, and never with a value left over from an earlier request."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from services.chassis.auth import CLEARANCES, Principal
from services.chassis.resources.collection import COLLECTIONS
from services.chassis.statements import StatementCache, id_param
from services.chassis.visibility import viewer_key
from tests.chassis.cases import application
from tests.conftest import Suite
from tests.portfolio.helpers import make_chain
from tests.support import Tokens, available_services, service_module

for _service in available_services():
    service_module(_service)  # every collection declared


def sql(clause: Any) -> str:
    return "" if clause is None else str(clause.compile(compile_kwargs={"literal_binds": True}))


def test_the_cache_builds_once_per_key_and_drops_the_least_recently_used() -> None:
    cache = StatementCache(maxsize=2)
    built: list[str] = []

    def build(name: str) -> Any:
        def made() -> str:
            built.append(name)
            return name

        return made

    assert cache.get("a", build("a")) == "a"
    assert cache.get("b", build("b")) == "b"
    assert cache.get("a", build("a")) == "a"  # reused, and now the most recent
    assert cache.get("c", build("c")) == "c"  # drops b
    assert cache.get("a", build("a")) == "a"
    assert cache.get("b", build("b")) == "b"
    assert built == ["a", "b", "c", "b"]
    assert len(cache) == 2


@pytest.mark.parametrize("path", sorted(COLLECTIONS))
def test_need_to_know_reads_nothing_of_a_caller_beyond_its_viewer_key(path: str) -> None:
    """Two callers with the same key get the same condition (so may share a statement); callers
    with different keys get conditions of their own wherever the collection is classified."""
    collection = COLLECTIONS[path]
    for clearance in CLEARANCES:
        for unit in (None, "Eenheid Rotterdam"):
            one = Principal(sub="u-1", roles=frozenset({"reader"}), unit=unit, clearance=clearance, name="Een")
            other = Principal(sub="u-2", roles=frozenset({"architect", "auditor"}), unit=unit, clearance=clearance)
            assert viewer_key(one) == viewer_key(other)
            assert sql(collection.visibility(one)) == sql(collection.visibility(other))
    if collection.need_to_know is not None:
        public = Principal(sub="u-1", roles=frozenset({"reader"}), clearance="public")
        secret = Principal(sub="u-1", roles=frozenset({"reader"}), clearance="secret")
        assert viewer_key(public) != viewer_key(secret)
        assert sql(collection.visibility(public)) != sql(collection.visibility(secret))


async def test_a_cached_statement_run_without_its_id_fails(suite: Suite) -> None:
    collection = COLLECTIONS["/valuechains/v1/chains"]
    stmt = select(collection.model).where(collection.model.id == id_param())
    async with suite.apps["valuechains"].state.db.session(write=False) as session:
        with pytest.raises(StatementError, match="id"):
            await session.execute(stmt)


async def test_callers_taking_turns_each_get_what_they_may_see(suite: Suite, tokens: Tokens) -> None:
    """The chain and its figures (by id and in a batch get), and a secret application, read in turn
    by callers of different clearances and units: every answer is the one that caller would get alone."""
    admin = tokens("admin", clearance="secret")
    chain = {"id": (await make_chain(suite, tokens, "Beurtketen")).rsplit("/", 1)[1]}
    async with suite.client("valuechains", admin) as client:
        answer = await client.post(f"/v1/chains/{chain['id']}/applications", json=application("Geheim", "secret"))
        assert answer.status_code == 201, answer.text
        secret_app = answer.json()
    callers = [
        (tokens("reader", clearance="secret"), 0, 200),
        (tokens("reader", clearance="internal"), 1, 404),
        (tokens("reader", clearance="internal", unit="Eenheid Rotterdam"), 1, 404),
        (admin, 0, 200),
        (tokens("reader", clearance="public"), 1, 404),
        (tokens("reader", clearance="secret", unit="Eenheid Rotterdam"), 0, 200),
    ]
    for headers, not_visible, status in callers * 2:
        async with suite.client("valuechains", headers) as client:
            read = await client.get(f"/v1/chains/{chain['id']}")
            assert read.status_code == 200, read.text
            assert read.json()["applications_not_visible"] == not_visible
            assert read.json()["active_applications"] == 1
            [listed] = (await client.get("/v1/chains", params={"id": chain["id"]})).json()["items"]
            assert listed["applications_not_visible"] == not_visible
            app = await client.get(f"/v1/applications/{secret_app['id']}")
            assert app.status_code == status, app.text
