"""Rules as code: compiled and checked on save, with positions; run in a worker within a budget."""

from __future__ import annotations

import pytest

from services.principles.rules.engine import RuleResult, evaluate, syntax_errors
from services.principles.settings import PrinciplesSettings
from tests.conftest import Suite
from tests.principles.helpers import architect, make_principle, principle_body
from tests.support import Tokens


async def test_a_syntax_error_is_422_with_line_and_column(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        body = principle_body(rule="subject.hosting == 'own_platform' &&\n  subject.budget_eur >")
        response = await client.post("/v1/principles", json=body)
        assert response.status_code == 422
        problem = response.json()
        assert problem["type"] == "/problems/validation"
        [error] = problem["errors"]
        assert error["loc"] == ["body", "rule"] and error["type"] == "rule_syntax"
        assert (error["line"], error["column"]) == (2, 23)
        assert error["msg"].startswith("2:23: ")
        assert (await client.get("/v1/principles", params={"code": body["code"]})).json()["items"] == []


async def test_an_unknown_function_is_422_with_its_position(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        rule = "subject.hosting == 'own_platform' ||\n    isApproved(subject)"
        response = await client.post("/v1/principles", json=principle_body(rule=rule))
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["type"] == "rule_unknown_function"
        assert (error["line"], error["column"]) == (2, 5)
        assert "isApproved" in error["msg"]


async def test_a_rule_that_cannot_judge_a_representative_subject_is_422(suite: Suite, tokens: Tokens) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        misspelt = await client.post("/v1/principles", json=principle_body(rule="subject.budget_euro <= 2000000"))
        assert misspelt.status_code == 422
        [error] = misspelt.json()["errors"]
        assert error["type"] == "rule_fails" and (error["line"], error["column"]) == (1, 9)
        assert "initiative" in error["msg"] and "budget_euro" in error["msg"]

        not_boolean = await client.post("/v1/principles", json=principle_body(rule="subject.budget_eur"))
        assert not_boolean.status_code == 422
        assert "not true or false" in not_boolean.json()["errors"][0]["msg"]

        # Checked against every kind it applies to: programmes have no hosting.
        both = principle_body(rule="subject.hosting == 'own_platform'", applies_to=["initiative", "programme"])
        wrong_kind = await client.post("/v1/principles", json=both)
        assert wrong_kind.status_code == 422
        assert "representative programme" in wrong_kind.json()["errors"][0]["msg"]

        ok = await client.post("/v1/principles", json=principle_body(rule="subject.budget_eur <= 2000000"))
        assert ok.status_code == 201, ok.text


async def test_changing_a_rule_or_its_kinds_checks_again_and_changes_nothing_when_wrong(
    suite: Suite, tokens: Tokens
) -> None:
    async with suite.client("principles", architect(tokens)) as client:
        created = await make_principle(client, rule="subject.hosting == 'own_platform'", applies_to=["initiative"])
        path = f"/v1/principles/{created['id']}"
        broken = await client.patch(path, json={"rule": "subject.hosting ="}, headers={"If-Match": '"1"'})
        assert broken.status_code == 422 and broken.json()["errors"][0]["type"] == "rule_syntax"
        wider = await client.patch(path, json={"applies_to": ["initiative", "team"]}, headers={"If-Match": '"1"'})
        assert wider.status_code == 422 and "representative team" in wider.json()["errors"][0]["msg"]
        unchanged = (await client.get(path)).json()
        assert (unchanged["version"], unchanged["revision"], unchanged["applies_to"]) == (1, 1, ["initiative"])


async def test_rules_may_read_a_reference_one_level_deep(suite: Suite, tokens: Tokens) -> None:
    """A rule may read what a reference points at (expanded by reference when evaluated)."""
    async with suite.client("principles", architect(tokens)) as client:
        rule = "subject.value_chain.code != 'LEGACY'"
        response = await client.post("/v1/principles", json=principle_body(rule=rule))
        assert response.status_code == 201, response.text
        unknown = await client.post("/v1/principles", json=principle_body(rule="subject.value_chain.colour == 'x'"))
        assert unknown.status_code == 422


def test_syntax_errors_name_every_problem() -> None:
    assert syntax_errors("subject.a == 1") == []
    [error] = syntax_errors("'frob(' == subject.a && frob(1)")
    assert (error["line"], error["column"]) == (1, 25)  # the call, not the name inside the string


@pytest.fixture
def budget() -> PrinciplesSettings:
    return PrinciplesSettings(rule_timeout_seconds=0.5, rule_max_subject_bytes=2048)


async def test_evaluation_has_a_time_and_size_budget_and_errors_are_answers(budget: PrinciplesSettings) -> None:
    slow = "subject.l.map(x, subject.l.map(y, subject.l.filter(z, z == x + y).size())).size() > 0"
    results = await evaluate(
        [
            ("subject.a == 1", {"a": 1}),
            (slow, {"l": list(range(300))}),  # seconds of work: far beyond the budget
            ("subject.a == 1", {"a": 2}),  # the evaluator was restarted after the overrun
            ("subject.b == 1", {"a": 1}),
            ("subject.a / 0 == 1", {"a": 1}),
            ("subject.a", {"a": 1}),
            ("subject.a == 1", {"a": 1, "padding": "x" * 4096}),
        ],
        budget,
    )
    assert results[0] == RuleResult(value=True)
    assert results[1].error is not None and "time budget of 0.5 s" in results[1].error
    assert results[2] == RuleResult(value=False)
    assert results[3].error == "no such field: 'b'"
    assert results[4].error is not None and "division by zero" in results[4].error
    assert results[5].error is not None and "not true or false" in results[5].error
    assert results[6].error is not None and "larger than the rule budget of 2048 bytes" in results[6].error
