"""Where tour events, snapshots and the latest pose live: in this process (with a SQLite state file) or in Redis."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from viewer.tours.session import TourInfo, TourState

LOG_LENGTH = 1000  # events kept per tour for replay (docs/tour-protocol.md, "event")
POSE_TTL_MS = 60_000

log = logging.getLogger("vitrina.tours.store")

EventSink = Callable[[list[dict[str, Any]]], Awaitable[None]]
PoseSink = Callable[[str, str], None]  # (tour key, pose JSON)

RETRY_FIRST_S = 0.1  # a lost subscription or stream read is retried after this, doubling up to RETRY_MAX_S
RETRY_MAX_S = 2.0  # short: a tour's events wait for the retry; a few tasks per tour retrying cost Redis nothing
DOWN_PUBLISH_INTERVAL_S = 1.0  # while the store is down, at most one pose publish is tried per this interval


class StoreUnavailable(Exception):
    """The shared store cannot be reached: the command is refused with `unavailable`, and the client may retry."""


def retry_delay(attempt: int) -> float:
    """Backoff before retry number `attempt` (1, 2, …): 0.1 s doubling, capped at RETRY_MAX_S."""
    return float(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempt - 1)))


class TourStore(Protocol):
    """The hub's view of persistence. `append` is compare-and-set on the tour's last seq."""

    shared: bool

    def health(self) -> dict[str, Any]: ...

    async def head_seq(self, info: TourInfo) -> int | None: ...

    async def reseed(self, state: TourState) -> bool: ...

    async def load(self, info: TourInfo) -> TourState: ...

    async def append(self, state: TourState, events: list[dict[str, Any]]) -> bool: ...

    async def events_after(self, info: TourInfo, seq: int, upto: int) -> list[dict[str, Any]] | None: ...

    async def publish_pose(self, info: TourInfo, pose_text: str) -> None: ...

    async def latest_pose(self, info: TourInfo) -> dict[str, Any] | None: ...

    async def follow(self, info: TourInfo, last_seq: Callable[[], int], sink: EventSink) -> None: ...

    async def watch_poses(self, info: TourInfo, sink: PoseSink) -> None: ...

    async def claim(self, info: TourInfo, member_id: str) -> None: ...

    async def reclaim(self, info: TourInfo, member_ids: list[str]) -> None: ...

    async def announce_join(self, info: TourInfo, member_id: str) -> None: ...

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]: ...

    async def close(self) -> None: ...


class StateFileInUse(Exception):
    """Another tour server holds the state file (each process needs its own, or --redis)."""


class StateFile:
    """Every tour's latest snapshot and recent events in one SQLite file, so one process resumes exactly after a
    restart or a crash (stop, gathers, hands, members, seq).

    WAL with synchronous=NORMAL: a commit is in the OS before `append` returns, so a killed process loses nothing;
    a power cut may lose the last moments (fsync at checkpoints only, which keeps a 20-event burst off the disk's
    latency). The file is locked for this process alone.
    """

    def __init__(self, path: Path, log_length: int = LOG_LENGTH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Visitors' display names are in it: private to the service's user (SQLite gives its -wal file the same mode).
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.path = path
        self._log_length = log_length
        self._behind: set[str] = set()  # tours whose last write failed: the file lacks some of their events
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN EXCLUSIVE")  # takes the lock, kept for the process's life (EXCLUSIVE mode)
            self._db.execute("CREATE TABLE IF NOT EXISTS events (tour TEXT NOT NULL, seq INTEGER NOT NULL, "
                             "event TEXT NOT NULL, PRIMARY KEY (tour, seq)) WITHOUT ROWID")
            self._db.execute("CREATE TABLE IF NOT EXISTS snapshots (tour TEXT PRIMARY KEY, seq INTEGER NOT NULL, "
                             "state TEXT NOT NULL)")
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._db.close()
            if "locked" in str(error):
                raise StateFileInUse(f"{path} is used by another tour server") from None
            raise

    def load(self, info: TourInfo) -> tuple[TourState, list[dict[str, Any]]]:
        """The tour as last stored, and the stored events (oldest first) for replay."""
        row = self._db.execute("SELECT state FROM snapshots WHERE tour = ?", (info.key,)).fetchone()
        state = TourState(info) if row is None else TourState.from_snapshot(info, json.loads(row[0]))
        rows = self._db.execute("SELECT event FROM events WHERE tour = ? ORDER BY seq", (info.key,)).fetchall()
        events = [json.loads(text) for (text,) in rows]
        for event in events:
            if event["seq"] > state.seq:
                state.apply(event)
        return state, events

    def append(self, state: TourState, events: list[dict[str, Any]]) -> None:
        """Store events decided on `state` (not yet applied), and a snapshot every SNAPSHOT_EVERY events. Raises
        sqlite3.Error (a full disk); the next append of that tour then writes a snapshot that covers the gap."""
        key = state.info.key
        behind = key in self._behind
        try:
            self._db.execute("BEGIN")
            if behind:  # the stored events have a gap: only events after the snapshot below may stay
                self._db.execute("DELETE FROM events WHERE tour = ?", (key,))
            self._db.executemany("INSERT OR REPLACE INTO events (tour, seq, event) VALUES (?, ?, ?)",
                                 [(key, event["seq"], _json(event)) for event in events])
            if behind or crosses_snapshot(state, events):
                # The state before these events, stored with them: serialising the live state reuses its cached
                # member JSON, where the state after them would need a copy (2000 members: 10× the cost).
                self._db.execute("INSERT OR REPLACE INTO snapshots (tour, seq, state) VALUES (?, ?, ?)",
                                 (key, state.seq, state.snapshot_text(None, 0)))
                self._db.execute("DELETE FROM events WHERE tour = ? AND seq <= ?",
                                 (key, state.seq - self._log_length))
            self._db.execute("COMMIT")
        except BaseException:
            self._behind.add(key)
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._behind.discard(key)

    def close(self) -> None:
        self._db.close()


def _json(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def crosses_snapshot(state: TourState, events: list[dict[str, Any]]) -> bool:
    """Whether appending `events` to `state` crosses a multiple of SNAPSHOT_EVERY (or starts the tour)."""
    return (state.seq + len(events)) // SNAPSHOT_EVERY > state.seq // SNAPSHOT_EVERY or state.seq == 0


def snapshot_due(state: TourState, events: list[dict[str, Any]]) -> str:
    """The snapshot after `events` when they cross a multiple of SNAPSHOT_EVERY (or start the tour), else ""."""
    if crosses_snapshot(state, events):
        after = state.copy()
        for event in events:
            after.apply(event)
        return after.snapshot_text(None, 0)
    return ""


class MemoryStore:
    """One process holds every tour: the event log is a bounded deque per tour, appends always succeed.
    With a StateFile, every append is also written there, and tours are loaded from it."""

    shared = False

    def __init__(self, log_length: int = LOG_LENGTH, state_file: StateFile | None = None) -> None:
        self._logs: dict[str, collections.deque[dict[str, Any]]] = {}
        self._poses: dict[str, dict[str, Any]] = {}
        self._log_length = log_length
        self._file = state_file
        self.up = True  # False while the state file cannot be written
        self.file_failures = 0

    def health(self) -> dict[str, Any]:
        if self._file is None:
            return {"backend": "memory", "up": True}
        return {"backend": "sqlite", "up": self.up, "failures": {"state_file": self.file_failures}}

    async def head_seq(self, info: TourInfo) -> int | None:
        return None  # nobody else writes: this process's replica is the tour

    async def reseed(self, state: TourState) -> bool:
        return False

    async def load(self, info: TourInfo) -> TourState:
        if self._file is None:
            return TourState(info)
        state, events = self._file.load(info)
        self._logs[info.key] = collections.deque(events, maxlen=self._log_length)
        return state

    async def append(self, state: TourState, events: list[dict[str, Any]]) -> bool:
        if self._file is not None:
            self._write_through(state, events)
        log_ = self._logs.setdefault(state.info.key, collections.deque(maxlen=self._log_length))
        log_.extend(events)
        return True

    def _write_through(self, state: TourState, events: list[dict[str, Any]]) -> None:
        """A state file that cannot be written (a full disk) must not stop the tours: they go on in memory, the
        outage is logged once and shown in /healthz, and the file catches up with a snapshot once writable."""
        assert self._file is not None
        try:
            self._file.append(state, events)
        except sqlite3.Error as error:
            self.file_failures += 1
            if self.up:
                log.error("cannot write the tour state file %s: %s; tours go on in memory", self._file.path, error)
            self.up = False
            return
        if not self.up:
            log.warning("the tour state file %s is written again", self._file.path)
        self.up = True

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

    async def reclaim(self, info: TourInfo, member_ids: list[str]) -> None:
        return None

    async def announce_join(self, info: TourInfo, member_id: str) -> None:
        return None  # one process: the server replaces an older connection itself

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]:
        return []

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()


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

# Redis holds less than this process (it restarted without persistence, or lost its last writes): write our replica
# as the tour's state. ARGV: our seq, our snapshot. The stream's remains are deleted, since they would not join up
# with the events appended next (events_after would mistake a gap for a full run).
_RESEED_SCRIPT = """
local last = tonumber(redis.call('HGET', KEYS[2], 'seq') or '-1')
if last >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'state', ARGV[2], 'state_seq', ARGV[1])
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
    """Tours shared by several processes: a Redis Stream per tour (ids are `<seq>-0`), a state hash, pose pub/sub.

    Redis may restart or vanish for a while: every call that fails raises StoreUnavailable (poses are dropped
    instead), loops that follow Redis retry with backoff, and `health()` says what is down for /healthz and /metrics.
    """

    shared = True

    def __init__(self, url: str, origin: str, log_length: int = LOG_LENGTH,
                 clock: Callable[[], float] = time.monotonic) -> None:
        try:
            import redis.asyncio as redis_asyncio
            import redis.exceptions as redis_exceptions
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff
        except ModuleNotFoundError:
            raise SystemExit("--redis needs the redis client: pip install vitrina[redis]") from None
        # After a Redis restart every pooled connection is dead; without a retry on a fresh connection, each one
        # failed one command (a visitor's hello refused with `unavailable` although Redis was back). Timeouts bound
        # how long a pose or a command can wait on a Redis that stopped answering; reads outlast XREAD's 2 s block.
        self._redis = redis_asyncio.from_url(
            url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=5.0,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            retry_on_error=[redis_exceptions.ConnectionError, redis_exceptions.TimeoutError])
        self._failures: tuple[type[BaseException], ...] = (redis_exceptions.RedisError, OSError)
        self._append = self._redis.register_script(_APPEND_SCRIPT)
        self._reseed = self._redis.register_script(_RESEED_SCRIPT)
        self._origin = origin  # this process's id, so it can skip its own poses coming back through pub/sub
        self._log_length = log_length
        self._clock = clock
        self.up = True
        self.failures: collections.Counter[str] = collections.Counter()  # by operation
        self.poses_unpublished = 0
        self.resubscribes = 0
        self.reseeds = 0
        self.reconnects = 0  # outages survived: Redis may have come back without what we wrote before
        self._last_publish_try = -1e9
        self._pose_subscriptions: dict[str, bool] = {}  # tour key → subscribed right now

    # ------------------------------------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        subscribed = sum(self._pose_subscriptions.values())
        return {"backend": "redis", "up": self.up, "pose_subscriptions": subscribed,
                "pose_subscriptions_down": len(self._pose_subscriptions) - subscribed,
                "resubscribes": self.resubscribes, "reseeds": self.reseeds, "reconnects": self.reconnects,
                "poses_unpublished": self.poses_unpublished, "failures": dict(self.failures)}

    def _failed(self, operation: str, error: BaseException) -> None:
        self.failures[operation] += 1
        if self.up:
            log.warning("redis is unavailable (%s failed: %s)", operation, error)
        self.up = False

    def _succeeded(self) -> None:
        if not self.up:
            log.warning("redis is reachable again")
            self.reconnects += 1
        self.up = True

    @contextlib.contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        """Around one Redis call: a failure becomes StoreUnavailable, and both outcomes update `up`."""
        try:
            yield
        except self._failures as error:
            self._failed(operation, error)
            raise StoreUnavailable(f"redis {operation} failed: {error}") from error
        self._succeeded()

    async def ping(self) -> None:
        with self._guard("ping"):
            await self._redis.ping()

    async def heartbeat(self) -> None:
        """Keep this process's liveness key fresh until cancelled; others reap our members once it expires."""
        while True:
            with contextlib.suppress(StoreUnavailable), self._guard("heartbeat"):
                await self._redis.set(_process_key(self._origin), "1", px=PROCESS_TTL_MS)
            await asyncio.sleep(PROCESS_TTL_MS / 3000)

    async def claim(self, info: TourInfo, member_id: str) -> None:
        """Record that this process holds the member's connection."""
        with self._guard("claim"):
            await self._redis.hset(_owners_key(info), member_id, self._origin)  # type: ignore[misc]

    async def reclaim(self, info: TourInfo, member_ids: list[str]) -> None:
        """Claim every member connected here at once (after an outage: Redis may have lost the owners hash). The
        liveness key is renewed first, so no other process takes these members for orphans of a dead process."""
        if member_ids:
            with self._guard("claim"):
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(_process_key(self._origin), "1", px=PROCESS_TTL_MS)
                    pipe.hset(_owners_key(info), mapping=dict.fromkeys(member_ids, self._origin))
                    await pipe.execute()

    async def forget(self, info: TourInfo, member_ids: list[str], everyone: bool = False) -> None:
        """Members who left (or the whole tour, once ended) no longer need an owner entry."""
        with self._guard("forget"):
            if everyone:
                await self._redis.delete(_owners_key(info))
            elif member_ids:
                await self._redis.hdel(_owners_key(info), *member_ids)  # type: ignore[misc]

    async def announce_join(self, info: TourInfo, member_id: str) -> None:
        """Tell the other processes this member connected here, so one holding an older connection closes it."""
        with self._guard("announce"):
            await self._redis.publish(_keys(info)[2], f"{self._origin}|{JOINED_PREFIX}{member_id}")

    async def orphans(self, info: TourInfo, online: list[str]) -> list[str]:
        """Members marked online whose owning process is gone (killed without a clean close)."""
        if not online:
            return []
        with self._guard("orphans"):
            owners: list[Any] = await self._redis.hmget(_owners_key(info), online)  # type: ignore[misc]
            candidates = {owner for owner in owners if owner and owner != self._origin}
            if not candidates:
                return []
            alive = {owner for owner in candidates if await self._redis.exists(_process_key(owner))}
        return [member for member, owner in zip(online, owners, strict=True)
                if owner and owner != self._origin and owner not in alive]

    async def head_seq(self, info: TourInfo) -> int | None:
        """The last seq Redis holds for the tour, or None when its state key is missing."""
        with self._guard("head"):
            seq = await self._redis.hget(_keys(info)[1], "seq")  # type: ignore[misc]
        return None if seq is None else int(seq)

    async def reseed(self, state: TourState) -> bool:
        """Write this replica as the tour's state if Redis holds an older one (or none); True if it was written."""
        events_key, state_key, _, _ = _keys(state.info)
        with self._guard("reseed"):
            done = await self._reseed(keys=[events_key, state_key], args=[state.seq, state.snapshot_text(None, 0)])
        if done:
            self.reseeds += 1
            log.warning("tour %s: redis had lost its state; re-published ours at seq %d", state.info.key, state.seq)
        return bool(done)

    async def load(self, info: TourInfo) -> TourState:
        with self._guard("load"):
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
        texts = [_json(event) for event in events]
        snapshot = snapshot_due(state, events)
        with self._guard("append"):
            done = await self._append(keys=[events_key, state_key],
                                      args=[state.seq, self._log_length, snapshot, *texts])
        if done:
            await self._forget_leavers(state.info, events)
        return bool(done)

    async def _forget_leavers(self, info: TourInfo, events: list[dict[str, Any]]) -> None:
        # Without this the owners hash kept every member a tour ever had.
        ended = any(event["kind"] == "tour_ended" for event in events)
        left = [event["member"] for event in events if event["kind"] == "member_left"]
        if ended or left:
            with contextlib.suppress(StoreUnavailable):  # the event is published; a stale owner entry is harmless
                await self.forget(info, left, everyone=ended)

    async def events_after(self, info: TourInfo, seq: int, upto: int) -> list[dict[str, Any]] | None:
        if seq >= upto:
            return [] if seq == upto else None
        with self._guard("events_after"):
            entries: Any = await self._redis.xrange(_keys(info)[0], f"{seq + 1}-0", f"{upto}-0")
        events = [json.loads(fields["e"]) for _, fields in entries]
        if not events or events[0]["seq"] != seq + 1 or events[-1]["seq"] != upto:
            return None  # trimmed away: the caller falls back to a snapshot
        return events

    async def publish_pose(self, info: TourInfo, pose_text: str) -> None:
        """Share a pose with the other processes; poses are lossy, so a failure is counted and dropped."""
        now = self._clock()
        if not self.up and now - self._last_publish_try < DOWN_PUBLISH_INTERVAL_S:
            self.poses_unpublished += 1  # do not make every pose of a 20 Hz guide wait for a dead Redis
            return
        self._last_publish_try = now
        _, _, channel, pose_key = _keys(info)
        try:
            with self._guard("publish_pose"):
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(pose_key, pose_text, px=POSE_TTL_MS)
                    pipe.publish(channel, f"{self._origin}|{pose_text}")
                    await pipe.execute()
        except StoreUnavailable:
            self.poses_unpublished += 1

    async def latest_pose(self, info: TourInfo) -> dict[str, Any] | None:
        with self._guard("latest_pose"):
            text = await self._redis.get(_keys(info)[3])
        return json.loads(text) if text else None

    async def follow(self, info: TourInfo, last_seq: Callable[[], int], sink: EventSink) -> None:
        """Deliver every event other processes append, in order, until cancelled (XREAD BLOCK)."""
        events_key = _keys(info)[0]
        failures = 0
        while True:
            try:
                with self._guard("xread"):
                    reply: Any = await self._redis.xread({events_key: f"{last_seq()}-0"}, block=2000, count=200)
                for _, entries in reply or []:
                    await sink([json.loads(fields["e"]) for _, fields in entries])
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a Redis restart (or a bug in one batch) must not end the tour: retry
                failures += 1
                if not isinstance(error, StoreUnavailable):
                    log.exception("following %s failed", events_key)
                await asyncio.sleep(retry_delay(failures))

    async def watch_poses(self, info: TourInfo, sink: PoseSink) -> None:
        """Hand other processes' poses to `sink` until cancelled; a lost subscription is renewed with backoff."""
        channel = _keys(info)[2]
        prefix = f"{self._origin}|"
        failures = 0
        try:
            while True:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                try:
                    with self._guard("subscribe"):
                        await pubsub.subscribe(channel)
                    self._pose_subscriptions[info.key] = True
                    if failures:
                        self.resubscribes += 1
                        log.warning("pose subscription %s renewed after %d failed attempts", channel, failures)
                        failures = 0
                    while True:
                        with self._guard("subscribe"):
                            message = await pubsub.get_message(timeout=1.0)
                        if message is None or not isinstance(message.get("data"), str):
                            continue
                        origin_and_text: str = message["data"]
                        if not origin_and_text.startswith(prefix):
                            sink(info.key, origin_and_text.partition("|")[2])
                except StoreUnavailable as error:
                    self._pose_subscriptions[info.key] = False
                    failures += 1
                    delay = retry_delay(failures)
                    log.warning("pose subscription %s lost (%s); retry %d in %.1f s", channel, error, failures, delay)
                    await asyncio.sleep(delay)
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
        finally:
            self._pose_subscriptions.pop(info.key, None)

    async def close(self) -> None:
        await self._redis.aclose()
