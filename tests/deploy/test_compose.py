"""deploy/compose.yaml, read as Compose reads it (no engine is needed): every container is one the
code can run (each command names an importable factory or a service's command line), the order of
start is database, migrations, issuer, services, gateway, each waited for by its health check or
its completion, every variable set is one a settings class reads and the settings they make start
in production, secrets are files (none in a URL or a variable), and the development token issuer
hands out what the services verify and ask for."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy.engine import make_url

from deploy import compose_secrets, probe
from deploy.devissuer.app import create_app as create_issuer
from deploy.devissuer.app import discovery
from deploy.devissuer.settings import IssuerSettings
from gateway.settings import GatewaySettings
from services.chassis.routing import SERVICES
from services.chassis.settings import ServiceSettings
from tests.deploy.names import (
    COMPONENTS,
    Doc,
    component_env_names,
    env_names,
    factory_of,
    option,
    probe_paths,
    runs_with_the_http_protocol,
    takes_forwarded_headers,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MIGRATIONS = {f"{service}-migrate": service for service in SERVICES}
PLATFORM = (*COMPONENTS, *MIGRATIONS)
ISSUER = "issuer"
COLLECTOR = "otel-collector"
SECRETS_DIR = "/run/secrets"
# The keys of the Compose specification that this file may use: a misspelt key is an error here
# rather than a setting Compose ignores or refuses on the day someone runs it.
SERVICE_KEYS = frozenset(
    {
        "build",
        "cap_drop",
        "command",
        "depends_on",
        "environment",
        "healthcheck",
        "image",
        "ports",
        "profiles",
        "read_only",
        "restart",
        "secrets",
        "security_opt",
        "tmpfs",
        "user",
        "volumes",
    }
)
TOP_KEYS = frozenset({"name", "services", "secrets", "volumes"})
HEALTHCHECK_KEYS = frozenset({"test", "interval", "timeout", "retries", "start_period", "disable"})
CONDITIONS = frozenset({"service_started", "service_healthy", "service_completed_successfully"})
DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$")


def compose() -> Doc:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # merge keys (<<) resolved
    assert isinstance(document, dict)
    return document


def services() -> dict[str, Doc]:
    found: dict[str, Doc] = compose()["services"]
    return found


def secret_files(service: Doc) -> dict[str, str]:
    """The secrets a container mounts: path inside it to the secret's name."""
    mounted = {}
    for entry in service.get("secrets", []):
        source, target = (
            (entry, entry) if isinstance(entry, str) else (entry["source"], entry.get("target", entry["source"]))
        )
        mounted[f"{SECRETS_DIR}/{target}"] = source
    return mounted


def test_the_file_uses_only_what_the_compose_specification_defines() -> None:
    document = compose()
    assert {k for k in document if not k.startswith("x-")} <= TOP_KEYS
    for name, service in document["services"].items():
        assert set(service) <= SERVICE_KEYS, f"{name}: {sorted(set(service) - SERVICE_KEYS)}"
        check = service.get("healthcheck", {})
        assert set(check) <= HEALTHCHECK_KEYS, name
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert DURATION.match(check[key]), f"{name} healthcheck {key}: {check[key]}"
        for target, condition in service.get("depends_on", {}).items():
            assert target in document["services"], f"{name} depends on {target}, which is not there"
            assert condition["condition"] in CONDITIONS, name
        for source in secret_files(service).values():
            assert source in document["secrets"], f"{name} mounts an undeclared secret {source}"
    assert set(services()) == {"db", ISSUER, COLLECTOR, *PLATFORM}


def test_every_container_runs_a_command_the_code_has() -> None:
    exposed = int(re.findall(r"^EXPOSE (\d+)$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)[0])
    for name in (*COMPONENTS, ISSUER):
        command = services()[name]["command"]
        module, _, factory = factory_of(command).partition(":")
        assert callable(getattr(importlib.import_module(module), factory)), f"{name}: {command}"
        assert int(option(command, "--port")) == exposed == probe.DEFAULT_PORT, name
        expected = "deploy.devissuer.app" if name == ISSUER else f"{'' if name == 'gateway' else 'services.'}{name}.app"
        assert module == expected, name
        assert name == ISSUER or runs_with_the_http_protocol(command), name
        assert name == ISSUER or not takes_forwarded_headers(command), name  # nothing stands in front
    for name, service in MIGRATIONS.items():
        assert services()[name]["command"] == ["python", "-m", f"services.{service}", "migrate"]
        assert importlib.util.find_spec(f"services.{service}.__main__") is not None
    for name in PLATFORM:
        build = services()[name]["build"]
        assert (build["dockerfile"], build["target"]) == ("deploy/Dockerfile", "runtime"), name
    assert services()[ISSUER]["build"]["target"] == "devissuer"
    assert (DEPLOY / services()[ISSUER]["build"]["context"]).resolve() == ROOT


def test_each_container_waits_for_what_it_needs() -> None:
    wanted = {
        **{migrate: {"db": "service_healthy"} for migrate in MIGRATIONS},
        **{
            service: {f"{service}-migrate": "service_completed_successfully", ISSUER: "service_healthy"}
            for service in SERVICES
        },
        "gateway": {**dict.fromkeys(SERVICES, "service_healthy"), ISSUER: "service_healthy"},
    }
    for name, service in services().items():
        depends = {target: c["condition"] for target, c in service.get("depends_on", {}).items()}
        assert depends == wanted.get(name, {}), name
    for migrate in MIGRATIONS:
        # A one-shot container that a running one waits for: `up --wait` takes its exit 0 for done.
        assert any(
            s.get("depends_on", {}).get(migrate, {}).get("condition") == "service_completed_successfully"
            for s in services().values()
        ), migrate
    for name, service in services().items():
        for target, wait in service.get("depends_on", {}).items():
            condition = wait["condition"]
            if condition == "service_healthy":
                assert not services()[target]["healthcheck"].get("disable"), f"{name} waits for {target}'s check"
            if condition == "service_completed_successfully":
                assert services()[target]["restart"] == "no", f"{target} runs once"


def test_every_long_running_container_has_a_health_check_on_a_path_it_serves(tmp_path: Path) -> None:
    issuer = create_issuer(IssuerSettings(environment="development", oauth_client_secret="s", var_dir=tmp_path))
    issuer_paths = {route.path for route in issuer.routes}  # type: ignore[attr-defined]
    for name, service in services().items():
        check = service["healthcheck"]
        if name in MIGRATIONS:
            assert check == {"disable": True}, f"{name} is one-shot: its service waits for it to exit 0"
            continue
        if name == COLLECTOR:
            # Its image holds nothing to run a check with; nothing waits for it (asserted above).
            assert check == {"disable": True}
            continue
        test = check["test"]
        assert test[0] == "CMD" and check["retries"] >= 1, name
        if name == "db":
            assert "pg_isready" in test and "127.0.0.1" in test, "over TCP: not ready while initialising"
            continue
        assert test[1:4] == ["python", "-m", "deploy.probe"], name
        served = issuer_paths if name == ISSUER else probe_paths(name)
        assert test[4] == "/readyz" and test[4] in served, f"{name} does not serve {test[4]}"


def test_variables_are_read_by_the_settings_and_secrets_are_files() -> None:
    for name, service in services().items():
        environment: dict[str, str] = service.get("environment", {})
        if name in PLATFORM:
            readers = (MIGRATIONS[name],) if name in MIGRATIONS else (name,)
            unread = set(environment) - set().union(*(component_env_names(c) for c in readers))
            assert not unread, f"{name} sets {sorted(unread)}"
        elif name == ISSUER:
            assert not set(environment) - env_names(IssuerSettings), name
        mounted = secret_files(service)
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                assert value in mounted, f"{name}: {variable} names {value}, which is not mounted"
            else:
                assert not re.search(r"PASSWORD|SECRET", variable), f"{name}: {variable} holds a secret inline"
            if "://" in str(value):
                assert make_url(str(value).replace("http://", "postgresql://")).password is None, f"{name}: {variable}"


@pytest.fixture
def mounted_secrets(tmp_path: Path) -> dict[str, Path]:
    """Every secret of compose, made by the script, by its name in compose."""
    compose_secrets.make(tmp_path)
    return {name: tmp_path / Path(entry["file"]).name for name, entry in compose()["secrets"].items()}


def environment_of(name: str, secrets: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The container's environment as its process sees it, each secret path replaced by the file
    the script made for it."""
    service = services()[name]
    mounted = secret_files(service)
    environment = {
        k: str(secrets[mounted[v]]) if v in mounted else str(v) for k, v in service.get("environment", {}).items()
    }
    for variable in [v for v in os.environ if v.startswith(("IV_", "OTEL_"))]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    return environment


def test_the_settings_compose_gives_start_in_production(
    mounted_secrets: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*SERVICES, *MIGRATIONS):
        service = MIGRATIONS.get(name, name)
        with monkeypatch.context() as patch:
            environment_of(name, mounted_secrets, patch)
            settings = ServiceSettings.for_service(service)  # refuses production without what it needs
            assert settings.environment == "production", name
            url = make_url(settings.database_url)
            password = mounted_secrets[f"{service}_database_password"].read_text().strip()
            assert (url.host, url.username, url.database, url.password) == ("db", service, service, password)
            assert settings.oauth_secret() == mounted_secrets["oauth_client_secret"].read_text().strip()
            if name in SERVICES:
                key = serialization.load_pem_private_key(settings.audit_key_path.read_bytes(), None)
                assert isinstance(key, ed25519.Ed25519PrivateKey), name
                assert settings.audit_key_path == mounted_secrets[f"{service}_audit_key"], "its own key"
            for other in SERVICES:
                assert settings.upstreams()[f"/{other}"] == f"http://{other}:{probe.DEFAULT_PORT}"
    with monkeypatch.context() as patch:
        environment_of("gateway", mounted_secrets, patch)
        gateway = GatewaySettings()
        assert gateway.environment == "production"
        # No client and no database: its one secret seals the portal's sessions.
        assert services()["gateway"]["secrets"] == ["portal_session_keys"]
        assert gateway.portal_keys() == [mounted_secrets["portal_session_keys"].read_text().strip()]
        assert gateway.portal_token_url == "http://issuer:8000/token"


def test_the_issuer_serves_what_the_services_ask_for(
    mounted_secrets: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        environment_of(ISSUER, mounted_secrets, patch)
        issuer = IssuerSettings()
        assert issuer.environment == "development"
        assert issuer.signing_key_path == mounted_secrets["issuer_signing_key"]
        assert isinstance(
            serialization.load_pem_private_key(issuer.signing_key_path.read_bytes(), None), ec.EllipticCurvePrivateKey
        )
        secret = issuer.client_secret()
    metadata = discovery(issuer)
    for name in (*SERVICES, *MIGRATIONS, "gateway"):
        environment = services()[name]["environment"]
        assert environment["IV_JWKS_URL"] == metadata["jwks_uri"], name
        assert (
            environment["IV_JWT_ISSUER"] == issuer.jwt_issuer and environment["IV_JWT_AUDIENCE"] == issuer.jwt_audience
        )
        if name != "gateway":
            assert environment["IV_OAUTH_TOKEN_URL"] == metadata["token_endpoint"], name
            assert environment["IV_OAUTH_CLIENT_ID"] == issuer.oauth_client_id, name
            with monkeypatch.context() as patch:
                environment_of(name, mounted_secrets, patch)
                assert ServiceSettings.for_service(MIGRATIONS.get(name, name)).oauth_secret() == secret
    assert metadata["issuer"].startswith(f"http://{ISSUER}:{probe.DEFAULT_PORT}")
    # The explorer signs in at the issuer as the host reaches it (its published port), and the
    # issuer sends the browser back to the gateway's published explorer.
    (published,) = services()[ISSUER]["ports"]
    host = "http://" + published.rsplit(":", 1)[0]
    gateway = services()["gateway"]["environment"]
    for endpoint in ("authorization_endpoint", "token_endpoint"):
        path = metadata[endpoint].removeprefix(issuer.jwt_issuer.rstrip("/"))
        variable = "IV_EXPLORER_AUTHORIZATION_URL" if endpoint == "authorization_endpoint" else "IV_EXPLORER_TOKEN_URL"
        assert gateway[variable] == host + path
    assert gateway["IV_EXPLORER_CLIENT_ID"] == issuer.explorer_client_id
    (gateway_port,) = services()["gateway"]["ports"]
    assert issuer.explorer_redirect_uris == [f"http://{gateway_port.rsplit(':', 1)[0]}/docs/oauth2-redirect"]


def test_the_secrets_are_made_by_the_script_and_never_committed(tmp_path: Path) -> None:
    declared = compose()["secrets"]
    assert {Path(s["file"]).parent for s in declared.values()} == {Path("secrets")}
    assert {Path(s["file"]).name for s in declared.values()} == set(compose_secrets.contents())
    made = compose_secrets.make(tmp_path / "secrets")
    assert sorted(made) == sorted(compose_secrets.contents())
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    for name in made:
        path = tmp_path / "secrets" / name
        # Readable by the containers' users (compose mounts the file as it is); the folder keeps others out.
        assert path.stat().st_mode & 0o777 == 0o644, name
        assert len(path.read_bytes().strip()) >= 32, name
    before = {n: (tmp_path / "secrets" / n).read_bytes() for n in made}
    assert compose_secrets.make(tmp_path / "secrets") == [], "a second run keeps what is there"
    assert before == {n: (tmp_path / "secrets" / n).read_bytes() for n in made}
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/secrets/" in ignored, "the secrets are never committed"


def test_postgresql_makes_a_role_and_a_database_per_service() -> None:
    db = services()["db"]
    (init,) = (v for v in db["volumes"] if "docker-entrypoint-initdb.d" in v)
    script = DEPLOY / init.split(":")[0]
    assert script.suffix == ".sh" and script.stat().st_mode & 0o111, "the image runs executable *.sh init scripts"
    text = script.read_text()
    (listed,) = re.findall(r"^for service in (.+); do$", text, re.MULTILINE)
    assert tuple(listed.split()) == SERVICES
    assert "/run/secrets/${service}_database_password" in text
    assert {f"{service}_database_password" for service in SERVICES} <= set(db["secrets"])
    assert db["environment"] == {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"}


def test_the_platform_runs_hardened() -> None:
    for name in (*PLATFORM, ISSUER, COLLECTOR):
        service = services()[name]
        assert service["read_only"] is True, name
        assert any(t.startswith("/tmp:") for t in service["tmpfs"]), f"{name}: the one writable place"
        assert service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"], name
    for name in ("gateway", ISSUER):
        for port in services()[name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name}: published on loopback only"


def test_the_collector_is_optional_and_receives_what_the_components_send() -> None:
    collector = services()[COLLECTOR]
    assert collector["profiles"] == ["telemetry"]
    (mount,) = collector["volumes"]
    config = yaml.safe_load((DEPLOY / mount.split(":")[0]).read_text())
    assert collector["command"] == [f"--config={mount.split(':')[1]}"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config.get(kind, {})), kind
    documented = re.search(r"OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)", (DEPLOY / "compose.yaml").read_text())
    assert documented is not None and documented.group(1) == f"http://{COLLECTOR}:4318"
    for name in PLATFORM:
        # Unset by default: nothing is recorded, and nothing tries to reach an absent collector.
        assert services()[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
