"""The gateway's settings from ``IV_*`` environment variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings


def test_cors_origins_and_timeouts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IV_CORS_ORIGINS", "https://portaal.politie.example, https://ebo.politie.example")
    monkeypatch.setenv("IV_UPSTREAM_TIMEOUTS", '{"principles": 20}')
    monkeypatch.setenv("IV_PORTFOLIO_URL", "http://portfolio.internal:8080/")
    settings = GatewaySettings()
    assert settings.cors_origins == ["https://portaal.politie.example", "https://ebo.politie.example"]
    assert settings.timeout_for("principles") == 20 and settings.timeout_for("portfolio") == 10
    assert settings.upstreams()["/portfolio"] == "http://portfolio.internal:8080"
    monkeypatch.setenv("IV_CORS_ORIGINS", '["https://portaal.politie.example"]')
    assert GatewaySettings().cors_origins == ["https://portaal.politie.example"]


def test_no_cors_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IV_CORS_ORIGINS", raising=False)
    assert GatewaySettings().cors_origins == []


@pytest.mark.parametrize("timeouts", ['{"inventory": 5}', '{"principles": 0}'])
def test_bad_timeouts_are_refused(monkeypatch: pytest.MonkeyPatch, timeouts: str) -> None:
    monkeypatch.setenv("IV_UPSTREAM_TIMEOUTS", timeouts)
    with pytest.raises(ValidationError):
        GatewaySettings()


def test_production_needs_an_identity_provider() -> None:
    with pytest.raises(ValidationError, match="IV_JWKS_URL"):
        GatewaySettings(environment="production")
