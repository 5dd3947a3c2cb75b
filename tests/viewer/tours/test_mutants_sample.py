"""Behaviour of the tour server's pure parts that the sampled mutation run (docs/benchmarks.md, mutants) found
untested: protocol limits and messages, token errors, snapshot and event fields, the state file's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from viewer.tours import protocol as p
from viewer.tours.session import Member, TourInfo, TourState
from viewer.tours.store import StateFile
from viewer.tours.tokens import TokenError, mint_guide_token, verify_guide_token

SECRET = b"s" * 32
NOW = 1_764_100_000_000


def _nested(levels: int) -> str:
    """A message whose containers nest `levels` deep, the message object being the first."""
    return '{"type": "ping", "t": 1, "x": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def test_nesting_is_refused_one_level_past_the_limit_and_not_before() -> None:
    assert p.decode(_nested(p.MAX_DEPTH))["type"] == "ping"
    with pytest.raises(p.ProtocolError, match=f"nested deeper than {p.MAX_DEPTH} levels"):
        p.decode(_nested(p.MAX_DEPTH + 1))


def test_a_missing_integer_field_is_named_as_required() -> None:
    with pytest.raises(p.ProtocolError) as raised:
        p.parse(json.dumps({"type": "advance", "to": 2}))
    assert (raised.value.code, raised.value.message) == ("bad_message", "advance.from is required")


@pytest.mark.parametrize("token", ["no-dot-at-all", ".sig", "payload."])
def test_a_token_without_its_two_parts_is_called_malformed(token: str) -> None:
    with pytest.raises(TokenError) as raised:
        verify_guide_token(SECRET, token)
    assert str(raised.value) == "malformed token"


def test_a_signature_with_a_lone_surrogate_is_a_bad_signature_not_a_crash() -> None:
    payload = mint_guide_token(SECRET, "ex", "t").partition(".")[0]
    with pytest.raises(TokenError, match="bad signature"):
        verify_guide_token(SECRET, payload + ".\udc80abc")


def _running_tour() -> TourState:
    state = TourState(TourInfo("ex", "t1", 4))
    for event in state.number(state.decide_join(Member("g1", "Mei", "guide", "vr"), room_cap=10), NOW):
        state.apply(event)
    for event in state.number(state.decide("g1", p.Start(0), NOW).events, NOW):
        state.apply(event)
    assert state.status == "running"
    return state


def test_a_snapshot_names_its_tour_and_carries_the_server_time_when_given() -> None:
    state = _running_tour()
    snapshot = state.snapshot(server_time=NOW + 5)
    assert snapshot["server_time"] == NOW + 5
    assert snapshot["tour"]["exhibit"] == "ex" and snapshot["tour"]["id"] == "t1" and snapshot["tour"]["stops"] == 4
    assert "server_time" not in state.snapshot()
    assert json.loads(state.snapshot_text(None, NOW + 5))["tour"]["id"] == "t1"


def test_an_advance_event_says_who_moved_the_tour() -> None:
    state = _running_tour()
    decision = state.decide("g1", p.Advance(0, 2), NOW)
    assert [(event["kind"], event["by"], event["from"], event["stop"]) for event in decision.events] == \
        [("stop_changed", "g1", 0, 2)]


def test_the_state_file_creates_the_folders_it_lives_in(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "vitrina" / "tours.sqlite3"
    state_file = StateFile(path)
    try:
        assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    finally:
        state_file.close()
