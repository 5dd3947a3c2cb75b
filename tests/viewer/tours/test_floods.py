"""Connection floods from one address (issue 12): refused before the handshake with 429 and Retry-After, and a source
that comes back early is held unread at TCP accept; each against a real in-process server on a manual clock."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidMessage, InvalidStatus

from pipeline.cli import build_parser
from tests.viewer.tours.conftest import TourServerHandle, code
from tests.viewer.tours.test_attacks import from_address
from tests.viewer.tours.test_server import http_get
from viewer.tours.server import Limits, limits_from_args

pytestmark = pytest.mark.manual_clock


async def get_tours_path(port: int, headers: dict[str, str] | None = None, *, cors: bool = False
                         ) -> tuple[int, str | None] | tuple[int, str | None, str | None, str | None]:
    """A plain GET of /tours (what a browser can do to learn why its websocket failed): status and Retry-After (and
    with `cors`, the Access-Control-Allow-Origin and -Expose-Headers a page on another origin needs to read them)."""
    def fetch() -> tuple[int, str | None] | tuple[int, str | None, str | None, str | None]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/tours", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                status, answer = response.status, response.headers
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.headers
        if cors:
            return (status, answer.get("Retry-After"), answer.get("Access-Control-Allow-Origin"),
                    answer.get("Access-Control-Expose-Headers"))
        return status, answer.get("Retry-After")
    return await asyncio.to_thread(fetch)


async def refused(handle: TourServerHandle, address: str, **kwargs: object) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        await connect(handle.url, compression=None, local_addr=(address, 0), **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.limits(source_connects_per_s=2.0, source_connects_burst=3.0)
async def test_new_connections_beyond_the_burst_get_429_with_retry_after(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    for _ in range(3):
        await (await from_address(tour_server, "127.0.0.21")).close()
    too_fast = await refused(tour_server, "127.0.0.21")
    assert too_fast.response.status_code == 429
    assert too_fast.response.headers["Retry-After"] == "1"  # half a second at 2/s, in whole seconds
    other = await from_address(tour_server, "127.0.0.22", {"code": code(now=tour_server.now()), "name": "Ana"})
    assert other.welcome["role"] == "visitor"  # another address is not held up
    await tour_server.clock.advance(0.5)  # a token is earned, but the address was told 1 s: still held unread
    with pytest.raises(TimeoutError):
        await connect(tour_server.url, compression=None, local_addr=("127.0.0.21", 0), open_timeout=0.2)
    await tour_server.clock.advance(0.5)  # the Retry-After is over: two tokens by now, so two more connections
    for _ in range(2):
        await (await from_address(tour_server, "127.0.0.21")).close()
    assert (await refused(tour_server, "127.0.0.21")).response.status_code == 429
    _, _, metrics = await http_get(tour_server.port, "/metrics")
    assert "vitrina_tour_connect_refused_total 2.0\n" in metrics


@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0)
async def test_a_source_back_before_its_retry_after_is_held_unread(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    await (await from_address(tour_server, "127.0.0.23")).close()
    assert (await refused(tour_server, "127.0.0.23")).response.status_code == 429
    with pytest.raises(TimeoutError):  # not even an HTTP answer: the request is never read
        await connect(tour_server.url, compression=None, local_addr=("127.0.0.23", 0), open_timeout=0.3)
    _, _, metrics = await http_get(tour_server.port, "/metrics")
    assert "vitrina_tour_accept_dropped_total 1.0\n" in metrics
    assert "vitrina_tour_connect_refused_total 1.0\n" in metrics  # the held one cost no parse and no 429
    await tour_server.clock.advance(1.0)  # it waited as told: served again
    await (await from_address(tour_server, "127.0.0.23")).close()


@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0)
async def test_a_plain_get_tells_a_browser_how_long_its_address_must_wait(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    assert await get_tours_path(tour_server.port) == (426, None)
    await (await connect(tour_server.url, compression=None)).close()
    assert (await refused(tour_server, "127.0.0.1")).response.status_code == 429
    # 127.0.0.1 is a trusted proxy in the defaults, so it is never held: the probe is answered.
    assert await get_tours_path(tour_server.port) == (429, "1")
    await tour_server.clock.advance(1.0)
    assert await get_tours_path(tour_server.port) == (426, None)


@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0)
async def test_a_trusted_proxy_is_judged_by_the_address_it_forwards(tour_server: TourServerHandle) -> None:
    behind = {"X-Forwarded-For": "198.51.100.7"}
    await (await connect(tour_server.url, compression=None, additional_headers=behind)).close()
    assert (await refused(tour_server, "127.0.0.1", additional_headers=behind)).response.status_code == 429
    # The proxy itself is not held at accept, and another visitor behind it is served.
    other = await connect(tour_server.url, compression=None, additional_headers={"X-Forwarded-For": "198.51.100.8"},
                          open_timeout=2)
    await other.close()
    assert await get_tours_path(tour_server.port, behind) == (429, "1")


@pytest.mark.limits(auth_free_failures=0)
async def test_a_source_in_failed_hello_backoff_is_told_when_to_come_back(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    guesser = await from_address(tour_server, "127.0.0.24")
    await guesser.send(type="hello", v=1, code="ZZZZZZZZZ", name="G")
    assert await guesser.closed() == 4001
    backoff = await refused(tour_server, "127.0.0.24")
    assert (backoff.response.status_code, backoff.response.headers["Retry-After"]) == (429, "1")
    await tour_server.clock.advance(0.5)  # the backoff (0.5 s) is over, but the address was told 1 s: held
    with pytest.raises(TimeoutError):
        await connect(tour_server.url, compression=None, local_addr=("127.0.0.24", 0), open_timeout=0.2)
    await tour_server.clock.advance(0.5)  # as the header said
    await (await from_address(tour_server, "127.0.0.24")).close()


def test_the_new_connection_rate_is_set_from_the_command_line(tmp_path: Path) -> None:
    args = build_parser().parse_args(["tour-server", "--site", str(tmp_path), "--source-connects-per-s", "50",
                                      "--source-connects-burst", "2000"])
    chosen = limits_from_args(args)
    assert (chosen.source_connects_per_s, chosen.source_connects_burst) == (50.0, 2000.0)
    assert chosen.source_connections == Limits().source_connections


@pytest.mark.origins("https://museum.example")
@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0)
async def test_a_page_on_an_allowed_origin_may_read_the_wait(tour_server: TourServerHandle) -> None:
    page = {"Origin": "https://museum.example"}
    await (await connect(tour_server.url, compression=None, additional_headers=page)).close()
    assert (await refused(tour_server, "127.0.0.1", additional_headers=page)).response.status_code == 429
    assert await get_tours_path(tour_server.port, page, cors=True) == (429, "1", "https://museum.example",
                                                                       "Retry-After")
    assert (await get_tours_path(tour_server.port, {"Origin": "https://evil.example"}, cors=True))[0] == 403


async def hold_open(handle: TourServerHandle, address: str) -> asyncio.StreamWriter:
    """A bare TCP connection from `address` that sends nothing (the server decides at accept what to do with it)."""
    _, writer = await asyncio.open_connection("127.0.0.1", handle.port, local_addr=(address, 0))
    return writer


@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0)
async def test_a_held_connection_costs_no_websocket_connection(tour_server: TourServerHandle,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    await (await from_address(tour_server, "127.0.0.33")).close()
    assert (await refused(tour_server, "127.0.0.33")).response.status_code == 429
    built: list[object] = []
    original = ServerConnection.__init__

    def counting(self: ServerConnection, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ServerConnection, "__init__", counting)
    writers = [await hold_open(tour_server, "127.0.0.33") for _ in range(5)]
    await asyncio.sleep(0.1)
    assert tour_server.server is not None and tour_server.server.held_total == 5
    assert built == []  # decided from the address alone: no connection object, no handler task, no parse
    (await from_address(tour_server, "127.0.0.34")).ws.transport.abort()  # another address is served as usual
    assert len(built) == 1
    for writer in writers:
        writer.close()


@pytest.mark.limits(source_connects_per_s=1.0, source_connects_burst=1.0, held_connections=2)
async def test_held_connections_are_capped_across_all_sources(tour_server: TourServerHandle) -> None:
    server = tour_server.server
    assert server is not None
    for address in ("127.0.0.31", "127.0.0.32"):
        await (await from_address(tour_server, address)).close()
        assert (await refused(tour_server, address)).response.status_code == 429
    writers = [await hold_open(tour_server, "127.0.0.31") for _ in range(2)]
    await asyncio.sleep(0.1)
    assert server.held_total == 2
    started = time.monotonic()
    with pytest.raises((InvalidMessage, OSError)):  # the cap is full: reset at once, not held
        await connect(tour_server.url, compression=None, local_addr=("127.0.0.32", 0), open_timeout=2)
    assert time.monotonic() - started < 1.0 and server.held_total == 2
    for _ in range(40):  # each hold ends after the second the 429 named, and frees its place
        if server.held_total == 0:
            break
        await asyncio.sleep(0.1)
    assert server.held_total == 0 and not server.held
    for writer in writers:
        writer.close()


def test_per_source_tables_forget_stale_sources_once_past_4096_and_sweep_again_only_after_doubling(
        tmp_path: Path) -> None:
    from tests.viewer.tours.conftest import SECRET, TEST_LIMITS, write_site
    from viewer.tours.clock import ManualClock
    from viewer.tours.server import SOURCE_TABLE_SIZE, TourServer
    from viewer.tours.store import MemoryStore

    clock = ManualClock()
    limits = replace(TEST_LIMITS, source_connects_per_s=10.0, source_connects_burst=10.0)  # refilled in 1 s
    server = TourServer(write_site(tmp_path / "site"), SECRET, MemoryStore(), limits, None, clock)
    for index in range(SOURCE_TABLE_SIZE + 1):
        server.told_to_wait[f"10.0.{index // 256}.{index % 256}"] = clock.monotonic() + 1.0
        server._connect_wait(f"10.0.{index // 256}.{index % 256}")
    asyncio.run(clock.advance(1.5))  # every wait is over and every bucket full again: nothing worth keeping
    server.told_to_wait["198.51.100.1"] = clock.monotonic() + 1.0
    server._connect_wait("198.51.100.1")
    assert set(server.told_to_wait) == set(server.connect_buckets) == {"198.51.100.1"}
    for index in range(SOURCE_TABLE_SIZE + 1):  # live sources: the sweep finds nothing to forget ...
        server.told_to_wait[f"10.1.{index // 256}.{index % 256}"] = clock.monotonic() + 60.0
    server.told_to_wait["198.51.100.2"] = clock.monotonic() + 60.0
    assert len(server.told_to_wait) == SOURCE_TABLE_SIZE + 3
    assert server.told_to_wait.sweep_at == 2 * (SOURCE_TABLE_SIZE + 1)  # ... so the next waits for twice as many


async def test_a_class_joining_at_once_is_queued_by_the_kernel_not_dropped(tour_server: TourServerHandle) -> None:
    """300 visitors connect while the server's loop is busy: every TCP handshake completes in the listen queue. With
    asyncio's default backlog of 100 the rest of the SYNs were dropped, and each such visitor waited 1 s for the
    retransmit (the Node relay comparison's setup p99: 1026 ms against 123 ms with the larger queue)."""
    import select
    import socket

    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(300)]
    try:
        for sock in sockets:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", tour_server.port))
        # Still inside the loop's turn: the server accepts nothing meanwhile, so only the kernel's queue holds them.
        connected: set[socket.socket] = set()
        deadline = time.monotonic() + 0.5
        while len(connected) < len(sockets) and time.monotonic() < deadline:
            _, writable, _ = select.select([], [s for s in sockets if s not in connected], [], 0.05)
            connected.update(s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
        assert len(connected) == len(sockets)
    finally:
        for sock in sockets:
            sock.close()
    await asyncio.sleep(0)
