"""Real platforms for the tests that start processes (a plugin of tests/conftest.py).

Migrating three databases and loading the demo data is most of what starting a platform costs:
every platform a test starts copies the databases of one prestarted under a lock in the run's
shared temporary directory (the modules may run in different xdist workers).

Starting the processes is the rest: the modules in ``SHARED_PLATFORM`` use one platform (``real_platform``), started
once, and run in one xdist worker, in collection order (``pytest_xdist_make_scheduler`` in
tests/conftest.py). The last of them, tests/e2e/test_platform.py, ends with the test that stops
it with SIGINT, as Ctrl-C does.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import Platform
from tests.support import locked, run_directory

MODULE_SECONDS = Path(__file__).with_name("module-seconds.json")
"""Seconds each test module took, measured in one process (``make test-seconds`` measures them
again): how long the workers will be busy with it, for ``longest_first``."""

SHARED_PLATFORM = ("tests/clients/test_ebo_developers_doc.py", "tests/e2e/test_platform.py")


@pytest.fixture(scope="session")
def prestarted(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The directory of a platform prestarted once for the whole run, shared by its workers."""
    shared = run_directory(tmp_path_factory, worker_id)
    template = shared / "e2e-prestarted"
    with locked(shared / "e2e-prestarted.lock"):
        if not (template / "done").exists():
            Platform(template).prestart()
            (template / "done").touch()
    return template


@pytest.fixture(scope="session")
def real_platform(tmp_path_factory: pytest.TempPathFactory, prestarted: Path) -> Iterator[Platform]:
    """The four processes with the Procfile's commands, shared by the modules in SHARED_PLATFORM."""
    started = Platform(tmp_path_factory.mktemp("platform"), template=prestarted)
    try:
        started.start()
        yield started
    finally:
        started.stop_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the modules in SHARED_PLATFORM may use it: another would run in another worker (a
    platform of its own) or after the test that stops it. Under xdist the modules are then put in
    the order the workers should take them (``longest_first``)."""
    strays = sorted(
        {item.nodeid.split("::", 1)[0] for item in items if "real_platform" in getattr(item, "fixturenames", ())}
        - set(SHARED_PLATFORM)
    )
    if strays:
        raise pytest.UsageError(f"{', '.join(strays)} use the shared platform: add them to SHARED_PLATFORM")
    if config.getoption("dist", "no") == "loadfile":
        items[:] = longest_first(items, json.loads(MODULE_SECONDS.read_text()))


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """``items`` by module, the modules that take longest first (SHARED_PLATFORM's together, as
    one, in their order; a module not measured yet as the median one); within a module as collected.

    The workers take the modules one by one as they finish the last: with the long ones first,
    the short ones fill in at the end, instead of one worker running a long module alone while the
    other has nothing left (xdist's own order, by number of tests, ended on single long tests)."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        modules.setdefault("shared-platform" if module in SHARED_PLATFORM else module, []).append(item)
    usual = statistics.median(seconds.values()) if seconds else 0.0

    def weight(unit: str) -> float:
        members = SHARED_PLATFORM if unit == "shared-platform" else (unit,)
        return sum(seconds.get(m, usual) for m in members)

    ordered = sorted(modules, key=lambda unit: -weight(unit))  # stable: equal weights as collected
    return [item for unit in ordered for item in modules[unit]]


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With --dist loadfile (make test): each test file to one worker whole, and the SHARED_PLATFORM
    modules to one together."""
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    if config.getoption("dist") != "loadfile":
        return None
    # The workers put the modules in order (``longest_first``); xdist's own order (most tests
    # first) would put the long ones, which have few tests, last.
    config.option.loadscopereorder = False

    class SharedPlatformScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "shared-platform" if module in SHARED_PLATFORM else module

    return SharedPlatformScheduling(config, log)


_measured: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if os.environ.get("IV_RECORD_MODULE_SECONDS"):
        module = report.nodeid.split("::", 1)[0]
        _measured[module] = _measured.get(module, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ``IV_RECORD_MODULE_SECONDS`` set (``make test-seconds``): MODULE_SECONDS measured anew."""
    if os.environ.get("IV_RECORD_MODULE_SECONDS") and _measured and exitstatus == 0:
        measured = {module: round(seconds, 1) for module, seconds in sorted(_measured.items())}
        MODULE_SECONDS.write_text(json.dumps(measured, indent=1) + "\n")
