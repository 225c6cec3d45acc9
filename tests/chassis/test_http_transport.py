"""The pooled client's transport (services.chassis.http_transport) against real servers: the
exchange is httpx2's, byte for byte; connections are kept, reused and dropped as they should be;
and every failure is httpx2's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx2
import pytest
import uvloop

from bench.processes import free_port
from services.chassis.http_transport import BUFFERED_BYTES, DeadlinePassed, PooledTransport, limits_of


@pytest.fixture
async def client(echo_service: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=echo_service, transport=PooledTransport(), timeout=5) as http:
        yield http


async def test_the_request_and_the_answer_are_passed_as_they_are(client: httpx2.AsyncClient) -> None:
    answer = await client.post(
        "/echo?a=1&a=2&b=%C3%A9",
        content=b'{"name": "Digitale aangifte"}',
        headers={"Content-Type": "application/json", "Idempotency-Key": "k-1", "X-Custom": "ja"},
    )
    assert answer.status_code == 207
    assert answer.reason_phrase == "Multi-Status"
    assert answer.headers.get_list("x-twice") == ["one", "two"]
    seen = answer.json()
    headers = dict(seen["headers"])
    assert seen["method"] == "POST"
    assert seen["query"] == "a=1&a=2&b=%C3%A9"
    assert seen["body"] == '{"name": "Digitale aangifte"}'
    assert headers["content-length"] == str(len(seen["body"]))
    assert headers["idempotency-key"] == "k-1"
    assert headers["x-custom"] == "ja"
    assert headers["content-type"] == "application/json"
    # What httpx2 says it is, once each, and nothing the transport adds of its own.
    assert headers["user-agent"].startswith("python-httpx2")
    names = [name for name, _ in seen["headers"]]
    assert names.count("accept-encoding") == 1 and names.count("host") == 1


async def test_connections_are_kept_and_reused(client: httpx2.AsyncClient) -> None:
    peers = {(await client.get("/echo")).json()["peer"] for _ in range(5)}
    assert len(peers) == 1


async def test_an_event_stream_arrives_as_it_is_sent(client: httpx2.AsyncClient) -> None:
    async with client.stream("GET", "/trickle?hold=1") as answer:
        chunks = answer.aiter_bytes()
        assert await asyncio.wait_for(anext(chunks), 1) == b"first\n"  # before the second exists
    # A body closed unread leaves no bytes behind on a pooled connection.
    assert (await client.get("/echo?after=stream")).json()["query"] == "after=stream"


async def test_a_chunked_answer_is_read_whole_and_its_connection_kept(client: httpx2.AsyncClient) -> None:
    before = (await client.get("/echo")).json()["peer"]
    assert (await client.get("/trickle")).content == b"first\nsecond\n"
    assert (await client.get("/echo")).json()["peer"] == before


async def test_a_large_body_crosses_both_ways(client: httpx2.AsyncClient) -> None:
    """More than the transport buffers before it pauses reading: nothing is lost or reordered."""
    body = bytes(range(256)) * 4096  # 1 MiB, not valid UTF-8: echoed back as the JSON of a string
    text = body.decode("latin-1")
    answer = await client.post("/echo", content=text.encode())
    assert answer.json()["body"] == text


async def test_an_answer_not_read_is_not_buffered_past_the_bound(echo_service: str) -> None:
    """Reading from the connection pauses while ``BUFFERED_BYTES`` wait to be read, and resumes as
    they are: a slow reader does not make the process hold a whole large answer."""
    transport = PooledTransport()
    body = b"x" * (8 * BUFFERED_BYTES)
    answer = await transport.exchange("POST", echo_service + "/echo", [], body, limits_of(5, 5, 5))
    try:
        chunks = answer.chunks()
        received = len(await anext(chunks))
        await asyncio.sleep(0.3)  # the peer has sent it all by now; the transport read only so far
        assert answer._buffered <= 2 * BUFFERED_BYTES
        async for chunk in chunks:
            received += len(chunk)
    finally:
        answer.finish()
        await transport.aclose()
    assert received == int(dict(answer.raw_headers)[b"content-length"]) > len(body)


async def test_head_has_no_body_and_the_next_request_is_sound(client: httpx2.AsyncClient) -> None:
    answer = await client.head("/echo")
    assert answer.status_code == 207 and answer.content == b""
    assert int(answer.headers["content-length"]) > 0  # what a GET would have sent
    assert (await client.get("/echo?after=head")).json()["query"] == "after=head"


async def test_an_idle_connection_is_dropped_after_keepalive_seconds(echo_service: str) -> None:
    transport = PooledTransport(keepalive_seconds=0.1)
    async with httpx2.AsyncClient(base_url=echo_service, transport=transport, timeout=5) as http:
        first = (await http.get("/echo")).json()["peer"]
        assert (await http.get("/echo")).json()["peer"] == first
        await asyncio.sleep(0.2)
        assert (await http.get("/echo")).json()["peer"] != first


async def test_a_request_cancelled_mid_exchange_closes_its_connection(client: httpx2.AsyncClient) -> None:
    first = (await client.get("/echo")).json()["peer"]
    slow = asyncio.create_task(client.get("/slow"))  # on the kept connection
    await asyncio.sleep(0.1)
    slow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await slow
    # The slow answer would arrive on that connection later: it is not reused.
    assert (await client.get("/echo")).json()["peer"] != first


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        with pytest.raises(httpx2.ConnectError) as raised:
            await http.get(f"http://127.0.0.1:{free_port()}/echo")
    assert raised.value.request.url.path == "/echo"


async def test_a_slow_answer_is_a_read_timeout(client: httpx2.AsyncClient) -> None:
    with pytest.raises(httpx2.ReadTimeout):
        await client.get("/slow", timeout=httpx2.Timeout(5, read=0.2))
    assert (await client.get("/echo")).status_code == 207


async def test_the_deadline_covers_the_whole_exchange_and_each_wait_keeps_its_own_limit(echo_service: str) -> None:
    """``exchange(deadline=...)``: an answer whose every part comes within the per-read limit but
    whose whole takes longer than the deadline is ``DeadlinePassed`` (a timeout, not a broken
    connection); a wait whose own limit ends first keeps its own error."""
    transport = PooledTransport()
    loop = asyncio.get_running_loop()
    try:
        answer = await transport.exchange(
            "GET", echo_service + "/drip?chunks=8&every=0.1", [], None, limits_of(5, 5, 0.5)
        )
        assert await answer.read() == b"drop\n" * 8  # no deadline: it takes its time
        dripping = await transport.exchange(
            "GET",
            echo_service + "/drip?chunks=8&every=0.1",
            [],
            None,
            limits_of(5, 5, 0.5),
            deadline=loop.time() + 0.35,
        )
        started = loop.time()
        with pytest.raises(DeadlinePassed) as passed:
            await dripping.read()
        assert isinstance(passed.value, httpx2.TimeoutException)
        assert loop.time() - started < 0.5
        with pytest.raises(DeadlinePassed):  # the head too
            await transport.exchange(
                "GET", echo_service + "/slow", [], None, limits_of(5, 5, 5), deadline=loop.time() + 0.2
            )
        with pytest.raises(httpx2.ReadTimeout) as read:  # the read's own limit first
            await transport.exchange(
                "GET", echo_service + "/slow", [], None, limits_of(5, 5, 0.2), deadline=loop.time() + 5
            )
        assert not isinstance(read.value, DeadlinePassed)
        passed_already = await transport.exchange(
            "GET", echo_service + "/echo", [], None, limits_of(5, 5, 5), deadline=loop.time() + 5
        )
        assert (await passed_already.read()).startswith(
            b"{"
        )  # the connection closed for the late ones, a new one serves
    finally:
        await transport.aclose()


async def test_with_every_connection_busy_a_request_waits_for_one_then_times_out(echo_service: str) -> None:
    async with httpx2.AsyncClient(
        base_url=echo_service, transport=PooledTransport(max_connections=1), timeout=httpx2.Timeout(5, pool=0.2)
    ) as http:
        async with http.stream("GET", "/trickle?hold=1") as held:
            with pytest.raises(httpx2.PoolTimeout):
                await http.get("/echo")
            waiting = asyncio.create_task(http.get("/echo?waited=1", timeout=httpx2.Timeout(5)))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await held.aread()  # read to its end: the connection goes to the one waiting
        assert (await waiting).json()["query"] == "waited=1"


async def test_the_deadline_covers_the_wait_for_a_connection_and_the_connect(echo_service: str) -> None:
    """Waiting for a pooled connection, or for a new one to connect, ends at the deadline too:
    ``DeadlinePassed``, not the pool's or the connect's own (later) timeout."""
    transport = PooledTransport(max_connections=1)
    loop = asyncio.get_running_loop()
    try:
        held = await transport.exchange("GET", echo_service + "/trickle?hold=1", [], None, limits_of(5, 5, None))
        started = loop.time()
        with pytest.raises(DeadlinePassed):
            await transport.exchange(
                "GET", echo_service + "/echo", [], None, limits_of(5, 5, 5), deadline=started + 0.2
            )
        assert 0.15 < loop.time() - started < 1
        with pytest.raises(httpx2.PoolTimeout):  # the pool's own limit first
            await transport.exchange(
                "GET", echo_service + "/echo", [], None, limits_of(5, 0.2, 5), deadline=started + 5
            )
        held.finish()
        # A connect that would wait for its own 5 s ends at the deadline.
        with never_accepting() as url, pytest.raises(DeadlinePassed):
            await transport.exchange("GET", url, [], None, limits_of(5, 5, 5), deadline=loop.time() + 0.2)
    finally:
        await transport.aclose()


@contextlib.contextmanager
def never_accepting() -> Iterator[str]:
    """The URL of a listening socket whose backlog is full: a new connection waits, unanswered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = [socket.socket() for _ in range(3)]
    try:
        for filler in fillers:
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}/"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


# --- against a server that misbehaves on purpose --------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A server speaking bytes ``handler`` writes; it is told how many connections came before."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await handler(reader, writer, connections - 1)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


async def test_a_body_delimited_by_the_connection_closing_is_read_whole() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end")

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        answer = await http.get(url + "/")
        assert answer.content == b"until the end"
        assert (await http.get(url + "/")).content == b"until the end"  # on a new connection


async def test_a_kept_connection_closed_unanswered_is_tried_again_only_for_a_read() -> None:
    """Each connection answers its first request and closes at its second, unanswered: what a
    kept connection the peer closed as the request went out looks like."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _request(reader)
        writer.write(OK)
        await writer.drain()
        await _request(reader)  # read, then closed without a word

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        assert (await http.get(url + "/")).content == b"ok"
        assert (await http.get(url + "/")).content == b"ok"  # sent again, on a new connection
        for method in ("POST", "PUT", "DELETE"):  # it may have been acted on: not sent again
            with pytest.raises(httpx2.RemoteProtocolError):
                await http.request(method, url + "/", content=b"{}")
            assert (await http.get(url + "/")).content == b"ok"  # a new connection, kept for the next


async def test_a_malformed_or_cut_answer_is_a_remote_protocol_error() -> None:
    answers = [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _request(reader)
        writer.write(answers[n])

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        for _ in answers:
            with pytest.raises(httpx2.RemoteProtocolError):
                await http.get(url + "/")


async def test_an_interim_answer_is_passed_over() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n" + OK)

    async with raw_server(handler) as url, httpx2.AsyncClient(transport=PooledTransport(), timeout=2) as http:
        answer = await http.get(url + "/")
    assert answer.status_code == 200 and answer.content == b"ok" and "link" not in answer.headers


async def test_an_answer_complete_past_the_bound_leaves_its_connection_reading() -> None:
    """An answer whose last bytes took the buffer past ``BUFFERED_BYTES`` paused reading and was
    complete at once; read whole, its kept connection reads the next answer."""
    big = b"x" * (BUFFERED_BYTES + 1024)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(big)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _request(reader)
        writer.write(head + big[:-2048])  # under the bound
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(big[-2048:])  # the last bytes take it past the bound
        await _request(reader)
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(1)

    transport = PooledTransport()
    async with raw_server(handler) as url:
        answer = await transport.exchange("GET", url + "/", [], None, limits_of(5, 5, 5))
        await asyncio.sleep(0.3)  # all of it buffered, the reading paused
        assert answer.complete and answer.connection.paused
        assert await answer.read() == big
        again = await transport.exchange("GET", url + "/", [], None, limits_of(5, 5, 5))
        assert again.connection is answer.connection  # kept, and reading
        assert await again.read() == b"ok"
    await transport.aclose()


def test_the_same_exchanges_on_uvloop(echo_service: str) -> None:
    """The processes run on uvloop (uvicorn's choice), whose transports are not asyncio's classes
    and call ``connection_made`` in their own order."""

    async def exchanges() -> None:
        async with httpx2.AsyncClient(base_url=echo_service, transport=PooledTransport(), timeout=5) as http:
            peers = {(await http.get("/echo")).json()["peer"] for _ in range(3)}
            assert len(peers) == 1
            assert (await http.post("/echo", content=b"ja")).json()["body"] == "ja"
            assert (await http.head("/echo")).content == b""
            assert (await http.get("/trickle")).content == b"first\nsecond\n"

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(exchanges())
