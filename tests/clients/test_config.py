"""Where ivctl and Client.from_config find the platform and credentials: the config file, then the
environment, then what the command or the call says."""

from __future__ import annotations

from pathlib import Path

import pytest

from iv_client import BearerToken, Client, ClientCredentials
from iv_client.config import Config, config_path, load, save


def test_the_file_then_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "ivctl.toml"
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    save(path, {"url": "https://iv.example.org", "token": "from-file"})
    save(path, {"oauth_client_secret_file": str(secret)})  # kept with what the file held
    assert path.stat().st_mode & 0o777 == 0o600
    env = {"IVCTL_CONFIG": str(path)}
    assert load(env) == Config(url="https://iv.example.org", token="from-file", oauth_client_secret_file=str(secret))
    assert load(env).client_secret() == "s3cret"
    assert load({**env, "IV_URL": "http://127.0.0.1:9000", "IV_TOKEN": "from-env"}).token == "from-env"
    assert load({**env, "IV_URL": "http://127.0.0.1:9000"}).url == "http://127.0.0.1:9000"
    assert load({"IVCTL_CONFIG": str(tmp_path / "none.toml")}) == Config()


def test_where_the_file_is() -> None:
    assert config_path({"IVCTL_CONFIG": "/etc/ivctl.toml"}) == Path("/etc/ivctl.toml")
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/ivctl/config.toml")
    assert config_path({}) == Path.home() / ".config" / "ivctl" / "config.toml"


def test_client_credentials_when_configured_a_given_token_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IVCTL_CONFIG", str(tmp_path / "ivctl.toml"))
    for name, value in {
        "IV_URL": "https://iv.example.org",
        "IV_TOKEN": "",
        "IV_OAUTH_TOKEN_URL": "https://login.example.org/token",
        "IV_OAUTH_CLIENT_ID": "ebo",
        "IV_OAUTH_CLIENT_SECRET": "s3cret",
        "IV_OAUTH_SCOPE": "iv.read",
    }.items():
        monkeypatch.setenv(name, value)
    configured = Client.from_config()
    auth = configured._http.auth
    assert isinstance(auth, ClientCredentials) and (auth.client_id, auth.scope) == ("ebo", "iv.read")
    assert configured.url == "https://iv.example.org"
    given = Client.from_config(url="http://127.0.0.1:8000", token="t0ken")
    assert isinstance(given._http.auth, BearerToken) and given.url == "http://127.0.0.1:8000"
