"""The portfolio manager's round through the gateway: references expanded across services."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI

from tests.conftest import Suite
from tests.portfolio.helpers import initiative_body, make_chain, round_body
from tests.support import Tokens, client_for

PREFIX = "/portfolio/v1"


async def test_round_through_the_gateway(suite_gateway: FastAPI, suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens, "Opsporing")
    async with client_for(suite_gateway, tokens("portfolio_manager", sub="u-pm-1", clearance="secret")) as client:
        made = []
        for name, kind, budget in [("Dossier", "renewal", 600_000), ("Beheer", "maintenance", 400_000)]:
            response = await client.post(
                f"{PREFIX}/initiatives", json=initiative_body(chain, name=name, kind=kind, budget_eur=budget)
            )
            assert response.status_code == 201, response.text
            made.append(response.json())
        missing = await client.post(
            f"{PREFIX}/initiatives",
            json=initiative_body("/valuechains/v1/chains/019a0000-0000-7000-8000-00000000ffff"),
        )
        assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "value_chain"]

        round_ = (await client.post(f"{PREFIX}/rounds", json=round_body())).json()
        for rank, initiative in enumerate(made, 1):
            item = await client.post(
                f"{PREFIX}/rounds/{round_['id']}/items",
                json={"initiative": {"href": initiative["href"]}, "rank": rank, "decision": "start"},
            )
            assert item.status_code == 201, item.text
            assert item.headers["location"] == item.json()["href"]

        expanded = await client.get(
            f"{PREFIX}/rounds/{round_['id']}", params={"expand": "items.initiative.value_chain"}
        )
        assert expanded.status_code == 200, expanded.text
        items = expanded.json()["items"]
        assert [i["initiative"]["name"] for i in items] == ["Dossier", "Beheer"]
        assert {i["initiative"]["value_chain"]["name"] for i in items} == {"Opsporing"}

        report = await client.get(
            f"{PREFIX}/reports/ratio", params={"round": round_["id"], "expand": "per_value_chain.value_chain"}
        )
        assert report.status_code == 200, report.text
        [per_chain] = report.json()["per_value_chain"]
        assert per_chain["value_chain"]["name"] == "Opsporing" and per_chain["ratio"] == {"run": 40.0, "renewal": 60.0}
        # The same report for a memo: CSV through the gateway, the chain named beside its href.
        exported = await client.get(
            f"{PREFIX}/reports/ratio", params={"round": round_["id"]}, headers={"Accept": "text/csv"}
        )
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv"), exported.text
        assert exported.headers["IV-Records-Counted"] == "2"
        [row] = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["section"] == "per_value_chain"]
        assert (
            row["value_chain.href"] == chain and row["value_chain.name"] == "Opsporing" and row["ratio.run"] == "40.0"
        )
        refused = await client.get(
            f"{PREFIX}/reports/ratio", params={"round": round_["id"]}, headers={"Accept": "application/xml"}
        )
        assert refused.status_code == 406 and refused.headers["content-type"] == "application/problem+json"

        assert (await client.post(f"{PREFIX}/rounds/{round_['id']}/open")).status_code == 200
        assert (await client.post(f"{PREFIX}/rounds/{round_['id']}/close")).status_code == 200
        frozen = await client.patch(
            items[0]["href"], json={"decision": "stop"}, headers={"If-Match": f'"{items[0]["version"]}"'}
        )
        assert frozen.status_code == 409 and frozen.headers["content-type"] == "application/problem+json"
