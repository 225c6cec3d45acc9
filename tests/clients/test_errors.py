"""Answers become the exception of their problem type, or of their status where the type is unknown
or the body is no problem document (a proxy's HTML page)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from iv_client import errors
from services.chassis.errors import PROBLEM_TYPES, problem_body


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None) -> Any:
    response = (
        httpx2.Response(status, text=text, headers=headers)
        if text is not None
        else httpx2.Response(status, json=body, headers=headers)
    )
    return errors.error_for(response)


@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_the_platform_has_is_a_class_of_its_own(slug: str) -> None:
    problem_type = PROBLEM_TYPES[slug]
    raised = answer(problem_type.status, problem_body(problem_type, "what happened"))
    assert type(raised).slug == slug and raised.status == problem_type.status and raised.detail == "what happened"
    assert raised.type == f"/problems/{slug}" and raised.title == problem_type.title


def test_unknown_types_and_bodies_go_by_their_status() -> None:
    teapot = answer(418, {"type": "/problems/teapot", "title": "Teapot", "status": 418, "detail": "short and stout"})
    assert type(teapot) is errors.ProblemError and teapot.status == 418
    proxy = answer(502, text="<html>Bad Gateway</html>")
    assert isinstance(proxy, errors.BadGatewayError) and "Bad Gateway" in proxy.detail
    assert isinstance(answer(599, text=""), errors.ServerError)


def test_a_stale_version_says_the_current_one_and_in_flight_is_told_from_other_conflicts() -> None:
    stale = answer(412, problem_body(PROBLEM_TYPES["precondition-failed"], "at 4"), headers={"ETag": '"4"'})
    assert isinstance(stale, errors.VersionConflictError) and stale.current_version == 4
    conflict = PROBLEM_TYPES["conflict"]
    busy = answer(409, problem_body(conflict, "another request with this Idempotency-Key is in flight"))
    waiting = answer(409, problem_body(conflict, "still working"), headers={"Retry-After": "1"})
    taken = answer(409, problem_body(conflict, "code 'OPS' is already taken"))
    assert isinstance(busy, errors.InFlightError) and isinstance(waiting, errors.InFlightError)
    assert waiting.retry_after == 1.0
    assert type(taken) is errors.StateConflictError and isinstance(taken, errors.ConflictError)
    assert errors.parse_etag('W/"7"') == 7 and errors.parse_etag("*") is None
