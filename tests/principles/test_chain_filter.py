"""``?value_chain=`` on assessments and explanations: the chain and the subjects its owners list under it.

Nothing about chains is copied into principles: the subjects are asked of their owners on each list,
so a team moved to another chain counts under the new chain at once.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Suite
from tests.principles.helpers import architect, make_chain, make_initiative, make_principle, patch
from tests.principles.test_explanations import explanation_body
from tests.support import Tokens
from tests.valuechains.helpers import team_body


async def assess(client: Any, principle: dict[str, Any], subject: str) -> dict[str, Any]:
    body = {"principle": {"href": principle["href"]}, "subject": {"href": subject}, "outcome": "deviates", "note": "x"}
    answer = await client.post("/v1/assessments", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def subjects(answer: Any) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {item["subject"]["href"] for item in answer.json()["items"]}


async def test_records_about_a_chain_and_what_belongs_to_it(suite: Suite, tokens: Tokens) -> None:
    chain = await make_chain(suite, tokens)
    other = await make_chain(suite, tokens)
    async with suite.client("valuechains", tokens("admin")) as admin:
        answer = await admin.post(f"/v1/chains/{chain['id']}/teams", json=team_body())
        assert answer.status_code == 201, answer.text
        team = answer.json()
    ours = await make_initiative(suite, tokens, chain)
    theirs = await make_initiative(suite, tokens, other)
    async with suite.client("principles", architect(tokens)) as client:
        principle = await make_principle(client, applies_to=["chain", "team", "initiative"], rule=None)
        for href in (chain["href"], team["href"], ours["href"], theirs["href"]):
            await assess(client, principle, href)
        for subject in (ours, theirs):
            asked = await client.post("/v1/explanations", json=explanation_body(principle, subject))
            assert asked.status_code == 201, asked.text

        by_href = await client.get("/v1/assessments", params={"value_chain": chain["href"]})
        assert subjects(by_href) == {chain["href"], team["href"], ours["href"]}
        by_id = await client.get("/v1/assessments", params={"value_chain": chain["id"], "subject_kind": "team"})
        assert subjects(by_id) == {team["href"]}
        explained = await client.get("/v1/explanations", params={"value_chain": chain["href"]})
        assert subjects(explained) == {ours["href"]}

        wrong = await client.get("/v1/assessments", params={"value_chain": ours["href"]})
        assert wrong.status_code == 422
        assert "value_chain" in wrong.text

    # The team moves: its assessments follow it, because the owner is asked, not a copy.
    async with suite.client("valuechains", tokens("admin")) as admin:
        await patch(admin, f"/v1/teams/{team['id']}", {"chain": {"href": other["href"]}})
    async with suite.client("principles", architect(tokens)) as client:
        moved = await client.get("/v1/assessments", params={"value_chain": other["href"]})
        assert subjects(moved) == {team["href"], theirs["href"]}
        left = await client.get("/v1/assessments", params={"value_chain": chain["href"]})
        assert subjects(left) == {chain["href"], ours["href"]}
