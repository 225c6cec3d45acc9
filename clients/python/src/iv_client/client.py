"""The platform's API through its gateway, by href.

Every resource has an ``href`` (``/portfolio/v1/ebos/019a...``), the path of the resource through the
gateway; the client reads, lists and writes by href, and answers with the typed model of the
resource (``iv_client.models``) where it has one.

- Reads and lists retry after a broken or refused connection and on 502, 503 and 504, with backoff.
- A create (every POST) carries an ``Idempotency-Key``, the same on every attempt: the platform does
  the work once and answers a repeat with the first answer, so the client retries it like a read,
  and also while the platform says the key is still in flight (409 with ``Retry-After``).
- An update (PATCH, DELETE) sends ``If-Match`` with the version of the representation it came from;
  it is retried only where nothing can have changed (the connection was refused, or 503), since a
  repeat of a change that went through would be refused with 412. A 412 is ``VersionConflictError``
  carrying the version and the representation as they are now.
- Every problem answer is a ``ProblemError`` of its type (``iv_client.errors``).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import httpx2
import tenacity
from pydantic import BaseModel

from iv_client import config
from iv_client.auth import BearerToken, ClientCredentials
from iv_client.errors import (
    BadGatewayError,
    GatewayTimeoutError,
    InFlightError,
    IVConnectionError,
    NotFoundError,
    ProblemError,
    UnavailableError,
    VersionConflictError,
    error_for,
)
from iv_client.models import Change, EboRegistered, Evaluation, Resource, model_for

R = TypeVar("R", bound=Resource)
Params = Mapping[str, str | int | Sequence[str | int]]
MAX_BATCH = 100
USER_AGENT = "iv-client/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry what is safe to retry: exponential backoff with jitter
    from ``initial`` up to ``maximum`` seconds, at most ``attempts`` tries within ``deadline`` seconds;
    a ``Retry-After`` the platform sends is waited out (up to ``maximum``)."""

    attempts: int = 5
    initial: float = 0.2
    maximum: float = 5.0
    deadline: float = 30.0


class Page(BaseModel):
    items: list[Any]
    next: str | None = None


class ConnectionBroken(IVConnectionError):
    """The connection failed; ``sent`` says whether the request may have reached the platform."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


def _transient_read(exc: BaseException) -> bool:
    return isinstance(exc, IVConnectionError | BadGatewayError | UnavailableError | GatewayTimeoutError)


def _transient_create(exc: BaseException) -> bool:
    return _transient_read(exc) or isinstance(exc, InFlightError)


def _transient_change(exc: BaseException) -> bool:
    return (isinstance(exc, ConnectionBroken) and not exc.sent) or isinstance(exc, UnavailableError)


def _joined(values: str | Sequence[str]) -> str:
    return values if isinstance(values, str) else ",".join(values)


def _resource_id(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1]


class Client:
    """A synchronous client of the gateway at ``url``.

    ``token``: a bearer token (a development token, or one you got elsewhere); or ``auth``: any
    ``httpx2.Auth``, such as ``ClientCredentials`` for production. ``transport`` replaces the network
    (tests)."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        auth: httpx2.Auth | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        if auth is None and token:
            auth = BearerToken(token)
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        # initial * 2^n seconds after the n-th failure, plus up to ``initial`` at random, at most ``maximum``
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=self.retry.initial, jitter=self.retry.initial, max=self.retry.maximum
        )
        self._http = httpx2.Client(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    @classmethod
    def from_settings(
        cls,
        url: str,
        *,
        token: str | None = None,
        oauth_token_url: str | None = None,
        oauth_client_id: str | None = None,
        oauth_client_secret: str | None = None,
        oauth_scope: str | None = None,
        **options: Any,
    ) -> Client:
        """A client with client credentials when they are given, else with ``token``."""
        auth: httpx2.Auth | None = None
        if oauth_token_url and oauth_client_id and oauth_client_secret:
            auth = ClientCredentials(oauth_token_url, oauth_client_id, oauth_client_secret, scope=oauth_scope)
        return cls(url, token=token, auth=auth, **options)

    @classmethod
    def from_config(cls, *, url: str | None = None, token: str | None = None, **options: Any) -> Client:
        """A client as ivctl makes one: ``IV_URL``, ``IV_TOKEN`` or client credentials from the
        environment, else from ivctl's config file (what ``ivctl login`` stored); see ``iv_client.config``.
        ``url`` and ``token`` given here win (a token given here over client credentials too)."""
        loaded = config.load()
        if token:
            loaded.token, loaded.oauth_token_url = token, None
        return cls.from_settings(
            url or loaded.url,
            token=loaded.token,
            oauth_token_url=loaded.oauth_token_url,
            oauth_client_id=loaded.oauth_client_id,
            oauth_client_secret=loaded.client_secret(),
            oauth_scope=loaded.oauth_scope,
            **options,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the wire

    def _once(
        self, method: str, href: str, *, params: Any = None, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx2.Response:
        try:
            response = self._http.request(method, href, params=params, json=json, headers=headers)
        except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
            raise ConnectionBroken(f"{method} {self.url}{href}: cannot connect ({exc})", sent=False) from exc
        except httpx2.TransportError as exc:
            raise ConnectionBroken(f"{method} {self.url}{href}: {type(exc).__name__} ({exc})", sent=True) from exc
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        backoff = self._backoff(state)
        failure = state.outcome.exception() if state.outcome is not None else None
        after = failure.retry_after if isinstance(failure, ProblemError) else None
        return min(self.retry.maximum, max(backoff, after or 0.0))

    def request(
        self,
        method: str,
        href: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_if: Callable[[BaseException], bool] | None = None,
    ) -> httpx2.Response:
        """One request, retried while ``retry_if`` says the failure is transient (by default: what the
        method makes safe). Raises ``ProblemError`` for a problem answer, ``IVConnectionError``."""
        if retry_if is None:
            retry_if = {"GET": _transient_read, "HEAD": _transient_read, "POST": _transient_create}.get(
                method.upper(), _transient_change
            )
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(retry_if),
            wait=self._wait,
            stop=tenacity.stop_after_attempt(self.retry.attempts) | tenacity.stop_after_delay(self.retry.deadline),
            reraise=True,
        )
        return retrying(self._once, method, href, params=params, json=json, headers=headers)

    def _json(self, response: httpx2.Response) -> Any:
        return response.json()

    @staticmethod
    def _typed(href: str, data: Any, model: type[BaseModel] | None = None) -> Any:
        cls = model or model_for(href)
        if cls is None or not isinstance(data, dict) or "href" not in data:
            return data  # a list, a report, or what the client has no model of
        return cls.model_validate(data)

    @staticmethod
    def _href_of(item: Any, collection: str) -> str:
        href = item.get("href") if isinstance(item, dict) else None
        return href if isinstance(href, str) else collection

    # reads

    @overload
    def get(self, href: str, *, expand: str | Sequence[str] = (), include: str | Sequence[str] = ()) -> Any: ...

    @overload
    def get(
        self, href: str, *, expand: str | Sequence[str] = (), include: str | Sequence[str] = (), model: type[R]
    ) -> R: ...

    def get(
        self,
        href: str,
        *,
        expand: str | Sequence[str] = (),
        include: str | Sequence[str] = (),
        model: type[BaseModel] | None = None,
    ) -> Any:
        """The resource at ``href``: its model where the client has one, else the JSON as it came.
        ``expand`` resolves references in it (``"value_chain"``, ``"programme.owner"``), ``include``
        embeds the first page of what points at it (``"teams"``; see ``Resource.included``)."""
        params: dict[str, str] = {}
        if expand:
            params["expand"] = _joined(expand)
        if include:
            params["include"] = _joined(include)
        return self._typed(href, self._json(self.request("GET", href, params=params or None)), model)

    def pages(
        self,
        collection: str,
        *,
        filters: Params | None = None,
        expand: str | Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Page]:
        """Each page of ``collection`` with ``filters`` (a repeated filter: a list of values), following
        the cursors in ``next`` until the last page."""
        params: list[tuple[str, str | int]] = []
        for name, value in (filters or {}).items():
            values = [value] if isinstance(value, str | int) else list(value)
            params += [(name, v) for v in values]
        if expand:
            params.append(("expand", _joined(expand)))
        if limit is not None:
            params.append(("limit", limit))
        href: str | None = collection
        while href is not None:
            page = Page.model_validate(self._json(self.request("GET", href, params=params or None)))
            page.items = [self._typed(self._href_of(item, collection), item) for item in page.items]
            yield page
            href, params = page.next, []  # ``next`` carries the filters, expand and the cursor

    def list(
        self,
        collection: str,
        *,
        filters: Params | None = None,
        expand: str | Sequence[str] = (),
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Every resource of ``collection`` that ``filters`` select, across pages, fetched as they are needed."""
        for page in self.pages(collection, filters=filters, expand=expand, limit=limit):
            yield from page.items

    def batch_get(self, collection: str, ids: Iterable[str], *, expand: str | Sequence[str] = ()) -> builtins.list[Any]:
        """The resources with these ids (or hrefs) in one request per 100, archived ones included;
        those that do not exist or the caller may not see are left out."""
        wanted = [_resource_id(i) for i in ids]
        found: builtins.list[Any] = []
        for start in range(0, len(wanted), MAX_BATCH):
            params: builtins.list[tuple[str, str]] = [("id", i) for i in wanted[start : start + MAX_BATCH]]
            if expand:
                params.append(("expand", _joined(expand)))
            page = self._json(self.request("GET", collection, params=params))
            found += [self._typed(self._href_of(item, collection), item) for item in page["items"]]
        return found

    # writes

    def create(
        self, collection: str, body: Mapping[str, Any] | BaseModel, *, idempotency_key: str | None = None
    ) -> Any:
        """POST ``body`` to ``collection`` (or any POST action: ``/portfolio/v1/ebos/{id}/decision``),
        with an ``Idempotency-Key`` (a new one unless given: give your own to make a retry after a
        crash of your program safe too). Retried on what is transient, the key making sure it is done once."""
        payload = body.model_dump(mode="json", exclude_unset=True) if isinstance(body, BaseModel) else dict(body)
        key = idempotency_key or str(uuid.uuid4())
        response = self.request("POST", collection, json=payload, headers={"Idempotency-Key": key})
        data = self._json(response) if response.content else None
        if collection.rstrip("/") == "/portfolio/v1/ebos":
            return EboRegistered.model_validate(data)
        location = response.headers.get("Location") or collection
        return self._typed(location, data)

    def register_ebo(self, body: Mapping[str, Any] | BaseModel, *, idempotency_key: str | None = None) -> EboRegistered:
        """Register an EBO; the answer lists the EBOs and applications it looks like already."""
        registered: EboRegistered = self.create("/portfolio/v1/ebos", body, idempotency_key=idempotency_key)
        return registered

    def update(self, resource: Resource | str, changes: Mapping[str, Any] | None = None, **fields: Any) -> Any:
        """PATCH ``changes`` (and ``fields``) onto ``resource``, with ``If-Match`` from its version.

        Given an href instead of a representation, the resource is read first and its version used.
        On 412 raises ``VersionConflictError`` with ``current_version`` and ``current`` (the resource
        as it is now): look at what changed, reapply the change to ``current`` and update again."""
        if isinstance(resource, str):
            resource = self.get(resource)
            if not isinstance(resource, Resource):
                raise TypeError(f"{resource!r} has no version to send in If-Match")
        body = {**(changes or {}), **fields}
        try:
            response = self.request("PATCH", resource.href, json=body, headers={"If-Match": resource.etag})
        except VersionConflictError as conflict:
            try:
                conflict.current = self.get(resource.href)
            except NotFoundError:
                conflict.current = None
            if isinstance(conflict.current, Resource):
                conflict.current_version = conflict.current.version
            raise
        return self._typed(resource.href, self._json(response))

    def archive(self, resource: Resource | str, *, reason: str | None = None, force: bool = False) -> Any:
        """DELETE (archive) the resource; with a representation, ``If-Match`` from its version.
        ``force`` with a ``reason`` archives what is still in use."""
        href = resource if isinstance(resource, str) else resource.href
        headers = {} if isinstance(resource, str) else {"If-Match": resource.etag}
        params: dict[str, str] = {}
        if force:
            params["force"] = "true"
        if reason:
            params["reason"] = reason
        return self._typed(href, self._json(self.request("DELETE", href, params=params or None, headers=headers)))

    # what the services offer beside resources

    def evaluate(self, href: str, *, idempotency_key: str | None = None) -> Evaluation:
        """Evaluate one subject, or a collection (with filters as a query string), against the
        principles; the evaluation with its assessments."""
        evaluation: Evaluation = Evaluation.model_validate(
            self._json(
                self.request(
                    "POST",
                    "/principles/v1/evaluations",
                    json={"subject": {"href": href}},
                    headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
                )
            )
        )
        return evaluation

    def register_export(self, *, as_csv: bool = False, filters: Params | None = None) -> Any:
        """The comply-or-explain register: its JSON, or with ``as_csv`` the CSV text."""
        headers = {"Accept": "text/csv"} if as_csv else None
        response = self.request("GET", "/principles/v1/explanations/register", params=filters, headers=headers)
        return response.text if as_csv else self._json(response)

    def verify(self, service: str) -> dict[str, Any]:
        """Verify a service's change feed (auditors and admins): ``ok``, ``findings``, ``witnesses``, ..."""
        result: dict[str, Any] = self._json(self.request("GET", f"/{service}/v1/changes/verify"))
        return result

    def changes(
        self, service: str, *, after: int = 0, limit: int = 100, type: str | None = None, subject: str | None = None
    ) -> Iterator[Change]:
        """The service's change feed after ``after``, page by page, up to its end now."""
        filters: dict[str, str | int] = {"after": after, "limit": limit}
        if type:
            filters["type"] = type
        if subject:
            filters["subject"] = subject
        for page in self.pages(f"/{service}/v1/changes", filters=filters):
            for item in page.items:
                yield Change.model_validate(item)

    def feed_head(self, service: str) -> int:
        """The seq of the newest event in the service's feed."""
        response = self.request("GET", f"/{service}/v1/changes", params={"limit": 1})
        return int(response.headers.get("X-Feed-Head", "0"))

    def stream(
        self,
        service: str,
        *,
        last_event_id: int | None = None,
        type: str | None = None,
        subject: str | None = None,
        read_timeout: float = 60.0,
    ) -> httpx2.Response:
        """Open the service's live change stream (``/v1/changes/stream``), after ``last_event_id``
        (without: from now on). A context manager: the caller reads events from it with
        ``httpx2.EventSource`` and closes it; ``read_timeout`` ends a stream silent for that long
        (the platform sends a heartbeat every 15 s)."""
        params = {k: v for k, v in (("type", type), ("subject", subject)) if v}
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        timeout = httpx2.Timeout(self._http.timeout.connect, read=read_timeout)
        request = self._http.build_request(
            "GET", f"/{service}/v1/changes/stream", params=params, headers=headers, timeout=timeout
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx2.TransportError as exc:
            raise ConnectionBroken(f"the change stream of {service}: {exc}", sent=True) from exc
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_for(response)
        return response
