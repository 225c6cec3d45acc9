"""Chains through the resource contract."""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.support import Tokens

OWNER = {"subject": "u-owner-1", "name": "J. de Vries", "unit": "Eenheid Rotterdam"}


def chain_body(code: str = "TST", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Testketen",
        "domain": "Criminal investigation",
        "mission": "Equip investigators.",
        "owner": OWNER,
        **overrides,
    }


async def test_create_read_list_update(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("valuechains", tokens("admin")) as admin:
        created = await admin.post("/v1/chains", json=chain_body())
        assert created.status_code == 201, created.text
        chain = created.json()
        assert created.headers["location"] == chain["href"] == f"/valuechains/v1/chains/{chain['id']}"
        assert created.headers["etag"] == '"1"'
        assert chain["owner"] == OWNER and chain["status"] == "active" and chain["version"] == 1

        got = await admin.get(f"/v1/chains/{chain['id']}")
        assert got.status_code == 200 and got.json() == chain

        listed = await admin.get("/v1/chains", params={"code": "TST"})
        assert [c["id"] for c in listed.json()["items"]] == [chain["id"]]

    owner = tokens("chain_owner", sub=OWNER["subject"])
    async with suite.client("valuechains", owner) as client:
        patched = await client.patch(
            f"/v1/chains/{chain['id']}", json={"mission": "Sharper."}, headers={"If-Match": '"1"'}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["mission"] == "Sharper." and patched.headers["etag"] == '"2"'
