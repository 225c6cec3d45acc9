"""How the portal asks the API: in-process, through the gateway's own ASGI app, with the person's token.

A page's request goes to ``/valuechains/v1/...`` exactly as a client's would: the token is checked
at the edge, the proxy passes it on, the service applies need to know and partner scopes, and the
gateway's ``include`` and ``expand`` run as for anyone. So every number and every list on a page is
the API's answer for that person, by construction; the portal computes no figure of its own.
No network hop is added: the call is an ASGI call into the same process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import httpx2
from starlette.types import ASGIApp

from services.chassis.pagination import COUNT_NOT_SHOWN
from services.chassis.tasks import gather

INTERNAL_BASE = "http://gateway.portal"
"""The base URL of the in-process calls (never resolved: the transport is the app itself)."""

Query = Sequence[tuple[str, str]]


class ApiRefused(Exception):
    """The API answered a page's request with an error: the page shows it to the person."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class PortalApi:
    """The gateway's own app as the portal's API client; one per gateway app, made in lifespan."""

    def __init__(self, app: ASGIApp) -> None:
        self._client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=INTERNAL_BASE)

    async def aclose(self) -> None:
        await self._client.aclose()

    def as_person(self, token: str) -> PersonApi:
        return PersonApi(self._client, token)


class PersonApi:
    """The API as one person sees it: every request carries their token."""

    def __init__(self, client: httpx2.AsyncClient, token: str) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def get(self, path: str, query: Query = ()) -> Any:
        """The JSON answer of ``GET path?query``; an error answer raises ``ApiRefused``."""
        target = path + (f"?{urlencode(list(query))}" if query else "")
        response = await self._client.get(target, headers=self._headers)
        if response.status_code != 200:
            raise ApiRefused(response.status_code, _detail(response))
        return response.json()

    async def export(self, path: str, query: Query = ()) -> httpx2.Response:
        """The CSV of a report (``Accept: text/csv``) as the API sends it, its body still to be read:
        the caller streams it on (``aiter_bytes``) and closes it. An error answer raises ``ApiRefused``."""
        target = path + (f"?{urlencode(list(query))}" if query else "")
        request = self._client.build_request("GET", target, headers={**self._headers, "Accept": "text/csv"})
        response = await self._client.send(request, stream=True)
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            raise ApiRefused(response.status_code, _detail(response))
        return response

    async def attempt(self, path: str, query: Query = ()) -> Any:
        """As ``get``, but a service that is down (5xx) is its ``ApiRefused``, returned, not raised:
        for a page that shows each service on its own (a 4xx still raises: the person is refused)."""
        try:
            return await self.get(path, query)
        except ApiRefused as refused:
            if refused.status < 500:
                raise
            return refused

    async def get_list(self, path: str, query: Query = ()) -> Any:
        """A list's page with ``not_shown``: how many records matching the filters the person may not
        see (``count_not_shown=true``, which every list takes)."""
        return await self.get(path, [*query, (COUNT_NOT_SHOWN, "true")])

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """The JSON answer of ``POST path`` with ``body``, as the person (a write goes through the
        API's own checks: four eyes, states, If-Match); an error answer raises ``ApiRefused``."""
        response = await self._client.post(path, json=body, headers=self._headers)
        if response.status_code not in (200, 201):
            raise ApiRefused(response.status_code, _detail(response))
        return response.json()

    async def get_all(self, *requests: tuple[str, Query]) -> list[Any]:
        """Several answers at once (each raises as ``get`` does)."""
        return await gather(*(self.get(path, query) for path, query in requests))

    async def get_lists(self, *requests: tuple[str, Query]) -> list[Any]:
        """Several lists at once, each as ``get_list`` asks it."""
        return await gather(*(self.get_list(path, query) for path, query in requests))


def _detail(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"status {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else f"status {response.status_code}"
