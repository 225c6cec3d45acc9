"""Value chains, teams, allocations and reports through the gateway, with the callers' own tokens."""

from __future__ import annotations

from fastapi import FastAPI

from tests.support import Tokens, client_for
from tests.valuechains.helpers import application_body, chain_body, findings, split, team_body

PREFIX = "/valuechains/v1"


async def test_owner_workflow_through_the_gateway(suite_gateway: FastAPI, tokens: Tokens) -> None:
    async with client_for(suite_gateway, tokens("admin")) as admin:
        created = await admin.post(f"{PREFIX}/chains", json=chain_body())
        assert created.status_code == 201, created.text
        chain = created.json()
        other = (await admin.post(f"{PREFIX}/chains", json=chain_body())).json()
    owner = tokens("chain_owner", sub=chain["owner"]["subject"])
    async with client_for(suite_gateway, owner) as client:
        team = await client.post(f"{PREFIX}/chains/{chain['id']}/teams", json=team_body(fte_hired=3.5))
        assert team.status_code == 201, team.text
        assert team.headers["location"] == team.json()["href"]

        expanded = await client.get(f"{PREFIX}/teams", params={"chain": chain["id"], "expand": "chain"})
        assert expanded.status_code == 200, expanded.text
        [item] = expanded.json()["items"]
        assert item["chain"]["href"] == chain["href"] and item["chain"]["owner"] == chain["owner"]
        assert item["fte_external"] == 3.5

        url = f"{PREFIX}/chains/{chain['id']}/allocations/2027"
        first = await client.put(url, json=split(), headers={"If-None-Match": "*"})
        assert first.status_code == 201, first.text
        assert (await client.put(url, json=split(50, 20, 30))).status_code == 428
        assert (await client.put(url, json=split(50, 20, 30), headers={"If-Match": '"9"'})).status_code == 412
        second = await client.put(url, json=split(50, 20, 30), headers={"If-Match": first.headers["etag"]})
        assert second.status_code == 200 and second.headers["etag"] == '"2"'
        bad = await client.put(url, json=split(50, 20, 20), headers={"If-Match": '"2"'})
        assert bad.status_code == 422 and "sum to 100" in bad.json()["detail"]
        assert bad.headers["content-type"] == "application/problem+json"

        allocation = second.json()
        batch = await client.get(f"{PREFIX}/allocations", params={"id": allocation["id"], "expand": "chain"})
        assert batch.json()["items"][0]["chain"]["code"] == chain["code"]
        revisions = await client.get(allocation["revisions_href"])
        assert [r["revision"] for r in revisions.json()["items"]] == [1, 2]

        denied = await client.put(f"{PREFIX}/chains/{other['id']}/allocations/2027", json=split())
        assert denied.status_code == 403

        report = await client.get(f"{PREFIX}/reports/allocations", params={"period": "2027", "chain": chain["id"]})
        assert report.status_code == 200
        assert report.json()["chains"][0]["allocation"]["href"] == allocation["href"]
        staffing = await client.get(f"{PREFIX}/reports/staffing", params={"chain": chain["href"]})
        assert staffing.json()["chains"][0]["fte_external"] == 3.5

    async with client_for(suite_gateway) as anonymous:
        assert (await anonymous.get(f"{PREFIX}/teams")).status_code == 401


async def test_merged_openapi_has_the_valuechains_endpoints(suite_gateway: FastAPI) -> None:
    async with client_for(suite_gateway) as client:
        document = (await client.get("/openapi.json")).json()
    for path in (
        f"{PREFIX}/chains/{{id}}/owner",
        f"{PREFIX}/chains/{{id}}/teams",
        f"{PREFIX}/chains/{{id}}/allocations/{{period}}",
        f"{PREFIX}/chains/{{id}}/allocations/{{period}}/revisions",
        f"{PREFIX}/allocations",
        f"{PREFIX}/chains/{{id}}/applications",
        f"{PREFIX}/applications/{{id}}",
        f"{PREFIX}/reports/staffing",
        f"{PREFIX}/reports/foundation",
    ):
        assert path in document["paths"], path


async def test_applications_and_foundation_figures_through_the_gateway(suite_gateway: FastAPI, tokens: Tokens) -> None:
    async with client_for(suite_gateway, tokens("admin")) as admin:
        chain = (await admin.post(f"{PREFIX}/chains", json=chain_body())).json()
        hidden = await admin.post(
            f"{PREFIX}/chains/{chain['id']}/applications",
            json=application_body(data_classification="secret", findings=findings(critical=2)),
        )
        assert hidden.status_code == 201, hidden.text
    owner = tokens("chain_owner", sub=chain["owner"]["subject"])
    async with client_for(suite_gateway, owner) as client:
        created = await client.post(
            f"{PREFIX}/chains/{chain['id']}/applications",
            json=application_body(findings=findings(critical=1, high=2), supported_until="2021-03-31"),
        )
        assert created.status_code == 201, created.text
        application = created.json()
        assert created.headers["location"] == application["href"]

        # Expanding the chain brings its derived figures along, computed over every application.
        expanded = await client.get(f"{PREFIX}/applications", params={"chain": chain["id"], "expand": "chain"})
        assert expanded.status_code == 200, expanded.text
        [item] = expanded.json()["items"]  # the secret one does not exist for this owner
        assert item["chain"]["href"] == chain["href"]
        assert item["chain"]["open_critical_findings"] == 3 and item["chain"]["applications_past_support"] == 1

        closed = await client.patch(
            application["href"], json={"findings": {"critical": 0}}, headers={"If-Match": created.headers["etag"]}
        )
        assert closed.status_code == 200, closed.text
        assert (await client.get(chain["href"])).json()["open_critical_findings"] == 2

        report = await client.get(f"{PREFIX}/reports/foundation", params={"chain": chain["id"], "as_of": "2026-01-01"})
        assert report.status_code == 200, report.text
        assert report.json()["overall"]["open_critical_findings"] == 2
        assert report.json()["flagged"] == []
