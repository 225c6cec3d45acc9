"""A service reaches its own typed settings one way: ``ctx.settings_as(ItsSettings)``."""

from __future__ import annotations

from typing import cast

import pytest
from pydantic import Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.chassis.auth import Principal
from services.chassis.references import Upstreams
from services.chassis.settings import ServiceSettings, settings_as
from services.chassis.uow import RequestContext


class OwnSettings(ServiceSettings):
    report_limit: int = Field(default=25, ge=1)


def context(settings: ServiceSettings) -> RequestContext:
    return RequestContext(
        principal=Principal(sub="u1", roles=frozenset({"reader"})),
        session=cast(AsyncSession, None),
        settings=settings,
        upstreams=cast(Upstreams, None),
    )


def test_settings_of_the_service_class_are_given_as_they_are() -> None:
    own = OwnSettings.for_service("valuechains", report_limit=7)
    assert settings_as(own, OwnSettings) is own
    ctx = context(own)
    limit: int = ctx.settings_as(OwnSettings).report_limit  # typed: mypy sees OwnSettings
    assert limit == 7
    assert ctx.settings is own


def test_base_settings_are_completed_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IV_REPORT_LIMIT", "40")
    base = ServiceSettings.for_service("valuechains", max_body_bytes=4096)
    own = settings_as(base, OwnSettings)
    assert isinstance(own, OwnSettings)
    assert (own.service, own.max_body_bytes, own.database_url) == ("valuechains", 4096, base.database_url)
    assert own.report_limit == 40


def test_the_context_completes_them_once() -> None:
    ctx = context(ServiceSettings.for_service("principles"))
    first = ctx.settings_as(OwnSettings)
    assert first.report_limit == 25
    assert ctx.settings is first
    assert ctx.settings_as(OwnSettings) is first


def test_settings_of_another_class_are_not_passed_off_as_the_service_s() -> None:
    class OtherSettings(ServiceSettings):
        other: str = "x"

    other = OtherSettings.for_service("portfolio")
    own = settings_as(other, OwnSettings)
    assert isinstance(own, OwnSettings) and not isinstance(own, OtherSettings)
    assert own.service == "portfolio"


def test_a_service_reaches_another_through_one_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several instances are the gateway's setting; a service given them is refused at start, by name."""
    monkeypatch.setenv("IV_PORTFOLIO_URL", "http://portfolio-0.test,http://portfolio-1.test")
    with pytest.raises(ValidationError, match="IV_PORTFOLIO_URL names 2 URLs: only the gateway balances"):
        ServiceSettings.for_service("principles")
    monkeypatch.setenv("IV_PORTFOLIO_URL", "portfolio:8001")
    with pytest.raises(ValidationError, match=r"IV_PORTFOLIO_URL.*not an http:// or https:// URL"):
        ServiceSettings.for_service("principles")
    monkeypatch.setenv("IV_PORTFOLIO_URL", "http://gateway.test/portfolio/")
    assert ServiceSettings.for_service("principles").upstreams()["/portfolio"] == "http://gateway.test/portfolio"
