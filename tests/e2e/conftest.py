"""One prestarted platform per run, copied by every end-to-end module that starts one.

Migrating three databases and loading the demo data is most of what starting a platform costs;
the modules that start one (they may run in different xdist workers) copy the databases of one
made under a lock in the run's shared temporary directory.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from bench.processes import Platform


@pytest.fixture(scope="session")
def prestarted(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The directory of a platform prestarted once for the whole run, shared by its workers."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the run's, not the worker's
    template = shared / "e2e-prestarted"
    with (shared / "e2e-prestarted.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "done").exists():
            Platform(template).prestart()
            (template / "done").touch()
    return template
