"""A failed call among concurrent ones cancels the rest before its error is raised."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from services.chassis.tasks import gather


async def test_a_failure_cancels_the_other_calls_before_it_is_raised() -> None:
    finished: list[str] = []
    cancelled: list[str] = []

    async def slow(name: str) -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        finished.append(name)
        return name

    async def failing() -> str:
        await asyncio.sleep(0)
        raise LookupError("the owner answered 503")

    with pytest.raises(LookupError, match="503"):
        await gather(slow("teams"), failing(), slow("allocations"))
    assert sorted(cancelled) == ["allocations", "teams"]  # none is left running after the answer
    assert finished == []


async def test_answers_come_in_the_order_asked() -> None:
    async def after(seconds: float, value: int) -> int:
        await asyncio.sleep(seconds)
        return value

    assert await gather(after(0.02, 1), after(0, 2), after(0.01, 3)) == [1, 2, 3]


async def test_an_in_process_service_finishes_a_request_its_caller_gave_up() -> None:
    """The suite's in-process services behave as services across a network: a caller cancelled
    (by a deadline, or by a gathered sibling's failure) does not stop them mid-request, which would
    leave the connection a rolled-back suite's sessions share unusable for the rest of the test."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from tests.support import RoutingTransport

    finished = asyncio.Event()

    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        finished.set()
        return PlainTextResponse("done")

    transport = RoutingTransport({"slow.test": Starlette(routes=[Route("/slow", slow)])})  # type: ignore[dict-item]
    async with httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await client.get("http://slow.test/slow")
        assert not finished.is_set() and transport.answering
        await transport.settle()
        assert finished.is_set() and not transport.answering
        assert (await client.get("http://slow.test/slow")).text == "done"
