"""What SQLite plans for the statements a service really sends: they are captured as the service
sends them and ``EXPLAIN QUERY PLAN`` is asked of the same database.

SQLite plans from the schema alone (no ANALYZE statistics are kept), so a plan is the same on a
small database as on one with 100,000 rows, where ``USE TEMP B-TREE FOR ORDER BY`` means fetching
every match and sorting it for one page, and a ``SCAN`` of the table without an index means reading
every row. The benchmark (bench/run.py) and the tests (tests/chassis/test_query_plans.py) share
these helpers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.chassis.db import Database


@contextlib.contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) sent on ``engine`` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def page_statement(seen: list[tuple[str, Any]], table: str) -> tuple[str, Any]:
    """The one statement that read a page's rows from ``table`` (the one with a ``LIMIT``)."""
    [found] = [(s, p) for s, p in seen if f"FROM {table}" in s and "LIMIT" in s]
    return found


async def query_plan(db: Database, statement: str, parameters: Any) -> list[str]:
    """The steps of SQLite's plan for ``statement``."""
    async with db.session(write=False) as session:
        connection = await session.connection()
        rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [str(step) for step in rows.scalars(3).all()]


def plan_problems(plan: list[str], table: str, index: str) -> list[str]:
    """What is wrong with a page's plan: a sort of every match, a scan of ``table`` without an
    index, or ``index`` not used."""
    problems = [step for step in plan if "TEMP B-TREE" in step]
    problems += [step for step in plan if step.startswith(f"SCAN {table}") and "INDEX" not in step]
    if not any(f"INDEX {index}" in step for step in plan):
        problems.append(f"{index} is not used")
    return problems
