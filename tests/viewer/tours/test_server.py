"""A real tour server on port 0 with real websockets clients: joining, events, poses, resume, HTTP and shutdown."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.viewer.tours.conftest import SECRET, TOUR, TourServerHandle, code, guide_token


def pose(t: float = 0.0, x: float = 1.0) -> dict[str, Any]:
    return {"type": "pose", "t": t, "head": {"p": [x, 1.6, 2.0], "q": [0, 0, 0, 1]},
            "pointer": {"o": [x, 1.2, 2.0], "d": [0, 0, -1]}, "room": "hall"}


async def http_get(port: int, path: str) -> tuple[int, str, str]:
    def fetch() -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode()
    return await asyncio.to_thread(fetch)


async def test_guide_and_visitor_join_and_see_each_other(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    assert guide.welcome["role"] == "guide" and guide.welcome["tour"] == TOUR and guide.welcome["v"] == 1
    snapshot = await guide.expect("snapshot")
    assert snapshot["tour"]["status"] == "waiting" and snapshot["tour"]["lead"] == guide.welcome["member"]
    visitor = await tour_server.visitor("Ana", device="ar")
    assert visitor.welcome["role"] == "visitor"
    snapshot = await visitor.expect("snapshot")
    assert [(m["name"], m["role"], m["device"]) for m in snapshot["members"]] == [
        ("Mei", "guide", "vr"), ("Ana", "visitor", "ar")]
    joined = await guide.expect("event", kind="member_joined")
    assert joined["member"]["name"] == "Ana" and joined["seq"] == snapshot["seq"]


async def test_events_reach_everyone_in_order_and_advance_retries_are_harmless(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    await visitor.expect("snapshot")
    await guide.send(type="start")
    await guide.send(type="advance", **{"from": 0, "to": 1}, id=1)
    await guide.send(type="advance", **{"from": 0, "to": 1}, id=2)  # the double click
    ignored = await guide.expect("ignored")
    assert ignored == {"type": "ignored", "reason": "stale", "stop": 1, "re": 2}
    started = await visitor.expect("event", kind="tour_started")
    changed = await visitor.expect("event", kind="stop_changed")
    assert changed["seq"] == started["seq"] + 1 and (changed["from"], changed["stop"]) == (0, 1)
    assert changed["start_at"] - changed["at"] == 300
    await guide.send(type="ping", t=123.5, id="c")
    assert [m["kind"] for m in visitor.seen if m["type"] == "event"].count("stop_changed") == 1


async def test_visitors_are_refused_guide_actions_and_the_tour_does_not_move(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    for message in ({"type": "start"}, {"type": "advance", "from": 0}, {"type": "end"},
                    {"type": "gather", "position": [0, 0, 0]}, pose()):
        await visitor.send(**message, id=message["type"])
        error = await visitor.expect("error")
        assert (error["code"], error["re"]) == ("not_allowed", message["type"])
    await visitor.send(type="sync")
    assert (await visitor.expect("snapshot"))["tour"]["status"] == "waiting"
    await guide.send(type="start")
    assert (await visitor.expect("event"))["kind"] == "tour_started"


async def test_late_join_gets_a_snapshot_with_the_latest_pose_then_events(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    await guide.send(type="start")
    await guide.send(type="advance", **{"from": 0})
    await guide.send(type="gather", position=[2, 0, 1], yaw=90, room="hall")
    for i in range(3):
        await guide.send(**pose(t=i, x=i))
    await guide.send(type="ping")
    await guide.expect("pong")  # every earlier message was handled
    late = await tour_server.visitor("Late")
    snapshot = await late.expect("snapshot")
    assert snapshot["tour"]["stop"] == 1 and snapshot["tour"]["gather"]["position"] == [2, 0, 1]
    assert snapshot["pose"]["head"]["p"] == [2.0, 1.6, 2.0] and snapshot["pose"]["member"] == guide.welcome["member"]
    await guide.send(type="advance", **{"from": 1})
    event = await late.expect("event")
    assert event["seq"] == snapshot["seq"] + 1 and event["kind"] == "stop_changed"


async def test_poses_fan_out_with_server_stamp_and_not_back_to_the_sender(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitors = [await tour_server.visitor(f"V{i}") for i in range(3)]
    sent_at = time.time() * 1000
    await guide.send(**pose(t=sent_at))
    for visitor in visitors:
        received = await visitor.expect("pose")
        assert received["t"] == sent_at and received["member"] == guide.welcome["member"]
        assert abs(received["at"] - sent_at) < 1000 and received["pointer"]["d"] == [0.0, 0.0, -1.0]
    await guide.send(type="ping")
    await guide.expect("pong")
    assert not [m for m in guide.seen if m["type"] == "pose"]


async def test_clock_ping_carries_server_time(tour_server: TourServerHandle) -> None:
    visitor = await tour_server.visitor()
    before = time.time() * 1000
    await visitor.send(type="ping", t=42.25, id=9)
    pong = await visitor.expect("pong")
    assert pong["t"] == 42.25 and pong["re"] == 9 and before - 5 <= pong["server_time"] <= time.time() * 1000 + 5


async def test_resume_by_replay_keeps_the_member_and_sends_only_missed_events(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    snapshot = await visitor.expect("snapshot")
    member, token = visitor.welcome["member"], visitor.welcome["resume_token"]
    await visitor.ws.close()  # a dropped connection, not a leave
    away = await guide.expect("event", kind="member_away")
    assert away["member"] == member
    await guide.send(type="start")
    await guide.send(type="advance", **{"from": 0})
    again = await tour_server.join({"resume": {"token": token, "seq": snapshot["seq"]}, "device": "desktop"})
    assert again.welcome["member"] == member and again.welcome["resumed"] and again.welcome["replay"]
    kinds = [(await again.expect("event"))["kind"] for _ in range(4)]
    assert kinds == ["member_away", "tour_started", "stop_changed", "member_back"]
    assert not [m for m in again.seen if m["type"] == "snapshot"]
    back = await guide.expect("event", kind="member_back")
    assert back["member"] == member and back["device"] == "desktop"


async def test_resume_by_snapshot_when_the_log_cannot_cover_it(tour_server: TourServerHandle) -> None:
    visitor = await tour_server.visitor()
    await visitor.expect("snapshot")
    token = visitor.welcome["resume_token"]
    await visitor.ws.close()
    for seq in (None, 10_000):  # no seq at all, and a seq from the future
        hello: dict[str, Any] = {"resume": {"token": token} if seq is None else {"token": token, "seq": seq}}
        again = await tour_server.join(hello)
        assert again.welcome["resumed"] and not again.welcome["replay"]
        snapshot = await again.expect("snapshot")
        assert [m["online"] for m in snapshot["members"]] == [True]
        await again.ws.close()


async def test_a_newer_connection_of_the_same_member_replaces_the_older(tour_server: TourServerHandle) -> None:
    visitor = await tour_server.visitor()
    token = visitor.welcome["resume_token"]
    again = await tour_server.join({"resume": {"token": token, "seq": 0}})
    assert again.welcome["member"] == visitor.welcome["member"]
    assert await visitor.closed() == 4003


@pytest.mark.manual_clock
async def test_grace_expiry_removes_the_member_and_a_late_resume_rejoins(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    member, token = visitor.welcome["member"], visitor.welcome["resume_token"]
    await visitor.ws.close()
    await guide.expect("event", kind="member_away")
    await tour_server.clock.advance(1.99)  # TEST_LIMITS.grace_s is 2 s: not yet
    await guide.send(type="ping", id="still")
    await guide.expect("pong")
    assert not [m for m in guide.seen if m.get("kind") == "member_left"]
    await tour_server.clock.advance(0.01)
    left = await guide.expect("event", kind="member_left")
    assert (left["member"], left["reason"]) == (member, "timeout")
    again = await tour_server.join({"resume": {"token": token, "seq": 1}})
    assert again.welcome["member"] == member and not again.welcome["resumed"]
    assert member in [m["id"] for m in (await again.expect("snapshot"))["members"]]


async def test_leave_and_handover(tour_server: TourServerHandle) -> None:
    first = await tour_server.guide("First")
    second = await tour_server.guide("Second")
    visitor = await tour_server.visitor()
    await first.send(type="handover", to=second.welcome["member"])
    lead = await visitor.expect("event", kind="lead_changed")
    assert (lead["lead"], lead["by"]) == (second.welcome["member"], first.welcome["member"])
    await second.send(type="leave")
    assert await second.closed() == 1000
    left = await visitor.expect("event", kind="member_left")
    assert left["reason"] == "left"
    lead = await visitor.expect("event", kind="lead_changed")
    assert (lead["lead"], lead["by"]) == (first.welcome["member"], None)


async def test_tour_end_closes_everyone_with_4006(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    await guide.send(type="start")
    await guide.send(type="end")
    assert await visitor.closed() == 4006 and await guide.closed() == 4006
    assert [m["kind"] for m in visitor.seen if m["type"] == "event"][-1] == "tour_ended"


async def test_healthz_metrics_and_other_paths(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    await guide.send(type="nonsense")
    await guide.expect("error")
    status, content_type, body = await http_get(tour_server.port, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok", "tours": 1, "connections": 1,
                                                  "store": {"backend": "memory", "up": True}}
    status, content_type, body = await http_get(tour_server.port, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert "vitrina_tour_connections 1.0\n" in body and 'vitrina_tour_errors_total{code="unknown_type"} 1.0\n' in body
    assert "# TYPE vitrina_tour_events_total counter" in body
    assert "vitrina_tour_store_up 1.0\n" in body  # the store's health is part of every scrape
    assert await http_get(tour_server.port, "/index.html") == (200, "text/html", "<!doctype html><title>site</title>")
    assert (await http_get(tour_server.port, "/missing"))[0] == 404
    assert (await http_get(tour_server.port, "/tours"))[0] == 426


async def test_graceful_shutdown_tells_clients_and_closes_with_1012(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    tour_server.stop.set()  # type: ignore[attr-defined]
    assert await visitor.closed() == 1012 and await guide.closed() == 1012
    assert {"type": "shutdown", "reason": "restart", "reconnect_after_ms": 500} in visitor.seen
    await asyncio.wait_for(tour_server.task, 5)  # type: ignore[attr-defined]


async def test_unknown_code_and_forged_token_are_unauthorized(tour_server: TourServerHandle) -> None:
    for hello in ({"code": "ZZZZZZ", "name": "X"}, {"token": "e30.AAAA"}, {"resume": {"token": "x.y"}}):
        client = await tour_server.connect()
        await client.send(type="hello", v=1, **hello)
        assert (await client.expect("error"))["code"] == "unauthorized"
        assert await client.closed() == 4001
    client = await tour_server.connect()
    await client.send(type="hello", v=2, code=code(), name="X")
    assert (await client.expect("error"))["code"] == "unsupported_version"
    assert await client.closed() == 4000


@pytest.mark.parametrize("first", ['{"type": "ping"}', "not json", '{"type": "hello"}'])
async def test_anything_but_a_valid_hello_first_is_closed_with_4000(tour_server: TourServerHandle, first: str) -> None:
    client = await tour_server.connect()
    await client.send_raw(first)
    await client.expect("error")
    assert await client.closed() == 4000


async def test_visitor_presence_goes_to_guides_and_that_visitor_only(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    ana = await tour_server.visitor("Ana")
    bo = await tour_server.visitor("Bo")
    snapshot = await bo.expect("snapshot")
    assert [m["name"] for m in snapshot["members"]] == ["Mei", "Bo"] and snapshot["visitors"] == 2
    await ana.send(type="hand", raised=True)
    assert (await ana.expect("event", kind="hand_raised"))["member"] == ana.welcome["member"]
    assert (await guide.expect("event", kind="hand_raised"))["member"] == ana.welcome["member"]
    await guide.send(type="start")
    started = await bo.expect("event", kind="tour_started")
    assert not [m for m in bo.seen if m.get("kind") in ("member_joined", "hand_raised")]
    assert started["seq"] > snapshot["seq"] + 1  # a gap: Ana's hand is none of Bo's business
    guide_snapshot = await (await tour_server.guide("Second")).expect("snapshot")
    assert [m["name"] for m in guide_snapshot["members"]] == ["Mei", "Ana", "Bo", "Second"]


async def test_a_device_change_reaches_the_guides_and_snapshots_but_not_other_visitors(
        tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    ana = await tour_server.visitor("Ana", device="desktop")
    bo = await tour_server.visitor("Bo")
    await bo.expect("snapshot")
    await ana.send(type="device", device="vr", id="xr")
    changed = await guide.expect("event", kind="device_changed")
    assert (changed["member"], changed["role"], changed["device"]) == (ana.welcome["member"], "visitor", "vr")
    assert (await ana.expect("event", kind="device_changed"))["seq"] == changed["seq"]
    await ana.send(type="device", device="vr", id="again")  # unchanged: no event, no reply
    await ana.send(type="device", device="headset", id="bad")
    error = await ana.expect("error")
    assert (error["code"], error["re"], error["message"]) == (
        "bad_message", "bad", "device.device must be one of desktop, phone, vr, ar")
    await guide.send(type="device", device="desktop")  # a guide's device is everyone's business
    assert (await bo.expect("event", kind="device_changed"))["member"] == guide.welcome["member"]
    assert not [m for m in bo.seen if m.get("kind") == "device_changed" and m["member"] == ana.welcome["member"]]
    assert (await ana.expect("event", kind="device_changed"))["member"] == guide.welcome["member"]
    late = await (await tour_server.guide("Late")).expect("snapshot")
    assert [(m["name"], m["device"]) for m in late["members"]] == [
        ("Mei", "desktop"), ("Ana", "vr"), ("Bo", "phone"), ("Late", "vr")]
    # A resume names the device it comes back on; a resume while still online (a reload) updates it too.
    again = await tour_server.join({"resume": {"token": ana.welcome["resume_token"]}, "device": "ar"})
    assert again.welcome["member"] == ana.welcome["member"] and await ana.closed() == 4003
    changed = await guide.expect("event", kind="device_changed", member=ana.welcome["member"])
    assert changed["device"] == "ar"


async def test_a_guide_lowers_a_visitors_hand_and_visitors_cannot(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    ana = await tour_server.visitor("Ana")
    bo = await tour_server.visitor("Bo")
    await bo.expect("snapshot")
    await ana.send(type="hand", raised=True)
    await guide.expect("event", kind="hand_raised")
    await bo.send(type="hand", raised=False, member=ana.welcome["member"], id="meddle")
    error = await bo.expect("error")
    assert (error["code"], error["re"]) == ("not_allowed", "meddle")
    await guide.send(type="hand", raised=True, member=bo.welcome["member"], id="raise")
    assert (await guide.expect("error"))["code"] == "not_allowed"
    await guide.send(type="hand", raised=False, member="m00000000", id="ghost")
    assert (await guide.expect("error"))["code"] == "bad_state"
    await guide.send(type="hand", raised=False, member=ana.welcome["member"])
    lowered = await guide.expect("event", kind="hand_lowered")
    assert (lowered["member"], lowered["role"], lowered["by"]) == (
        ana.welcome["member"], "visitor", guide.welcome["member"])
    assert (await ana.expect("event", kind="hand_lowered"))["by"] == guide.welcome["member"]
    await ana.send(type="sync")
    me = [m for m in (await ana.expect("snapshot"))["members"] if m["id"] == ana.welcome["member"]]
    assert me[0]["hand"] is False
    await guide.send(type="start")
    await bo.expect("event", kind="tour_started")
    assert not [m for m in bo.seen if m.get("kind") in ("hand_raised", "hand_lowered")]


# ------------------------------------------------------------------------------ what a code review found untested


@pytest.mark.origins("https://museum.example")
async def test_with_an_origin_allow_list_only_those_origins_may_connect(tour_server: TourServerHandle) -> None:
    allowed = await connect(tour_server.url, origin="https://museum.example")  # type: ignore[arg-type]
    await allowed.close()
    for origin in (f"http://127.0.0.1:{tour_server.port}", "https://evil.example", "https://museum.example.evil"):
        with pytest.raises(InvalidStatus) as refused:  # the same host no longer suffices
            await connect(tour_server.url, origin=origin)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, origin


async def test_a_visitor_resuming_by_replay_does_not_see_other_visitors(tour_server: TourServerHandle) -> None:
    """The privacy rule "visitors do not see other visitors" holds on the replay path too (no Redis needed)."""
    guide = await tour_server.guide()
    visitor = await tour_server.visitor("Ana")
    snapshot = await visitor.expect("snapshot")
    token = visitor.welcome["resume_token"]
    await visitor.ws.close()
    await guide.expect("event", kind="member_away")
    other = await tour_server.visitor("Bo")
    await other.send(type="hand", raised=True)
    await guide.expect("event", kind="hand_raised")
    await guide.send(type="start")
    again = await tour_server.join({"resume": {"token": token, "seq": snapshot["seq"]}})
    assert again.welcome["replay"]
    await again.expect("event", kind="member_back")
    replayed = [m for m in again.seen if m["type"] == "event"]
    assert [m["kind"] for m in replayed] == ["member_away", "tour_started", "member_back"]
    assert other.welcome["member"] not in json.dumps(replayed)


async def test_a_guide_resume_token_ends_with_the_guide_token(tour_server: TourServerHandle) -> None:
    from viewer.tours import tokens

    guide = await tour_server.join({"token": guide_token(hours=1), "name": "Mei"})
    link = tokens.verify_guide_token(SECRET, guide_token(hours=1))
    resume = tokens.verify_resume_token(SECRET, guide.welcome["resume_token"])
    assert resume.role == "guide" and resume.expires <= link.expires  # not the 12 h a resume token may last
    visitor = await tour_server.visitor()
    assert tokens.verify_resume_token(SECRET, visitor.welcome["resume_token"]).expires > link.expires


async def test_closes_by_the_server_are_counted_by_code(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitors = [await tour_server.visitor(f"V{index}") for index in range(2)]
    await guide.send(type="end")
    for client in (guide, *visitors):
        assert await client.closed() == 4006
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert 'vitrina_tour_closes_total{code="4006"} 3.0\n' in body


async def test_a_member_the_server_lost_is_told_to_resume_not_to_leave(site: Path) -> None:
    from websockets.asyncio.server import serve

    from tests.viewer.tours.conftest import EXHIBIT, SECRET, TEST_LIMITS
    from viewer.tours.server import TourServer
    from viewer.tours.store import MemoryStore

    server = TourServer(site, SECRET, MemoryStore(), TEST_LIMITS, None)
    async with serve(server.handler, "127.0.0.1", 0, process_request=server.process_request) as ws_server:
        handle = TourServerHandle(next(iter(ws_server.sockets)).getsockname()[1], site)
        guide = await handle.guide()
        visitor = await handle.visitor()
        # The state lost the member without a member_left (as a store reset to an empty tour did): 1000 would tell
        # the client never to come back, so the server must ask it to resume instead.
        del server.hubs[f"{EXHIBIT}:{TOUR}"].state.members[visitor.welcome["member"]]
        await visitor.send(type="ping")
        assert await visitor.closed() == 1011
        await guide.send(type="leave")  # a real leave still ends with 1000
        assert await guide.closed() == 1000
