"""Real platforms for the tests that start processes (a plugin of tests/conftest.py).

Migrating three databases and loading the demo data is most of what starting a platform costs:
every platform a test starts copies the databases of one prestarted under a lock in the run's
shared temporary directory (the modules may run in different xdist workers).

Starting the processes is the rest: the modules in ``SHARED_PLATFORM`` use one platform
(``real_platform``), started once, and run in one xdist worker, in collection order
(``pytest_xdist_make_scheduler``). The last of them, tests/e2e/test_platform.py, ends with the
test that stops it with SIGINT, as Ctrl-C does.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import Platform
from tests.support import locked, run_directory

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
    platform of its own) or after the test that stops it."""
    strays = sorted(
        {item.nodeid.split("::", 1)[0] for item in items if "real_platform" in getattr(item, "fixturenames", ())}
        - set(SHARED_PLATFORM)
    )
    if strays:
        raise pytest.UsageError(f"{', '.join(strays)} use the shared platform: add them to SHARED_PLATFORM")


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With --dist loadfile (make test): each test file to one worker whole, and the SHARED_PLATFORM
    modules to one together."""
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    if config.getoption("dist") != "loadfile":
        return None
    # The modules in collection order (by directory and name, which spreads the real-process ones
    # over the run), not xdist's (most tests first). Taking the longest first was measured too:
    # the modules that start real processes then all ran at the start, on both workers at once,
    # and make test took 179-181 s against 162-174 s.
    config.option.loadscopereorder = False

    class SharedPlatformScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "shared-platform" if module in SHARED_PLATFORM else module

    return SharedPlatformScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing a worker holds is garbage to look through once its tests are done: its heap (the
    apps, schemathesis' and hypothesis' caches) goes to the collector's permanent generation, so
    the collections of the session's end and of the interpreter's shutdown skip it. The run ended
    about 5 s sooner after its last test (6.6 s against 1.4 s, measured on tests/chassis)."""
    gc.freeze()
