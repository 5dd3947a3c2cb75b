"""Tour protocol v1 messages: parse and validate client frames, build server frames (no I/O; docs/tour-protocol.md)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

VERSION = 1
PATH = "/tours"

# The largest client message is a hello carrying a resume token (~0.5 KB; fields allow 2 KB) and a name that may be
# JSON-escaped six bytes a character: 4 KiB holds it. A pose is about 250 B. Nothing a client sends needs more, and
# every byte accepted is a byte parsed.
MAX_MESSAGE_BYTES = 4 * 1024
MAX_DEPTH = 8
# Containers plus values in one message: a pose has about 25, a hello about 10. Bounded before json.loads runs.
MAX_ITEMS = 128
MAX_ABS_NUMBER = 1e6
MAX_ABS_INTEGER = 2**53
MAX_NAME_CHARS = 40
MAX_ID_CHARS = 64
DEVICES = ("desktop", "phone", "vr", "ar")

# Close codes (docs/tour-protocol.md, "Close codes").
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011  # reconnect and resume (also: the tour store is unavailable)
CLOSE_RESTART = 1012
CLOSE_BAD_HELLO = 4000
CLOSE_UNAUTHORIZED = 4001
CLOSE_JOIN_TIMEOUT = 4002
CLOSE_REPLACED = 4003
CLOSE_UNKNOWN_TOUR = 4004
CLOSE_TOUR_FULL = 4005
CLOSE_TOUR_ENDED = 4006
CLOSE_SOURCE_LIMIT = 4007

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


class ProtocolError(Exception):
    """A client message that cannot be accepted; `code` is the error code sent back in `{"type": "error"}`."""

    def __init__(self, code: str, message: str, ref: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# ---------------------------------------------------------------------------------------------- client messages


@dataclass(frozen=True)
class Hello:
    version: int
    token: str | None
    code: str | None
    resume_token: str | None
    resume_seq: int | None
    name: str | None
    device: str


@dataclass(frozen=True)
class Start:
    stop: int


@dataclass(frozen=True)
class Advance:
    from_stop: int
    to_stop: int


@dataclass(frozen=True)
class Gather:
    position: tuple[float, float, float]
    yaw: float
    room: str | None


@dataclass(frozen=True)
class Handover:
    to_member: str


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Follow:
    following: bool


@dataclass(frozen=True)
class Hand:
    """Raise or lower a hand: the sender's own, or (`member`, guides only, lowering only) someone else's."""

    raised: bool
    member: str | None = None


@dataclass(frozen=True)
class Device:
    """The sender's device changed (entering or leaving VR/AR): one of DEVICES."""

    device: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Ping:
    client_time: float | None


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Pose:
    """A validated guide pose; `fields` is the cleaned JSON-ready body that is forwarded."""

    fields: dict[str, Any]


GuideCommand = Start | Advance | Gather | Handover | End | Pose
MemberCommand = Follow | Hand | Device
Command = GuideCommand | MemberCommand | Sync | Ping | Leave
ClientMessage = Hello | Command


@dataclass(frozen=True)
class Envelope:
    """A parsed client frame: the message and the optional request id to echo as `re`."""

    message: ClientMessage
    ref: str | int | None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of containers, stopping early once `limit` is exceeded."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _item_bound(text: str) -> int:
    """An upper bound on the number of containers and values, from the text alone (C-speed str.count)."""
    return text.count(",") + text.count("[") + text.count("{") + text.count(":")


def _items(text: str) -> int:
    """Containers and values in the JSON text: separators and openers outside strings."""
    rough = _item_bound(text)
    if rough <= MAX_ITEMS:
        return rough
    return _item_bound(_STRING.sub('""', text))  # commas in names are not items


def decode(text: str) -> dict[str, Any]:
    """JSON text → a dict, refusing NaN/Infinity, too many items, deep nesting and non-objects.

    The item count is checked on the text before json.loads runs, so the work a frame costs is bounded by
    MAX_ITEMS, not by its size (a 63 KB ping of 21,000 empty lists cost 25 ms to parse and walk)."""
    if _items(text) > MAX_ITEMS:
        raise ProtocolError("too_many_items", f"a message may hold at most {MAX_ITEMS} items")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("bad_json", f"not valid JSON: {str(error)[:80]}") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad_json", "a message must be a JSON object")
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise ProtocolError("bad_json", f"nested deeper than {MAX_DEPTH} levels")
    return value


class _Fields:
    """Typed access to one message's fields, raising `bad_message` with the field's dotted name."""

    def __init__(self, kind: str, body: dict[str, Any], ref: str | int | None) -> None:
        self.kind = kind
        self.body = body
        self.ref = ref

    def fail(self, field: str, problem: str) -> ProtocolError:
        return ProtocolError("bad_message", f"{self.kind}.{field} {problem}", self.ref)

    def has(self, field: str) -> bool:
        return self.body.get(field) is not None

    def integer(self, field: str, default: int | None = None, *, low: int = -MAX_ABS_INTEGER) -> int:
        value = self.body.get(field)
        if value is None:
            if default is None:
                raise self.fail(field, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, "must be an integer")
        if not low <= value <= MAX_ABS_INTEGER:
            raise self.fail(field, "is out of range")
        return value

    def number(self, field: str, value: Any = None, *, required: bool = True) -> float:
        if value is None:
            value = self.body.get(field)
        if value is None and not required:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, "must be a number")
        if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
            raise self.fail(field, f"must be finite and within ±{MAX_ABS_NUMBER:g}")
        return float(value)

    def boolean(self, field: str) -> bool:
        value = self.body.get(field)
        if not isinstance(value, bool):
            raise self.fail(field, "must be true or false")
        return value

    def string(self, field: str, *, max_chars: int = MAX_ID_CHARS, required: bool = True) -> str | None:
        value = self.body.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(field, "must be a non-empty string")
        if len(value) > max_chars:
            raise self.fail(field, f"must be at most {max_chars} characters")
        return value

    def vector(self, field: str, size: int, container: dict[str, Any] | None = None) -> tuple[float, ...]:
        value = (self.body if container is None else container).get(field.rsplit(".", 1)[-1])
        if not isinstance(value, list) or len(value) != size:
            raise self.fail(field, f"must be a list of {size} numbers")
        return tuple(self.number(field, item) for item in value)


def _request_id(body: dict[str, Any]) -> str | int | None:
    value = body.get("id")
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ABS_INTEGER:
        return value
    return None


def clean_name(raw: str) -> str:
    """Display names: control and bidi-override characters removed, whitespace collapsed."""
    return " ".join(_CONTROL_CHARS.sub("", raw).split())


def _parse_hello(f: _Fields) -> Hello:
    version = f.integer("v")
    token = f.string("token", max_chars=2048, required=False)
    code = f.string("code", max_chars=32, required=False)
    resume_token: str | None = None
    resume_seq: int | None = None
    if f.has("resume"):
        resume = f.body["resume"]
        if not isinstance(resume, dict):
            raise f.fail("resume", "must be an object {token, seq}")
        inner = _Fields("hello.resume", resume, f.ref)
        resume_token = inner.string("token", max_chars=2048)
        resume_seq = inner.integer("seq", -1, low=0) if inner.has("seq") else None
    given = [credential for credential in (token, code, resume_token) if credential is not None]
    if len(given) != 1:
        raise ProtocolError("bad_message", "hello needs exactly one of token, code or resume", f.ref)
    name: str | None = None
    if f.has("name"):
        raw = f.string("name", max_chars=200)
        assert raw is not None
        name = clean_name(raw)
        if not name or len(name) > MAX_NAME_CHARS:
            raise f.fail("name", f"must have 1–{MAX_NAME_CHARS} visible characters")
    if code is not None and name is None:
        raise f.fail("name", "is required for visitors")
    return Hello(version, token, code, resume_token, resume_seq, name, _parse_device(f, "desktop"))


def _parse_device(f: _Fields, default: str | None = None) -> str:
    device = f.body.get("device", default)
    if device not in DEVICES:
        raise f.fail("device", f"must be one of {', '.join(DEVICES)}")
    assert isinstance(device, str)
    return device


def _parse_pose(f: _Fields) -> Pose:
    head = f.body.get("head")
    if not isinstance(head, dict):
        raise f.fail("head", "must be an object {p, q}")
    fields: dict[str, Any] = {
        "head": {"p": list(f.vector("head.p", 3, head)), "q": list(f.vector("head.q", 4, head))},
        "pointer": None,
    }
    pointer = f.body.get("pointer")
    if pointer is not None:
        if not isinstance(pointer, dict):
            raise f.fail("pointer", "must be an object {o, d} or null")
        fields["pointer"] = {"o": list(f.vector("pointer.o", 3, pointer)), "d": list(f.vector("pointer.d", 3, pointer))}
    client_time = _parse_time(f, "t")
    if client_time is not None:
        fields["t"] = client_time
    room = f.string("room", required=False)
    if room is not None:
        fields["room"] = room
    return Pose(fields)


def _parse_time(f: _Fields, field: str) -> float | None:
    """Client clocks are epoch milliseconds (~1.8e12): beyond the ±1e6 of coordinates, but finite and bounded."""
    if not f.has(field):
        return None
    value = f.body[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise f.fail(field, "must be a finite number")
    if abs(value) > MAX_ABS_INTEGER:
        raise f.fail(field, "is out of range")
    return value


def parse(text: str | bytes) -> Envelope:
    """One client frame → an Envelope, or ProtocolError with the error code to reply with."""
    if isinstance(text, bytes | bytearray | memoryview):
        raise ProtocolError("binary_not_supported", "binary frames are not supported; send JSON text")
    body = decode(text)
    ref = _request_id(body)
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "type must be a string", ref)
    f = _Fields(kind, body, ref)
    message: ClientMessage
    if kind == "hello":
        message = _parse_hello(f)
    elif kind == "pose":
        message = _parse_pose(f)
    elif kind == "ping":
        message = Ping(_parse_time(f, "t"))
    elif kind == "advance":
        from_stop = f.integer("from", low=0)
        message = Advance(from_stop, f.integer("to", from_stop + 1, low=0))
    elif kind == "start":
        message = Start(f.integer("stop", 0, low=0))
    elif kind == "gather":
        position = f.vector("position", 3)
        room = f.string("room", required=False)
        message = Gather((position[0], position[1], position[2]), f.number("yaw", required=False), room)
    elif kind == "handover":
        to_member = f.string("to")
        assert to_member is not None
        message = Handover(to_member)
    elif kind == "end":
        message = End()
    elif kind == "follow":
        message = Follow(f.boolean("following"))
    elif kind == "hand":
        message = Hand(f.boolean("raised"), f.string("member", required=False))
    elif kind == "device":
        message = Device(_parse_device(f))
    elif kind == "sync":
        message = Sync()
    elif kind == "leave":
        message = Leave()
    else:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}", ref)
    return Envelope(message, ref)


GUIDE_ONLY = (Start, Advance, Gather, Handover, End, Pose)
PRESENCE = (Follow, Hand, Device)  # what a visitor changes about itself; each change reaches every guide

# ---------------------------------------------------------------------------------------------- server messages


def dump(message: dict[str, Any]) -> str:
    """Server frames are compact JSON; non-ASCII stays readable (names in any script)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def error(code: str, message: str, ref: str | int | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        reply["re"] = ref
    return reply


def ignored(reason: str, ref: str | int | None, **fields: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "ignored", "reason": reason, **fields}
    if ref is not None:
        reply["re"] = ref
    return reply


def pong(client_time: float | None, server_time: int, ref: str | int | None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "pong", "server_time": server_time}
    if client_time is not None:
        reply["t"] = client_time
    if ref is not None:
        reply["re"] = ref
    return reply


def shutdown(reconnect_after_ms: int = 500) -> dict[str, Any]:
    return {"type": "shutdown", "reason": "restart", "reconnect_after_ms": reconnect_after_ms}
