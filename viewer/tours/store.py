"""Where tour events, snapshots and the latest pose live: in this process (default) or in Redis Streams (shared)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from viewer.tours.session import TourInfo, TourState

LOG_LENGTH = 1000  # events kept per tour for replay (docs/tour-protocol.md, "event")
POSE_TTL_MS = 60_000

log = logging.getLogger("vitrina.tours.store")

EventSink = Callable[[list[dict[str, Any]]], Awaitable[None]]
PoseSink = Callable[[str, str], None]  # (tour key, pose JSON)


class TourStore(Protocol):
    """The hub's view of persistence. `append` is compare-and-set on the tour's last seq."""

    shared: bool

    async def load(self, info: TourInfo) -> TourState: ...

    async def append(self, state: TourState, events: list[dict[str, Any]]) -> bool: ...

    async def events_after(self, info: TourInfo, seq: int, upto: int) -> list[dict[str, Any]] | None: ...

    async def publish_pose(self, info: TourInfo, pose_text: str) -> None: ...

    async def latest_pose(self, info: TourInfo) -> dict[str, Any] | None: ...

    async def follow(self, info: TourInfo, last_seq: Callable[[], int], sink: EventSink) -> None: ...

    async def watch_poses(self, info: TourInfo, sink: PoseSink) -> None: ...

    async def claim(self, info: TourInfo, member_id: str) -> None: ...

    async def announce_join(self, info: TourInfo, member_id: str) -> None: ...

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]: ...

    async def close(self) -> None: ...


class MemoryStore:
    """One process holds every tour: the event log is a bounded deque per tour, appends always succeed."""

    shared = False

    def __init__(self, log_length: int = LOG_LENGTH) -> None:
        self._logs: dict[str, collections.deque[dict[str, Any]]] = {}
        self._poses: dict[str, dict[str, Any]] = {}
        self._log_length = log_length

    async def load(self, info: TourInfo) -> TourState:
        return TourState(info)

    async def append(self, state: TourState, events: list[dict[str, Any]]) -> bool:
        log_ = self._logs.setdefault(state.info.key, collections.deque(maxlen=self._log_length))
        log_.extend(events)
        return True

    async def events_after(self, info: TourInfo, seq: int, upto: int) -> list[dict[str, Any]] | None:
        if seq >= upto:
            return [] if seq == upto else None
        log_ = self._logs.get(info.key)
        if not log_ or log_[0]["seq"] > seq + 1:
            return None
        return [event for event in log_ if seq < event["seq"] <= upto]

    async def publish_pose(self, info: TourInfo, pose_text: str) -> None:
        return None  # the hub already keeps the latest pose; nobody else needs it

    async def latest_pose(self, info: TourInfo) -> dict[str, Any] | None:
        return None

    async def follow(self, info: TourInfo, last_seq: Callable[[], int], sink: EventSink) -> None:
        return None

    async def watch_poses(self, info: TourInfo, sink: PoseSink) -> None:
        return None

    async def claim(self, info: TourInfo, member_id: str) -> None:
        return None

    async def announce_join(self, info: TourInfo, member_id: str) -> None:
        return None  # one process: the server replaces an older connection itself

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]:
        return []

    async def close(self) -> None:
        return None


# Append events only if the stream ends exactly at the seq the caller decided on. ARGV: expected seq, MAXLEN,
# snapshot JSON (or "" when this append does not carry one), then the events. The snapshot is written with them.
_APPEND_SCRIPT = """
local last = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if last ~= tonumber(ARGV[1]) then return 0 end
local seq = last
for i = 4, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', ARGV[i])
end
redis.call('HSET', KEYS[2], 'seq', seq)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'state', ARGV[3], 'state_seq', seq) end
return 1
"""

# A snapshot is stored every this many events (and the stream keeps far more), so an append costs O(1) bytes
# instead of O(members): with 2000 members a snapshot is ~240 KB. Loading = the snapshot + the events after it.
SNAPSHOT_EVERY = 100


JOINED_PREFIX = "!joined:"  # on the pose channel: a control message, never valid pose JSON
PROCESS_TTL_MS = 5000  # a process that has not renewed its key for this long is presumed dead


def _process_key(origin: str) -> str:
    return f"vitrina:process:{origin}"


def _owners_key(info: TourInfo) -> str:
    return f"vitrina:tour:{info.exhibit}:{info.tour}:owners"


def _keys(info: TourInfo) -> tuple[str, str, str, str]:
    base = f"vitrina:tour:{info.exhibit}:{info.tour}"
    return f"{base}:events", f"{base}:state", f"{base}:poses", f"{base}:pose"


class RedisStore:
    """Tours shared by several processes: a Redis Stream per tour (ids are `<seq>-0`), a state hash, pose pub/sub."""

    shared = True

    def __init__(self, url: str, origin: str, log_length: int = LOG_LENGTH) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ModuleNotFoundError:
            raise SystemExit("--redis needs the redis client: pip install vitrina[redis]") from None
        self._redis = redis_asyncio.from_url(url, decode_responses=True)
        self._append = self._redis.register_script(_APPEND_SCRIPT)
        self._origin = origin  # this process's id, so it can skip its own poses coming back through pub/sub
        self._log_length = log_length

    async def ping(self) -> None:
        await self._redis.ping()

    async def heartbeat(self) -> None:
        """Keep this process's liveness key fresh until cancelled; others reap our members once it expires."""
        while True:
            try:
                await self._redis.set(_process_key(self._origin), "1", px=PROCESS_TTL_MS)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("heartbeat failed: %s", error)
            await asyncio.sleep(PROCESS_TTL_MS / 3000)

    async def claim(self, info: TourInfo, member_id: str) -> None:
        """Record that this process holds the member's connection."""
        await self._redis.hset(_owners_key(info), member_id, self._origin)

    async def announce_join(self, info: TourInfo, member_id: str) -> None:
        """Tell the other processes this member connected here, so one holding an older connection closes it."""
        await self._redis.publish(_keys(info)[2], f"{self._origin}|{JOINED_PREFIX}{member_id}")

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]:
        """Members marked online whose owning process is gone (killed without a clean close)."""
        if not online:
            return []
        owners: list[Any] = await self._redis.hmget(_owners_key(info), online)  # type: ignore[misc]
        candidates = {owner for owner in owners if owner and owner != self._origin}
        if not candidates:
            return []
        alive = {owner for owner in candidates if await self._redis.exists(_process_key(owner))}
        return [member for member, owner in zip(online, owners, strict=True)
                if owner and owner != self._origin and owner not in alive]

    async def load(self, info: TourInfo) -> TourState:
        stored, seq = await self._redis.hmget(_keys(info)[1], ["state", "seq"])  # type: ignore[misc]
        state = TourState(info) if stored is None else TourState.from_snapshot(info, json.loads(stored))
        head = int(seq or 0)
        if head > state.seq:
            missed = await self.events_after(info, state.seq, head)
            if missed is None:
                raise RuntimeError(f"tour {info.key}: the stream no longer covers the stored snapshot")
            for event in missed:
                state.apply(event)
        return state

    async def append(self, state: TourState, events: list[dict[str, Any]]) -> bool:
        assert self._log_length > 2 * SNAPSHOT_EVERY, "the stream must outlive the latest snapshot"
        events_key, state_key, _, _ = _keys(state.info)
        texts = [json.dumps(event, separators=(",", ":"), ensure_ascii=False) for event in events]
        snapshot = ""
        if (state.seq + len(events)) // SNAPSHOT_EVERY > state.seq // SNAPSHOT_EVERY or state.seq == 0:
            after = state.copy()
            for event in events:
                after.apply(event)
            snapshot = after.snapshot_text(None, 0)
        done = await self._append(keys=[events_key, state_key], args=[state.seq, self._log_length, snapshot, *texts])
        return bool(done)

    async def events_after(self, info: TourInfo, seq: int, upto: int) -> list[dict[str, Any]] | None:
        if seq >= upto:
            return [] if seq == upto else None
        entries: Any = await self._redis.xrange(_keys(info)[0], f"{seq + 1}-0", f"{upto}-0")
        events = [json.loads(fields["e"]) for _, fields in entries]
        if not events or events[0]["seq"] != seq + 1 or events[-1]["seq"] != upto:
            return None  # trimmed away: the caller falls back to a snapshot
        return events

    async def publish_pose(self, info: TourInfo, pose_text: str) -> None:
        _, _, channel, pose_key = _keys(info)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(pose_key, pose_text, px=POSE_TTL_MS)
            pipe.publish(channel, f"{self._origin}|{pose_text}")
            await pipe.execute()

    async def latest_pose(self, info: TourInfo) -> dict[str, Any] | None:
        text = await self._redis.get(_keys(info)[3])
        return json.loads(text) if text else None

    async def follow(self, info: TourInfo, last_seq: Callable[[], int], sink: EventSink) -> None:
        """Deliver every event other processes append, in order, until cancelled (XREAD BLOCK)."""
        events_key = _keys(info)[0]
        while True:
            try:
                reply: Any = await self._redis.xread({events_key: f"{last_seq()}-0"}, block=2000, count=200)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a Redis restart must not kill the tour: retry after a pause
                log.warning("xread on %s failed: %s", events_key, error)
                await asyncio.sleep(0.5)
                continue
            for _, entries in reply or []:
                await sink([json.loads(fields["e"]) for _, fields in entries])

    async def watch_poses(self, info: TourInfo, sink: PoseSink) -> None:
        channel = _keys(info)[2]
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        prefix = f"{self._origin}|"
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None or not isinstance(message.get("data"), str):
                    continue
                origin_and_text: str = message["data"]
                if not origin_and_text.startswith(prefix):
                    sink(info.key, origin_and_text.partition("|")[2])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def close(self) -> None:
        await self._redis.aclose()
