"""The platform as real processes: the Procfile's four uvicorn commands on free loopback ports
(with ``replicas``, several instances of each service behind the one gateway).

Each run gets its own directory: a SQLite database per service (migrated and filled with demo data
by ``python -m services.<service> prestart``), the development signing key, and a log per process.
The benchmarks start the platform this way, and so do the end-to-end tests.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from sqlalchemy.engine import make_url

from deploy.supervise import procfile

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("valuechains", "portfolio", "principles")
COMPONENTS = (*SERVICES, "gateway")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def procfile_commands(path: Path = ROOT / "deploy" / "Procfile") -> dict[str, str]:
    """``name: command`` lines of the Procfile (read as ``make run`` reads them)."""
    return procfile(path)


async def create_postgres_database(base_url: str, name: str, *, template: str | None = None) -> str:
    """A new database ``name`` (empty, or a copy of the database ``template``); its URL."""
    import asyncpg

    url = make_url(base_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def drop_postgres_database(base_url: str, name: str) -> None:
    import asyncpg

    url = make_url(base_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database="postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Platform:
    """Four processes and their settings; ``start()`` waits until the gateway says all are ready."""

    workdir: Path
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    template: Path | None = None  # a prestarted platform's directory whose databases and key to copy
    replicas: int = 1
    """Instances of each service (``portfolio``, ``portfolio-2``, ...), sharing its database. The
    gateway is given every instance's URL; with more than one, the services reach each other
    through the gateway's prefixes, as they would through a cluster's Service."""

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in COMPONENTS:
            self.ports.setdefault(name, free_port())
        for service in SERVICES:
            for name in self.instances(service)[1:]:
                self.ports.setdefault(name, free_port())
        self.commands = procfile_commands()

    def instances(self, service: str) -> list[str]:
        """The names of a service's instances, the first named as the service."""
        return [service] + [f"{service}-{n}" for n in range(2, self.replicas + 1)]

    def component(self, name: str) -> str:
        """The Procfile entry an instance runs (``portfolio-2``: ``portfolio``)."""
        return name if name in self.commands else name.rpartition("-")[0]

    @property
    def var_dir(self) -> Path:
        return self.workdir / "var"

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def env(self, name: str | None = None) -> dict[str, str]:
        """The environment of the component or instance ``name`` (of the tools, without one). Only
        the gateway is given several URLs of a service."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IV_", "OTEL_"))}
        urls = {s: ",".join(self.url(i) for i in self.instances(s)) for s in SERVICES}
        if self.replicas > 1 and name != "gateway":  # a service takes one address: the gateway's prefix
            urls = {s: f"{self.url('gateway')}/{s}" for s in SERVICES}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "IV_ENVIRONMENT": "development",
                "IV_VAR_DIR": str(self.var_dir),
                "IV_LOG_LEVEL": "WARNING",
                "IV_HOST": self.host,
                **{f"{c.upper()}_PORT": str(self.ports[c]) for c in COMPONENTS},
                **({f"{self.component(name).upper()}_PORT": str(self.ports[name])} if name else {}),
                **{f"IV_{s.upper()}_URL": url for s, url in urls.items()},
                **{
                    f"IV_{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / (name + '.db')}"
                    for name in SERVICES
                },
                **self.extra_env,
            }
        )
        return env

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def prestart(self) -> None:
        """Migrate each database and load the demo data, all three at once (or copy the
        template's databases and signing key, which is the same thing made earlier)."""
        if self.template is not None:
            for name in SERVICES:
                shutil.copyfile(self.template / f"{name}.db", self.workdir / f"{name}.db")
            shutil.copytree(self.template / "var", self.var_dir, dirs_exist_ok=True)
            return
        running = {
            name: subprocess.Popen(
                [sys.executable, "-m", f"services.{name}", "prestart"],
                cwd=ROOT,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for name in SERVICES
        }
        for name, process in running.items():
            output, _ = process.communicate(timeout=180)
            if process.returncode != 0:
                raise RuntimeError(f"prestart of {name} failed:\n{output.decode(errors='replace')}")

    def launch(self, name: str) -> None:
        """Start one component or instance with its Procfile command (``exec`` makes the pid uvicorn's)."""
        log = self.log_path(name).open("ab")
        self.processes[name] = subprocess.Popen(
            ["/bin/bash", "-c", self.commands[self.component(name)]],
            cwd=ROOT,
            env=self.env(name),
            stdout=log,
            stderr=log,
        )
        log.close()

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with httpx2.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
                with contextlib.suppress(httpx2.HTTPError):
                    if client.get(self.url(name) + "/readyz").status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{name} was not ready within {timeout}s:\n{self.log_tail(name)}")

    def start(self, *, prestart: bool = True) -> None:
        """Prestart (unless the databases are ready), launch every instance and the gateway, and
        wait until each is ready."""
        if prestart:
            self.prestart()
        names = [*(i for s in SERVICES for i in self.instances(s)), "gateway"]
        for name in names:
            self.launch(name)
        for name in names:  # the gateway last: its readiness asks the others
            self.wait_ready(name)

    def restart(self, name: str) -> None:
        self.launch(name)
        self.wait_ready(name)

    def send(self, name: str, sig: signal.Signals) -> None:
        self.processes[name].send_signal(sig)

    def stop(self, name: str, *, timeout: float = 15) -> int:
        """SIGINT (Ctrl-C), as supervisord and a terminal send; SIGKILL only if it does not stop in time."""
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        return self._reap(process, timeout)

    def stop_all(self, *, timeout: float = 15) -> dict[str, int]:
        """SIGINT to every process at once (as Ctrl-C in a terminal), then wait for each."""
        return stop_platforms(self, timeout=timeout)[0]

    @staticmethod
    def _reap(process: subprocess.Popen[bytes], timeout: float) -> int:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return process.returncode

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_path(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def token(self, *roles: str, sub: str = "bench", clearance: str | None = None) -> str:
        """A development token signed with this platform's key."""
        result = subprocess.run(
            [sys.executable, "-m", "services.chassis.auth", "--role", ",".join(roles), "--sub", sub]
            + (["--clearance", clearance] if clearance else []),
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            check=True,
        )
        return result.stdout.decode().strip()

    def describe(self) -> str:
        return ", ".join(f"{name} {self.url(name)}" for name in self.ports) + f" ({shlex.quote(str(self.workdir))})"


def stop_platforms(*platforms: Platform, timeout: float = 15) -> list[dict[str, int]]:
    """``stop_all`` of several platforms at once: every process signalled, then each waited for."""
    for platform in platforms:
        for process in platform.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
    # One signal only: a second SIGINT tells uvicorn to skip its graceful shutdown.
    return [
        {name: Platform._reap(process, timeout) for name, process in platform.processes.items()}
        for platform in platforms
    ]


@contextlib.contextmanager
def running_platform(workdir: Path, **env: str) -> Iterator[Platform]:
    platform = Platform(workdir, extra_env=dict(env))
    try:
        platform.start()
        yield platform
    finally:
        platform.stop_all()
