"""The pure tour state machine: authority, idempotent advance, presence, lead handover, replay by applying events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from viewer.tours import protocol as p
from viewer.tours.session import Member, TourFull, TourInfo, TourState

NOW = 1_764_100_000_000


def publish(state: TourState, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events = state.number(drafts, NOW)
    for event in events:
        state.apply(event)
    return events


def tour_with(*members: Member, stops: int = 3) -> TourState:
    state = TourState(TourInfo("ex", "t", stops))
    for member in members:
        publish(state, state.decide_join(member, room_cap=10))
    return state


def guide(member_id: str = "g1") -> Member:
    return Member(member_id, "Mei", "guide", "vr")


def visitor(member_id: str = "v1") -> Member:
    return Member(member_id, "Ana", "visitor", "phone")


def command(state: TourState, member_id: str, message: p.Command) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    decision = state.decide(member_id, message, NOW)
    return publish(state, decision.events), decision.reply


def test_first_guide_becomes_lead_and_events_are_numbered() -> None:
    state = tour_with(guide(), visitor())
    assert [(e["seq"], e["kind"]) for e in state.number([{"kind": "x"}], NOW)] == [(4, "x")]
    assert state.lead == "g1"
    assert list(state.members) == ["g1", "v1"]


def test_visitors_cannot_move_the_tour() -> None:
    state = tour_with(guide(), visitor())
    for message in (p.Start(0), p.Advance(0, 1), p.Gather((0, 0, 0), 0, None), p.End(), p.Handover("g1")):
        events, reply = command(state, "v1", message)
        assert events == [] and reply is not None and reply["code"] == "not_allowed"
    assert state.status == "waiting"


def test_advance_names_the_stop_it_moves_from_so_retries_are_harmless() -> None:
    state = tour_with(guide())
    command(state, "g1", p.Start(0))
    events, _ = command(state, "g1", p.Advance(0, 1))
    assert [(e["kind"], e["from"], e["stop"], e["start_at"]) for e in events] == [("stop_changed", 0, 1, NOW + 300)]
    retry_events, reply = command(state, "g1", p.Advance(0, 1))
    assert retry_events == [] and reply == {"type": "ignored", "reason": "stale", "stop": 1}
    _, reply = command(state, "g1", p.Advance(1, 3))
    assert reply is not None and reply["code"] == "bad_state" and state.stop == 1
    decision = state.decide("g1", p.Advance(1, 3), NOW, ref="click-7")
    assert decision.reply == {"type": "error", "code": "bad_state", "re": "click-7",
                              "message": "stop 3 does not exist (this tour has 3)"}
    command(state, "g1", p.Advance(1, 0))
    assert state.stop == 0


def test_advance_before_start_is_refused_and_start_twice_is_ignored() -> None:
    state = tour_with(guide())
    _, reply = command(state, "g1", p.Advance(0, 1))
    assert reply is not None and reply["code"] == "bad_state"
    command(state, "g1", p.Start(0))
    _, reply = command(state, "g1", p.Start(0))
    assert reply is not None and reply["reason"] == "already_started"


def test_presence_follow_and_hands_publish_only_changes() -> None:
    state = tour_with(guide(), visitor())
    assert command(state, "v1", p.Follow(True))[0] == []
    events, _ = command(state, "v1", p.Follow(False))
    assert events[0]["kind"] == "following_changed" and not state.members["v1"].following
    events, _ = command(state, "v1", p.Hand(True))
    assert events[0]["kind"] == "hand_raised" and state.members["v1"].hand
    command(state, "v1", p.Hand(False))
    assert not state.members["v1"].hand
    command(state, "g1", p.Start(0))
    command(state, "g1", p.Gather((1, 0, 2), 90, "hall"))
    assert state.members["v1"].following and state.gather is not None and state.gather["room"] == "hall"
    command(state, "g1", p.Advance(0, 1))
    assert state.gather is None


def test_device_changes_publish_presence_and_reach_snapshots() -> None:
    state = tour_with(guide(), visitor())
    assert command(state, "v1", p.Device("phone")) == ([], None)  # unchanged: no event
    events, reply = command(state, "v1", p.Device("vr"))
    assert reply is None
    assert [(e["kind"], e["member"], e["role"], e["device"]) for e in events] == [("device_changed", "v1", "visitor", "vr")]
    assert state.members["v1"].device == "vr"
    assert [m["device"] for m in state.snapshot()["members"]] == ["vr", "vr"]
    events, _ = command(state, "g1", p.Device("desktop"))
    assert events[0]["role"] == "guide" and state.members["g1"].device == "desktop"
    # A newer connection of a member who is still online (a reload, another device) carries its device too.
    events = publish(state, state.decide_join(Member("v1", "Ana", "visitor", "ar"), room_cap=10))
    assert [(e["kind"], e["device"]) for e in events] == [("device_changed", "ar")]
    assert state.decide_join(Member("v1", "Ana", "visitor", "ar"), room_cap=10) == []


def test_device_changes_go_to_guides_and_that_visitor_only() -> None:
    from viewer.tours.session import visitor_concerned

    state = tour_with(guide(), visitor())
    assert visitor_concerned(command(state, "v1", p.Device("ar"))[0][0]) == "v1"
    assert visitor_concerned(command(state, "g1", p.Device("ar"))[0][0]) is None  # a guide's device: everyone


def test_a_guide_lowers_anyones_hand_and_a_visitor_only_its_own() -> None:
    state = tour_with(guide(), visitor(), visitor("v2"), guide("g2"))
    command(state, "v1", p.Hand(True))
    command(state, "g2", p.Hand(True))
    events, reply = command(state, "v2", p.Hand(False, "v1"))
    assert events == [] and reply is not None and reply["code"] == "not_allowed" and state.members["v1"].hand
    events, reply = command(state, "g1", p.Hand(True, "v2"))  # nobody raises a hand for someone else
    assert events == [] and reply is not None and reply["code"] == "not_allowed" and not state.members["v2"].hand
    events, reply = command(state, "g1", p.Hand(False, "nobody"))
    assert reply is not None and reply["code"] == "bad_state"
    events, reply = command(state, "g1", p.Hand(False, "v1"))
    assert reply is None and not state.members["v1"].hand
    assert [(e["kind"], e["member"], e["role"], e["by"]) for e in events] == [("hand_lowered", "v1", "visitor", "g1")]
    assert command(state, "g1", p.Hand(False, "v1")) == ([], None)  # already down (two guides, a double click)
    events, _ = command(state, "g1", p.Hand(False, "g2"))  # another guide's hand, too
    assert events[0]["role"] == "guide" and not state.members["g2"].hand
    # Naming oneself is the plain form: no `by`, and a visitor may do it.
    command(state, "v2", p.Hand(True))
    events, reply = command(state, "v2", p.Hand(False, "v2"))
    assert reply is None and "by" not in events[0] and not state.members["v2"].hand


def test_handover_and_lead_fallback_when_the_lead_leaves() -> None:
    state = tour_with(guide("g1"), visitor(), guide("g2"), guide("g3"))
    _, reply = command(state, "g1", p.Handover("v1"))
    assert reply is not None and reply["code"] == "bad_state"
    command(state, "g1", p.Handover("g2"))
    assert state.lead == "g2"
    publish(state, state.decide_away("g1"))
    publish(state, state.decide_leave("g2", "left"))
    assert state.lead == "g3"  # g1 joined first but is away; an online guide is preferred
    publish(state, state.decide_leave("g3", "left"))
    assert state.lead == "g1"
    publish(state, state.decide_leave("g1", "timeout"))
    assert state.lead is None


def test_away_back_and_room_cap() -> None:
    state = tour_with(guide(), visitor())
    publish(state, state.decide_away("v1"))
    assert not state.members["v1"].online
    assert state.decide_away("v1") == []
    events = publish(state, state.decide_join(Member("v1", "Ana", "visitor", "ar"), room_cap=1))
    assert [e["kind"] for e in events] == ["member_back"] and state.members["v1"].device == "ar"
    with pytest.raises(TourFull):
        state.decide_join(visitor("v2"), room_cap=1)


def test_the_room_cap_counts_online_visitors_only_and_always_admits_guides() -> None:
    state = tour_with(guide(), visitor("v1"), visitor("v2"))
    with pytest.raises(TourFull):
        state.decide_join(visitor("v3"), room_cap=2)
    publish(state, state.decide_join(guide("g2"), room_cap=2))  # the tour's own guide is never "full"
    publish(state, state.decide_away("v1"))  # away within grace: no longer holds a place
    publish(state, state.decide_join(visitor("v3"), room_cap=2))
    with pytest.raises(TourFull):
        state.decide_join(visitor("v4"), room_cap=2)
    publish(state, state.decide_leave("v2", "left"))
    publish(state, state.decide_join(visitor("v4"), room_cap=2))
    assert (state.online_visitors, state.visitors) == (2, 3)
    twin = TourState.from_snapshot(state.info, state.snapshot())
    assert (twin.online_visitors, twin.visitors) == (2, 3)
    publish(state, state.decide("g1", p.End(), NOW).events)
    assert (state.online_visitors, state.visitors) == (0, 0)


class _NoWalking(dict[str, Member]):
    """A members table that fails the test when anything walks all of it."""

    def values(self):  # type: ignore[override]
        raise AssertionError("walked every member")

    def items(self):  # type: ignore[override]
        raise AssertionError("walked every member")

    def __iter__(self):  # type: ignore[override]
        raise AssertionError("walked every member")


def test_a_visitor_join_and_its_snapshot_do_not_walk_every_member() -> None:
    state = tour_with(guide())
    for index in range(50):
        publish(state, state.decide_join(visitor(f"v{index}"), room_cap=100))
    state.members = _NoWalking(state.members)
    newcomer = visitor("v-new")
    publish(state, state.decide_join(newcomer, room_cap=100))
    snapshot = json.loads(state.snapshot_text(None, NOW, state.members["v-new"]))
    assert [m["id"] for m in snapshot["members"]] == ["g1", "v-new"] and snapshot["visitors"] == 51


def test_snapshot_round_trip_equals_replaying_the_log() -> None:
    state = tour_with(guide(), visitor())
    log = []
    for message in (p.Start(0), p.Advance(0, 2), p.Gather((1, 0, 2), 45, None)):
        log += command(state, "g1", message)[0]
    log += command(state, "v1", p.Hand(True))[0]
    log += command(state, "v1", p.Device("vr"))[0]
    log += command(state, "g1", p.Hand(False, "v1"))[0]
    snapshot = state.snapshot()
    replica = tour_with(guide(), visitor())
    for event in log:
        replica.apply(event)
    assert replica.snapshot() == snapshot
    assert TourState.from_snapshot(state.info, snapshot).snapshot() == snapshot
    with pytest.raises(ValueError, match="does not follow"):
        replica.apply(log[-1])


def test_end_clears_members_and_a_new_run_can_start() -> None:
    state = tour_with(guide(), visitor())
    command(state, "g1", p.Start(1))
    command(state, "g1", p.End())
    assert state.status == "ended" and state.members == {} and state.lead is None
    publish(state, state.decide_join(guide("g2"), room_cap=10))
    assert state.lead == "g2"
    command(state, "g2", p.Start(0))
    assert (state.status, state.stop) == ("running", 0)


def test_snapshot_text_from_cached_members_equals_the_plain_snapshot() -> None:
    import json

    state = tour_with(guide(), visitor(), visitor("v2"))
    first = state.snapshot_text(None, NOW)  # fills the cache
    assert json.loads(first) == state.snapshot(None, NOW)
    for message, member_id in ((p.Hand(True), "v1"), (p.Follow(False), "v2"), (p.Start(0), "g1"),
                               (p.Device("ar"), "v2"), (p.Hand(False, "v1"), "g1"),
                               (p.Gather((0, 0, 0), 0, None), "g1")):
        command(state, member_id, message)
        assert json.loads(state.snapshot_text({"type": "pose"}, NOW)) == state.snapshot({"type": "pose"}, NOW)
    publish(state, state.decide_away("v1"))
    publish(state, state.decide_join(Member("v1", "Ana", "visitor", "ar"), room_cap=10))
    publish(state, state.decide_leave("v2", "left"))
    assert json.loads(state.snapshot_text(None, NOW)) == state.snapshot(None, NOW)


def test_copy_is_independent() -> None:
    state = tour_with(guide(), visitor())
    state.snapshot_text(None, NOW)
    twin = state.copy()
    command(twin, "v1", p.Hand(True))
    command(twin, "g1", p.Start(0))
    assert not state.members["v1"].hand and state.status == "waiting" and state.seq == 3
    assert twin.members["v1"].hand and twin.seq == 5
    assert state.snapshot_text(None, NOW) != twin.snapshot_text(None, NOW)


def test_only_visitors_going_away_and_coming_back_move_the_online_count() -> None:
    state = tour_with(guide(), visitor("v1"))
    assert state.online_visitors == 1
    publish(state, state.decide_away("g1"))
    publish(state, state.decide_join(guide("g1"), room_cap=10))
    assert state.online_visitors == 1  # a guide's comings and goings are not visitors'
    publish(state, state.decide_away("v1"))
    assert state.online_visitors == 0
    publish(state, state.decide_join(visitor("v1"), room_cap=10))
    assert state.online_visitors == 1


def test_presence_events_carry_the_role_the_visitor_rule_needs() -> None:
    state = tour_with(guide(), visitor("v1"))
    assert state.decide_away("v1") == [{"kind": "member_away", "member": "v1", "role": "visitor"}]
    assert state.decide_leave("v1", "left") == [{"kind": "member_left", "member": "v1", "role": "visitor",
                                                  "reason": "left"}]
