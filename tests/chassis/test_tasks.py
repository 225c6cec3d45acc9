"""A failed call among concurrent ones cancels the rest before its error is raised."""

from __future__ import annotations

import asyncio

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
