"""Every limit and every kind of malformed input: an error reply or the right close code, and the others carry on."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.viewer.tours.conftest import Client, TourServerHandle, code
from tests.viewer.tours.test_server import http_get


async def still_served(guide: Client, visitor: Client) -> None:
    """The tour still works for the others: an event from the guide reaches the visitor."""
    await guide.send(type="hand", raised=True)
    event = await visitor.expect("event", kind="hand_raised")
    assert event["member"] == guide.welcome["member"]


async def test_foreign_origins_are_refused_at_the_handshake(tour_server: TourServerHandle) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(tour_server.url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    same_host = await connect(tour_server.url, origin=f"http://127.0.0.1:{tour_server.port}")  # type: ignore[arg-type]
    await same_host.close()


async def test_compression_is_never_negotiated(tour_server: TourServerHandle) -> None:
    ws = await connect(tour_server.url, compression="deflate")
    assert ws.request is not None and "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
    assert ws.response is not None and ws.response.headers.get("Sec-WebSocket-Extensions") is None
    await ws.close()


async def test_oversized_messages_close_with_1009(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    await visitor.send(type="ping", pad="x" * (4 * 1024))  # 4 KiB of padding, plus the rest: one byte too many
    assert await visitor.closed() == 1009
    second = await tour_server.visitor("Bo")
    filler = 4 * 1024 - len('{"type": "ping", "pad": ""}')
    await second.send(type="ping", pad="x" * filler)  # exactly at the limit: fine
    await second.expect("pong")
    await still_served(guide, second)


async def test_join_timeout_closes_with_4002(tour_server: TourServerHandle) -> None:
    client = await tour_server.connect()
    assert await client.closed(timeout=3) == 4002  # TEST_LIMITS.join_timeout_s is 0.5
    assert any(m.get("code") == "join_timeout" for m in client.seen)


async def test_room_cap_refuses_the_next_visitor_with_4005_but_never_a_guide(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitors = [await tour_server.visitor(f"V{i}") for i in range(5)]  # TEST_LIMITS.room_cap is 5 visitors
    extra = await tour_server.connect()
    await extra.send(type="hello", v=1, code=code(), name="Extra")
    assert (await extra.expect("error"))["code"] == "tour_full"
    assert await extra.closed() == 4005
    second_guide = await tour_server.guide("Lin")  # the tour's own guide is always admitted
    assert second_guide.welcome["role"] == "guide"
    await still_served(guide, visitors[0])


async def test_members_away_within_grace_do_not_lock_the_room_cap(tour_server: TourServerHandle) -> None:
    """The attack: join up to the cap and leave; every newcomer was refused for the whole grace."""
    guide = await tour_server.guide()
    for index in range(5):
        flood = await tour_server.visitor(f"F{index}")
        await flood.ws.close()  # dropped, not left: each stays a member, away, for the grace
    await guide.expect("event", kind="member_away")
    late = await tour_server.visitor("Late")  # was tour_full for the whole grace
    assert late.welcome["role"] == "visitor"
    await still_served(guide, late)


async def test_rate_limit_drops_excess_then_closes_a_flooder_with_1008(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    flooder = await tour_server.visitor("Flood")
    for i in range(200):  # burst 80: the rest is dropped, and more than 20 drops is a policy violation
        await flooder.send(type="ping", id=i)
    assert await flooder.closed() == 1008
    pongs = [m for m in flooder.seen if m["type"] == "pong"]
    assert 80 <= len(pongs) < 110
    assert [m["code"] for m in flooder.seen if m["type"] == "error"] == ["rate_limited"]
    await still_served(guide, visitor)


@pytest.mark.manual_clock
@pytest.mark.limits(burst=3, rate_per_s=10)
async def test_a_short_burst_over_the_rate_gets_an_error_but_stays_open(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    visitor = await tour_server.visitor()
    for i in range(5):
        await visitor.send(type="ping", id=i)
    error = await visitor.expect("error")
    assert error["code"] == "rate_limited"
    await tour_server.clock.advance(0.1)  # exactly one message's worth at 10/s
    await visitor.send(type="ping", id="later")
    assert (await visitor.expect("pong"))["re"] == "later"


@pytest.mark.manual_clock
@pytest.mark.limits(burst=3, rate_per_s=1)
async def test_device_changes_are_rate_limited_like_any_message(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    await guide.expect("snapshot")
    visitor = await tour_server.visitor()
    await guide.expect("event", kind="member_joined")
    for i, device in enumerate(["vr", "desktop", "ar", "vr", "ar", "desktop"]):
        await visitor.send(type="device", device=device, id=i)
    assert (await visitor.expect("error"))["code"] == "rate_limited"
    changes = [(await guide.expect("event", kind="device_changed"))["device"] for _ in range(3)]
    assert changes == ["vr", "desktop", "ar"]  # the burst of 3 passed; the rest was dropped
    assert tour_server.clock is not None
    await tour_server.clock.advance(1.0)
    await visitor.send(type="sync")
    assert [m["device"] for m in (await visitor.expect("snapshot"))["members"]] == ["vr", "ar"]


MALFORMED = [
    ("not json", "bad_json"),
    ("[1, 2, 3]", "bad_json"),
    ('{"type": "ping", "t": Infinity}', "bad_json"),
    ('{"type": "hand", "raised": "yes"}', "bad_message"),
    ('{"type": "device", "device": "toaster"}', "bad_message"),
    ('{"type": "hand", "raised": false, "member": ["m1"]}', "bad_message"),
    ('{"type": "advance", "from": 1e400}', "bad_message"),
    ('{"type": "advance", "from": 123456789012345678901234567890}', "bad_message"),
    ('{"type": "gather", "position": [1, 2, 1e308]}', "bad_message"),
    ('{"type": "hello", "v": 1, "code": "X", "name": "Y"}', "already_joined"),
    ('{"type": "teleport"}', "unknown_type"),
    ('{"no": "type"}', "bad_message"),
    ('{"type": "ping", "x": ' + "[" * 20 + "]" * 20 + "}", "bad_json"),
    ("[" * 200, "too_many_items"),
]


async def test_malformed_input_gets_error_replies_and_the_others_carry_on(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    attacker = await tour_server.visitor("Mallory")
    for text, expected in MALFORMED:
        await attacker.send_raw(text)
        assert (await attacker.expect("error"))["code"] == expected, text
    await attacker.send_raw(b"\x00\xff binary")
    assert (await attacker.expect("error"))["code"] == "binary_not_supported"
    await attacker.send(type="ping", id="alive")
    assert (await attacker.expect("pong"))["re"] == "alive"  # 13 strikes: still under the limit
    await still_served(guide, visitor)


async def test_repeat_offenders_are_closed_with_1008(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    attacker = await tour_server.visitor("Mallory")
    for _ in range(25):
        await attacker.send_raw("{broken")
    assert await attacker.closed() == 1008
    errors = [m for m in attacker.seen if m["type"] == "error"]
    assert len(errors) == 21
    await still_served(guide, visitor)


async def test_metrics_count_refusals(tour_server: TourServerHandle) -> None:
    attacker = await tour_server.visitor("Mallory")
    await attacker.send_raw("nope")
    await attacker.expect("error")
    _, _, body = await http_get(tour_server.port, "/metrics")
    assert 'vitrina_tour_errors_total{code="bad_json"} 1.0\n' in body
    assert json.loads((await http_get(tour_server.port, "/healthz"))[2])["connections"] == 1


@pytest.mark.manual_clock
async def test_poses_beyond_the_pose_rate_are_dropped_silently(tour_server: TourServerHandle) -> None:
    guide = await tour_server.guide()
    visitor = await tour_server.visitor()
    for index in range(150):  # back to back, far over 30 Hz and over the 40/s message rate; the clock stands still
        await guide.send(type="pose", t=index, head={"p": [0, 0, 0], "q": [0, 0, 0, 1]})
        if index % 10 == 9:
            await asyncio.sleep(0.01)
    await guide.send(type="start")  # poses never spent the guide's message bucket
    await visitor.expect("event", kind="tour_started")
    poses = [m["t"] for m in visitor.seen if m["type"] == "pose"]
    assert poses and set(poses) <= set(range(10))  # the burst of 10 passed (newest first if coalesced)
    assert not [m for m in guide.seen if m["type"] == "error"]
    assert guide.ws.close_code is None


@pytest.mark.manual_clock
async def test_strikes_count_within_a_window_of_exactly_ten_seconds(tour_server: TourServerHandle) -> None:
    assert tour_server.clock is not None
    for advance, closed in ((10.0, True), (10.001, False)):
        attacker = await tour_server.visitor(f"M{advance}")
        for _ in range(20):
            await attacker.send_raw("{broken")
        for _ in range(20):
            await attacker.expect("error")
        await tour_server.clock.advance(advance)
        await attacker.send_raw("{broken")  # the 21st: within the window only if the others are 10 s old or less
        if closed:
            assert await attacker.closed() == 1008
        else:
            await attacker.expect("error")
            await attacker.send(type="ping", id="open")
            assert (await attacker.expect("pong"))["re"] == "open"


async def test_http_answers_carry_their_length_and_are_never_cached(tour_server: TourServerHandle) -> None:
    import urllib.request

    def fetch() -> tuple[dict[str, str], bytes]:
        with urllib.request.urlopen(f"http://127.0.0.1:{tour_server.port}/healthz", timeout=3) as response:
            return dict(response.headers), response.read()

    headers, body = await asyncio.to_thread(fetch)
    assert headers["Content-Length"] == str(len(body)) and headers["Cache-Control"] == "no-store"
