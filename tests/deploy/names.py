"""What the processes read and serve, for the deployment files to be checked against: the
environment variables of each component's settings class, its probe paths, and the parts of a
uvicorn command line (tests/deploy/test_manifests.py and test_compose.py)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from gateway.health import health_router as gateway_health_router
from gateway.settings import GatewaySettings
from services.chassis.health import health_router
from services.chassis.routing import SERVICES
from services.chassis.settings import ServiceSettings

COMPONENTS = ("gateway", *SERVICES)
# Variables read by libraries rather than the settings classes: the OpenTelemetry SDK's exporter
# (services/chassis/telemetry.py looks for it to decide whether anything exports).
LIBRARY_VARIABLES = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT"})
Doc = dict[str, Any]


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads, as pydantic-settings looks them up: a
    field's validation aliases where it has them, else the prefix and the field's name."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def component_env_names(component: str) -> set[str]:
    if component == "gateway":
        return env_names(GatewaySettings) | LIBRARY_VARIABLES
    module = importlib.import_module(f"services.{component}.settings")
    (cls,) = (
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, ServiceSettings) and c.__module__ == module.__name__
    )
    per_service = {f"IV_{service}_{name}".upper() for service in SERVICES for name in ServiceSettings.PER_SERVICE}
    return env_names(cls) | per_service | LIBRARY_VARIABLES


def probe_paths(component: str) -> set[str]:
    """The paths the component's health router serves."""
    if component == "gateway":
        router = gateway_health_router()
    else:
        router = health_router(importlib.import_module(f"services.{component}.app").MIGRATIONS)
    return {route.path for route in router.routes}  # type: ignore[attr-defined]


def factory_of(command: list[str] | str) -> str:
    """``module:create_app`` from a uvicorn command line."""
    words = command.split() if isinstance(command, str) else command
    return words[words.index("--factory") + 1]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


HTTP_PROTOCOL = "services.chassis.http_protocol:OneWriteProtocol"
"""uvicorn's ``--http`` in every command of a service or the gateway: one write per answer."""


def runs_with_the_http_protocol(command: list[str] | str) -> bool:
    """Whether a uvicorn command line takes ``HTTP_PROTOCOL``, and it is uvicorn's protocol class."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    words = command.split() if isinstance(command, str) else command
    module, _, name = HTTP_PROTOCOL.partition(":")
    protocol = getattr(importlib.import_module(module), name)
    return "--http" in words and option(words, "--http") == HTTP_PROTOCOL and issubclass(protocol, HttpToolsProtocol)


def takes_forwarded_headers(command: list[str] | str) -> bool:
    """Whether uvicorn takes a trusted peer's ``X-Forwarded-For``/``-Proto`` for the connection's
    address and scheme (its default): only the gateway behind the cluster's ingress; a service
    reads neither, and on one machine (the Procfile, compose) nothing stands in front of the
    gateway whose headers it could trust."""
    words = command.split() if isinstance(command, str) else command
    return "--no-proxy-headers" not in words
