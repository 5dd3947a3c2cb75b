"""The tour state machine: who may do what, which events a command produces, and how events change the state (pure)."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from viewer.tours import protocol as p

# Narration and glides start this long after the server decides, so every device can schedule the same moment.
START_LEAD_MS = 300


@dataclass(frozen=True)
class TourInfo:
    """What the server knows of a tour from exhibit.json: its key and how many stops it has."""

    exhibit: str
    tour: str
    stops: int

    @property
    def key(self) -> str:
        return f"{self.exhibit}:{self.tour}"


@dataclass
class Member:
    id: str
    name: str
    role: str  # "guide" | "visitor"
    device: str
    following: bool = True
    hand: bool = False
    online: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "device": self.device,
                "following": self.following, "hand": self.hand, "online": self.online}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Member:
        return cls(data["id"], data["name"], data["role"], data["device"], bool(data["following"]),
                   bool(data["hand"]), bool(data["online"]))


class TourFull(Exception):
    """The room cap is reached: as many visitors are online as the cap allows."""


def visitor_concerned(event: dict[str, Any]) -> str | None:
    """The visitor an event is about, if it is about a visitor's presence; such events go to the guides and that
    visitor only. Sending every visitor every other visitor's comings and goings made filling a tour of N cost N²
    frames (2000 visitors: two million), and visitors have no use for the list; guides do."""
    member = event.get("member")
    if isinstance(member, dict):
        return str(member["id"]) if member.get("role") == "visitor" else None
    return member if event.get("role") == "visitor" and isinstance(member, str) else None


@dataclass
class Decision:
    """What a command leads to: event drafts to publish (kind + fields) and/or a direct reply to the sender."""

    events: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] | None = None


@dataclass
class TourState:
    """The state every member sees, rebuilt by applying events in `seq` order (a snapshot is this, serialised)."""

    info: TourInfo
    seq: int = 0
    status: str = "waiting"
    stop: int | None = None
    start_at: int | None = None
    lead: str | None = None
    gather: dict[str, Any] | None = None
    members: dict[str, Member] = field(default_factory=dict)  # in join order: the lead fallback relies on it
    # Each member's JSON, reused across snapshots: with 2000 members, serialising every member for every join
    # was 3 ms per join (6.6 s for 2000 joins); joining the cached pieces costs microseconds.
    _member_json: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # Kept as events apply, so a join costs O(guides), not O(members): walking every member twice per snapshot
    # made filling a tour O(N²) (10,000 joins took 23 s against 7 s for a plain relay).
    visitors: int = field(default=0, compare=False)
    online_visitors: int = field(default=0, compare=False)
    _guides: dict[str, None] = field(default_factory=dict, repr=False, compare=False)  # in join order
    _position: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _joined: int = field(default=0, repr=False, compare=False)

    # ------------------------------------------------------------------------------------------ serialisation

    def snapshot(self, pose: dict[str, Any] | None = None, server_time: int | None = None,
                 members: bool = True, viewer: Member | None = None) -> dict[str, Any]:
        """The snapshot message. For a visitor `viewer`, members are the guides and the viewer only (see
        visitor_concerned) and `visitors` counts the visitors; guides (and viewer None) get everyone."""
        message: dict[str, Any] = {"type": "snapshot", "seq": self.seq}
        if server_time is not None:
            message["server_time"] = server_time
        message["tour"] = {"exhibit": self.info.exhibit, "id": self.info.tour, "stops": self.info.stops,
                           "status": self.status, "stop": self.stop, "start_at": self.start_at,
                           "lead": self.lead, "gather": copy.deepcopy(self.gather)}
        if viewer is not None and viewer.role == "visitor":
            seen = [*self._guides, viewer.id] if viewer.id in self.members else list(self._guides)
            seen.sort(key=self._position.__getitem__)
            message["members"] = [self.members[member_id].to_dict() for member_id in seen]
        else:
            message["members"] = [member.to_dict() for member in self.members.values()] if members else []
        message["visitors"] = self.visitors
        message["pose"] = pose
        return message

    def snapshot_text(self, pose: dict[str, Any] | None, server_time: int, viewer: Member | None = None) -> str:
        """The snapshot message as JSON text, the same as dump(snapshot(...)) but built from cached member JSON."""
        if viewer is not None and viewer.role == "visitor":
            return p.dump(self.snapshot(pose, server_time, viewer=viewer))  # a few members: nothing to cache
        head = self.snapshot(pose, server_time, members=False)
        pieces = []
        for member_id, member in self.members.items():
            piece = self._member_json.get(member_id)
            if piece is None:
                piece = self._member_json[member_id] = p.dump(member.to_dict())
            pieces.append(piece)
        text = p.dump(head)
        marker = '"members":[]'
        index = text.index(marker) + len(marker) - 1
        return text[:index] + ",".join(pieces) + text[index:]

    def copy(self) -> TourState:
        """An independent copy (members copied one level deep; cached member JSON is shared, being immutable)."""
        twin = TourState(self.info, self.seq, self.status, self.stop, self.start_at, self.lead,
                         copy.deepcopy(self.gather))
        twin.members = {member_id: dataclasses.replace(member) for member_id, member in self.members.items()}
        twin._member_json = dict(self._member_json)
        twin.visitors, twin.online_visitors, twin._joined = self.visitors, self.online_visitors, self._joined
        twin._guides, twin._position = dict(self._guides), dict(self._position)
        return twin

    @classmethod
    def from_snapshot(cls, info: TourInfo, snapshot: dict[str, Any]) -> TourState:
        tour = snapshot["tour"]
        state = cls(info, seq=int(snapshot["seq"]), status=tour["status"], stop=tour["stop"],
                     start_at=tour["start_at"], lead=tour["lead"], gather=tour["gather"])
        for data in snapshot["members"]:
            state._add(Member.from_dict(data))
        return state

    def _add(self, member: Member) -> None:
        self.members[member.id] = member
        self._position[member.id] = self._joined
        self._joined += 1
        if member.role == "guide":
            self._guides[member.id] = None
        else:
            self.visitors += 1
            self.online_visitors += member.online

    def _remove(self, member_id: str) -> None:
        member = self.members.pop(member_id, None)
        if member is None:
            return
        del self._position[member_id]
        if member.role == "guide":
            del self._guides[member_id]
        else:
            self.visitors -= 1
            self.online_visitors -= member.online

    def _set_online(self, member_id: str, online: bool) -> None:
        member = self.members.get(member_id)
        if member is not None and member.role == "visitor" and member.online != online:
            self.online_visitors += 1 if online else -1

    # ------------------------------------------------------------------------------------------ events → state

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one event; its seq must be exactly the next one."""
        if event["seq"] != self.seq + 1:
            raise ValueError(f"event seq {event['seq']} does not follow {self.seq}")
        self.seq = event["seq"]
        kind = event["kind"]
        if kind in ("gather", "tour_ended"):
            self._member_json.clear()
        elif "member" in event:
            self._member_json.pop(event["member"]["id"] if kind == "member_joined" else event["member"], None)
        if kind == "member_joined":
            self._remove(event["member"]["id"])  # a rejoin under the same id replaces, never double-counts
            self._add(Member.from_dict(event["member"]))
        elif kind == "member_away":
            self._set_online(event["member"], False)
            self._set(event["member"], online=False)
        elif kind == "member_back":
            self._set_online(event["member"], True)
            self._set(event["member"], online=True, device=event["device"])
        elif kind == "member_left":
            self._remove(event["member"])
        elif kind == "lead_changed":
            self.lead = event["lead"]
        elif kind in ("tour_started", "stop_changed"):
            self.status, self.stop, self.start_at, self.gather = "running", event["stop"], event["start_at"], None
        elif kind == "gather":
            self.gather = {name: event[name] for name in ("by", "position", "yaw", "room", "start_at")}
            for member in self.members.values():
                if member.role == "visitor":
                    member.following = True
        elif kind == "following_changed":
            self._set(event["member"], following=event["following"])
        elif kind in ("hand_raised", "hand_lowered"):
            self._set(event["member"], hand=kind == "hand_raised")
        elif kind == "device_changed":
            self._set(event["member"], device=event["device"])
        elif kind == "tour_ended":
            self.status, self.stop, self.start_at, self.lead, self.gather = "ended", None, None, None, None
            for member_id in list(self.members):
                self._remove(member_id)
        else:
            raise ValueError(f"unknown event kind {kind!r}")

    def _set(self, member_id: str, **values: Any) -> None:
        member = self.members.get(member_id)
        if member is not None:
            for name, value in values.items():
                setattr(member, name, value)

    # ------------------------------------------------------------------------------------------ commands → events

    def decide_join(self, member: Member, room_cap: int) -> list[dict[str, Any]]:
        """A hello (new, or a resume) → events. Raises TourFull when a new visitor would make more than `room_cap`
        visitors online. Members away within their grace do not count (a flood of joins that then left locked
        the tour for two minutes), and a guide is always admitted: the tour is theirs."""
        known = self.members.get(member.id)
        if known is not None:
            if not known.online:
                return [{"kind": "member_back", "member": member.id, "role": known.role, "device": member.device}]
            # Still online: a newer connection (another device, or a reload in VR) replaces the older one.
            return [] if known.device == member.device else [self._device_changed(known, member.device)]
        if member.role == "visitor" and self.online_visitors >= room_cap:
            raise TourFull()
        events: list[dict[str, Any]] = [{"kind": "member_joined", "member": member.to_dict()}]
        if member.role == "guide" and self.lead is None:
            events.append({"kind": "lead_changed", "lead": member.id, "by": None})
        return events

    def decide_away(self, member_id: str) -> list[dict[str, Any]]:
        member = self.members.get(member_id)
        if member is None or not member.online:
            return []
        return [{"kind": "member_away", "member": member_id, "role": member.role}]

    def decide_leave(self, member_id: str, reason: str) -> list[dict[str, Any]]:
        leaving = self.members.get(member_id)
        if leaving is None:
            return []
        events: list[dict[str, Any]] = [{"kind": "member_left", "member": member_id, "role": leaving.role,
                                         "reason": reason}]
        if self.lead == member_id:
            others = [m for m in self.members.values() if m.role == "guide" and m.id != member_id]
            # Prefer a guide who is connected right now; among those, whoever joined first.
            others.sort(key=lambda m: not m.online)
            events.append({"kind": "lead_changed", "lead": others[0].id if others else None, "by": None})
        return events

    def decide(self, member_id: str, command: p.Command, now_ms: int, ref: str | int | None = None) -> Decision:
        """A joined member's command → a Decision. Pose, Ping, Sync and Leave are transport matters, not decided here."""
        member = self.members.get(member_id)
        if member is None:
            return Decision(reply=p.error("not_joined", "you are not a member of this tour", ref))
        if isinstance(command, p.GUIDE_ONLY) and member.role != "guide":
            return Decision(reply=p.error("not_allowed", "only a guide may do that", ref))
        start_at = now_ms + START_LEAD_MS
        if isinstance(command, p.Start):
            if self.status == "running":
                return Decision(reply=p.ignored("already_started", ref, stop=self.stop))
            if not self._valid_stop(command.stop):
                return Decision(reply=self._bad_stop(command.stop, ref))
            return Decision([{"kind": "tour_started", "by": member_id, "stop": command.stop, "start_at": start_at}])
        if isinstance(command, p.Advance):
            if self.status != "running":
                return Decision(reply=p.error("bad_state", "the tour is not running; send start first", ref))
            if command.from_stop != self.stop:
                return Decision(reply=p.ignored("stale", ref, stop=self.stop))
            if not self._valid_stop(command.to_stop):
                return Decision(reply=self._bad_stop(command.to_stop, ref))
            if command.to_stop == command.from_stop:
                return Decision(reply=p.ignored("same_stop", ref, stop=self.stop))
            return Decision([{"kind": "stop_changed", "by": member_id, "from": command.from_stop,
                              "stop": command.to_stop, "start_at": start_at}])
        if isinstance(command, p.Gather):
            if self.status != "running":
                return Decision(reply=p.error("bad_state", "the tour is not running; send start first", ref))
            return Decision([{"kind": "gather", "by": member_id, "position": list(command.position),
                              "yaw": command.yaw, "room": command.room, "start_at": start_at}])
        if isinstance(command, p.Handover):
            target = self.members.get(command.to_member)
            if target is None or target.role != "guide" or not target.online:
                return Decision(reply=p.error("bad_state", "handover needs an online guide of this tour", ref))
            if self.lead == target.id:
                return Decision(reply=p.ignored("already_lead", ref))
            return Decision([{"kind": "lead_changed", "lead": target.id, "by": member_id}])
        if isinstance(command, p.End):
            if self.status == "ended":
                return Decision(reply=p.ignored("already_ended", ref))
            return Decision([{"kind": "tour_ended", "by": member_id}])
        if isinstance(command, p.Follow):
            if member.following == command.following:
                return Decision()
            return Decision([{"kind": "following_changed", "member": member_id, "role": member.role,
                              "following": command.following}])
        if isinstance(command, p.Hand):
            return self._decide_hand(member, command, ref)
        if isinstance(command, p.Device):
            if member.device == command.device:
                return Decision()
            return Decision([self._device_changed(member, command.device)])
        raise TypeError(f"{type(command).__name__} is not decided by the session")

    def _decide_hand(self, member: Member, command: p.Hand, ref: str | int | None) -> Decision:
        """A member raises or lowers its own hand; a guide may also lower anyone's (once the question is taken)."""
        target = member
        if command.member is not None and command.member != member.id:
            if command.raised:
                return Decision(reply=p.error("not_allowed", "only members raise their own hands", ref))
            if member.role != "guide":
                return Decision(reply=p.error("not_allowed", "only a guide may lower another member's hand", ref))
            found = self.members.get(command.member)
            if found is None:
                return Decision(reply=p.error("bad_state", "hand.member is not a member of this tour", ref))
            target = found
        if target.hand == command.raised:
            return Decision()
        event: dict[str, Any] = {"kind": "hand_raised" if command.raised else "hand_lowered", "member": target.id,
                                 "role": target.role}
        if target is not member:
            event["by"] = member.id
        return Decision([event])

    @staticmethod
    def _device_changed(member: Member, device: str) -> dict[str, Any]:
        return {"kind": "device_changed", "member": member.id, "role": member.role, "device": device}

    def _valid_stop(self, index: int) -> bool:
        return 0 <= index < self.info.stops

    def _bad_stop(self, index: int, ref: str | int | None) -> dict[str, Any]:
        return p.error("bad_state", f"stop {index} does not exist (this tour has {self.info.stops})", ref)

    def number(self, drafts: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
        """Event drafts → events with the next sequence numbers and the server time (not yet applied)."""
        return [{"type": "event", "seq": self.seq + offset, "at": now_ms, **draft}
                for offset, draft in enumerate(drafts, start=1)]
