"""Keyset cursors are opaque, but they come from outside: a forged one is a 422 naming `after`."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import Suite
from tests.support import Tokens


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("values", [[{"x": 1}], [[1, 2]], [10**30], [True], [None], [5], ["\ud800"]])
async def test_a_forged_cursor_is_422_not_500(suite: Suite, tokens: Tokens, values: list[Any]) -> None:
    async with suite.client("valuechains", tokens("reader")) as client:
        answer = await client.get("/v1/chains", params={"after": _cursor(values)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["query", "after"]
