"""Routing through the gateway: what is forwarded, what is stripped, and the edge checks."""

from __future__ import annotations

import pytest

from gateway.headers import request_headers, response_headers
from tests.gateway.conftest import MakeRig, Rig
from tests.support import Tokens

CHAIN = {
    "code": "GWT",
    "name": "Gatewayketen",
    "domain": "Testing",
    "mission": "Reach the services through one door.",
    "owner": {"subject": "u-gw", "name": "G. Way", "unit": "Dienst IV"},
}


async def test_routes_to_the_service_with_method_path_query_and_body(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("admin")) as client:
        created = await client.post("/valuechains/v1/chains", json=CHAIN, headers={"Idempotency-Key": "gw-1"})
        assert created.status_code == 201, created.text
        chain = created.json()
        assert created.headers["location"] == chain["href"]
        assert created.headers["etag"] == '"1"'

        listed = await client.get("/valuechains/v1/chains", params={"code": "GWT"})
        assert listed.status_code == 200
        assert listed.headers["content-type"].startswith("application/json")
        assert [c["id"] for c in listed.json()["items"]] == [chain["id"]]

        patched = await client.patch(
            f"/valuechains/v1/chains/{chain['id']}", json={"mission": "Changed."}, headers={"If-Match": '"1"'}
        )
        assert patched.status_code == 200 and patched.json()["mission"] == "Changed."

    sent = [r for r in rig.sent_to("valuechains.test") if r.method == "PATCH"]
    assert len(sent) == 1
    assert sent[0].url.path == f"/v1/chains/{chain['id']}"
    assert sent[0].headers["if-match"] == '"1"'


async def test_service_problems_pass_through(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        missing = await client.get("/valuechains/v1/chains/does-not-exist")
        unknown_param = await client.get("/valuechains/v1/chains", params={"colour": "blue"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "/problems/not-found"
    assert unknown_param.status_code == 400  # the service's own answer, passed on
    assert unknown_param.json()["type"] == "/problems/query-parameter"


async def test_strips_hop_by_hop_and_spoofable_identity_headers(rig: Rig, tokens: Tokens) -> None:
    spoofed = {
        "X-Forwarded-For": "10.9.9.9",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "gopher",
        "Forwarded": "for=10.9.9.9",
        "X-Real-IP": "10.9.9.9",
        "X-User": "admin",
        "X-User-Id": "admin",
        "X-Remote-User": "admin",
        "X-Auth-Request-User": "admin",
        "X-Roles": "admin",
        "Remote-User": "admin",
        "True-Client-IP": "10.9.9.9",
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "should not pass",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic abc",
        "X-Request-Id": "req-123",
    }
    token = tokens("reader")
    async with rig.client({**token, **spoofed}) as client:
        mark = rig.mark()
        answer = await client.get("/valuechains/v1/chains")
    assert answer.status_code == 200
    [sent] = rig.sent_to("valuechains.test", mark)
    names = {name.lower() for name in sent.headers}
    for header in spoofed:
        if header.lower() in ("x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-request-id"):
            continue
        if header == "Connection":  # the gateway's own connection to the service has its own
            assert "x-secret-hop" not in sent.headers.get("connection", "").lower()
            continue
        assert header.lower() not in names, header
    # The gateway's own view of where the request came from replaces the client's claims.
    assert sent.headers["x-forwarded-for"] == "127.0.0.1"
    assert sent.headers["x-forwarded-proto"] == "http"
    assert sent.headers["x-forwarded-host"] == "testserver"
    assert sent.headers.get_list("x-forwarded-for") == ["127.0.0.1"]
    # Ordinary end-to-end headers pass, and so does the caller's token (the service checks it again).
    assert sent.headers["x-request-id"] == "req-123"
    assert sent.headers["authorization"] == token["Authorization"]
    assert sent.headers["host"] == "valuechains.test"
    assert "traceparent" in names


async def test_forwards_the_callers_token_unchanged(rig: Rig, tokens: Tokens) -> None:
    header = tokens("reader")
    async with rig.client(header) as client:
        mark = rig.mark()
        await client.get("/principles/healthz")
    [sent] = rig.sent_to("principles.test", mark)
    assert sent.headers["authorization"] == header["Authorization"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "forged", "basic"],
)
async def test_401_at_the_edge_before_any_upstream(rig: Rig, headers: dict[str, str]) -> None:
    async with rig.client(headers) as client:
        mark = rig.mark()
        answer = await client.get("/valuechains/v1/chains")
        posted = await client.post("/portfolio/v1/programmes", json={})
    assert answer.status_code == 401 and posted.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unauthenticated"
    assert "bearer" in answer.headers["www-authenticate"].lower()
    assert rig.transport.requests[mark:] == []


async def test_expired_token_is_401_at_the_edge(rig: Rig, tokens: Tokens) -> None:
    import datetime as dt

    expired = tokens("reader", ttl=dt.timedelta(hours=-1))
    async with rig.client(expired) as client:
        mark = rig.mark()
        answer = await client.get("/valuechains/v1/chains")
    assert answer.status_code == 401
    assert rig.transport.requests[mark:] == []


async def test_public_gateway_paths_need_no_token(rig: Rig) -> None:
    async with rig.client() as client:
        for path in ("/healthz", "/readyz", "/docs", "/openapi.json", "/problems", "/problems/not-found"):
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.text)
        asset = await client.get("/static/explorer/swagger-ui-bundle.js")
        assert asset.status_code == 200


async def test_unknown_prefix_is_a_404_problem(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        answer = await client.get("/inventory/v1/things")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


async def test_security_headers_on_every_answer(rig: Rig, tokens: Tokens) -> None:
    async with rig.client(tokens("reader")) as client:
        answers = [
            await client.get("/valuechains/v1/chains"),
            await client.get("/valuechains/v1/chains/nope"),
            await client.get("/healthz"),
            await client.get("/nowhere"),
        ]
    async with rig.client() as anonymous:
        answers.append(await anonymous.get("/valuechains/v1/chains"))
        docs = await anonymous.get("/docs")
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    assert "script-src 'self'" in docs.headers["content-security-policy"]


async def test_body_over_the_limit_is_413(make_rig: MakeRig, tokens: Tokens) -> None:
    async with make_rig(max_body_bytes=2048) as rig, rig.client(tokens("admin")) as client:
        mark = rig.mark()
        answer = await client.post("/valuechains/v1/chains", json={**CHAIN, "mission": "x" * 4096})
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
        assert rig.transport.requests[mark:] == []


async def test_cors_only_for_configured_origins(make_rig: MakeRig, tokens: Tokens) -> None:
    preflight = {"Origin": "https://portaal.politie.example", "Access-Control-Request-Method": "GET"}
    async with make_rig() as rig, rig.client() as client:
        answer = await client.options("/valuechains/v1/chains", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    async with make_rig(cors_origins="https://portaal.politie.example") as rig, rig.client() as client:
        allowed = await client.options(
            "/valuechains/v1/chains", headers={**preflight, "Access-Control-Request-Headers": "authorization"}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://portaal.politie.example"
        assert allowed.headers["x-content-type-options"] == "nosniff"
        other = await client.options(
            "/valuechains/v1/chains", headers={**preflight, "Origin": "https://elders.example"}
        )
        assert other.headers.get("access-control-allow-origin") is None
        simple = await client.get(
            "/valuechains/v1/chains", headers={"Origin": "https://portaal.politie.example", **tokens("reader")}
        )
        assert simple.headers["access-control-allow-origin"] == "https://portaal.politie.example"
        assert "etag" in simple.headers["access-control-expose-headers"].lower()


async def test_problem_catalogue(rig: Rig) -> None:
    async with rig.client() as client:
        catalogue = (await client.get("/problems")).json()
        one = await client.get("/problems/gateway-timeout")
        missing = await client.get("/problems/no-such-thing")
    assert {"type": "/problems/not-found", "slug": "not-found", "status": 404}.items() <= {
        k: v for p in catalogue if p["slug"] == "not-found" for k, v in p.items()
    }.items()
    assert all(p["type"] == f"/problems/{p['slug']}" for p in catalogue)
    assert one.json()["status"] == 504
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics/extra"])
@pytest.mark.parametrize("service", ["valuechains", "portfolio", "principles"])
async def test_the_services_metrics_are_not_passed_through(rig: Rig, tokens: Tokens, service: str, path: str) -> None:
    mark = len(rig.transport.requests)
    async with rig.client(tokens("admin")) as client:
        answer = await client.get(f"/{service}{path}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["X-Trace-Id"]
    assert rig.transport.requests[mark:] == []  # no service was asked


async def test_the_gateways_own_metrics_need_an_admin_or_auditor_token(rig: Rig, tokens: Tokens) -> None:
    async with rig.client() as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=tokens("reader", clearance="secret"))).status_code == 403
        for role in ("admin", "auditor"):
            answer = await client.get("/metrics", headers=tokens(role))
            assert answer.status_code == 200
            assert "gateway_upstream_breaker_open" in answer.text


def test_the_answers_hop_by_hop_headers_stay_behind() -> None:
    raw = [
        (b"Connection", b"close, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Link", b"</a>; rel=next"),
        (b"Link", b"</b>; rel=last"),
        (b"Content-Length", b"3"),
        (b"Server", b"uvicorn"),
        (b"Keep-Alive", b"timeout=5"),
        (b"ETag", b'"2"'),
    ]
    assert response_headers(raw) == [(b"Link", b"</a>; rel=next"), (b"Link", b"</b>; rel=last"), (b"ETag", b'"2"')]


def test_the_requests_headers_are_decoded_once_in_lower_case() -> None:
    raw = [(b"Connection", b"X-Hop"), (b"X-Hop", b"1"), (b"X-Custom", b"caf\xe9"), (b"Host", b"gw")]
    raw.append((b"X-Roles", b"admin"))
    assert request_headers(raw, client_ip="10.0.0.1", proto="https", host="gw") == [
        ("x-custom", "café"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "gw"),
    ]
