"""Chain partners read only what their organisation's scope names (services.chassis.partners).

The development configuration (``partner_scopes.demo.json``) gives partner ``OM`` the chains and
applications of valuechains, with some of their fields. Every GET of every service's OpenAPI
document (and of the gateway's own) is called as that partner: only those two collections answer,
everything else is 403, so an endpoint added tomorrow is refused until a scope names it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import pytest
from fastapi import FastAPI

from services.chassis.auth import add_person_arguments, issue_dev_token, person_claims, person_of
from services.chassis.partners import CollectionScope, PartnerScope
from tests.chassis.cases import application as application_body
from tests.conftest import Suite
from tests.portfolio.helpers import make_chain
from tests.support import Tokens, client_for

ALLOWED = {"/v1/chains", "/v1/chains/{id}", "/v1/applications", "/v1/applications/{id}"}
"""The demo scope of partner OM, as valuechains' routes."""
CHAIN_FIELDS = {"id", "href", "version", "status", "code", "name", "domain", "mission"}
APPLICATION_FIELDS = {"id", "href", "version", "status", "name", "chain", "category", "disposition"}
APPLICATION_FIELDS |= {"supported_until", "hosting"}
ABSENT_ID = "019a0000-dead-7000-8000-000000000000"


def scope_om_to_chains(app: FastAPI, monkeypatch: pytest.MonkeyPatch, *chains: str) -> None:
    """The partner organisation OM sees the valuechains ``chains`` (their names) and their
    applications (which chain each is of), and nothing else."""
    scopes = {
        "OM": PartnerScope(
            collections={
                "/valuechains/v1/chains": CollectionScope(fields=("name",), chains=chains),
                "/valuechains/v1/applications": CollectionScope(fields=("chain",), chains=chains),
            }
        )
    }
    monkeypatch.setattr(app.state, "settings", app.state.settings.model_copy(update={"partner_scopes": scopes}))


def om(tokens: Tokens, **options: Any) -> dict[str, str]:
    return tokens("partner", sub="u-om-analist", partner_org="OM", **options)


async def chain_with_application(suite: Suite, tokens: Tokens, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    href = await make_chain(suite, tokens, name)
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain = (await admin.get(href.removeprefix("/valuechains"))).json()
        answer = await admin.post(
            f"/v1/chains/{chain['id']}/applications", json=application_body(f"{name} app", "internal")
        )
        assert answer.status_code == 201, answer.text
        return chain, answer.json()


async def test_a_partner_sees_the_scoped_fields_of_chains_and_applications(suite: Suite, tokens: Tokens) -> None:
    chain, application = await chain_with_application(suite, tokens, "Strafrecht")
    async with suite.client("valuechains", om(tokens)) as partner:
        listed = await partner.get("/v1/chains", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        mine = [item for item in listed.json()["items"] if item["id"] == chain["id"]]
        assert [set(item) for item in mine] == [CHAIN_FIELDS]
        one = await partner.get(f"/v1/chains/{chain['id']}")
        assert one.status_code == 200 and set(one.json()) == CHAIN_FIELDS
        assert one.headers["ETag"] == f'"{chain["version"]}"'
        assert int(one.headers["content-length"]) == len(one.content)
        assert "owner" in chain and "owner" not in one.json()
        batch = await partner.get("/v1/applications", params={"id": [application["id"]]})
        assert [set(item) for item in batch.json()["items"]] == [APPLICATION_FIELDS]
        single = (await partner.get(f"/v1/applications/{application['id']}")).json()
        assert set(single) == APPLICATION_FIELDS and "findings" not in single
        assert single["chain"] == application["chain"]


async def test_a_partner_filters_only_on_scoped_fields(suite: Suite, tokens: Tokens) -> None:
    chain, _ = await chain_with_application(suite, tokens, "Filters")
    async with suite.client("valuechains", om(tokens)) as partner:
        # The owner is left out of a partner's chains: filtering on it would tell who owns which.
        hidden = await partner.get("/v1/chains", params={"owner_subject": "u-owner"})
        assert hidden.status_code == 403 and "owner_subject" in hidden.json()["detail"]
        shown = await partner.get("/v1/chains", params={"code": chain["code"], "limit": 10, "include_archived": True})
        assert shown.status_code == 200, shown.text
        assert [c["id"] for c in shown.json()["items"]] == [chain["id"]]


async def test_clearance_still_applies_to_a_partner(suite: Suite, tokens: Tokens) -> None:
    href = await make_chain(suite, tokens, "Geheim")
    async with suite.client("valuechains", tokens("admin")) as admin:
        chain_id = href.rsplit("/", 1)[1]
        secret = await admin.post(f"/v1/chains/{chain_id}/applications", json=application_body("Kluis", "secret"))
        assert secret.status_code == 201, secret.text
    secret_id = secret.json()["id"]
    async with suite.client("valuechains", om(tokens)) as partner:
        assert (await partner.get(f"/v1/applications/{secret_id}")).status_code == 404
    async with suite.client("valuechains", om(tokens, clearance="secret")) as cleared:
        assert (await cleared.get(f"/v1/applications/{secret_id}")).status_code == 200


async def test_a_chain_filter_keeps_other_chains_and_their_applications_out(
    suite: Suite, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, shared_app = await chain_with_application(suite, tokens, "Gedeeld")
    other, other_app = await chain_with_application(suite, tokens, "Intern")
    scope_om_to_chains(suite.apps["valuechains"], monkeypatch, shared["href"])
    async with suite.client("valuechains", om(tokens)) as partner:
        chains = (await partner.get("/v1/chains", params={"limit": 100})).json()["items"]
        assert [c["id"] for c in chains] == [shared["id"]]
        assert set(chains[0]) == {"id", "href", "version", "status", "name"}
        assert (await partner.get(f"/v1/chains/{other['id']}")).status_code == 404
        batch = await partner.get("/v1/applications", params={"id": [shared_app["id"], other_app["id"]]})
        assert [a["id"] for a in batch.json()["items"]] == [shared_app["id"]]
        assert (await partner.get(f"/v1/applications/{other_app['id']}")).status_code == 404
        assert (await partner.get(f"/v1/applications/{shared_app['id']}")).status_code == 200


async def test_an_organisation_without_a_scope_reads_nothing(suite: Suite, tokens: Tokens) -> None:
    stranger = tokens("partner", sub="u-kmar", partner_org="KMar")
    async with suite.client("valuechains", stranger) as partner:
        answer = await partner.get("/v1/chains")
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "KMar" in answer.json()["detail"]


async def test_a_partner_writes_nothing(suite: Suite, tokens: Tokens) -> None:
    chain, application = await chain_with_application(suite, tokens, "Alleen lezen")
    async with suite.client("valuechains", om(tokens)) as partner:
        attempts = [
            partner.post("/v1/chains", json={"code": "X"}),
            partner.patch(f"/v1/chains/{chain['id']}", json={"name": "x"}, headers={"If-Match": '"1"'}),
            partner.delete(f"/v1/chains/{chain['id']}"),
            partner.post(f"/v1/chains/{chain['id']}/applications", json=application_body("x", "internal")),
            partner.patch(f"/v1/applications/{application['id']}", json={"name": "x"}, headers={"If-Match": '"1"'}),
            partner.delete(f"/v1/applications/{application['id']}"),
        ]
        for attempt in attempts:
            answer = await attempt
            assert answer.status_code == 403, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
    for service, path in (("portfolio", "/v1/initiatives"), ("principles", "/v1/principles")):
        async with suite.client(service, om(tokens)) as partner:
            assert (await partner.post(path, json={})).status_code == 403


async def test_a_partner_can_neither_read_nor_verify_the_change_feed(suite: Suite, tokens: Tokens) -> None:
    await chain_with_application(suite, tokens, "Feed")
    async with suite.client("valuechains", om(tokens)) as partner:
        for path in ("/v1/changes", "/v1/changes/verify", "/v1/changes/witnessed", "/v1/changes/stream"):
            assert (await partner.get(path)).status_code == 403, path


def test_a_partner_token_names_its_organisation_and_carries_no_other_role() -> None:
    with pytest.raises(ValueError, match="must name its organisation"):
        person_claims(issuer="i", audience="a", sub="s", roles=["partner"])
    with pytest.raises(ValueError, match="partner role alone"):
        person_claims(issuer="i", audience="a", sub="s", roles=["partner", "admin"], partner_org="OM")
    with pytest.raises(ValueError, match="only a partner token"):
        person_claims(issuer="i", audience="a", sub="s", roles=["reader"], partner_org="OM")
    claims = person_claims(issuer="i", audience="a", sub="s", roles=["partner"], partner_org="OM")
    assert claims["partner_org"] == "OM"


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"roles": ["partner"]}, "must name its organisation"),
        ({"roles": ["partner", "admin"], "partner_org": "OM"}, "partner role alone"),
        ({"roles": ["reader"], "partner_org": "OM"}, "only a partner token"),
    ],
)
async def test_a_malformed_partner_token_is_refused(suite: Suite, claims: dict[str, Any], problem: str) -> None:
    app = suite.apps["valuechains"]
    settings = app.state.settings
    base = person_claims(issuer=settings.jwt_issuer, audience=settings.jwt_audience, sub="s", roles=["reader"])
    token = settings.dev_key_ring().sign({**base, **claims})
    async with suite.client("valuechains", {"Authorization": f"Bearer {token}"}) as client:
        answer = await client.get("/v1/chains")
        assert answer.status_code == 401
        assert problem in answer.json()["detail"]


def get_paths(app: FastAPI) -> list[tuple[str, str]]:
    """(template, path) of every GET in the app's OpenAPI document that takes a token, each path
    parameter filled in (with a record that is not there: a 404 behind the scope is fine)."""
    found = []
    for template, item in app.openapi()["paths"].items():
        operation = item.get("get")
        if operation is None or not operation.get("security"):
            continue
        found.append((template, re.sub(r"\{(\w+)\}", lambda m: "2026" if m[1] == "period" else ABSENT_ID, template)))
    return found


@pytest.mark.parametrize("service", ["valuechains", "portfolio", "principles"])
async def test_every_get_outside_the_scope_is_refused(suite: Suite, tokens: Tokens, service: str) -> None:
    paths = get_paths(suite.apps[service])
    assert len(paths) > 5
    async with suite.client(service, om(tokens)) as partner:
        for template, path in paths:
            answer = await partner.get(path)
            if service == "valuechains" and template in ALLOWED:
                assert answer.status_code in (200, 404), f"{template}: {answer.status_code} {answer.text}"
            else:
                assert answer.status_code == 403, f"{template}: {answer.status_code} {answer.text}"


async def test_the_gateway_refuses_its_own_reads_and_passes_scoped_ones_on(
    suite: Suite, suite_gateway: FastAPI, tokens: Tokens
) -> None:
    chain, _ = await chain_with_application(suite, tokens, "Door de gateway")
    paths = get_paths(suite_gateway)
    async with client_for(suite_gateway, om(tokens)) as partner:
        for template, path in paths:
            if template.startswith(("/valuechains/", "/portfolio/", "/principles/")):
                continue
            assert (await partner.get(path)).status_code == 403, template
        through = await partner.get(f"/valuechains/v1/chains/{chain['id']}")
        assert through.status_code == 200, through.text
        assert set(through.json()) == CHAIN_FIELDS
        assert (await partner.get("/valuechains/v1/changes")).status_code == 403
        assert (await partner.get("/portfolio/v1/initiatives")).status_code == 403
        assert (await partner.post("/valuechains/v1/chains", json={})).status_code == 403


def test_make_token_takes_the_partner_organisation(suite: Suite) -> None:
    parser = argparse.ArgumentParser()
    add_person_arguments(parser)
    person = person_of(parser.parse_args(["--role", "partner", "--partner", "OM"]))
    assert person["partner_org"] == "OM" and person["roles"] == ["partner"]
    token = issue_dev_token(suite.apps["valuechains"].state.settings, **person)
    assert token.count(".") == 2


async def test_expand_through_the_gateway_honours_the_scope(
    suite: Suite, suite_gateway: FastAPI, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, application = await chain_with_application(suite, tokens, "Uitklappen")
    path = f"/valuechains/v1/applications/{application['id']}"
    async with client_for(suite_gateway, om(tokens)) as partner:
        # The chain is in the scope: expanded, with the scoped fields only.
        expanded = (await partner.get(path, params={"expand": "chain"})).json()["chain"]
        assert set(expanded) == CHAIN_FIELDS and expanded["id"] == chain["id"]
        # Without chains in the scope, the reference stays its href, with the owner's refusal.
        app = suite.apps["valuechains"]
        scopes = {"OM": PartnerScope(collections={"/valuechains/v1/applications": CollectionScope(fields=("chain",))})}
        monkeypatch.setattr(app.state, "settings", app.state.settings.model_copy(update={"partner_scopes": scopes}))
        refused = (await partner.get(path, params={"expand": "chain"})).json()["chain"]
        assert refused["href"] == chain["href"] and refused["error"]["status"] == 403
        assert set(refused) == {"href", "error"}
