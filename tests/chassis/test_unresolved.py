"""One shape for a reference that could not be expanded, wherever it is expanded."""

from __future__ import annotations

from services.chassis.errors import NOT_FOUND, UNAVAILABLE
from services.chassis.references import not_found, unresolved

CHAIN = "/valuechains/v1/chains/019a0000-0000-7000-8000-000000000001"


def test_the_error_is_that_of_a_problem_document() -> None:
    assert unresolved(CHAIN, UNAVAILABLE, "the valuechains service failed (503)") == {
        "href": CHAIN,
        "error": {
            "type": "/problems/unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": "the valuechains service failed (503)",
        },
    }


def test_a_reference_to_nothing_the_caller_may_see() -> None:
    assert not_found(CHAIN) == {
        "href": CHAIN,
        "error": {"type": NOT_FOUND.uri, "title": "Not found", "status": 404, "detail": f"no resource at {CHAIN}"},
    }


def test_an_href_that_names_no_resource_says_so() -> None:
    for href in ("/nowhere/v1/chains/1", "/valuechains/v1/chains", "chains"):
        error = not_found(href)["error"]
        assert error["status"] == 404
        assert error["detail"] == "not the address of a resource of this platform"
