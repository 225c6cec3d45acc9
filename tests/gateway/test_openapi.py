"""The merged OpenAPI document and the explorer over it."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from gateway.expand_paths import MAX_EXPAND_CHARS
from gateway.openapi import HTTP_METHODS, merge_documents
from gateway.settings import GatewaySettings
from services.chassis.auth import ROLE_DUTIES, issue_dev_token
from tests.gateway.conftest import MakeRig, Rig
from tests.support import available_services


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs_in(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs_in(value)]
    return []


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document["paths"].items()
        for method in HTTP_METHODS
        if isinstance(item.get(method), dict)
    ]


async def test_every_service_operation_once_tagged_by_service(rig: Rig) -> None:
    async with rig.client() as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    merged = answer.json()
    merged_ops = operations(merged)
    services = available_services()
    for service in services:
        async with rig.suite.client(service) as direct:
            own = (await direct.get("/openapi.json")).json()
        for path, method, operation in operations(own):
            matches = [op for p, m, op in merged_ops if p == f"/{service}{path}" and m == method]
            assert len(matches) == 1, (service, path, method)
            [merged_op] = matches
            assert merged_op["tags"] and all(t.startswith(f"{service}: ") for t in merged_op["tags"])
            assert merged_op["summary"] == operation.get("summary")
            assert merged_op.get("security") == operation.get("security")
    ids = [op["operationId"] for _, _, op in merged_ops]
    assert len(ids) == len(set(ids))
    for ref in refs_in(merged):
        section, name = ref.split("/")[2:]
        assert name in merged["components"][section], ref
    tag_names = {t["name"] for t in merged["tags"]}
    assert {t for _, _, op in merged_ops for t in op["tags"]} <= tag_names
    assert [g["name"] for g in merged["x-tagGroups"]] == ["gateway", *services]


async def test_gateway_operations_and_bearer_scheme(rig: Rig) -> None:
    async with rig.client() as client:
        merged = (await client.get("/openapi.json")).json()
    for path in ("/healthz", "/readyz", "/references", "/problems", "/problems/{slug}"):
        assert "get" in merged["paths"][path], path
        assert merged["paths"][path]["get"]["tags"][0].startswith("gateway")
    assert merged["paths"]["/references"]["get"]["security"] == [{"HTTPBearer": []}]
    assert merged["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": merged["components"]["securitySchemes"]["HTTPBearer"]["description"],
        }
    }
    assert "Problem" in merged["components"]["schemas"]
    assert not any(p.startswith(("/openapi.json", "/docs", "/static", "/metrics")) for p in merged["paths"])


async def test_expand_is_documented_exactly_where_an_answer_holds_references(rig: Rig) -> None:
    """``expand`` lists every path it takes, and is documented only where there is something to
    expand; in what the services answer, each reference is described as what it may come back as."""
    async with rig.client() as client:
        merged = (await client.get("/openapi.json")).json()
    documented = {}
    for path, method, operation in operations(merged):
        expand = [p for p in operation.get("parameters", []) if p["name"] == "expand" and p["in"] == "query"]
        if expand:
            assert method == "get" and path.startswith(tuple(f"/{s}/" for s in available_services())), path
            assert expand[0]["schema"]["type"] == "array" and expand[0]["explode"] is True
            documented[path] = expand[0]["schema"]["items"]["enum"]
            assert documented[path], path
            # Whatever a client picks within the document, the gateway takes it (no hidden limit).
            longest = max(map(len, documented[path]))
            assert expand[0]["schema"]["maxItems"] * longest <= MAX_EXPAND_CHARS, path
    assert len(documented) >= 3 * len(available_services())
    assert "value_chain" in documented["/portfolio/v1/initiatives"]
    assert "initiative.value_chain" in documented["/portfolio/v1/rounds/{id}/items"]
    assert not any(path.endswith(("/healthz", "/readyz")) for path in documented)
    schemas = merged["components"]["schemas"]
    expandable = schemas["ChainRefExpandable"]["anyOf"]
    assert {"$ref": "#/components/schemas/ChainRef"} in expandable
    assert {"$ref": "#/components/schemas/UnresolvedReference"} in expandable
    assert any(branch.get("$ref", "").endswith("ChainRead") for branch in expandable)
    answered = json.dumps(schemas["InitiativeRead"])
    assert "ChainRefExpandable" in answered and '"#/components/schemas/ChainRef"' not in answered
    # What a client sends still takes a plain reference.
    assert "Expandable" not in json.dumps(schemas["InitiativeCreate"])


async def test_document_is_cached_when_complete(rig: Rig) -> None:
    async with rig.client() as client:
        await client.get("/openapi.json")
        mark = rig.mark()
        again = await client.get("/openapi.json")
    assert again.status_code == 200
    assert rig.transport.requests[mark:] == []


async def test_missing_service_is_retried_not_cached(rig: Rig) -> None:
    rig.transport.down.add("principles.test")
    async with rig.client() as client:
        partial = (await client.get("/openapi.json")).json()
        assert partial["x-missing-services"] == ["principles"]
        assert not any(p.startswith("/principles/") for p in partial["paths"])
        assert any(p.startswith("/valuechains/") for p in partial["paths"])
        assert "principles" in partial["info"]["description"]

        rig.transport.down.discard("principles.test")
        rig.upstream("principles").breaker.succeeded()
        complete = (await client.get("/openapi.json")).json()
    assert "x-missing-services" not in complete
    assert any(p.startswith("/principles/") for p in complete["paths"])


def _doc(schemas: dict[str, Any], path: str = "/v1/things") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "description": "d"},
        "paths": {
            path: {
                "get": {
                    "operationId": "list_things",
                    "tags": ["things"],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": schemas},
    }


def test_merge_renames_differing_components_and_keeps_shared_ones() -> None:
    owner_a = {"type": "object", "properties": {"subject": {"type": "string"}}}
    owner_b = {"type": "object", "properties": {"name": {"type": "string"}}}
    thing = {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Owner"}}}
    problem = {"type": "object", "properties": {"type": {"type": "string"}}}
    merged = merge_documents(
        {"openapi": "3.1.0", "info": {}, "paths": {}},
        {
            "alpha": _doc({"Owner": owner_a, "Thing": thing, "Problem": problem}),
            "beta": _doc({"Owner": owner_b, "Thing": thing, "Problem": problem}),
        },
        title="x",
        version="1",
        description="x",
    )
    schemas = merged["components"]["schemas"]
    # Owner differs, so both are renamed; Thing is identical text but points at different Owners.
    assert set(schemas) == {"AlphaOwner", "BetaOwner", "AlphaThing", "BetaThing", "Problem", "UnresolvedReference"}
    assert schemas["AlphaThing"]["properties"]["owner"]["$ref"] == "#/components/schemas/AlphaOwner"
    assert schemas["BetaThing"]["properties"]["owner"]["$ref"] == "#/components/schemas/BetaOwner"
    alpha_op = merged["paths"]["/alpha/v1/things"]["get"]
    beta_op = merged["paths"]["/beta/v1/things"]["get"]
    assert alpha_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AlphaThing")
    assert (alpha_op["operationId"], beta_op["operationId"]) == ("alpha_list_things", "beta_list_things")
    assert (alpha_op["tags"], beta_op["tags"]) == (["alpha: things"], ["beta: things"])


async def test_explorer_page_and_assets_come_from_the_gateway(rig: Rig) -> None:
    async with rig.client() as client:
        page = await client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/static/explorer/") for a in assets)
        for asset in assets:
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
        init = await client.get("/static/explorer/init.js")
    assert '"url": "/openapi.json"' in init.text
    assert "persistAuthorization" in init.text
    assert not re.search(r"https?://", page.text)


async def test_merged_document_loads_as_openapi(rig: Rig) -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    async with rig.client() as client:
        document = (await client.get("/openapi.json")).json()
    loaded = list(schemathesis.openapi.from_dict(document).get_all_operations())
    assert len(loaded) == len(operations(document))
    assert all(isinstance(result, Ok) for result in loaded)  # every operation and $ref resolves


SIGN_IN: dict[str, Any] = {
    "explorer_authorization_url": "http://provider.test:8004/authorize",
    "explorer_token_url": "http://provider.test:8004/token",
    "explorer_client_id": "iv-explorer",
}


async def test_the_explorer_signs_in_with_pkce_and_keeps_the_pasted_token(make_rig: MakeRig) -> None:
    async with make_rig(**SIGN_IN) as rig, rig.client() as client:
        document = (await client.get("/openapi.json")).json()
        schemes = document["components"]["securitySchemes"]
        assert schemes["HTTPBearer"]["scheme"] == "bearer", "the pasted token stays, for scripts"
        flow = schemes["SignIn"]["flows"]["authorizationCode"]
        assert (flow["authorizationUrl"], flow["tokenUrl"]) == (
            SIGN_IN["explorer_authorization_url"],
            SIGN_IN["explorer_token_url"],
        )
        secured = [op for _, _, op in operations(document) if op.get("security")]
        assert secured and all(
            {"HTTPBearer": []} in op["security"] and {"SignIn": []} in op["security"] for op in secured
        )
        again = (await client.get("/openapi.json")).json()
        assert again == document, "offered once, however often the document is read"
        page = await client.get("/docs")
        assert "connect-src 'self' http://provider.test:8004;" in page.headers["content-security-policy"]
        init = (await client.get("/static/explorer/init.js")).text
        oauth = json.loads(re.search(r"initOAuth\((\{.*\})\)", init).group(1))  # type: ignore[union-attr]
        assert oauth == {"clientId": "iv-explorer", "usePkceWithAuthorizationCodeGrant": True}
        assert 'oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect"' in init
        redirect = await client.get("/docs/oauth2-redirect", params={"code": "c", "state": "s"})
        assert redirect.status_code == 200 and redirect.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in redirect.headers["content-security-policy"]
        (script,) = re.findall(r'<script src="([^"]+)"', redirect.text)
        handoff = await client.get(script)
        assert handoff.status_code == 200 and "swaggerUIRedirectOauth2" in handoff.text
        assert "history.replaceState" in handoff.text, "the code leaves the address bar at once"
        assert not re.search(r"https?://", redirect.text + handoff.text), "nothing from outside"
        for role, duty in ROLE_DUTIES.items():
            assert f"| `{role}` | {duty} |" in document["info"]["description"]


async def test_without_a_provider_the_explorer_offers_the_pasted_token_only(rig: Rig) -> None:
    async with rig.client() as client:
        document = (await client.get("/openapi.json")).json()
        assert "SignIn" not in document["components"]["securitySchemes"]
        assert "initOAuth" not in (await client.get("/static/explorer/init.js")).text
        assert (await client.get("/docs/oauth2-redirect")).status_code == 404


def test_sign_in_needs_both_endpoints_and_https_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="go together"):
        GatewaySettings(var_dir=tmp_path, explorer_authorization_url="http://p.test/authorize")
    production: dict[str, Any] = {"environment": "production", "jwks_url": "https://idp.test/jwks", "var_dir": tmp_path}
    with pytest.raises(ValidationError, match="must be https"):
        GatewaySettings(**production, **SIGN_IN)
    secure = {name: value.replace("http://", "https://") for name, value in SIGN_IN.items()}
    assert GatewaySettings(**production, **secure).sign_in() is not None
    loopback = {name: value.replace("provider.test", "127.0.0.1") for name, value in SIGN_IN.items()}
    assert GatewaySettings(**production, **loopback).sign_in() is not None, "the browser's own machine"
    # The portal's: its authorization URL is the browser's (https), its token URL the gateway's own
    # call inside the operator's network (any http(s) address, as the services' token URL).
    portal: dict[str, Any] = {
        "portal_session_keys": [Fernet.generate_key().decode()],
        "portal_token_url": "http://idp:8000/token",
    }
    with pytest.raises(ValidationError, match="IV_PORTAL_AUTHORIZATION_URL must be https"):
        GatewaySettings(**production, **portal, portal_authorization_url="http://idp.test/authorize")
    assert GatewaySettings(**production, **portal, portal_authorization_url="https://idp.test/authorize")
    with pytest.raises(ValidationError, match="IV_PORTAL_TOKEN_URL is not an http"):
        GatewaySettings(
            **production,
            **{**portal, "portal_token_url": "ftp://idp/token"},
            portal_authorization_url="https://idp.test/authorize",
        )


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_neither_the_code_nor_the_token_is_logged(make_rig: MakeRig) -> None:
    kept = Kept()
    root = logging.getLogger()
    async with make_rig(**SIGN_IN) as rig:
        token = issue_dev_token(rig.app.state.settings, sub="u-logged", roles=["reader"])
        level = root.level
        root.addHandler(kept)  # after the apps configured logging (they replace the root's handlers)
        root.setLevel(logging.DEBUG)
        try:
            async with rig.client({"Authorization": f"Bearer {token}"}) as client:
                redirect = await client.get("/docs/oauth2-redirect", params={"code": "the-one-time-code", "state": "s"})
                assert redirect.status_code == 200
                assert (await client.get("/valuechains/v1/chains")).status_code == 200
        finally:
            root.removeHandler(kept)
            root.setLevel(level)
    logged = [(record.getMessage(), vars(record)) for record in kept.records]
    assert any("/docs/oauth2-redirect" in message for message, _ in logged), "the access log was captured"
    assert not any("the-one-time-code" in repr(entry) or token in repr(entry) for entry in logged)
