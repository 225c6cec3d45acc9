"""deploy/Dockerfile, read as BuildKit reads it (no engine is needed): a base pinned by digest, the
locked main dependencies only (uv.lock says which), everything byte-compiled for a read-only root,
a non-root numeric user, no installer or development tool at run time, a context that lets in only
what is copied (.dockerignore), and the container probe the health checks run."""

from __future__ import annotations

import http.server
import importlib
import json
import re
import shlex
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import probe

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DIGEST = re.compile(r"^[\w.\-/:]+@sha256:[0-9a-f]{64}$")
# What the image must not hold: installers, test and lint tools, make run's supervisor, and honcho.
DEV_TOOLS = frozenset(
    {
        "pip",
        "uv",
        "honcho",
        "supervisor",
        "pytest",
        "pytest-asyncio",
        "pytest-xdist",
        "schemathesis",
        "hypothesis",
        "ruff",
        "mypy",
        "import-linter",
        "kubernetes-validate",
    }
)


@dataclass
class Instruction:
    keyword: str
    arguments: str

    @property
    def words(self) -> list[str]:
        """The arguments as BuildKit reads them: shell words, and a JSON array (exec form) as its items."""
        head, bracket, tail = self.arguments.partition("[")
        if bracket:
            try:
                items = json.loads(bracket + tail)
            except json.JSONDecodeError:
                pass
            else:
                return [*shlex.split(head), *items]
        return shlex.split(self.arguments)

    def flags(self) -> dict[str, str]:
        """``--name=value`` options before the first argument (``COPY --from=build``, ``RUN --mount=``)."""
        found: dict[str, str] = {}
        for word in self.words:
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            found[name] = f"{found[name]} {value}" if name in found else value
        return found


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(text: str) -> Iterator[Instruction]:
    """Instructions with their continuation lines joined, comments and blank lines left out."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, arguments = logical.partition(" ")
        yield Instruction(keyword.upper(), arguments.strip())
        logical = ""
    assert not logical, "the Dockerfile ends inside a continued line"


def stages() -> list[Stage]:
    found: list[Stage] = []
    for instruction in instructions(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            words = instruction.words
            assert len(words) == 3 and words[1].upper() == "AS", f"every stage is named: FROM {instruction.arguments}"
            found.append(Stage(name=words[2], base=words[0]))
        else:
            assert found, f"{instruction.keyword} before the first FROM"
            found[-1].instructions.append(instruction)
    return found


def chain(name: str) -> list[Stage]:
    """The stage and every stage it is built on, itself first."""
    by_name = {s.name: s for s in stages()}
    result = [by_name[name]]
    while result[-1].base in by_name:
        result.append(by_name[result[-1].base])
    return result


def env(stage_chain: list[Stage]) -> dict[str, str]:
    """The ENV values in force in a stage (the nearest stage's value wins)."""
    values: dict[str, str] = {}
    for stage in reversed(stage_chain):
        for instruction in stage.of("ENV"):
            for word in instruction.words:
                name, _, value = word.partition("=")
                values[name] = value
    return values


def runtime_stages() -> list[Stage]:
    """Every stage that ends up in an image that runs (all but the build stage)."""
    return [s for s in stages() if s.name != "build"]


def test_every_base_is_pinned_by_digest_and_the_same() -> None:
    names = {s.name for s in stages()}
    external = [s.base for s in stages() if s.base not in names]
    assert external, "no base image"
    for base in external:
        assert DIGEST.match(base), f"FROM {base}: pin the base by its digest (@sha256:...)"
        assert base.startswith("python:3.11."), "the Python that uv.lock is resolved for (requires-python)"
    assert len(set(external)) == 1, "the build and run stages start from the same base (wheels built for it)"
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"].startswith(">=3.11")


def test_the_build_installs_the_locked_main_dependencies_with_a_cache() -> None:
    (build,) = (s for s in stages() if s.name == "build")
    (sync,) = (i for i in build.of("RUN") if " uv sync " in f" {i.arguments} ")
    words = sync.words
    assert {"--frozen", "--no-dev"} <= set(words), "the lock as it is, without the dev group"
    assert "type=cache,target=/root/.cache/uv" in sync.flags()["mount"].split()
    assert env([build])["UV_COMPILE_BYTECODE"] == "1", "the venv byte-compiled"
    assert env([build])["UV_PYTHON_DOWNLOADS"] == "never", "the base's Python, not a downloaded one"
    (uv,) = (i for i in build.of("RUN") if "pip install uv==" in i.arguments)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert makefile_uv is not None and f"uv=={makefile_uv.group(1)}" in uv.words, "the uv of make install"


def test_the_code_is_byte_compiled_for_a_read_only_root() -> None:
    (build,) = (s for s in stages() if s.name == "build")
    (compiled,) = (i for i in build.of("RUN") if "compileall" in i.arguments)
    words = compiled.words
    # Unchecked-hash pycs are used as they are: nothing compares source timestamps or writes.
    assert words[words.index("--invalidation-mode") + 1] == "unchecked-hash"
    copied = {Path(i.words[-1]).parts[0] for i in build.of("COPY")}  # the top folders under /app
    assert copied <= set(words), f"compile everything copied: {sorted(copied - set(words))}"
    for stage in runtime_stages():
        assert env(chain(stage.name)).get("PYTHONDONTWRITEBYTECODE") == "1", stage.name


def test_the_image_runs_as_a_numeric_non_root_user_with_no_installer() -> None:
    for stage in runtime_stages():
        users = [i.arguments for s in chain(stage.name) for i in s.of("USER")]
        assert users, f"{stage.name} sets no USER"
        uid, _, gid = users[0].partition(":")
        assert uid.isdigit() and int(uid) != 0 and (not gid or gid.isdigit()), "numeric, so runAsNonRoot can check it"
        assert uid == "10001", "the uid the Kubernetes manifests run as (runAsUser)"
        for instruction in stage.of("RUN"):
            assert "install" not in instruction.words or "uninstall" in instruction.words, (
                f"{stage.name}: nothing is installed at run time: RUN {instruction.arguments}"
            )
    (base,) = (s for s in stages() if s.name == "base")
    (removal,) = (i for i in base.of("RUN") if "uninstall" in i.words)
    assert {"pip", "setuptools", "wheel"} <= set(removal.words), "the base image's installers go"


def test_the_run_stages_take_only_the_venv_and_the_code_from_the_build() -> None:
    allowed = {"/app/.venv", "/app/services", "/app/gateway", "/app/deploy/__init__.py", "/app/deploy/probe.py"}
    allowed.add("/app/deploy/__pycache__")  # the two files' compiled code, nothing else of deploy/
    for stage in runtime_stages():
        for instruction in stage.of("COPY"):
            assert instruction.flags().get("from") == "build", f"{stage.name}: COPY {instruction.arguments}"
            sources = [w for w in instruction.words if not w.startswith("--")][:-1]
            extra = {"/app/deploy/devissuer"} if stage.name == "devissuer" else set()
            assert set(sources) <= allowed | extra, f"{stage.name} copies {sources}"


def main_dependencies() -> set[str]:
    """What ``uv sync --no-dev`` installs: the root's dependencies and theirs, extras followed,
    every marker taken as true (more than is installed, never less)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    (root,) = (p for p in lock["package"] if p.get("source", {}).get("virtual") == ".")
    seen: set[str] = set()
    todo = list(root.get("dependencies", []))
    while todo:
        dependency = todo.pop()
        package = packages[dependency["name"]]
        for extra in dependency.get("extra", []):
            todo += package.get("optional-dependencies", {}).get(extra, [])
        if dependency["name"] not in seen:
            seen.add(dependency["name"])
            todo += package.get("dependencies", [])
    return seen


def test_no_development_tool_is_a_main_dependency() -> None:
    installed = main_dependencies()
    assert {"fastapi", "uvicorn", "asyncpg", "authlib"} <= installed, "the closure is read right"
    assert not installed & DEV_TOOLS, f"the image would ship {sorted(installed & DEV_TOOLS)}"
    # make run still has its supervisor: it is in the dev group, which make install installs.
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    assert any(d.startswith("supervisor") for d in groups["dev"])


def test_the_final_stage_is_the_production_image_and_the_issuer_a_target_of_its_own() -> None:
    assert stages()[-1].name == "runtime", "a build without --target gives the production image"
    runtime, issuer = env(chain("runtime")), env(chain("devissuer"))
    assert runtime["IV_ENVIRONMENT"] == "production"
    assert issuer["IV_ENVIRONMENT"] == "development", "the issuer refuses production settings"
    assert runtime["IV_VAR_DIR"].startswith("/tmp/"), "the one writable place (a tmpfs) holds var/"
    for name in ("runtime", "devissuer"):
        (cmd,) = chain(name)[0].of("CMD")
        words = cmd.words
        module, _, factory = words[words.index("--factory") + 1].partition(":")
        assert callable(getattr(importlib.import_module(module), factory)), f"{name}: CMD {cmd.arguments}"


def test_the_health_check_probes_what_every_component_serves() -> None:
    (check,) = (i for s in chain("runtime") for i in s.of("HEALTHCHECK"))
    words = check.words
    command = words[words.index("CMD") + 1 :]
    assert command[:3] == ["python", "-m", "deploy.probe"]
    assert command[3] == "/healthz"
    exposed = [i.arguments for s in chain("runtime") for i in s.of("EXPOSE")]
    assert exposed == [str(probe.DEFAULT_PORT)]


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_build_context_holds_only_what_is_copied() -> None:
    patterns = dockerignore()
    assert patterns[0] == "*", "everything is left out first, so no secret or var/ file reaches a build"
    admitted = {p[1:] for p in patterns if p.startswith("!")}
    (build,) = (s for s in stages() if s.name == "build")
    read: set[str] = set()
    for instruction in build.of("COPY"):
        read |= {w for w in instruction.words if not w.startswith("--")}.difference({instruction.words[-1]})
    for instruction in build.of("RUN"):
        for mount in instruction.flags().get("mount", "").split():
            options = dict(option.split("=", 1) for option in mount.split(","))
            if options.get("type") == "bind":
                read.add(options["source"])
    assert read == admitted, f"read but left out: {sorted(read - admitted)}; let in, unread: {sorted(admitted - read)}"
    for path in read:
        assert (ROOT / path).exists(), path
    assert {"**/__pycache__", "**/*.pyc"} <= set(patterns)


@pytest.fixture(scope="module")
def component() -> Iterator[int]:
    """A loopback server answering /healthz 200 and /readyz 503, like a service whose database is down."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_probe_passes_only_on_200(component: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert probe.probe("/healthz", component) is None
    assert probe.probe("/readyz", component) == f"http://127.0.0.1:{component}/readyz: 503"
    assert probe.probe("healthz", component) is not None
    monkeypatch.setenv("IV_PROBE_PORT", str(component))
    assert probe.main(["probe", "/healthz"]) == 0
    assert probe.main(["probe", "/readyz"]) == 1
    monkeypatch.setenv("IV_PROBE_PORT", "1")  # nothing listens there
    assert probe.main(["probe", "/healthz"]) == 1
