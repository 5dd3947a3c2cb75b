"""Redis restarts and outages under two real tour servers (processes, or in this process where none has to die):
poses resume, guides stay, state is not reset."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.tours.conftest import (
    SECRET,
    Client,
    RedisServer,
    ServerProcess,
    TourServerHandle,
    guide_token,
    write_site,
)
from tests.viewer.tours.test_server import http_get

pytestmark = pytest.mark.redis

POSE = {"head": {"p": [4, 1.6, 0], "q": [0, 0, 0, 1]}}


@pytest.fixture
def pair(tmp_path: Path, redis_server: RedisServer) -> Iterator[list[ServerProcess]]:
    """Two tour servers sharing the fixture's Redis (no persistence: a restart comes back empty), logging to files."""
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    started = [ServerProcess(site, secret_file, "--redis", redis_server.url, log=tmp_path / f"server-{name}.log")
               for name in "ab"]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


async def health(server: TourServerHandle) -> dict[str, Any]:
    status, _, body = await http_get(server.port, "/healthz")
    assert status == 200
    return dict(json.loads(body))


async def wait_for_health(server: TourServerHandle, timeout: float = 15.0, **store: Any) -> dict[str, Any]:
    """Poll /healthz until its `store` part has these values."""
    deadline = time.monotonic() + timeout
    while True:
        found = await health(server)
        if all(found["store"].get(key) == value for key, value in store.items()):
            return found
        assert time.monotonic() < deadline, f"/healthz never showed {store}: {found}"
        await asyncio.sleep(0.1)


async def pose_arrives(guide: Client, watcher: Client, marker: float, timeout: float = 10.0) -> bool:
    """Send poses at 20 Hz until the watcher receives one carrying `marker` (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await guide.send(type="pose", t=marker, **POSE)
        try:
            while True:
                message = await watcher.recv(timeout=0.05)
                if message["type"] == "pose" and message["t"] == marker:
                    return True
        except TimeoutError:
            pass
    return False


async def redis_hash(redis_server: RedisServer, key: str, expect_keys: int, timeout: float = 10.0) -> dict[str, str]:
    """A Redis hash, once it has `expect_keys` fields (or the timeout passes)."""
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.from_url(redis_server.url, decode_responses=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            found: dict[str, str] = await client.hgetall(key)  # type: ignore[misc,assignment]
            if len(found) >= expect_keys or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def test_a_redis_restart_is_survived(pair: list[ServerProcess], redis_server: RedisServer) -> None:
    a, b = pair[0].handle, pair[1].handle
    guide = await a.guide()
    far = await b.visitor("Far")
    await far.expect("snapshot")
    await guide.send(type="start")
    started = await far.expect("event", timeout=5, kind="tour_started")
    assert await pose_arrives(guide, far, 1.0)

    redis_server.stop()
    # Outage: a guide posing at 20 Hz is not kicked (poses are dropped and counted), and a command gets an error
    # reply instead of a crashed handler.
    for _ in range(20):
        await guide.send(type="pose", t=2.0, **POSE)
        await asyncio.sleep(0.05)
    await guide.send(type="advance", id=7, **{"from": 0})
    refused = await guide.expect("error", timeout=10)
    assert (refused["code"], refused["re"]) == ("unavailable", 7)
    down = await health(a)
    assert down["status"] == "degraded" and down["store"]["up"] is False
    assert down["store"]["poses_unpublished"] >= 1
    assert (await wait_for_health(b, up=False, pose_subscriptions=0))["status"] == "degraded"

    redis_server.start()  # empty: no persistence
    # Cross-process poses resume: B renewed its subscription, said so in its log, /healthz and /metrics.
    back = await wait_for_health(b, up=True, pose_subscriptions=1, pose_subscriptions_down=0)
    assert back["status"] == "ok" and back["store"]["resubscribes"] >= 1
    assert "pose subscription vitrina:tour:bronze-age:highlights:poses renewed" in pair[1].log.read_text()  # type: ignore[union-attr]
    _, _, metrics = await http_get(b.port, "/metrics")
    assert 'vitrina_tour_pose_subscriptions{state="up"} 1' in metrics and "vitrina_tour_store_up 1" in metrics
    assert await pose_arrives(guide, far, 3.0)

    # The emptied Redis did not reset the tour: the next advance follows on from the live state, seq included.
    await guide.send(type="advance", **{"from": 0})
    changed = await far.expect("event", timeout=10, kind="stop_changed")
    assert changed["stop"] == 1 and changed["seq"] == started["seq"] + 1
    late = await b.visitor("Late")
    snapshot = await late.expect("snapshot")
    assert (snapshot["seq"], snapshot["tour"]["stop"], snapshot["tour"]["lead"]) == (
        changed["seq"] + 1, 1, guide.welcome["member"])  # + Late's own member_joined
    reseeds = [(await health(server))["store"]["reseeds"] for server in (a, b)]
    assert sum(reseeds) >= 1
    # Each process claimed its members again (the owners hash was lost too), so they are reaped if it dies.
    owners = await redis_hash(redis_server, "vitrina:tour:bronze-age:highlights:owners", expect_keys=3)
    assert owners[guide.welcome["member"]] != owners[far.welcome["member"]] == owners[late.welcome["member"]]
    # Nobody was told to go away (1000 means "do not reconnect").
    await guide.send(type="ping")
    await guide.expect("pong")
    assert guide.ws.close_code is None and far.ws.close_code is None


async def test_the_owners_hash_keeps_only_current_members(in_process: list[TourServerHandle],
                                                          redis_server: RedisServer) -> None:
    import redis.asyncio as redis_asyncio

    a = in_process[0]
    owners_key = "vitrina:tour:bronze-age:highlights:owners"
    client = redis_asyncio.from_url(redis_server.url, decode_responses=True)
    guide = await a.guide()
    visitors = [await a.visitor(f"V{index}") for index in range(3)]
    for leaving in visitors[:2]:
        await leaving.send(type="leave")
        assert await leaving.closed() == 1000
    await guide.send(type="ping")
    await guide.expect("pong")
    members = {guide.welcome["member"], visitors[2].welcome["member"]}
    assert set(await client.hkeys(owners_key)) == members  # type: ignore[misc]
    await guide.send(type="end")
    assert await guide.closed() == 4006
    assert not await client.exists(owners_key)
    await client.aclose()


async def test_a_tour_server_started_before_redis_waits_for_it(tmp_path: Path, redis_server: RedisServer) -> None:
    redis_server.stop()  # e.g. a reboot where Redis is slower to come up
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    server = ServerProcess(site, secret_file, "--redis", redis_server.url)  # starts and listens anyway
    try:
        early = await server.handle.connect()
        await early.send(type="hello", v=1, token=guide_token(), name="Mei", device="vr")
        assert (await early.expect("error", timeout=10))["code"] == "unavailable"
        assert await early.closed(timeout=10) == 1011  # reconnect and resume: the client will retry
        assert (await health(server.handle))["status"] == "degraded"
        redis_server.start()
        guide = await server.handle.guide()
        assert guide.welcome["role"] == "guide"
        assert (await guide.expect("snapshot"))["tour"]["lead"] == guide.welcome["member"]
    finally:
        server.stop()


async def test_a_member_marked_away_by_another_process_comes_back(in_process: list[TourServerHandle],
                                                                  redis_server: RedisServer) -> None:
    from viewer.tours.session import TourInfo
    from viewer.tours.store import RedisStore

    a, b = in_process
    guide = await a.guide()
    far = await b.visitor("Far")
    member = far.welcome["member"]
    await guide.expect("event", timeout=5, kind="member_joined")
    # A third process takes B for dead (as A's reaper did when Redis had just lost B's liveness key) and marks
    # B's visitor away.
    reaper = RedisStore(redis_server.url, origin="reaper")
    info = TourInfo("bronze-age", "highlights", 3)
    state = await reaper.load(info)
    assert await reaper.append(state, state.number(state.decide_away(member), 0))
    await reaper.close()
    assert (await guide.expect("event", timeout=5, kind="member_away"))["member"] == member
    # B still holds the connection, so it says the visitor is back, and owns it again.
    assert (await guide.expect("event", timeout=5, kind="member_back"))["member"] == member
    owners = await redis_hash(redis_server, "vitrina:tour:bronze-age:highlights:owners", expect_keys=2)
    assert owners[member] != owners[guide.welcome["member"]]
    await far.send(type="hand", raised=True)
    assert (await guide.expect("event", timeout=5, kind="hand_raised"))["member"] == member
