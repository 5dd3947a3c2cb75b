"""What one hostile client could do to everyone else (issue 12), each against a real server: now bounded or refused."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.viewer.tours.conftest import (
    EXHIBIT,
    REPO_ROOT,
    SECRET,
    TOUR,
    Client,
    TourServerHandle,
    code,
    guide_token,
)
from tests.viewer.tours.test_limits import still_served
from tests.viewer.tours.test_server import http_get, pose
from viewer.tours import tokens


async def from_address(handle: TourServerHandle, address: str, hello: dict[str, Any] | None = None) -> Client:
    """A client whose TCP source is another loopback address (127.0.0.0/8 all reach a server on 127.0.0.1)."""
    ws = await connect(handle.url, compression=None, local_addr=(address, 0))
    client = Client(ws)
    if hello is not None:
        await client.send(type="hello", v=1, **hello)
        client.welcome = await client.expect("welcome")
    return client


class SilentClient:
    """A raw TCP client that completes the websocket handshake, sends one frame and then never reads again, so it
    never answers the server's close."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> SilentClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /tours HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await reader.readuntil(b"\r\n\r\n")
        return cls(reader, writer)

    def send_text(self, text: str) -> None:
        payload = text.encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        self.writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self) -> None:
        self.writer.transport.abort()


# ---------------------------------------------------------------------------------------------- 1. CPU from valid messages


async def test_the_63_kb_ping_of_empty_lists_is_refused_unparsed(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    attacker = await tour_server.visitor("Mallory")
    await attacker.send_raw('{"type": "ping", "x": [' + "[]," * 21000 + "[]]}")  # 63 KB: was parsed and walked
    assert await attacker.closed() == 1009
    many = await tour_server.visitor("Mallory2")
    await many.send_raw('{"type": "ping", "x": [' + "[]," * 1000 + "[]]}")  # 3 KB fits, but 1,000 items do not
    assert (await many.expect("error"))["code"] == "too_many_items"
    await still_served(guide, visitor)


@pytest.mark.manual_clock
async def test_the_rate_bucket_is_charged_by_bytes(tour_server: TourServerHandle) -> None:
    """Sixteen 4 KiB frames spend the 64 KiB byte burst although they are far under the 80-message burst."""
    assert tour_server.clock is not None
    attacker = await tour_server.visitor("Mallory")
    frame = '{"type":"ping","id":%d,"pad":"%s"}'
    pad = "x" * (4096 - len(frame % (10, "")))
    for index in range(10, 27):
        await attacker.send_raw(frame % (index, pad))
    error = await attacker.expect("error")
    assert error["code"] == "rate_limited"
    assert [m["re"] for m in attacker.seen if m["type"] == "pong"] == list(range(10, 26))
    await tour_server.clock.advance(4096 / (32 * 1024))  # one frame's worth of bytes at 32 KiB/s
    await attacker.send_raw(frame % (99, pad))
    assert (await attacker.expect("pong"))["re"] == 99


# ---------------------------------------------------------------------------------------------- 2. the room cap


async def test_a_member_closed_for_policy_leaves_at_once(tour_server: TourServerHandle) -> None:
    """Kick-and-rejoin left one lingering (away) member per cycle for the whole grace."""
    guide = await tour_server.guide()
    await guide.expect("snapshot")
    for cycle in range(3):
        flooder = await tour_server.visitor(f"Flood{cycle}")
        for _ in range(25):
            await flooder.send_raw("{broken")
        assert await flooder.closed() == 1008
        left = await guide.expect("event", kind="member_left")
        assert (left["member"], left["reason"]) == (flooder.welcome["member"], "removed")
    await guide.send(type="sync")
    assert [m["name"] for m in (await guide.expect("snapshot"))["members"]] == ["Mei"]


async def test_a_member_closed_for_policy_during_a_store_outage_leaves_once_the_store_is_back(site: Path) -> None:
    """The policy close (leave at once) and the store outage (retry, never a crashed handler) together: the
    member must not be given a grace instead, nor stay online for good."""
    from websockets.asyncio.server import serve

    from tests.viewer.tours.conftest import TEST_LIMITS
    from viewer.tours.server import TourServer
    from viewer.tours.store import MemoryStore, StoreUnavailable

    class FlakyStore(MemoryStore):
        down = False

        async def append(self, state: Any, events: list[dict[str, Any]]) -> bool:
            if self.down:
                raise StoreUnavailable("down for the test")
            return await super().append(state, events)

    store = FlakyStore()
    server = TourServer(site, SECRET, store, TEST_LIMITS, None)
    async with serve(server.handler, "127.0.0.1", 0, process_request=server.process_request) as ws_server:
        handle = TourServerHandle(next(iter(ws_server.sockets)).getsockname()[1], site)
        guide = await handle.guide()
        await guide.expect("snapshot")
        flooder = await handle.visitor("Flood")
        await guide.expect("event", kind="member_joined")
        store.down = True
        for _ in range(25):
            await flooder.send_raw("{broken")
        assert await flooder.closed() == 1008
        await asyncio.sleep(0.3)
        assert not [m for m in guide.seen if m.get("kind") in ("member_left", "member_away")]
        store.down = False
        left = await guide.expect("event", kind="member_left")
        assert (left["member"], left["reason"]) == (flooder.welcome["member"], "removed")
        assert not [m for m in guide.seen if m.get("kind") == "member_away"]


@pytest.mark.limits(source_connections=3)
async def test_connections_per_source_address_are_capped(tour_server: TourServerHandle) -> None:
    held = [await from_address(tour_server, "127.0.0.9") for _ in range(3)]
    with pytest.raises(InvalidStatus) as refused:
        await from_address(tour_server, "127.0.0.9")
    assert refused.value.response.status_code == 429
    guide = await tour_server.guide()  # another address is not affected
    visitor = await tour_server.visitor()
    await still_served(guide, visitor)
    await held[0].close()
    for _ in range(50):  # the count drops once the server has seen the close
        await asyncio.sleep(0.02)
        if tour_server.server is not None and tour_server.server.source_connections["127.0.0.9"] < 3:
            break
    again = await from_address(tour_server, "127.0.0.9")
    await again.close()
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert "vitrina_tour_source_refused_total 1.0\n" in body


@pytest.mark.limits(source_members=2)
async def test_members_per_source_address_are_capped(tour_server: TourServerHandle) -> None:
    hello = {"code": code(), "name": "Nat", "device": "phone"}
    third = await from_address(tour_server, "127.0.0.7")  # connected before the others joined
    first = await from_address(tour_server, "127.0.0.7", hello)
    await from_address(tour_server, "127.0.0.7", hello)
    with pytest.raises(InvalidStatus) as refused:  # once the address has its members, refused at the handshake
        await from_address(tour_server, "127.0.0.7")
    assert refused.value.response.status_code == 429
    await third.send(type="hello", v=1, **hello)
    assert (await third.expect("error"))["code"] == "source_limit"
    assert await third.closed() == 4007
    elsewhere = await from_address(tour_server, "127.0.0.8", hello)
    assert elsewhere.welcome["role"] == "visitor"
    await first.send(type="leave")
    assert await first.closed() == 1000
    for _ in range(50):
        await asyncio.sleep(0.02)
        if tour_server.server is not None and tour_server.server.source_members["127.0.0.7"] < 2:
            break
    assert (await from_address(tour_server, "127.0.0.7", hello)).welcome["role"] == "visitor"


@pytest.mark.limits(source_connections=1)
async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_source(tour_server: TourServerHandle) -> None:
    """A reverse proxy on loopback puts every visitor at 127.0.0.1; its X-Forwarded-For entry tells them apart,
    and only the rightmost entry counts (the client may have written the others)."""
    first = await tour_server.connect(additional_headers={"X-Forwarded-For": "203.0.113.5"})
    second = await tour_server.connect(additional_headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"})
    with pytest.raises(InvalidStatus) as refused:
        await tour_server.connect(additional_headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.5"})
    assert refused.value.response.status_code == 429
    with pytest.raises(InvalidStatus):  # not from a trusted proxy: the header is ignored, the address counts
        await connect(tour_server.url, local_addr=("127.0.0.5", 0), additional_headers={"X-Forwarded-For": "1.2.3.4"})
        await connect(tour_server.url, local_addr=("127.0.0.5", 0), additional_headers={"X-Forwarded-For": "5.6.7.8"})
    await first.close()
    await second.close()


# ---------------------------------------------------------------------------------------------- 3. file descriptors


def test_the_open_files_limit_is_raised_to_the_hard_limit_and_logged(tmp_path: Path) -> None:
    from tests.viewer.tours.conftest import write_site

    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip(f"hard RLIMIT_NOFILE {hard} leaves nothing to raise")

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "tour-server", "--site", str(site), "--port", "0",
         "--secret-file", str(secret_file)], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=low_soft_limit)
    try:
        assert process.stderr is not None and process.stdout is not None
        deadline = time.monotonic() + 20
        logged = ""
        # Read the pipe's bytes as they come: select() on the file object, then readline(), lost a line that arrived
        # in the same chunk as the one read (it waited in the object's buffer, where select cannot see it), and the
        # test failed when the server's first two lines came together.
        stderr = process.stderr.fileno()
        while time.monotonic() < deadline and "open-files limit" not in logged:
            if select.select([stderr], [], [], 0.2)[0]:  # never block past the deadline
                chunk = os.read(stderr, 1 << 16)
                if not chunk:
                    break
                logged += chunk.decode("utf-8", "replace")
        assert re.search(rf"open-files limit {hard}: room for about {hard - 64} connections", logged), logged
        assert "listening on" in process.stdout.readline()
        limits = Path(f"/proc/{process.pid}/limits").read_text()
        soft_now = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits)
        assert soft_now is not None and int(soft_now.group(1)) == hard
    finally:
        process.terminate()
        process.wait(10)


# ---------------------------------------------------------------------------------------------- 4. refusals and the lock


@pytest.mark.limits(room_cap=1)
async def test_refused_clients_that_never_answer_the_close_do_not_freeze_the_tour(
        tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    silent = [await SilentClient.open(tour_server.port) for _ in range(3)]
    hello = json.dumps({"type": "hello", "v": 1, "code": code(), "name": "S"})
    for client in silent:
        client.send_text(hello)  # refused tour_full; the close handshake waits 10 s for an answer that never comes
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await guide.send(type="start")
    await visitor.expect("event", kind="tour_started", timeout=2.0)  # was frozen for the whole close timeout
    assert time.monotonic() - started < 1.0
    for client in silent:
        client.close()


# ---------------------------------------------------------------------------------------------- 5. code guessing


@pytest.mark.manual_clock
async def test_failed_hellos_back_off_per_source_address(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    right = {"code": code(now=tour_server.now()), "name": "Ana"}
    for guess in range(11):  # ten free failures, and the eleventh earns a wait
        client = await from_address(tour_server, "127.0.0.3")
        await client.send(type="hello", v=1, code=f"ZZZ{guess:06d}".replace("0", "Z")[:9], name="G")
        assert (await client.expect("error"))["code"] == "unauthorized"
        assert await client.closed() == 4001
    with pytest.raises(InvalidStatus) as refused:  # while it waits, the address is refused at the handshake
        await from_address(tour_server, "127.0.0.3")
    assert refused.value.response.status_code == 429
    other = await from_address(tour_server, "127.0.0.4", right)  # another address is not held up
    assert other.welcome["role"] == "visitor"
    await tour_server.clock.advance(1.0)  # the 0.5 s backoff, as the 429 put it: Retry-After 1
    allowed = await from_address(tour_server, "127.0.0.3", right)
    assert allowed.welcome["role"] == "visitor"
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert "vitrina_tour_auth_backoff_total 1.0\n" in body


@pytest.mark.manual_clock
async def test_a_hello_already_on_its_way_when_the_wait_begins_is_not_checked(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    right = {"code": code(now=tour_server.now()), "name": "Ana"}
    early = await from_address(tour_server, "127.0.0.6")  # connected before the failures
    for guess in range(11):
        client = await from_address(tour_server, "127.0.0.6")
        await client.send(type="hello", v=1, code="ZZZZZZZZZ", name=f"G{guess}")
        assert await client.closed() == 4001
    await early.send(type="hello", v=1, **right)  # even the right code is not checked while the address waits
    error = await early.expect("error")
    assert (error["code"], error["message"]) == ("slow_down", "too many failed attempts from your address; "
                                                              "try again in 1 s")
    assert await early.closed() == 4001


@pytest.mark.manual_clock
async def test_last_weeks_visitor_code_does_not_open_todays_tour(tour_server: TourServerHandle) -> None:
    now = tour_server.now()
    assert now is not None
    last_week = tokens.visitor_code(SECRET, EXHIBIT, TOUR, now - 7 * 86400 + 8 * 3600)
    old = await tour_server.connect()
    await old.send(type="hello", v=1, code=last_week, name="Old")
    assert (await old.expect("error"))["code"] == "unauthorized"
    assert await old.closed() == 4001
    today = await tour_server.join({"code": code(now=now), "name": "New"})
    assert today.welcome["role"] == "visitor"
    resume = tokens.verify_resume_token(SECRET, today.welcome["resume_token"], now)
    assert resume.expires <= now + 8 * 3600 + 3600  # a visitor's membership ends with the run


# ---------------------------------------------------------------------------------------------- smaller defects


async def test_a_non_ascii_token_signature_is_unauthorized_not_a_crash(tour_server: TourServerHandle) -> None:
    payload = guide_token().partition(".")[0]
    client = await tour_server.connect()
    await client.send(type="hello", v=1, token=f"{payload}.sïgnature")
    assert (await client.expect("error"))["code"] == "unauthorized"
    assert await client.closed() == 4001


@pytest.mark.manual_clock
async def test_an_open_guide_connection_loses_its_rights_when_its_token_expires(
        tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    guide = await tour_server.join({"token": guide_token(now=tour_server.now(), hours=1), "name": "Mei"})
    visitor = await tour_server.visitor()
    await tour_server.clock.advance(3600)  # the token's last second: still valid
    await guide.send(type="start")
    await visitor.expect("event", kind="tour_started")
    await tour_server.clock.advance(1)
    await guide.send(type="advance", **{"from": 0})
    assert (await guide.expect("error"))["code"] == "token_expired"
    assert await guide.closed() == 4001
    await visitor.send(type="sync")
    assert (await visitor.expect("snapshot"))["tour"]["stop"] == 0


async def test_a_member_id_collision_never_takes_over_a_member(tour_server: TourServerHandle) -> None:
    assert tour_server.server is not None
    ids = iter(["mSAME", "mSAME", "mOTHER"])
    tour_server.server.new_member_id = lambda: next(ids)
    first = await tour_server.visitor("Ana")
    second = await tour_server.visitor("Bo")
    assert (first.welcome["member"], second.welcome["member"]) == ("mSAME", "mOTHER")
    await first.send(type="ping", id="still here")
    assert (await first.expect("pong"))["re"] == "still here"


def test_new_member_ids_carry_64_random_bits(tmp_path: Path) -> None:
    from tests.viewer.tours.conftest import TEST_LIMITS, write_site
    from viewer.tours.server import TourServer
    from viewer.tours.store import MemoryStore

    server = TourServer(write_site(tmp_path / "site"), SECRET, MemoryStore(), TEST_LIMITS, None)
    ids = {server.new_member_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(re.fullmatch(r"m[0-9a-f]{16}", member_id) for member_id in ids)


@pytest.mark.manual_clock
async def test_a_visitors_presence_changes_are_rate_limited(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    guide = await tour_server.guide()
    await guide.expect("snapshot")
    visitor = await tour_server.visitor()
    await guide.expect("event", kind="member_joined")
    for index in range(14):
        await visitor.send(type="hand", raised=index % 2 == 0, id=index)
    error = await visitor.expect("error")
    assert (error["code"], error["re"]) == ("rate_limited", 10)  # a burst of 10; each would reach every guide
    await visitor.send(type="ping", id="after")
    await visitor.expect("pong")
    await guide.send(type="ping", id="after")
    await guide.expect("pong")
    assert len([m for m in guide.seen if m.get("kind") in ("hand_raised", "hand_lowered")]) == 10
    await tour_server.clock.advance(0.5)  # two more changes a second
    await visitor.send(type="hand", raised=True, id="later")
    await guide.expect("event", kind="hand_raised")


async def test_dns_rebinding_cannot_pass_the_origin_check(tour_server: TourServerHandle) -> None:
    """With no --origin, Origin equal to Host proved nothing: a rebound name makes them agree."""
    rebound = f"ws://rebound.example:{tour_server.port}/tours"
    with pytest.raises(InvalidStatus) as refused:
        await connect(rebound, host="127.0.0.1", port=tour_server.port,
                      origin=f"http://rebound.example:{tour_server.port}")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    for origin in (f"http://127.0.0.1:{tour_server.port}", f"http://localhost:{tour_server.port}"):
        url = tour_server.url.replace("127.0.0.1", "localhost") if "localhost" in origin else tour_server.url
        ok = await connect(url, host="127.0.0.1", port=tour_server.port, origin=origin)  # type: ignore[arg-type]
        await ok.close()
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert "vitrina_tour_origin_refused_total 1.0\n" in body


@pytest.mark.manual_clock
async def test_queued_guide_poses_are_coalesced_to_the_newest(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    await visitor.expect("snapshot")
    for index in range(6):
        await guide.send(**pose(t=index))
    time.sleep(0.2)  # noqa: ASYNC251 - blocks the loop on purpose: the server is saturated while the poses queue
    await guide.send(type="ping")
    await guide.expect("pong")
    await visitor.send(type="ping")
    await visitor.expect("pong")
    assert [m["t"] for m in visitor.seen if m["type"] == "pose"] == [5]


def test_without_an_allow_list_only_ip_literal_or_localhost_pages_of_this_host_pass(tmp_path: Path) -> None:
    from websockets.datastructures import Headers

    from tests.viewer.tours.conftest import TEST_LIMITS, write_site
    from viewer.tours.server import TourServer
    from viewer.tours.store import MemoryStore

    server = TourServer(write_site(tmp_path / "site"), SECRET, MemoryStore(), TEST_LIMITS, None)
    for origin, host, allowed in [
        ("http://[::1]:8000", "[::1]:8000", True), ("http://192.168.1.20:8000", "192.168.1.20:8000", True),
        ("http://localhost:8000", "localhost:8000", True), ("http://localhost.evil:8000", "localhost.evil:8000", False),
        ("http://museum.example", "museum.example", False), ("http://127.0.0.1:9000", "127.0.0.1:8000", False),
    ]:
        assert server.origin_allowed(Headers({"Origin": origin, "Host": host})) is allowed, origin
    assert server.origin_allowed(Headers({"Host": "anything"}))  # no Origin: not a browser


def test_the_failed_hello_wait_doubles_is_capped_is_forgotten_and_quiet_sources_are_pruned(tmp_path: Path) -> None:
    from tests.viewer.tours.conftest import TEST_LIMITS, write_site
    from viewer.tours.clock import ManualClock
    from viewer.tours.server import AUTH_FORGET_S, TourServer
    from viewer.tours.store import MemoryStore

    clock = ManualClock()
    server = TourServer(write_site(tmp_path / "site"), SECRET, MemoryStore(), TEST_LIMITS, None, clock)
    waits = []
    for _ in range(19):
        server._auth_failed("203.0.113.9")
        waits.append(server._blocked_for("203.0.113.9"))
    assert waits == [0.0] * 10 + [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert server._blocked_for("203.0.113.10") == 0.0
    asyncio.run(clock.advance(AUTH_FORGET_S))  # the failures are exactly 600 s old: still counted
    server._auth_failed("203.0.113.9")
    assert server._blocked_for("203.0.113.9") == 60.0
    asyncio.run(clock.advance(AUTH_FORGET_S + 61))
    server._auth_failed("203.0.113.9")  # the old ones are forgotten: a first failure again
    assert server._blocked_for("203.0.113.9") == 0.0
    for index in range(4096):
        server._auth_failed(f"10.0.{index // 256}.{index % 256}")
    assert len(server.auth_backoff) == 4097
    asyncio.run(clock.advance(AUTH_FORGET_S + 1))
    server._auth_failed("198.51.100.1")  # past 4096 sources, the quiet ones are dropped
    assert set(server.auth_backoff) == {"198.51.100.1"}


@pytest.mark.manual_clock
@pytest.mark.limits(rate_per_s=0.5, burst=1)
async def test_rate_limited_is_said_at_most_once_a_second_and_every_drop_is_counted(
        tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    visitor = await tour_server.visitor()
    for index in range(3):
        await visitor.send(type="ping", id=index)
    assert (await visitor.expect("error"))["code"] == "rate_limited"
    await tour_server.clock.advance(0.99)
    await visitor.send(type="ping", id="quiet")  # dropped, and not said again within the second
    await tour_server.clock.advance(0.01)
    await visitor.send(type="ping", id="said")  # a second later: said again
    error = await visitor.expect("error")
    assert (error["code"], error["message"]) == ("rate_limited", "too many messages; this one was dropped")
    assert len([m for m in visitor.seen if m["type"] == "error"]) == 2
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert 'vitrina_tour_errors_total{code="rate_limited"} 4.0\n' in body


@pytest.mark.manual_clock
async def test_a_member_back_within_the_grace_stays_and_a_second_drop_restarts_the_grace(
        tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    token, member = visitor.welcome["resume_token"], visitor.welcome["member"]
    await visitor.ws.close()
    await guide.expect("event", kind="member_away")
    await tour_server.clock.advance(1.0)
    again = await tour_server.join({"resume": {"token": token}})
    await guide.expect("event", kind="member_back")
    await tour_server.clock.advance(1.5)  # past the first grace: back online, so it stays
    await again.ws.close()
    await guide.expect("event", kind="member_away")
    await tour_server.clock.advance(1.9)  # the second drop has its own full grace of 2 s
    await guide.send(type="sync")
    assert member in [m["id"] for m in (await guide.expect("snapshot"))["members"]]
    await tour_server.clock.advance(0.1)
    assert (await guide.expect("event", kind="member_left"))["member"] == member
