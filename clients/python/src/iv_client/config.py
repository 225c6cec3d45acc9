"""Where ``ivctl`` finds the platform and its credentials.

In order, each overriding the one before: the config file (``$IVCTL_CONFIG``, else
``$XDG_CONFIG_HOME/ivctl/config.toml``, else ``~/.config/ivctl/config.toml``), the environment
(``IV_URL``, ``IV_TOKEN``, ``IV_OAUTH_TOKEN_URL``, ``IV_OAUTH_CLIENT_ID``, ``IV_OAUTH_CLIENT_SECRET``
or ``IV_OAUTH_CLIENT_SECRET_FILE``, ``IV_OAUTH_SCOPE``), and the command's own ``--url`` and ``--token``.
The file has the same settings in lower case without the prefix::

    url = "https://iv.example.org"
    oauth_token_url = "https://login.example.org/oauth2/token"
    oauth_client_id = "ebo-verhoorplanner"
    oauth_client_secret_file = "/run/secrets/ivctl"
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class Config:
    url: str = DEFAULT_URL
    token: str | None = None
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_client_secret_file: str | None = None
    oauth_scope: str | None = None

    def client_secret(self) -> str | None:
        if self.oauth_client_secret:
            return self.oauth_client_secret
        if self.oauth_client_secret_file:
            return Path(self.oauth_client_secret_file).expanduser().read_text().strip()
        return None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("IVCTL_CONFIG"):
        return Path(env["IVCTL_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "ivctl" / "config.toml"


def load(env: Mapping[str, str] | None = None) -> Config:
    """The settings from the config file (if there is one) and the environment."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    path = config_path(env)
    if path.is_file():
        with path.open("rb") as handle:
            stored = tomllib.load(handle)
        values.update({k: str(v) for k, v in stored.items() if k in NAMES})
    for name in NAMES:
        if env.get(f"IV_{name.upper()}"):
            values[name] = env[f"IV_{name.upper()}"]
    return Config(**values)


def save(path: Path, values: Mapping[str, str]) -> None:
    """Write ``values`` into the config file (kept with what it held), readable by its owner only."""
    current: dict[str, str] = {}
    if path.is_file():
        with path.open("rb") as handle:
            current = {k: str(v) for k, v in tomllib.load(handle).items()}
    current.update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A JSON string is a TOML basic string: the same quotes and escapes.
    text = "".join(f"{key} = {json.dumps(value)}\n" for key, value in sorted(current.items()))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


NAMES = tuple(f.name for f in fields(Config))
