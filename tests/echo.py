"""A service on a real loopback port that says what it was sent (``/echo``, ``/echo/...``), answers
an event stream (``/trickle``), slowly (``/slow``, or bit by bit: ``/drip``) or as a crashed
process would (``/crash``): for the tests of what crosses a real connection (the pooled transport,
the gateway's passing on)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = await request.body()
    answer = JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body": body.decode(),
            "peer": request.client.port if request.client else None,
        },
        status_code=207,
    )
    answer.raw_headers.extend([(b"x-twice", b"one"), (b"x-twice", b"two")])
    return answer


async def trickle(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        for _ in range(200):  # until the test has seen the first chunk
            if request.query_params.get("hold") != "1":
                break
            await asyncio.sleep(0.01)
        yield b"second\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


async def drip(request: Request) -> Response:
    """A body in ``chunks`` parts, ``every`` seconds apart: each read comes soon, the whole answer
    late; plain text, or with ``events=1`` an event stream."""
    count, every = int(request.query_params.get("chunks", "5")), float(request.query_params.get("every", "0.1"))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"drop\n"
            await asyncio.sleep(every)

    events = request.query_params.get("events") == "1"
    return StreamingResponse(chunks(), media_type="text/event-stream" if events else "text/plain")


async def slow(request: Request) -> Response:
    await asyncio.sleep(1)
    return Response(b"late")


async def crash(request: Request) -> Response:
    return PlainTextResponse("Internal Server Error", status_code=500)


async def ready(request: Request) -> Response:
    return JSONResponse({"status": "ready"})


ECHO = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST", "PATCH", "DELETE"]),
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PATCH", "DELETE"]),
        Route("/trickle", trickle),
        Route("/drip", drip),
        Route("/slow", slow),
        Route("/crash", crash),
        Route("/readyz", ready),
    ]
)
