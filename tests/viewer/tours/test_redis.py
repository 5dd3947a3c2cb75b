"""Two tour servers share tours through one real redis-server: as processes (one is SIGKILLed mid-tour and nothing
is lost), and in this process where no process has to die (so mutation testing sees the Redis paths of server.py)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.tours.conftest import SECRET, Client, ServerProcess, TourServerHandle, fill_tour, write_site

pytestmark = pytest.mark.redis


@pytest.fixture
def servers(tmp_path: Path, redis_url: str) -> Iterator[list[ServerProcess]]:
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    started = [ServerProcess(site, secret_file, "--redis", redis_url, log=tmp_path / f"server-{index}.log")
               for index in range(2)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def event_seqs(client: Client) -> list[int]:
    return [m["seq"] for m in client.seen if m["type"] == "event"]


def last_seq(client: Client) -> int:
    snapshots = [m["seq"] for m in client.seen if m["type"] == "snapshot"]
    return max(event_seqs(client) + snapshots)


async def settle(client: Client, **match: Any) -> dict[str, Any]:
    return await client.expect("event", timeout=5, **match)


async def test_two_processes_share_a_tour_and_survive_a_sigkill(servers: list[ServerProcess]) -> None:
    a, b = servers[0].handle, servers[1].handle
    guide = await a.guide()
    near = await a.visitor("Near")
    far = await b.visitor("Far")
    assert (await far.expect("snapshot"))["members"][0]["name"] == "Mei"  # B loaded A's state from Redis
    await guide.send(type="start")
    await guide.send(type="advance", **{"from": 0})
    changed = await settle(far, kind="stop_changed")
    assert changed["stop"] == 1
    await guide.send(type="pose", t=1.0, head={"p": [4, 1.6, 0], "q": [0, 0, 0, 1]})
    assert (await far.expect("pose", timeout=5))["head"]["p"] == [4.0, 1.6, 0.0]  # pub/sub across processes
    await settle(near, kind="stop_changed")

    # Two guides pressing "next" at once on different processes: exactly one advance wins.
    second_guide = await b.guide("Second")
    await settle(far, kind="member_joined")
    await asyncio.gather(guide.send(type="advance", **{"from": 1}), second_guide.send(type="advance", **{"from": 1}))
    await settle(far, kind="stop_changed", stop=2)
    await far.send(type="ping")
    await far.expect("pong")

    lost = await a.visitor("Lost")  # will never come back after the kill
    await settle(second_guide, kind="member_joined")
    servers[0].process.send_signal(signal.SIGKILL)
    servers[0].process.wait(10)
    for orphan in (guide, near, lost):
        assert await orphan.closed(timeout=5) == 1006  # no close frame: the process is gone
    await far.send(type="hand", raised=True)  # happens while A's clients are away
    await settle(far, kind="hand_raised")

    resumed_guide = await b.join({"resume": {"token": guide.welcome["resume_token"], "seq": last_seq(guide)}})
    resumed_near = await b.join({"resume": {"token": near.welcome["resume_token"], "seq": last_seq(near)}})
    for old, new in ((guide, resumed_guide), (near, resumed_near)):
        assert new.welcome["member"] == old.welcome["member"] and new.welcome["resumed"] and new.welcome["replay"]
    # The guide gets every event (here: a visitor's raised hand, while it was away) with no gap and no duplicate.
    await resumed_guide.expect("event", timeout=5, kind="hand_raised")
    combined = event_seqs(guide) + event_seqs(resumed_guide)
    assert combined == list(range(combined[0], combined[-1] + 1)), "a gap or a duplicate in the guide's events"
    # A visitor gets the tour's events but not other visitors' presence: increasing seq, the same tour events.
    await resumed_guide.send(type="advance", **{"from": 2, "to": 0})
    for client in (far, resumed_near):
        assert (await settle(client, kind="stop_changed"))["stop"] == 0
    seen_by_near = event_seqs(near) + event_seqs(resumed_near)
    assert seen_by_near == sorted(set(seen_by_near))
    far_member = far.welcome["member"]
    assert far_member not in [m.get("member") for m in near.seen + resumed_near.seen if m["type"] == "event"]
    # Members of the dead process that do not come back are reaped: away once its liveness key expires (~5 s).
    away = await second_guide.expect("event", timeout=12, kind="member_away")
    assert away["member"] == lost.welcome["member"]
    stops = [m["stop"] for m in near.seen + resumed_near.seen if m.get("kind") == "stop_changed"]
    assert stops == [1, 2, 0]


async def test_a_third_process_serves_snapshots_from_redis(servers: list[ServerProcess], tmp_path: Path) -> None:
    a = servers[0].handle
    guide = await a.guide()
    await guide.send(type="start", stop=2)
    await guide.send(type="ping")
    await guide.expect("pong")
    servers[0].process.send_signal(signal.SIGTERM)  # graceful: clients are told to come back
    assert await guide.closed(timeout=5) == 1012
    assert servers[0].process.wait(10) == 0
    again = await servers[1].handle.join({"resume": {"token": guide.welcome["resume_token"]}})
    snapshot = await again.expect("snapshot")
    assert (snapshot["tour"]["status"], snapshot["tour"]["stop"]) == ("running", 2)
    assert [m["name"] for m in snapshot["members"]] == ["Mei"]


async def test_a_newer_connection_on_another_process_replaces_the_older(in_process: list[TourServerHandle]) -> None:
    a, b = in_process
    guide = await a.guide()
    visitor = await a.visitor()
    await visitor.expect("snapshot")
    again = await b.join({"resume": {"token": visitor.welcome["resume_token"], "seq": 0}})
    assert again.welcome["member"] == visitor.welcome["member"] and again.welcome["resumed"]
    assert await visitor.closed(timeout=5) == 4003
    await guide.send(type="start")
    assert (await again.expect("event", timeout=5, kind="tour_started"))["stop"] == 0
    # The replaced connection did not mark the member away: it is online on B.
    await guide.send(type="ping")
    await guide.expect("pong")
    assert not [m for m in guide.seen if m.get("kind") == "member_away"]


async def test_the_store_loads_a_snapshot_plus_the_events_after_it(redis_url: str) -> None:
    from viewer.tours.session import TourInfo, TourState
    from viewer.tours.store import SNAPSHOT_EVERY, RedisStore

    info = TourInfo("ex", "t", 3)
    store = RedisStore(redis_url, origin="test")
    state = await store.load(info)
    await fill_tour(store, state, SNAPSHOT_EVERY + 70)  # about 2 × SNAPSHOT_EVERY events, ending between two snapshots
    assert state.seq % SNAPSHOT_EVERY != 0 and state.seq > 2 * SNAPSHOT_EVERY
    stale = state.copy()
    stale.seq -= 1  # decided on an old state: another process got there first
    assert not await store.append(stale, stale.number([{"kind": "hand_lowered", "member": "m0", "role": "visitor"}], 0))
    loaded = await store.load(info)
    assert loaded.seq == state.seq and loaded.snapshot() == state.snapshot()
    assert loaded.snapshot() != TourState(info).snapshot()
    await store.close()


async def test_device_changes_and_lowered_hands_cross_processes(in_process: list[TourServerHandle]) -> None:
    a, b = in_process
    guide = await a.guide()
    visitor = await b.visitor()
    await guide.expect("event", timeout=5, kind="member_joined")
    await visitor.send(type="device", device="vr")
    changed = await guide.expect("event", timeout=5, kind="device_changed")
    assert (changed["member"], changed["device"]) == (visitor.welcome["member"], "vr")
    await visitor.send(type="hand", raised=True)
    await guide.expect("event", timeout=5, kind="hand_raised")
    await guide.send(type="hand", raised=False, member=visitor.welcome["member"])
    lowered = await visitor.expect("event", timeout=5, kind="hand_lowered")
    assert lowered["by"] == guide.welcome["member"]
    # Both processes' replicas agree on the member: in VR, hand down.
    await guide.send(type="sync")
    for snapshot in (await guide.expect("snapshot"), await (await b.guide("Late")).expect("snapshot")):
        assert [(m["device"], m["hand"]) for m in snapshot["members"] if m["id"] == visitor.welcome["member"]] == [
            ("vr", False)]
