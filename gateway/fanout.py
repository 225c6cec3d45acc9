"""``GET /references?target=<href>``: who, anywhere on the platform, still points at this (or at
any of several targets: ``target`` repeats, and each item names the one it points at)?

Every service answers for its own data (``/v1/references``); the gateway asks them all at once
and returns their answers one after the other. Each service pages on its own, so the gateway's
cursor carries each service's cursor, and ``limit`` applies per service: a page holds at most
``limit`` items from each. An answer with a service missing would read as "nobody points at it"
and invite archiving what is still in use, so an unreachable service makes the whole answer 503.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from gateway.resilience import UpstreamClient
from services.chassis.auth import CurrentPrincipal
from services.chassis.errors import PROBLEM_JSON, ValidationProblem, problem_responses
from services.chassis.pagination import MAX_BATCH, MAX_LIMIT, Page
from services.chassis.queries import strict_router
from services.chassis.resources import ReferencingItem
from services.chassis.resources.params import TARGETS_DESCRIPTION, Href
from services.chassis.tasks import gather


class FanOutQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: list[Href] = Field(min_length=1, max_length=MAX_BATCH, description=TARGETS_DESCRIPTION)
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="Items per page from each service, 1 to 100.")
    after: str | None = Field(default=None, max_length=4096, description="Opaque cursor from the previous `next`.")
    in_use: bool = Field(
        default=False,
        description="Only the active resources that hold the target in use (what archiving it asks).",
    )


class ServiceAnswer(Exception):
    """A service answered with something other than a page: pass its answer on."""

    def __init__(self, response: Response) -> None:
        super().__init__("service answer")
        self.response = response


def encode_cursor(state: dict[str, str | None]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, services: list[str]) -> dict[str, str | None]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationProblem.field(["query", "after"], "not a cursor this gateway issued") from exc
    if (
        not isinstance(state, dict)
        or not set(state) <= set(services)
        or not all(v is None or isinstance(v, str) for v in state.values())
    ):
        raise ValidationProblem.field(["query", "after"], "not a cursor this gateway issued")
    return state


def _after_of(next_href: str | None) -> str | None:
    if not next_href:
        return None
    values = parse_qs(urlsplit(next_href).query).get("after")
    return values[0] if values else None


def _params(query: FanOutQuery) -> list[tuple[str, str]]:
    """The question as each service is asked it, and as the next page asks it again."""
    params = [*(("target", t) for t in query.target), ("limit", str(query.limit))]
    return [*params, ("in_use", "true")] if query.in_use else params


async def _ask(
    client: UpstreamClient, service: str, query: FanOutQuery, after: str | None, authorization: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    upstream = client.by_name(service)
    assert upstream is not None
    params = _params(query)
    if after is not None:
        params.append(("after", after))
    headers = {"Accept": "application/json", **({"Authorization": authorization} if authorization else {})}
    response = await client.send(upstream, "GET", f"/v1/references?{urlencode(params)}", headers=headers)
    if response.status_code != 200:
        media = response.headers.get("content-type", PROBLEM_JSON)
        raise ServiceAnswer(Response(response.content, status_code=response.status_code, media_type=media))
    page = response.json()
    items = [
        {"href": item["href"], "field": item["field"], "target": item["target"]}
        for item in page.get("items", [])
        if isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("href", "field", "target"))
    ]
    return items, _after_of(page.get("next"))


def references_router() -> APIRouter:
    router = strict_router(tags=["references"])

    @router.get(
        "/references",
        response_model=Page[ReferencingItem],
        summary="Who points at this, anywhere?",
        description=(
            "Asks every service's `/v1/references` at once and returns what each says, service by "
            "service. `limit` applies per service; follow `next` for more. Ask before archiving: "
            "if a service cannot be reached the answer is 503, never a partial list."
        ),
        responses=problem_responses(401, 422, 503),
    )
    async def references(request: Request, principal: CurrentPrincipal, query: Annotated[FanOutQuery, Query()]) -> Any:
        client: UpstreamClient = request.app.state.upstream_client
        services = [u.name for u in client.upstreams.values()]
        state: dict[str, str | None] = decode_cursor(query.after, services) if query.after else dict.fromkeys(services)
        pending = [s for s in services if s in state]
        authorization = request.headers.get("authorization")
        try:
            answers = await gather(
                *(_ask(client, service, query, state[service], authorization) for service in pending)
            )
        except ServiceAnswer as exc:
            return exc.response
        items: list[dict[str, Any]] = []
        remaining: dict[str, str | None] = {}
        for service, (found, after) in zip(pending, answers, strict=True):
            items.extend(found)
            if after is not None:
                remaining[service] = after
        next_href = None
        if remaining:
            next_href = f"/references?{urlencode([*_params(query), ('after', encode_cursor(remaining))])}"
        return {"items": items, "next": next_href}

    return router
