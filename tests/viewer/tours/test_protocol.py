"""Client frames are parsed into typed messages, and every malformed frame becomes a precise ProtocolError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.tours import protocol as p


def parse(message: object) -> p.Envelope:
    return p.parse(json.dumps(message))


def error_of(text: str | bytes) -> p.ProtocolError:
    with pytest.raises(p.ProtocolError) as caught:
        p.parse(text)
    return caught.value


def test_hello_for_each_credential() -> None:
    guide = parse({"type": "hello", "v": 1, "token": "a.b", "device": "vr"}).message
    assert guide == p.Hello(1, "a.b", None, None, None, None, "vr")
    visitor = parse({"type": "hello", "v": 1, "code": "k7m2qx", "name": "  Ana\u202e  Li ", "id": 4})
    assert visitor.message == p.Hello(1, None, "k7m2qx", None, None, "Ana Li", "desktop")
    assert visitor.ref == 4
    resume = parse({"type": "hello", "v": 1, "resume": {"token": "r.s", "seq": 17}}).message
    assert resume == p.Hello(1, None, None, "r.s", 17, None, "desktop")


@pytest.mark.parametrize(("message", "code", "text"), [
    ({"type": "hello", "v": 1}, "bad_message", "hello needs exactly one of token, code or resume"),
    ({"type": "hello", "v": 1, "token": "a", "code": "b"}, "bad_message", "hello needs exactly one of token, code or resume"),
    ({"type": "hello", "v": 1, "code": "K7M2QX"}, "bad_message", "hello.name is required for visitors"),
    ({"type": "hello", "v": 1, "code": "K7M2QX", "name": "\u200b\u200b"}, "bad_message", "hello.name must have 1–40 visible characters"),
    ({"type": "hello", "v": 1, "code": "K", "name": "A", "device": "fridge"}, "bad_message", "hello.device must be one of desktop, phone, vr, ar"),
    ({"type": "hello", "v": "1", "token": "a"}, "bad_message", "hello.v must be an integer"),
    ({"type": "advance", "from": "1"}, "bad_message", "advance.from must be an integer"),
    ({"type": "advance", "from": True}, "bad_message", "advance.from must be an integer"),
    ({"type": "advance", "from": 10**30}, "bad_message", "advance.from is out of range"),
    ({"type": "advance", "from": -1}, "bad_message", "advance.from is out of range"),
    ({"type": "gather", "position": [0, 1e300, 0]}, "bad_message", "gather.position must be finite and within ±1e+06"),
    ({"type": "gather", "position": [0, 1]}, "bad_message", "gather.position must be a list of 3 numbers"),
    ({"type": "pose", "head": {"p": [0, 0, 0], "q": [0, 0, 0]}}, "bad_message", "pose.head.q must be a list of 4 numbers"),
    ({"type": "pose", "head": {"p": [0, 0, 0], "q": [0, 0, 0, 1]}, "pointer": 3}, "bad_message", "pose.pointer must be an object {o, d} or null"),
    ({"type": "follow", "following": "yes"}, "bad_message", "follow.following must be true or false"),
    ({"type": "handover", "to": "x" * 65}, "bad_message", "handover.to must be at most 64 characters"),
    ({"type": "device", "device": "fridge"}, "bad_message", "device.device must be one of desktop, phone, vr, ar"),
    ({"type": "device"}, "bad_message", "device.device must be one of desktop, phone, vr, ar"),
    ({"type": "device", "device": ["vr"]}, "bad_message", "device.device must be one of desktop, phone, vr, ar"),
    ({"type": "hand", "raised": False, "member": 7}, "bad_message", "hand.member must be a non-empty string"),
    ({"type": "hand", "raised": False, "member": "m" * 65}, "bad_message", "hand.member must be at most 64 characters"),
    ({"type": "teleport"}, "unknown_type", "unknown message type 'teleport'"),
    ({"type": 5}, "bad_message", "type must be a string"),
    ([1, 2], "bad_json", "a message must be a JSON object"),
])
def test_malformed_messages(message: object, code: str, text: str) -> None:
    error = error_of(json.dumps(message))
    assert (error.code, error.message) == (code, text)


def test_not_json_nan_deep_nesting_and_binary() -> None:
    assert error_of("{nope").code == "bad_json"
    assert error_of('{"type": "ping", "t": NaN}').message.startswith("not valid JSON")
    assert error_of('{"type": "ping", "x": ' + "[" * 9 + "]" * 9 + "}").message == "nested deeper than 8 levels"
    # Deep enough to exhaust json's recursive decoder if it were reached.
    assert error_of("[" * 60000).code == "too_many_items"
    assert error_of(b"\x00\x01").code == "binary_not_supported"


def test_pose_is_cleaned_and_keeps_only_known_fields() -> None:
    message = parse({"type": "pose", "t": 1764100000099.5, "head": {"p": [1, 2, 3], "q": [0, 0, 0, 1], "evil": 1},
                     "pointer": None, "room": "hall", "extra": "x" * 100}).message
    assert isinstance(message, p.Pose)
    assert message.fields == {"head": {"p": [1.0, 2.0, 3.0], "q": [0.0, 0.0, 0.0, 1.0]}, "pointer": None,
                              "t": 1764100000099.5, "room": "hall"}


def test_device_and_hand_for_another_member() -> None:
    assert parse({"type": "device", "device": "ar"}).message == p.Device("ar")
    assert parse({"type": "hand", "raised": True}).message == p.Hand(True, None)
    assert parse({"type": "hand", "raised": False, "member": "m3f9a1c2b"}).message == p.Hand(False, "m3f9a1c2b")


def test_advance_defaults_to_the_next_stop_and_request_ids_are_echoed() -> None:
    envelope = parse({"type": "advance", "from": 2, "id": "req-1"})
    assert envelope.message == p.Advance(2, 3)
    assert envelope.ref == "req-1"
    assert parse({"type": "advance", "from": 2, "id": {"no": 1}}).ref is None


# Any JSON value, with keys the parser looks at, so the fuzzing reaches the field checks and not just "unknown type".
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
_keys = st.sampled_from(["type", "v", "token", "code", "name", "device", "resume", "from", "to", "stop", "position",
                         "yaw", "room", "head", "pointer", "t", "following", "raised", "member", "id", "seq"])
_types = st.sampled_from(["hello", "pose", "ping", "advance", "start", "gather", "handover", "end", "follow", "hand",
                          "device", "sync", "leave", "nope"])


@settings(max_examples=150, deadline=None)
@given(_types, st.dictionaries(_keys, _values, max_size=6))
def test_any_message_parses_or_gets_a_protocol_error(kind: str, fields: dict[str, object]) -> None:
    try:
        envelope = p.parse(json.dumps({**fields, "type": kind}))
    except p.ProtocolError as error:
        assert error.code in {"bad_json", "bad_message", "unknown_type"} and error.message
    else:
        assert envelope.ref is None or isinstance(envelope.ref, str | int)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=50))
def test_any_frame_parses_or_gets_a_protocol_error(frame: str | bytes) -> None:
    try:
        envelope = p.parse(frame)
    except p.ProtocolError as error:
        assert (error.code == "binary_not_supported") == isinstance(frame, bytes)
    else:
        assert isinstance(frame, str) and isinstance(envelope, p.Envelope)


def test_items_are_capped_from_the_text_before_parsing_at_the_limit_and_one_past_it() -> None:
    def ping_with(values: int) -> str:  # 4 items besides the values: {, "type":, ",", "x":[
        return '{"type":"ping","x":[' + ",".join(["0"] * values) + "]}"

    assert isinstance(p.parse(ping_with(p.MAX_ITEMS - 4)).message, p.Ping)
    refused = error_of(ping_with(p.MAX_ITEMS - 3))
    assert (refused.code, refused.message) == ("too_many_items", "a message may hold at most 128 items")
    # Separators inside strings are not items: a name full of commas is one value.
    assert isinstance(p.parse('{"type":"ping","pad":"' + ",:[{" * 300 + '"}').message, p.Ping)
    assert isinstance(p.parse(r'{"type":"ping","pad":"\\",' + '"x":0,' * 20 + '"y":1}').message, p.Ping)
