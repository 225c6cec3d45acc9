"""Concurrent calls that never outlive the request that made them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def gather(*calls: Awaitable[T]) -> list[T]:
    """``asyncio.gather``, except that when one call fails the others are cancelled (and awaited)
    before its error is raised. A plain gather leaves them running: a request that answered 503
    would still have calls in flight on its connections after it was answered."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
