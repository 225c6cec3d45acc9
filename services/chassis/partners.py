"""Chain partners: scoped, read-only access, written once (docs/architecture.md section 5).

A partner token carries the ``partner`` role alone and its organisation (``partner_org``). What
the organisation may read is configured per organisation (``IV_PARTNER_SCOPES``, ``PartnerScope``):
which collections, by their public path (``/valuechains/v1/chains``), which fields of them, and
optionally which chains. Everything else is refused, by default:

- ``admit`` runs when a request's caller is known (``auth.principal_of``, which every route that
  reads a token goes through): a partner may only ``GET`` (or ``HEAD``) a collection's list (batch
  get included) or one of its members, of a collection in their organisation's scope; any other
  route (reports, change feeds, references, duplicates, a nested list, an endpoint added tomorrow),
  any write, a filter on a field outside the scope (it would tell which records hold a value), and
  ``count_not_shown`` (a count of what the scope leaves out would tell what it hides) is 403.
- ``answer`` runs every ``StrictRoute``'s handler. It narrows the answer of such a read: fields
  outside the scope are left out (``id``, ``href``, ``version`` and ``status`` always stay), and
  with a chain filter only the chains named, and what belongs to them (``chain``), are in it; a
  member outside it is 404, as one the caller may not see under need to know. At a service it
  records the read in its access log (``services.chassis.access_log``) before the answer is sent,
  a refused one with its status; reads by anyone else are not recorded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.chassis.errors import Forbidden, NotFound, Problem
from services.chassis.pagination import COUNT_NOT_SHOWN

if TYPE_CHECKING:
    from services.chassis.auth import Principal

PARTNER_ROLE = "partner"
ALWAYS_SHOWN: tuple[str, ...] = ("id", "href", "version", "status")
READ_METHODS = frozenset({"GET", "HEAD"})
PAGING: frozenset[str] = frozenset({"limit", "after", "id", "include_archived"})
"""Query parameters a partner may always send; a filter only when its name is a scoped field, so
that no filter on a field left out (a chain's ``owner_subject``) tells which records have a value."""
DEMO_SCOPES_FILE = Path(__file__).with_name("partner_scopes.demo.json")
"""The development and demo configuration: partner ``OM`` reads chains and applications."""


class CollectionScope(BaseModel):
    """What an organisation may read of one collection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: tuple[str, ...] = Field(
        default=(), description="fields shown beside id, href, version and status; others are left out"
    )
    chains: tuple[str, ...] | None = Field(
        default=None,
        description="only these chains (by href) and what belongs to them (its `chain`); all when absent",
    )


class PartnerScope(BaseModel):
    """What one partner organisation may read: collections by public path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collections: dict[str, CollectionScope] = Field(default_factory=dict)


@functools.cache
def demo_scopes() -> dict[str, PartnerScope]:
    """The scopes of the development configuration (``partner_scopes.demo.json``)."""
    data = json.loads(DEMO_SCOPES_FILE.read_text(encoding="utf-8"))
    return {org: PartnerScope.model_validate(scope) for org, scope in data.items()}


def is_partner(principal: Principal) -> bool:
    return PARTNER_ROLE in principal.roles


def _scopes(request: Request) -> Mapping[str, PartnerScope]:
    scopes: Mapping[str, PartnerScope] = request.app.state.settings.partner_scopes_in_force
    return scopes


def _collection_of(request: Request) -> str | None:
    """The public path of the collection this request's route reads, when it is a collection's
    list or member route of a service (``/v1/<name>`` or ``/v1/<name>/{id}``)."""
    route = request.scope.get("route")
    service = getattr(request.app.state.settings, "service", None)
    template = getattr(route, "path", None)
    if not isinstance(service, str) or not isinstance(template, str):
        return None
    parts = template.strip("/").split("/")
    if len(parts) not in (2, 3) or parts[0] != "v1" or "{" in parts[1]:
        return None
    if len(parts) == 3 and parts[2] != "{id}":
        return None
    return f"/{service}/v1/{parts[1]}"


def admit(request: Request, principal: Principal, *, passes_on: bool = False) -> None:
    """403 unless this partner's organisation may make this request; nothing for anyone else.
    ``passes_on``: the gateway's proxy, which refuses a partner's write and leaves the read's scope
    to the service it passes the request on to."""
    if not is_partner(principal):
        return
    request.state.partner = principal  # known from here on: a refused read is recorded too (``answer``)
    if request.method not in READ_METHODS:
        raise Forbidden("a chain partner reads only: no write is open to the partner role")
    if passes_on:
        return  # the gateway passing a request on: the service behind it decides
    scope = _scopes(request).get(principal.partner_org or "")
    if scope is None:
        raise Forbidden(f"partner organisation {principal.partner_org!r} has no scope configured")
    collection = _collection_of(request)
    if collection is None or collection not in scope.collections:
        raise Forbidden(f"{request.url.path} is outside the scope of partner organisation {principal.partner_org!r}")
    if COUNT_NOT_SHOWN in request.query_params:
        raise Forbidden(
            "count_not_shown is not open to a chain partner: a scope leaves records out after need to know, "
            "and a count of what is left out would tell what the scope hides"
        )
    outside = sorted(set(request.query_params) - PAGING - set(scope.collections[collection].fields))
    if outside:
        raise Forbidden(f"filtering on {', '.join(outside)} is outside the scope of a partner: only scoped fields")


def _in_chains(item: Mapping[str, Any], chains: tuple[str, ...]) -> bool:
    chain = item.get("chain")
    chain_href = chain.get("href") if isinstance(chain, Mapping) else chain
    return item.get("href") in chains or chain_href in chains


def _narrowed(item: Mapping[str, Any], shown: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key in shown}


@dataclass(frozen=True)
class Shown:
    """What a partner's answer showed: the records (hrefs) and the fields."""

    records: tuple[str, ...]
    fields: tuple[str, ...]

    @classmethod
    def of(cls, items: list[dict[str, Any]]) -> Shown:
        fields = sorted({key for item in items for key in item})
        return cls(tuple(str(item.get("href", item.get("id"))) for item in items), tuple(fields))


class ReadLog(Protocol):
    """Where a service records its partners' reads (``access_log.AccessLog``, ``app.state.access_log``)."""

    async def record(self, request: Request, principal: Principal, status: int, shown: Shown | None) -> None: ...


def _status_of(exc: Exception) -> int:
    if isinstance(exc, Problem):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500


async def answer(request: Request, handler: Callable[[Request], Coroutine[Any, Any, Response]]) -> Response:
    """The handler's answer narrowed to a partner's scope, and at a service recorded in its access
    log before it is sent; a refused read is recorded with its status. The entry is written once
    the request's own transaction has ended (FastAPI ends it after this returns), in a transaction
    of its own; when it cannot be written the read fails: no partner's read passes unrecorded."""
    try:
        response, shown = _narrow(request, await handler(request))
    except Exception as exc:
        if _recording(request):
            # Run as the exception leaves FastAPI's handling, before the problem is rendered and sent.
            request.scope["fastapi_inner_astack"].push_async_callback(_record, request, _status_of(exc), None)
        raise
    if not _recording(request):
        return response
    return RecordedAnswer(response, functools.partial(_record, request, response.status_code, shown))


class RecordedAnswer(Response):
    """An answer that is recorded in the access log first, when it is about to be sent."""

    def __init__(self, answer: Response, record: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.answer = answer
        self.record = record
        self.status_code = answer.status_code
        self.background = answer.background
        self.raw_headers = answer.raw_headers
        self.body = getattr(answer, "body", b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.record()
        await self.answer(scope, receive, send)


def _recording(request: Request) -> bool:
    """Whether this request is a partner's at an app that keeps an access log (a service)."""
    return getattr(request.state, "partner", None) is not None and hasattr(request.app.state, "access_log")


async def _record(request: Request, status: int, shown: Shown | None) -> None:
    log: ReadLog = request.app.state.access_log
    await log.record(request, request.state.partner, status, shown)


def _narrow(request: Request, response: Response) -> tuple[Response, Shown | None]:
    """A partner's answer narrowed to their scope (``admit`` has let only scoped reads through),
    and what it shows."""
    principal = getattr(request.state, "principal", None)
    if principal is None or not is_partner(principal) or not 200 <= response.status_code < 300:
        return response, None
    collection = _collection_of(request)
    scope = _scopes(request).get(principal.partner_org or "")
    if collection is None or scope is None or collection not in scope.collections:
        return response, None  # the gateway passing on (its service narrowed the answer)
    rule = scope.collections[collection]
    if not hasattr(response, "body"):
        raise Forbidden(f"{request.url.path} does not answer in a form a partner's scope can narrow")
    shown = frozenset(ALWAYS_SHOWN) | frozenset(rule.fields)
    body = json.loads(bytes(response.body))
    if isinstance(body.get("items"), list):
        items = [item for item in body["items"] if rule.chains is None or _in_chains(item, rule.chains)]
        body["items"] = [_narrowed(item, shown) for item in items]
        what = Shown.of(body["items"])
    else:
        if rule.chains is not None and not _in_chains(body, rule.chains):
            raise NotFound(f"no resource at {request.url.path}")
        body = _narrowed(body, shown)
        what = Shown.of([body])
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    narrowed = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=response.status_code,
        headers=headers,
        media_type=response.media_type,
    )
    return narrowed, what
