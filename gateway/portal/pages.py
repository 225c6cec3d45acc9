"""The portal's pages: a registry (``page``, ``action``), what a handler gets (``View``) and how
every answer is made (templates, headers, error pages).

A page is a function ``async def handler(view: View) -> Response`` registered with
``@page("/path", "Label", roles=(...))``: a GET under ``/portal``, listed in the navigation (in the
order the modules are imported, for the people holding one of ``roles``; admins see every page).
An action is ``@action("/path")``: a POST whose form's CSRF token is checked before the handler runs
(a missing or wrong one is a 403 page, and nothing happens). Both run only for a signed-in person;
``view.api`` asks the API as that person. A handler raises ``PageError`` for a page that cannot be
shown (bad input: a 4xx page); an error the API answers becomes its page here (``ApiRefused``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.portal import charts
from gateway.portal.api import ApiRefused, PersonApi, PortalApi
from gateway.portal.session import CSRF_FIELD, PORTAL_PATH, Sealer, Session, end_cookies
from services.chassis.auth import Principal
from services.chassis.errors import ServiceUnavailable, Unauthenticated

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SIGN_IN_PATH = PORTAL_PATH + "/aanmelden"
SIGN_OUT_PATH = PORTAL_PATH + "/afmelden"

# Nothing but the portal's own stylesheet: no script at all, forms post to the portal only.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": POLICY, "Cache-Control": "no-store", "Vary": "Cookie"}

ROLE_LABELS = {
    "reader": "lezer",
    "auditor": "auditor",
    "contributor": "bijdrager",
    "portfolio_manager": "portfoliomanager",
    "chain_owner": "ketenverantwoordelijke",
    "architect": "architect",
    "admin": "beheerder",
    "partner": "ketenpartner",
}

ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
ENVIRONMENT.globals.update(number=charts.number, euro=charts.euro, charts=charts, role_labels=ROLE_LABELS)


class PageError(Exception):
    """A page that cannot be shown to this person, with the status and the sentence they read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def record_id(value: str, message: str) -> str:
    """``value`` as a record's id (a UUID, in its canonical form); anything else is a 400 page
    saying ``message``, before the API is asked."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise PageError(400, message) from None


@dataclass
class View:
    """What a page handler gets: the request, the person and their API, and ``render``."""

    request: Request
    session: Session
    principal: Principal
    api: PersonApi
    csrf: str
    form: dict[str, str] = field(default_factory=dict)

    def render(self, template: str, *, title: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(
            template,
            status=status,
            title=title,
            principal=self.principal,
            csrf=self.csrf,
            path=self.request.url.path,
            **context,
        )


Handler = Callable[[View], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    path: str
    label: str
    roles: frozenset[str]
    handler: Handler

    @property
    def href(self) -> str:
        return PORTAL_PATH + self.path

    def shown_to(self, principal: Principal) -> bool:
        return not self.roles or principal.has_role(*self.roles)


PAGES: list[Page] = []
ACTIONS: dict[str, Handler] = {}
DOWNLOADS: dict[str, Handler] = {}


def page(path: str, label: str, *, roles: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Register a page at ``/portal<path>``, in the navigation as ``label`` for ``roles``."""

    def register(handler: Handler) -> Handler:
        PAGES.append(Page(path, label, frozenset(roles), handler))
        return handler

    return register


def action(path: str) -> Callable[[Handler], Handler]:
    """Register a form's POST at ``/portal<path>``; the CSRF token is checked before ``handler``."""

    def register(handler: Handler) -> Handler:
        ACTIONS[path] = handler
        return handler

    return register


def download(path: str) -> Callable[[Handler], Handler]:
    """Register a GET at ``/portal<path>`` that is not a page of the navigation (a CSV the API makes)."""

    def register(handler: Handler) -> Handler:
        DOWNLOADS[path] = handler
        return handler

    return register


def render(template: str, *, status: int = 200, principal: Principal | None = None, **context: Any) -> HTMLResponse:
    nav = [p for p in PAGES if principal is not None and p.shown_to(principal)]
    html = ENVIRONMENT.get_template(template).render(
        principal=principal, nav=nav, sign_in_path=SIGN_IN_PATH, sign_out_path=SIGN_OUT_PATH, **context
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def error_page(status: int, message: str, principal: Principal | None = None, csrf: str = "") -> HTMLResponse:
    return render("error.html", status=status, title="Niet gelukt", message=message, principal=principal, csrf=csrf)


API_MESSAGES = {
    400: "Dit verzoek klopt niet",
    403: "U hebt geen toegang tot deze gegevens",
    404: "Deze gegevens bestaan niet, of u mag ze niet zien",
    422: "Dit verzoek klopt niet",
}


UNREACHABLE = "Een deel van het platform is nu niet bereikbaar. Probeer het later opnieuw."


def refused_page(refused: ApiRefused, principal: Principal, csrf: str) -> HTMLResponse:
    if refused.status >= 500:
        return error_page(503, UNREACHABLE, principal, csrf)
    status = refused.status if 400 <= refused.status < 500 else 400
    message = API_MESSAGES.get(refused.status, "Dit verzoek kan niet worden uitgevoerd")
    return error_page(status, f"{message}: {refused.detail}", principal, csrf)


class Portal:
    """The pages' shared machinery for one gateway app: the cookie sealer and the API client."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        self.api: PortalApi | None = None

    async def signed_in(self, request: Request) -> tuple[Session, Principal] | None:
        session = self.sealer.session_of(request)
        if session is None:
            return None
        try:
            principal = await request.app.state.verifier.verify(session.token)
        except Unauthenticated:
            return None
        except ServiceUnavailable:  # the identity provider's keys cannot be fetched now
            raise PageError(503, UNREACHABLE) from None
        return session, principal

    async def who(self, request: Request) -> tuple[Session, Principal] | HTMLResponse | None:
        """The signed-in person, None when nobody is, or the page saying why that cannot be told now."""
        try:
            return await self.signed_in(request)
        except PageError as exc:
            return error_page(exc.status, exc.message)

    def view(self, request: Request, session: Session, principal: Principal) -> View:
        assert self.api is not None, "the portal's API client starts in the gateway's lifespan"
        return View(request, session, principal, self.api.as_person(session.token), self.sealer.csrf_token(session))

    def page_endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = await self.who(request)
            if isinstance(who, Response):
                return who
            if who is None:
                return sign_in_redirect(request)
            return await run(handler, self.view(request, *who))

        return endpoint

    def action_endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await form_of(request)
            who = await self.who(request)
            if isinstance(who, Response):
                return who
            session = who[0] if who is not None else None
            if who is None or not self.sealer.csrf_ok(session, form.get(CSRF_FIELD)):
                principal = who[1] if who is not None else None
                return error_page(
                    403,
                    "Dit formulier is verlopen of komt niet van deze site; er is niets veranderd. "
                    "Open de pagina opnieuw en probeer het nog eens.",
                    principal,
                    self.sealer.csrf_token(session) if session is not None else "",
                )
            view = self.view(request, *who)
            view.form = form
            return await run(handler, view)

        return endpoint


async def run(handler: Handler, view: View) -> Response:
    try:
        return await handler(view)
    except PageError as exc:
        return error_page(exc.status, exc.message, view.principal, view.csrf)
    except ApiRefused as refused:
        if refused.status == 401:  # the token ended or was refused: sign in again
            response = sign_in_redirect(view.request)
            end_cookies(response)
            return response
        return refused_page(refused, view.principal, view.csrf)


def sign_in_redirect(request: Request) -> Response:
    # Back to the page asked for; after a form's post to the start page (an action takes no GET).
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = PORTAL_PATH + "/"
    return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target, safe='')}", status_code=303, headers=PAGE_HEADERS)


async def form_of(request: Request) -> dict[str, str]:
    """A posted form (``application/x-www-form-urlencoded``, the only kind the pages send)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}
