"""Schemathesis against each service's own OpenAPI document, and the gateway's merged one,
in-process, with every check schemathesis has: no request may end in a server error; every answer
matches the documented status codes, media types, headers and schemas; what the schema forbids is
refused (negative cases) and what it allows is accepted, apart from the by-design exceptions
below; a created resource can be read; a request without a token is refused; and a stateful run
follows the links between operations (create, then read, change, archive what was created).

One test module per service (``test_fuzz_<service>.py``) and one for the gateway, so they go to
different xdist workers: the tests are spread a file at a time, and together they are the suite's
longest files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS as REGISTERED
from schemathesis.checks import load_all_checks
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans

from gateway.app import create_app as create_gateway
from services.chassis.db import Database
from tests.conftest import ServiceDatabase, migrated_databases
from tests.support import (
    LazyLifespanTransport,
    Tokens,
    available_services,
    gateway_settings,
    service_module,
    settings_for,
)

# Examples per operation: IV_FUZZ_EXAMPLES positive ones (6 unless set), a third as many negative
# ones, and a quarter as many stateful runs of up to 6 steps. Every check runs on every answer and
# some send requests of their own (the same request without a token; a read of what was created),
# so at 6 each service still gets a few hundred requests; every run draws new cases, and a
# failing one is kept in .hypothesis/ and replayed first until it passes. The budget keeps
# `make test` under 3 minutes on 2 cores (the suite grew with the real-process and browser tests);
# IV_FUZZ_EXAMPLES=200 make test looks deeper.
EXAMPLES = int(os.environ.get("IV_FUZZ_EXAMPLES", "6"))
MODES = [GenerationMode(m) for m in os.environ.get("IV_FUZZ_MODES", "positive,negative").split(",")]
NEGATIVE_EXAMPLES = max(1, EXAMPLES // 3)
STATEFUL_EXAMPLES = max(1, EXAMPLES // 4)

load_all_checks()


@dataclass(frozen=True)
class ByDesign:
    """A case a check does not apply to, by design, and why."""

    check: str
    applies: Callable[[schemathesis.Case], bool]
    reason: str


def _body_is_negative(case: schemathesis.Case) -> bool:
    meta = case.meta
    return meta is not None and any(
        location.name == "body" and info.mode.is_negative for location, info in meta.components.items()
    )


CROSS_FIELD_READS = (
    "/v1/reports/ratio",
    "/v1/reports/staffing/history",
    "/v1/reports/maturity",
    "/v1/explanations/register",
    "/v1/duplicates",
    "/v1/reports/foundation",
    "/v1/access-log",
)


LIVE_STREAMS = r"/v1/changes/stream$"

BY_DESIGN = [
    ByDesign(
        "positive_data_acceptance",
        lambda case: case.method.upper() != "GET",
        "a schema-valid write can still break a domain rule (an end before its start, a split that does not "
        "add up to 100, a rule that cannot judge) or point at something its owner does not have: 422/409",
    ),
    ByDesign(
        "positive_data_acceptance",
        lambda case: bool(case.query) and "after" in case.query,
        "a cursor is opaque: only one this service issued is valid (422 otherwise)",
    ),
    ByDesign(
        "positive_data_acceptance",
        lambda case: bool(case.query) and "before" in case.query and case.query.get("order") != "newest",
        "the change feed pages backwards with `before` only when it is read newest first (422 otherwise)",
    ),
    ByDesign(
        "positive_data_acceptance",
        lambda case: "\\x00" in repr(case.query) or "\\x00" in repr(case.path_parameters),
        "text no database can store (NUL) is 422 wherever it comes",
    ),
    ByDesign(
        "positive_data_acceptance",
        lambda case: case.operation.path.endswith(CROSS_FIELD_READS),
        "the query's parameters depend on each other (exactly one of round and year; `from` before `to`), "
        "or a day must lie within the years the platform covers (1970-2199), which JSON Schema cannot say",
    ),
    ByDesign(
        "negative_data_rejection",
        lambda case: not _body_is_negative(case),
        "a query and headers go on the wire as text: schemathesis' negative values there (an object, null, a "
        "number, a name that serialises away) often arrive as valid text. Unknown and repeated query "
        "parameters are refused on every operation in test_strict_queries.py; bodies are checked here",
    ),
    ByDesign(
        "use_after_free",
        lambda case: True,
        "DELETE archives: the resource is still there, with status archived, as the document says",
    ),
]


def _guarded(name: str) -> Callable[..., Any]:
    check = cast(Callable[..., bool | None], REGISTERED.get_one(name))
    exceptions = [e for e in BY_DESIGN if e.check == name]
    if not exceptions:
        return check

    def guarded(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
        if any(e.applies(case) for e in exceptions):
            return None
        result: bool | None = check(ctx, response, case)
        return result

    guarded.__name__ = check.__name__
    return guarded


CHECKS = [_guarded(name) for name in REGISTERED.get_all_names()]


@pytest.fixture(scope="module")
async def fuzz_databases(var_dir: Path) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """Databases of their own: what the fuzzer creates is committed and would surprise other tests."""
    async with migrated_databases(var_dir, "fuzz") as made:
        yield made


def service_apps(
    var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], transport: LazyLifespanTransport
) -> dict[str, FastAPI]:
    """Every service, each on its fuzz database, reached through ``transport``."""
    apps = {}
    for name, sdb in fuzz_databases.items():
        apps[name] = service_module(name).create_app(
            settings_for(var_dir, name, sdb.url), transport=transport, database=Database(sdb.url, pool_size=2)
        )
        transport.add(f"{name}.test", apps[name])
    return apps


def fuzz_app(app: FastAPI, headers: dict[str, str], *, only: Callable[[str, str], bool] | None = None) -> None:
    """Every operation of ``app``'s document (or those ``only(method, path)`` keeps), EXAMPLES cases
    in each mode through every check, then a stateful run along the document's links."""
    # A live event stream never ends, so no fuzzed call to it would come back; the stream's
    # answers are tested in test_change_stream.py (and through the gateway in test_stream.py).
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path_regex=LIVE_STREAMS)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"invalid schema: {result.err()}")
            continue
        operation = result.ok()
        if only is not None and not only(operation.method.upper(), operation.path):
            continue
        operations += 1
        for mode in MODES:
            budget = EXAMPLES if mode.is_positive else NEGATIVE_EXAMPLES

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=budget, deadline=None, suppress_health_check=list(HealthCheck))
            def exercise(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                exercise()
            except Unsatisfiable:
                pass  # nothing to get wrong: an operation without parameters or body has no negative case
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, report all
                failures.append(f"{operation.label} [{mode}]: {exc}")
    if only is None:
        failures += stateful(schema, headers)
    # Ends the app's lifespan in schemathesis' loop; its client closes the transport, which stops
    # the apps started on demand.
    shutdown_lifespans()
    assert operations > 0
    assert not failures, "\n\n".join(failures)


def stateful(schema: Any, headers: dict[str, str]) -> list[str]:
    """Sequences of calls along the links schemathesis finds in the document (a created resource's
    id fed to its read, change and archive), every answer through every check."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    try:
        Workflow.run(
            settings=settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported with the others
        return [f"stateful: {exc}"]
    return []


def fuzz(service: str, var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], tokens: Tokens) -> None:
    """Every operation of ``service``'s document, and its links."""
    if service not in available_services():
        pytest.skip(f"{service} is not in this run")
    # Driven without schemathesis' pytest plugin: schemathesis runs the apps in an event loop of
    # its own, so every app here gets its own engines, and the apps it calls start lazily there.
    transport = LazyLifespanTransport()
    apps = service_apps(var_dir, fuzz_databases, transport)
    fuzz_app(apps[service], tokens("admin", clearance="secret"))


def fuzz_gateway(var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], tokens: Tokens) -> None:
    """The gateway's merged document: its own operations, and every service's reads without a path
    parameter (the lists and reports, where the gateway adds ``expand`` and ``include``), through
    the gateway to the services behind it. Writes pass through untouched and are fuzzed at each
    service."""
    transport = LazyLifespanTransport()
    service_apps(var_dir, fuzz_databases, transport)
    gateway = create_gateway(gateway_settings(var_dir), transport=transport)
    prefixes = tuple(f"/{name}/" for name in fuzz_databases)

    def only(method: str, path: str) -> bool:
        return not path.startswith(prefixes) or (method == "GET" and "{" not in path)

    fuzz_app(gateway, tokens("admin", clearance="secret"), only=only)
