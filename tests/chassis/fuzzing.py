"""Schemathesis against each service's own OpenAPI document, in-process: no request may end in a
server error, and every answer must match the documented status codes, media types and schemas.

One test module per service (``test_fuzz_<service>.py``), so the three go to different xdist
workers: the tests are spread a file at a time, and together they are the suite's longest file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.chassis.db import Database
from tests.conftest import ServiceDatabase, migrated_databases
from tests.support import LazyLifespanTransport, Tokens, available_services, service_module, settings_for

# Examples per operation: IV_FUZZ_EXAMPLES, 20 unless set (it was a fixed 40). At 20 each operation
# still gets hypothesis' simplest case and a spread of random ones, several hundred requests per
# service in a few seconds, each answer put through every check below; every run draws new cases,
# and a failing one is kept in .hypothesis/ and replayed first until it passes. The time grows
# with the budget, so the deeper look is left to CI (.ci/run sets it) and to whoever changes a
# schema or a validator (IV_FUZZ_EXAMPLES=200 make test).
EXAMPLES = int(os.environ.get("IV_FUZZ_EXAMPLES", "20"))

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
async def fuzz_databases(var_dir: Path) -> AsyncIterator[dict[str, ServiceDatabase]]:
    """Databases of their own: what the fuzzer creates is committed and would surprise other tests."""
    async with migrated_databases(var_dir, "fuzz") as made:
        yield made


def fuzz(service: str, var_dir: Path, fuzz_databases: dict[str, ServiceDatabase], tokens: Tokens) -> None:
    """Every operation of ``service``'s document, EXAMPLES cases each, through every check."""
    if service not in available_services():
        pytest.skip(f"{service} is not in this run")
    # Driven without schemathesis' pytest plugin: schemathesis runs the apps in an event loop of
    # its own, so every app here gets its own engines, and the apps it calls start lazily there.
    transport = LazyLifespanTransport()
    apps = {}
    for name, sdb in fuzz_databases.items():
        apps[name] = service_module(name).create_app(
            settings_for(var_dir, name, sdb.url), transport=transport, database=Database(sdb.url, pool_size=2)
        )
        transport.add(f"{name}.test", apps[name])
    schema = schemathesis.openapi.from_asgi("/openapi.json", apps[service])
    headers = tokens("admin", clearance="secret")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"invalid schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            exercise()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures.append(f"{operation.label}: {exc}")
    # Ends the app's lifespan in schemathesis' loop; its client closes the transport, which stops
    # the apps started on demand.
    shutdown_lifespans()
    assert operations > 0
    assert not failures, "\n\n".join(failures)
