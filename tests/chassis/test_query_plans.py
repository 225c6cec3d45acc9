"""The lists a page of which must not cost more as the data grows read one index range in page
order: each query a request really sends is captured and its plan asked of SQLite.

SQLite plans from the schema alone (no ANALYZE statistics are kept), so a plan is the same on a
test database as on one with 100,000 rows, where ``USE TEMP B-TREE FOR ORDER BY`` means fetching
every match and sorting it for one page. On PostgreSQL the planner decides by statistics: not here.
"""

from __future__ import annotations

import pytest

from bench.plans import page_statement, query_plan
from tests.conftest import Suite
from tests.support import Tokens, available_services, database_base_url, statements

pytestmark = pytest.mark.skipif(database_base_url() is not None, reason="SQLite's query plans")

CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"


async def page_plan(suite: Suite, service: str, headers: dict[str, str], path: str, table: str) -> list[str]:
    """The plan of the query that read the page's rows from ``table``."""
    with statements(suite, service) as seen:
        async with suite.client(service, headers) as client:
            answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    statement, parameters = page_statement(seen, table)
    return await query_plan(suite.apps[service].state.db, statement, parameters)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("", "ix_initiatives_page"),
        ("kind=renewal&funding=incidental", "ix_initiatives_kind_funding_page"),
        (f"value_chain={CHAIN}", "ix_initiatives_value_chain_page"),
        ("status=active", "ix_initiatives_status_page"),
    ],
)
@pytest.mark.parametrize("clearance", ["public", "internal", "secret"])
async def test_initiative_lists_read_one_index_range_in_page_order(
    suite: Suite, tokens: Tokens, query: str, index: str, clearance: str
) -> None:
    reader = tokens("reader", clearance=clearance)
    plan = await page_plan(suite, "portfolio", reader, f"/v1/initiatives?limit=100&{query}", "initiatives")
    assert any(f"USING INDEX {index}" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.parametrize("service", available_services())
@pytest.mark.parametrize("role", ["reader", "admin"])
async def test_the_change_feed_by_type_reads_its_index_in_seq_order(
    suite: Suite, tokens: Tokens, service: str, role: str
) -> None:
    headers = tokens(role, clearance="internal")
    plan = await page_plan(suite, service, headers, "/v1/changes?type=things.updated&after=5", "change_events")
    assert any("USING INDEX ix_change_events_type_seq (type=? AND seq>?)" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.parametrize(("query", "index"), [("", "ix_initiatives_page"), (f"value_chain={CHAIN}", "value_chain")])
async def test_the_count_of_what_a_list_does_not_show_reads_an_index(
    suite: Suite, tokens: Tokens, query: str, index: str
) -> None:
    reader = tokens("reader", clearance="internal")
    with statements(suite, "portfolio") as seen:
        async with suite.client("portfolio", reader) as client:
            answer = await client.get(f"/v1/initiatives?count_not_shown=true&{query}")
    assert answer.status_code == 200 and answer.json()["not_shown"] == 0, answer.text
    [(statement, parameters)] = [(s, p) for s, p in seen if "count(*)" in s and "FROM initiatives" in s]
    plan = await query_plan(suite.apps["portfolio"].state.db, statement, parameters)
    assert any("INDEX" in step and index in step for step in plan), plan
    assert not any(step.startswith("SCAN initiatives") and "INDEX" not in step for step in plan), plan
