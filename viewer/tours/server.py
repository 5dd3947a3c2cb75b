"""The websockets adapter: connections, limits, fan-out, HTTP health and metrics, shutdown (rules live in session.py)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import hashlib
import inspect
import ipaddress
import json
import logging
import math
import os
import resource
import secrets
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from viewer.tours import loop as event_loop
from viewer.tours import protocol as p
from viewer.tours import tokens
from viewer.tours.clock import Clock, SystemClock
from viewer.tours.metrics import CONTENT_TYPE, Metrics
from viewer.tours.session import Member, TourFull, TourInfo, TourState, visitor_concerned
from viewer.tours.store import (
    JOINED_PREFIX,
    MemoryStore,
    RedisStore,
    StateFile,
    StateFileInUse,
    StoreUnavailable,
    TourStore,
    retry_delay,
)

log = logging.getLogger("vitrina.tours")

HttpResult = tuple[int, dict[str, str], bytes] | None
Entry = TypeVar("Entry")
HttpHandler = Callable[[str, Headers], HttpResult | Awaitable[HttpResult]]

# A pose waits in the connection's one-slot mailbox once this much is already queued in the kernel-side buffer.
POSE_BACKLOG_BYTES = 64 * 1024
REAP_INTERVAL_S = 2.0
POSE_BURST = 10.0  # poses a guide may send back to back (jitter, a stalled frame) before the pose_hz cap applies
AUTH_FORGET_S = 600.0  # failed hellos older than this no longer count towards a source's backoff
HOLD_PER_SOURCE = 200  # connections held unread at accept per source told to wait (hold_at_accept); more are closed
HOLD_MAX_S = 5.0
SOURCE_TABLE_SIZE = 4096  # entries a per-source table keeps before it forgets the stale ones


@dataclass(frozen=True)
class Limits:
    """Per-connection and per-tour limits (docs/tour-protocol.md, "Errors and limits")."""

    max_message_bytes: int = p.MAX_MESSAGE_BYTES
    rate_per_s: float = 40.0
    burst: float = 80.0
    # Bytes as well as messages: 40 small messages and 40 frames of 4 KiB are not the same work. A guide's poses
    # at 30 Hz are about 8 KB/s.
    bytes_per_s: float = 32 * 1024
    bytes_burst: float = 64 * 1024
    # Presence changes (follow, hand, device) go to every guide: a visitor needs a few a minute, not 40 a second.
    presence_per_s: float = 2.0
    presence_burst: float = 10.0
    room_cap: int = 2500  # online visitors; guides are always admitted
    # Per source address (the client's, or the rightmost X-Forwarded-For entry from a trusted proxy). Museum Wi-Fi
    # puts a whole building behind one NAT address, so the defaults allow a large museum's worth of visitors.
    source_connections: int = 1000
    source_members: int = 1000
    # New websocket connections per source address, counted before any handshake work, so that a flood of joins
    # or code guesses costs an HTTP parse and a 429, and a source that comes back before its Retry-After is dropped
    # at TCP accept unparsed. A whole school class scanning the QR code at once behind the museum's NAT fits in
    # the burst; so does a Wi-Fi blip that reconnects a few hundred visitors (their clients back off with jitter).
    source_connects_per_s: float = 20.0
    source_connects_burst: float = 300.0
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    # Connections held unread at accept (sources back before their Retry-After), from all sources together: each
    # holds a file descriptor, so past this many the next early returners are reset at once instead.
    held_connections: int = 1000
    # Failed hellos (unknown code, bad token) a source may make in AUTH_FORGET_S before it must wait; the wait
    # doubles with each further failure up to auth_backoff_max_s.
    auth_free_failures: int = 10
    auth_backoff_max_s: float = 60.0
    join_timeout_s: float = 10.0
    grace_s: float = 120.0
    strikes: int = 20
    strike_window_s: float = 10.0
    ping_interval_s: float | None = 20.0
    pose_hz: float = 30.0

    def public(self) -> dict[str, Any]:
        return {"max_message_bytes": self.max_message_bytes, "rate_per_s": self.rate_per_s,
                "burst": self.burst, "bytes_per_s": self.bytes_per_s, "bytes_burst": self.bytes_burst,
                "presence_per_s": self.presence_per_s, "pose_hz": self.pose_hz}


@dataclass
class Bucket:
    """A token bucket: `take(cost)` succeeds while the tokens earned at `rate` per second (up to `burst`) last."""

    rate: float
    burst: float
    clock: Clock
    tokens: float = field(init=False)  # starts full
    refilled_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.refilled_at = self.clock.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait_s(self, cost: float = 1.0) -> float:
        """Seconds until `take(cost)` can succeed, as of the last take."""
        return max(0.0, (cost - self.tokens) / self.rate)


class SourceTable(dict[str, Entry]):
    """A table keyed by source address. Every address seen adds an entry (IPv6 makes addresses cheap), so once it
    holds more than `size` entries, adding a new one first forgets those `stale(entry, now)` says no longer matter; the next
    sweep then waits until the table has doubled, so a flood of live sources costs one sweep per doubling, not one
    per new address."""

    def __init__(self, clock: Clock, stale: Callable[[Entry, float], bool], size: int = SOURCE_TABLE_SIZE) -> None:
        super().__init__()
        self.clock, self.stale, self.size = clock, stale, size
        self.sweep_at = size

    def __setitem__(self, source: str, entry: Entry) -> None:
        if source not in self and len(self) > self.sweep_at:
            now = self.clock.monotonic()
            for gone in [key for key, value in self.items() if self.stale(value, now)]:
                del self[gone]
            self.sweep_at = max(self.size, 2 * len(self))
        super().__setitem__(source, entry)


@dataclass
class AuthBackoff:
    """One source address's recent failed hellos and until when it must wait before the next is even checked."""

    failures: collections.deque[float] = field(default_factory=collections.deque)
    blocked_until: float = 0.0


class AcceptGate(asyncio.Protocol):
    """The first protocol of every accepted TCP connection. It asks `server.hold_at_accept(peer address)` before
    websockets builds anything for the connection: None hands the connection to a websockets ServerConnection (the
    HTTP handshake follows); a number of seconds keeps it unread that long and then resets it (0: at once), with
    no websocket connection, no handler task and no HTTP parse, which is what makes refusing a flood cheap."""

    def __init__(self, server: TourServer, build: Callable[[], ServerConnection]) -> None:
        self.server = server
        self.build = build

    @classmethod
    def factory(cls, server: TourServer) -> Callable[..., ServerConnection]:
        """For serve(create_connection=...): websockets passes its protocol and settings, and gets the gate."""
        def create(protocol: ServerProtocol, ws_server: Server, **settings: Any) -> ServerConnection:
            gate = cls(server, lambda: ServerConnection(protocol, ws_server, **settings))
            return cast(ServerConnection, gate)  # only the event loop sees it, as an asyncio protocol
        return create

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)
        peer = stream.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        held = self.server.hold_at_accept(address) if peer else None
        if held is None:
            connection = self.build()
            stream.set_protocol(connection)
            connection.connection_made(stream)
        elif held > 0:
            stream.pause_reading()
            # One timer both drops the connection and frees its place among the held.
            asyncio.get_running_loop().call_later(held, self.server.release_held, stream, address)
        else:
            stream.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        pass  # a held connection that the client gave up on; release_held still comes at its time


# Pending TCP connections the kernel queues before accept (capped by net.core.somaxconn).
LISTEN_BACKLOG = 1024


def text_frame(text: str) -> bytes:
    """`text` as one server-to-client websocket text frame, ready for any connection's transport: server frames are
    unmasked, and serve_tours turns compression off, so the bytes are the same for every connection."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (each connection is a file descriptor); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, hard, error)
    return soft


class Catalog:
    """The tours of a built site, read from SITE/<exhibit>/exhibit.json; rescanned when a lookup misses."""

    def __init__(self, site_dir: Path, secret: bytes, clock: Clock | None = None) -> None:
        self.site_dir = site_dir
        self.secret = secret
        self.clock = clock or SystemClock()
        self.tours: dict[tuple[str, str], TourInfo] = {}
        self._scanned_at = -1.0
        self.scan()

    def scan(self) -> None:
        tours: dict[tuple[str, str], TourInfo] = {}
        for manifest in sorted(self.site_dir.glob("*/exhibit.json")):
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                exhibit = data["exhibit"]["id"]
                for tour in data.get("tours", []):
                    tours[(exhibit, tour["id"])] = TourInfo(exhibit, tour["id"], len(tour.get("stops", [])))
            except (OSError, ValueError, KeyError, TypeError) as error:
                log.warning("skipping %s: %s", manifest, error)
        self.tours = tours
        self._scanned_at = self.clock.monotonic()

    def _rescan_if_stale(self) -> None:
        # `vitrina serve` rebuilds the site under us; a miss may just mean a new tour. At most once a second.
        if self.clock.monotonic() - self._scanned_at > 1.0:
            self.scan()

    def find(self, exhibit: str, tour: str) -> TourInfo | None:
        if (exhibit, tour) not in self.tours:
            self._rescan_if_stale()
        return self.tours.get((exhibit, tour))

    def find_code(self, code: str) -> tuple[TourInfo, float] | None:
        """The tour a visitor code opens and when its run ends; None for a wrong code or one whose run is over."""
        code = tokens.normalise_code(code)
        run_hour = tokens.code_run_hour(code, self.clock.time())
        if run_hour is None:
            return None
        for attempt in range(2):
            for info in self.tours.values():
                if tokens.code_signs(self.secret, code, info.exhibit, info.tour, run_hour):
                    return info, run_hour * 3600.0
            if attempt == 0:
                self._rescan_if_stale()
        return None


@dataclass(eq=False)
class Peer:
    """One joined connection: its member, its token bucket, its strikes and its one-slot pose mailbox."""

    connection: ServerConnection
    messages: Bucket
    bytes: Bucket
    poses: Bucket
    presence: Bucket
    source: str = ""
    member_id: str = ""
    role: str = "visitor"
    hub: TourHub | None = None
    expires: float = math.inf  # wall-clock end of the credentials this connection joined with
    strikes: collections.deque[float] = field(default_factory=collections.deque)
    last_rate_reply: float = -math.inf
    pose_slot: str | None = None
    pose_drainer: asyncio.Task[None] | None = None
    replaced: bool = False
    removed: bool = False  # closed for policy: the member leaves at once instead of lingering for the grace
    closing: bool = False  # the server has decided to close this connection (left, ended, replaced)

    def write(self, text: str) -> None:
        """Queue a frame without waiting (like websockets.broadcast for one connection)."""
        broadcast((self.connection,), text)

    def keeping_up(self) -> bool:
        return self.pose_drainer is None and self.connection.transport.get_write_buffer_size() < POSE_BACKLOG_BYTES

    def send_pose(self, text: str, metrics: Metrics) -> None:
        if self.keeping_up():
            self.write(text)
            metrics.counters["poses_out"] += 1
        else:
            self.hold_pose(text, metrics)

    def hold_pose(self, text: str, metrics: Metrics) -> None:
        if self.pose_drainer is None:
            self.pose_drainer = asyncio.create_task(self._drain_poses(metrics))
        if self.pose_slot is not None:
            metrics.counters["poses_dropped"] += 1
        self.pose_slot = text  # a slow client keeps only the newest pose

    async def _drain_poses(self, metrics: Metrics) -> None:
        try:
            while self.pose_slot is not None:
                text, self.pose_slot = self.pose_slot, None
                await self.connection.send(text)  # returns once the buffer is below websockets' write limit
                metrics.counters["poses_out"] += 1
        except ConnectionClosed:
            pass
        finally:
            self.pose_drainer = None


class TourHub:
    """One tour in this process: the state replica, the peers connected here, and the only place events are applied."""

    def __init__(self, server: TourServer, info: TourInfo, state: TourState) -> None:
        self.server = server
        self.info = info
        self.state = state
        self.peers: dict[str, Peer] = {}
        self.guides: dict[str, Peer] = {}  # the subset of peers that are guides: they also get visitor presence
        self.lock = asyncio.Lock()
        self.latest_pose: dict[str, Any] | None = None
        self.grace_timers: dict[str, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.pending_pose: tuple[str, str] | None = None  # (text, sender) of the newest pose not yet fanned out
        self.reconnects_seen = server.store.health().get("reconnects", 0)

    def start_following(self) -> None:
        store = self.server.store
        if store.shared:
            self.tasks.append(asyncio.create_task(store.follow(self.info, lambda: self.state.seq, self.receive)))
            self.tasks.append(asyncio.create_task(store.watch_poses(self.info, self.server.remote_pose)))
            self.tasks.append(asyncio.create_task(self._reap_orphans()))

    async def _reap_orphans(self) -> None:
        """Members whose process died never got `member_away`; mark them away here and start their grace.
        Also notices a store that lost the tour while no event was published (see check_store)."""
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            try:
                await self.check_store()
                online = [m.id for m in self.state.members.values() if m.online and m.id not in self.peers]
                for member_id in await self.server.store.orphans(self.info, online):
                    await self.commit(functools.partial(TourState.decide_away, member_id=member_id))
                    if member_id in self.state.members and not self.state.members[member_id].online:
                        self.schedule_grace(member_id)
            except asyncio.CancelledError:
                raise
            except StoreUnavailable:
                pass  # the store logs the outage once; try again next round
            except Exception:
                log.exception("reaping orphans of %s failed", self.info.key)

    async def check_store(self) -> None:
        """A store behind our replica (Redis restarted empty, or without its last writes) gets our state back,
        instead of the tour restarting from seq 0 for everyone. After an outage, our members are claimed again,
        so that they are reaped if this process dies later."""
        store = self.server.store
        head = await store.head_seq(self.info)
        if self.state.seq > (head or 0):
            async with self.lock:
                await store.reseed(self.state)
        reconnects = store.health().get("reconnects", 0)
        if reconnects != self.reconnects_seen:
            await store.reclaim(self.info, list(self.peers))
            self.reconnects_seen = reconnects

    async def receive(self, events: list[dict[str, Any]]) -> None:
        """Events appended by other processes (Redis): apply the new ones in order."""
        async with self.lock:
            for event in events:
                if event["seq"] <= self.state.seq:
                    continue
                if event["seq"] != self.state.seq + 1:
                    await self._catch_up()
                    continue
                self._apply(event)
                if event["kind"] == "member_away" and event["member"] in self.peers:
                    self.server.spawn(self._still_here(event["member"]), "reclaiming a member")

    async def _still_here(self, member_id: str) -> None:
        """Another process marked away a member connected here: it took this process for dead (its liveness key
        had expired, e.g. while Redis restarted). Claim the member again and say it is back."""

        def back_if_still_here(state: TourState) -> list[dict[str, Any]]:
            member, peer = state.members.get(member_id), self.peers.get(member_id)
            if member is None or member.online or peer is None or peer.closing or peer.replaced:
                return []
            return state.decide_join(member, self.server.limits.room_cap)

        try:
            await self.server.store.claim(self.info, member_id)
            await self.commit(back_if_still_here)
        except StoreUnavailable:
            log.warning("tour %s: %s is connected here but was marked away", self.info.key, member_id)

    async def _catch_up(self) -> None:
        """Apply everything the store has beyond our seq; if the log was trimmed, reload and re-snapshot everyone."""
        store = self.server.store
        fresh = await store.load(self.info)
        if fresh.seq < self.state.seq:  # the store lost events we hold: restore it rather than regress
            await store.reseed(self.state)
            return
        missed = await store.events_after(self.info, self.state.seq, fresh.seq)
        if missed is None:
            self.state = fresh
            for peer in self.peers.values():
                peer.write(fresh.snapshot_text(self.latest_pose, self.server.now_ms(), fresh.members.get(peer.member_id)))
            return
        for event in missed:
            if event["seq"] == self.state.seq + 1:
                self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        self.state.apply(event)
        self.server.metrics.counters["events"] += 1
        text = p.dump(event)
        concerned = visitor_concerned(event)
        if concerned is None:
            broadcast([peer.connection for peer in self.peers.values()], text)
        else:
            targets = [peer.connection for peer in self.guides.values()]
            own = self.peers.get(concerned)
            if own is not None and own.role != "guide":
                targets.append(own.connection)
            broadcast(targets, text)
        if event["kind"] == "tour_ended":
            for peer in list(self.peers.values()):
                self.server.close_later(peer, p.CLOSE_TOUR_ENDED, "tour ended")
        elif event["kind"] == "member_left":
            gone = self.peers.get(event["member"])
            if gone is not None:
                self.server.close_later(gone, p.CLOSE_NORMAL, "left the tour")

    async def commit(self, decide: Callable[[TourState], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Decide on the current state and publish; on a conflict with another process, catch up and decide again."""
        async with self.lock:
            return await self._commit_locked(decide)

    async def _commit_locked(self, decide: Callable[[TourState], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        for _ in range(20):
            drafts = decide(self.state)
            if not drafts:
                return []
            events = self.state.number(drafts, self.server.now_ms())
            if await self.server.store.append(self.state, events):
                for event in events:
                    self._apply(event)
                return events
            await self._catch_up()
        raise RuntimeError(f"tour {self.info.key}: could not append after 20 conflicts")

    def fan_out_pose(self, text: str, sender: str | None) -> None:
        """The hot path (one pass per pose over every peer): the frame is serialized once and written straight to
        each transport that keeps up. websockets.broadcast would build and serialize a frame per connection through
        its protocol object, which cost more Python time per delivery than the send itself."""
        metrics = self.server.metrics
        frame = text_frame(text)
        delivered = 0
        for member_id, peer in self.peers.items():
            if member_id == sender:
                continue
            if peer.keeping_up():
                connection = peer.connection
                if connection.protocol.state is State.OPEN:  # as broadcast: nothing after our close frame
                    connection.transport.write(frame)
                    delivered += 1
            else:
                peer.hold_pose(text, metrics)
        metrics.counters["poses_out"] += delivered

    def offer_pose(self, text: str, sender: str) -> None:
        """Fan a guide's pose out on the next loop turn. When the loop is saturated, the guide's handler reads
        several queued poses back to back before that turn comes, and only the newest goes out."""
        if self.pending_pose is None:
            asyncio.get_running_loop().call_soon(self._flush_pose)
        else:
            self.server.metrics.counters["poses_dropped"] += 1
        self.pending_pose = (text, sender)

    def _flush_pose(self) -> None:
        if self.pending_pose is None:
            return
        (text, sender), self.pending_pose = self.pending_pose, None
        self.fan_out_pose(text, sender)
        if self.server.store.shared:
            self.server.spawn(self.server.store.publish_pose(self.info, text), "publishing a pose")

    def schedule_grace(self, member_id: str, mark_away: bool = False) -> None:
        self.cancel_grace(member_id)
        self.grace_timers[member_id] = asyncio.create_task(self._expire(member_id, mark_away))

    def cancel_grace(self, member_id: str) -> None:
        timer = self.grace_timers.pop(member_id, None)
        if timer is not None:
            timer.cancel()

    async def _expire(self, member_id: str, mark_away: bool) -> None:
        if mark_away:
            await self._commit_when_possible(functools.partial(TourState.decide_away, member_id=member_id))
        await self.server.clock.sleep(self.server.limits.grace_s)
        self.grace_timers.pop(member_id, None)

        def leave_if_still_away(state: TourState) -> list[dict[str, Any]]:
            member = state.members.get(member_id)
            if member is None or member.online:
                return []
            return state.decide_leave(member_id, "timeout")

        await self._commit_when_possible(leave_if_still_away)

    async def _commit_when_possible(self, decide: Callable[[TourState], list[dict[str, Any]]]) -> None:
        """Commit, retrying with backoff while the store is unavailable (for timers, which have nobody to tell)."""
        failures = 0
        while True:
            try:
                await self.commit(decide)
                return
            except StoreUnavailable:
                failures += 1
                await self.server.clock.sleep(retry_delay(failures))


class TourServer:
    """Everything the websockets handler needs: the site catalog, the store, the hubs and the limits."""

    def __init__(self, site_dir: Path, secret: bytes, store: TourStore, limits: Limits,
                 origins: list[str] | None, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.catalog = Catalog(site_dir, secret, self.clock)
        self.secret = secret
        self.store = store
        self.limits = limits
        self.origins = [origin.rstrip("/") for origin in origins or []]
        self.hubs: dict[str, TourHub] = {}
        self._hub_creation: dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self.peers: set[Peer] = set()
        self.metrics = Metrics()
        self.closing = False
        self.http_handler: HttpHandler | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.source_connections: collections.Counter[str] = collections.Counter()
        self.source_members: collections.Counter[str] = collections.Counter()
        clock = self.clock
        self.auth_backoff: SourceTable[AuthBackoff] = SourceTable(clock, lambda backoff, now: (
            backoff.blocked_until < now and (not backoff.failures or backoff.failures[-1] < now - AUTH_FORGET_S)))
        refill_s = limits.source_connects_burst / limits.source_connects_per_s
        # A bucket idle for longer than it takes to refill is full again: forgetting it changes nothing.
        self.connect_buckets: SourceTable[Bucket] = SourceTable(clock, lambda bucket, now: (
            now - bucket.refilled_at > refill_s))
        # Sources told to come back later (429 with Retry-After), and when: until then a direct connection from one
        # of them is dropped at TCP accept (see AcceptGate), which costs far less than parsing it to refuse it.
        self.told_to_wait: SourceTable[float] = SourceTable(clock, lambda until, now: until <= now)
        self.held: collections.Counter[str] = collections.Counter()
        self.held_total = 0
        # As the kernel writes peer addresses (str of ipaddress is the same canonical form), so that checking one at
        # accept is a set lookup, not an ipaddress parse (a flood's every connection asks).
        self._trusted_proxies = {str(ipaddress.ip_address(address)) for address in limits.trusted_proxies}
        # 64 random bits, and checked against the tour's members: a collision must never take over a member.
        self.new_member_id: Callable[[], str] = lambda: "m" + secrets.token_hex(8)
        self.metrics.gauge("vitrina_tour_connections", "Open websocket connections that have joined a tour.",
                           lambda: len(self.peers))
        self.metrics.gauge("vitrina_tour_members", "Members of tours held by this process (online or within grace).",
                           lambda: sum(len(hub.state.members) for hub in self.hubs.values()))
        self.metrics.gauge("vitrina_tours_active", "Tours with at least one connection in this process.",
                           lambda: sum(1 for hub in self.hubs.values() if hub.peers))
        self.metrics.gauge("vitrina_tour_sources_blocked", "Source addresses waiting out a failed-hello backoff.",
                           lambda: sum(1 for b in self.auth_backoff.values()
                                       if b.blocked_until > self.clock.monotonic()))
        self.metrics.store(self.store.health)

    def now_ms(self) -> int:
        return int(self.clock.time() * 1000)

    def spawn(self, work: Awaitable[Any], what: str) -> None:
        """Run `work` in the background, kept alive until done; a failure is logged, never lost."""
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", what)
        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------------------------------------ HTTP

    def origin_allowed(self, headers: Headers) -> bool:
        origin = headers.get("Origin")
        if origin is None:
            return True  # not a browser; browsers always send Origin on websocket upgrades
        origin = origin.rstrip("/")
        if self.origins:
            return origin in self.origins
        # No allow-list: only a page served from this very address. Host alone proves nothing, because DNS
        # rebinding points an attacker's name at us and then Origin and Host agree; so the host must be an IP
        # literal or localhost, which no foreign DNS answer can stand for.
        netloc = urlsplit(origin).netloc.lower()
        return netloc == headers.get("Host", "").lower() and _is_literal_host(urlsplit(origin).hostname or "")

    def source_of(self, remote_address: Any, headers: Headers) -> str:
        """The client's address: the TCP peer's, or the rightmost X-Forwarded-For entry when the peer is a trusted
        proxy (the entry that proxy added itself; anything left of it the client could have written)."""
        address = str(remote_address[0]) if remote_address else "unknown"
        if address in self._trusted_proxies:
            forwarded = [part.strip() for part in ",".join(headers.get_all("X-Forwarded-For")).split(",")]
            if forwarded and forwarded[-1]:
                return forwarded[-1]
        return address

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == p.PATH:
            if not self.origin_allowed(request.headers):
                self.metrics.counters["origin_refused"] += 1
                return connection.respond(403, "origin not allowed\n")
            source = self.source_of(connection.remote_address, request.headers)
            if "websocket" not in request.headers.get("Upgrade", "").lower():
                return self._explain(connection, request, source)
            if self.closing:
                return connection.respond(503, "restarting\n")
            # Refused before the websocket handshake: a refusal there costs a fraction of one after a hello.
            if (self.source_connections[source] >= self.limits.source_connections
                    or self.source_members[source] >= self.limits.source_members):
                self.metrics.counters["source_refused"] += 1
                return self._too_many(connection, 10.0, "too many connections from your address")
            blocked = self._blocked_for(source)
            if blocked > 0:
                self.metrics.counters["auth_backoff"] += 1
                return self._too_many(connection, blocked, "too many failed attempts from your address; try again later",
                                      source)
            wait = self._connect_wait(source)
            if wait > 0:
                self.metrics.counters["connect_refused"] += 1
                return self._too_many(connection, wait, "too many new connections from your address; slow down", source)
            self.source_connections[source] += 1
            self.spawn(self._release_source(connection, source), "counting connections")
            return None
        if path == "/healthz":
            store = self.store.health()
            degraded = not store["up"] or store.get("pose_subscriptions_down", 0) > 0
            health = json.dumps({"status": "degraded" if degraded else "ok", "tours": len(self.hubs),
                                 "connections": len(self.peers), "store": store})
            return _response(200, {"Content-Type": "application/json"}, (health + "\n").encode())
        if path == "/metrics":
            return _response(200, {"Content-Type": CONTENT_TYPE}, self.metrics.render())
        if self.http_handler is not None:
            result = self.http_handler(request.path, request.headers)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                status, headers, body = result
                return _response(status, headers, body)
        return connection.respond(404, "not found\n")

    def _explain(self, connection: ServerConnection, request: Request, source: str) -> Response:
        """A plain GET of the websocket path: how a browser learns why its websocket failed (it cannot read the
        handshake's 429). An allowed Origin (process_request checked it) may read the answer and its Retry-After."""
        wait = max(self.told_to_wait.get(source, 0.0) - self.clock.monotonic(), self._blocked_for(source))
        response = (self._too_many(connection, wait, "your address must wait before it connects again") if wait > 0
                    else connection.respond(426, "this is the tour websocket; see docs/tour-protocol.md\n"))
        origin = request.headers.get("Origin")
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
            response.headers["Vary"] = "Origin"
        return response

    def _too_many(self, connection: ServerConnection, wait_s: float, message: str, source: str | None = None
                  ) -> Response:
        """HTTP 429 with Retry-After (whole seconds, at least 1). With a `source`, it is also told to wait: a plain
        GET from it learns the wait, and a direct connection from it before then is held at TCP accept."""
        response = connection.respond(429, message + "\n")
        response.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
        if source is not None:
            # The wait the header says, rounded up as it is: a client that honours Retry-After is never held, and
            # a flooder is held for whole seconds rather than for the few milliseconds until its next token (it
            # would come back at once, and each of those returns would cost an accept and an HTTP parse).
            self.told_to_wait[source] = self.clock.monotonic() + max(1, math.ceil(wait_s))
        return response

    def _connect_wait(self, source: str) -> float:
        """Take one new-connection token for `source`: 0 if granted, else the seconds until one is earned."""
        bucket = self.connect_buckets.get(source)
        if bucket is None:
            bucket = self.connect_buckets[source] = Bucket(self.limits.source_connects_per_s,
                                                           self.limits.source_connects_burst, self.clock)
        return 0.0 if bucket.take() else bucket.wait_s()

    def hold_at_accept(self, address: str) -> float | None:
        """For a new TCP connection from `address` that was told to wait (429, Retry-After) and came back early: how
        long to hold it unread before closing it (0: close at once). None: serve it. Holding costs a file descriptor
        and a timer but no CPU, and it slows a flooder that waits for each answer (a join or guessing loop) to a
        few attempts per connection slot per second; past HOLD_PER_SOURCE held connections from the address, or
        limits.held_connections from all, the rest are closed at once. A trusted proxy is never held; the source
        behind it is judged on X-Forwarded-For in process_request. Each held connection ends in release_held."""
        until = self.told_to_wait.get(address)
        if until is None:
            return None
        now = self.clock.monotonic()
        if until <= now:
            del self.told_to_wait[address]
            return None
        if address in self._trusted_proxies:
            return None
        self.metrics.counters["accept_dropped"] += 1
        if self.held[address] >= HOLD_PER_SOURCE or self.held_total >= self.limits.held_connections:
            return 0.0
        self.held[address] += 1
        self.held_total += 1
        return min(HOLD_MAX_S, until - now)

    def release_held(self, transport: asyncio.Transport, address: str) -> None:
        """The end of a hold: reset the connection (no goodbye: it was never read) and free its place."""
        transport.abort()
        self.held_total -= 1
        self.held[address] -= 1
        if self.held[address] <= 0:
            del self.held[address]

    async def _release_source(self, connection: ServerConnection, source: str) -> None:
        try:
            await connection.wait_closed()
        finally:
            self.source_connections[source] -= 1
            if self.source_connections[source] <= 0:
                del self.source_connections[source]

    # ------------------------------------------------------------------------------------------------ websocket

    def _new_peer(self, connection: ServerConnection) -> Peer:
        limits, clock = self.limits, self.clock
        source = self.source_of(connection.remote_address, connection.request.headers if connection.request
                                else Headers())
        return Peer(connection, Bucket(limits.rate_per_s, limits.burst, clock),
                    Bucket(limits.bytes_per_s, limits.bytes_burst, clock), Bucket(limits.pose_hz, POSE_BURST, clock),
                    Bucket(limits.presence_per_s, limits.presence_burst, clock), source=source)

    async def handler(self, connection: ServerConnection) -> None:
        peer = self._new_peer(connection)
        try:
            hub = await self._join(peer)
            if hub is None:
                return
            await self._serve_member(peer, hub)
        except ConnectionClosed:
            pass
        finally:
            await self._leave(peer)

    async def _close(self, peer: Peer, code: int, reason: str) -> None:
        """Close from the peer's own handler, reading on: once a flooder fills websockets' receive queue, reading
        pauses, and the client's answering close frame would wait behind unread frames until the close timeout."""
        self.metrics.closes[code] += 1
        if code == p.CLOSE_POLICY:
            peer.removed = True
        closing = asyncio.create_task(peer.connection.close(code, reason))
        with contextlib.suppress(ConnectionClosed):
            async for _ in peer.connection:
                pass
        await closing

    def close_later(self, peer: Peer, code: int, reason: str) -> None:
        """Close another peer's connection; its own handler keeps reading, so nothing else is needed."""
        peer.closing = True
        self.metrics.closes[code] += 1
        self.spawn(peer.connection.close(code, reason), "closing a connection")

    def _reply_error(self, peer: Peer, code: str, message: str, ref: str | int | None = None) -> None:
        self.metrics.errors[code] += 1
        peer.write(p.dump(p.error(code, message, ref)))

    async def _refuse(self, peer: Peer, code: str, message: str, close_code: int) -> None:
        """Error reply and close. Waits for the close handshake: never call it while holding a tour's lock."""
        self._reply_error(peer, code, message)
        await self._close(peer, close_code, code)

    def _blocked_for(self, source: str) -> float:
        """Seconds this source must still wait before its next hello is checked (0: go ahead)."""
        backoff = self.auth_backoff.get(source)
        return 0.0 if backoff is None else max(0.0, backoff.blocked_until - self.clock.monotonic())

    def _auth_failed(self, source: str) -> None:
        """A failed hello: past the free allowance, each one doubles the source's wait (capped)."""
        now = self.clock.monotonic()
        backoff = self.auth_backoff.get(source)
        if backoff is None:
            backoff = self.auth_backoff[source] = AuthBackoff()
        backoff.failures.append(now)
        while backoff.failures[0] < now - AUTH_FORGET_S:
            backoff.failures.popleft()
        excess = len(backoff.failures) - self.limits.auth_free_failures
        if excess > 0:
            backoff.blocked_until = now + min(self.limits.auth_backoff_max_s, 0.5 * 2.0 ** (excess - 1))

    async def _join(self, peer: Peer) -> TourHub | None:
        connection = peer.connection
        try:
            async with asyncio.timeout(self.limits.join_timeout_s):
                first = await connection.recv()
        except TimeoutError:
            await self._refuse(peer, "join_timeout", "no hello in time", p.CLOSE_JOIN_TIMEOUT)
            return None
        try:
            envelope = p.parse(first)
        except p.ProtocolError as error:
            await self._refuse(peer, error.code, error.message, p.CLOSE_BAD_HELLO)
            return None
        hello = envelope.message
        if not isinstance(hello, p.Hello):
            await self._refuse(peer, "not_joined", "the first message must be hello", p.CLOSE_BAD_HELLO)
            return None
        if hello.version != p.VERSION:
            await self._refuse(peer, "unsupported_version", f"this server speaks version {p.VERSION}",
                               p.CLOSE_BAD_HELLO)
            return None
        wait = self._blocked_for(peer.source)
        if wait > 0:
            self.metrics.counters["auth_backoff"] += 1
            await self._refuse(peer, "slow_down", f"too many failed attempts from your address; try again in "
                               f"{math.ceil(wait)} s", p.CLOSE_UNAUTHORIZED)
            return None
        try:
            info, member, resume_seq, expires = self._credentials(hello)
        except tokens.TokenError as error:
            self._auth_failed(peer.source)
            await self._refuse(peer, "unauthorized", str(error), p.CLOSE_UNAUTHORIZED)
            return None
        if info is None:
            await self._refuse(peer, "unknown_tour", "the site has no such tour", p.CLOSE_UNKNOWN_TOUR)
            return None
        if self.source_members[peer.source] >= self.limits.source_members:
            self.metrics.counters["source_refused"] += 1
            await self._refuse(peer, "source_limit", "too many members from your address", p.CLOSE_SOURCE_LIMIT)
            return None
        try:
            return await self._admit(peer, hello, info, member, resume_seq, expires)
        except StoreUnavailable:
            # Outside the tour's lock: the refusal waits for the close handshake. 1011 = reconnect and resume.
            await self._refuse(peer, "unavailable", "the tour store is unavailable; try again", p.CLOSE_SERVER_ERROR)
            return None

    async def _admit(self, peer: Peer, hello: p.Hello, info: TourInfo, member: Member, resume_seq: int | None,
                     expires: float) -> TourHub | None:
        """Join an authenticated member to its tour. Raises StoreUnavailable when the shared store is down, and only
        before the join is published (nothing has been sent to the client yet)."""
        hub = await self._hub(info)
        if hello.resume_token is None:
            while member.id in hub.state.members:
                member.id = self.new_member_id()
        # Claimed before the welcome: a client that was welcomed here is reaped if this process dies.
        await self.store.claim(info, member.id)
        async with hub.lock:
            resumed = hello.resume_token is not None and member.id in hub.state.members
            try:
                await hub._commit_locked(lambda state: state.decide_join(member, self.limits.room_cap))
            except TourFull:
                full = True
            else:
                full = False
                await self._welcome(peer, hub, member, resumed, resume_seq, expires)
        if full:  # refused outside the lock: a client that never answers the close must not freeze the tour
            await self._refuse(peer, "tour_full", "this tour is full", p.CLOSE_TOUR_FULL)
            return None
        if resumed:
            try:
                await self.store.announce_join(info, member.id)
            except StoreUnavailable:  # welcomed already; an older connection elsewhere then lingers until it drops
                log.warning("tour %s: could not announce that %s resumed here", info.key, member.id)
        return hub

    async def _welcome(self, peer: Peer, hub: TourHub, member: Member, resumed: bool, resume_seq: int | None,
                       expires: float) -> None:
        """Under the hub's lock: welcome, snapshot or replay, and the peer takes its member's place."""
        info = hub.info
        hub.cancel_grace(member.id)
        replay = None
        if resumed and resume_seq is not None:
            # The member has joined: from here on a store failure must not refuse it. No replay = a snapshot.
            with contextlib.suppress(StoreUnavailable):
                replay = await self.store.events_after(info, resume_seq, hub.state.seq)
        joined = hub.state.members[member.id]
        grant = tokens.ResumeGrant(info.exhibit, info.tour, member.id, member.role, joined.name,
                                   min(expires, self.clock.time() + tokens.RESUME_HOURS * 3600))
        peer.write(p.dump({
            "type": "welcome", "v": p.VERSION, "member": member.id, "role": member.role,
            "exhibit": info.exhibit, "tour": info.tour,
            "resume_token": tokens.mint_resume_token(self.secret, grant),
            "grace_ms": int(self.limits.grace_s * 1000), "server_time": self.now_ms(),
            "resumed": resumed, "replay": replay is not None, "limits": self.limits.public(),
        }))
        if replay is None:
            peer.write(hub.state.snapshot_text(hub.latest_pose, self.now_ms(), joined))
        else:
            for event in replay:
                if member.role == "guide" or visitor_concerned(event) in (None, member.id):
                    peer.write(p.dump(event))
        previous = hub.peers.get(member.id)
        if previous is not None:
            previous.replaced = True
            self.close_later(previous, p.CLOSE_REPLACED, "replaced by a newer connection")
        peer.member_id, peer.hub, peer.role, peer.expires = member.id, hub, joined.role, grant.expires
        hub.peers[member.id] = peer
        if joined.role == "guide":
            hub.guides[member.id] = peer
        self.peers.add(peer)
        self.source_members[peer.source] += 1

    def _credentials(self, hello: p.Hello) -> tuple[TourInfo | None, Member, int | None, float]:
        """Who is this hello: (tour, member, resume seq, credential expiry). Raises TokenError."""
        new_id = self.new_member_id()
        now = self.clock.time()
        if hello.token is not None:
            guide = tokens.verify_guide_token(self.secret, hello.token, now)
            member = Member(new_id, hello.name or "Guide", "guide", hello.device)
            return self.catalog.find(guide.exhibit, guide.tour), member, None, guide.expires
        if hello.code is not None:
            found = self.catalog.find_code(hello.code)
            if found is None:
                raise tokens.TokenError("unknown visitor code (or its tour run is over)")
            info, run_ends = found
            assert hello.name is not None
            return info, Member(new_id, hello.name, "visitor", hello.device), None, run_ends
        assert hello.resume_token is not None
        grant = tokens.verify_resume_token(self.secret, hello.resume_token, now)
        member = Member(grant.member, grant.name, grant.role, hello.device)
        return self.catalog.find(grant.exhibit, grant.tour), member, hello.resume_seq, grant.expires

    async def _hub(self, info: TourInfo) -> TourHub:
        hub = self.hubs.get(info.key)
        if hub is not None:
            return hub
        async with self._hub_creation[info.key]:
            hub = self.hubs.get(info.key)
            if hub is None:
                hub = TourHub(self, info, await self.store.load(info))
                hub.latest_pose = await self.store.latest_pose(info)
                if not self.store.shared:
                    await self._mark_previous_run_away(hub)
                hub.start_following()
                self.hubs[info.key] = hub
        return hub

    @staticmethod
    async def _mark_previous_run_away(hub: TourHub) -> None:
        """A tour loaded from the state file lists the members of the previous run as online; their connections
        died with it. They get `member_away` and the grace window to resume, like any dropped connection."""
        online = [member.id for member in hub.state.members.values() if member.online]
        if not online:
            return
        await hub.commit(lambda state: [event for member_id in online for event in state.decide_away(member_id)])
        for member_id in online:
            hub.schedule_grace(member_id)

    def remote_pose(self, key: str, text: str) -> None:
        """A pose (or a join announcement) published by another process for one of our tours."""
        hub = self.hubs.get(key)
        if hub is None:
            return
        if text.startswith(JOINED_PREFIX):
            older = hub.peers.get(text[len(JOINED_PREFIX):])
            if older is not None:
                older.replaced = True
                self.close_later(older, p.CLOSE_REPLACED, "replaced by a newer connection")
            return
        with contextlib.suppress(ValueError):
            pose = json.loads(text)
            hub.latest_pose = pose
            hub.fan_out_pose(text, pose.get("member"))

    def _strike(self, peer: Peer) -> bool:
        """Record a strike; True when the connection has earned a 1008 close."""
        now = self.clock.monotonic()
        peer.strikes.append(now)
        while peer.strikes and peer.strikes[0] < now - self.limits.strike_window_s:
            peer.strikes.popleft()
        return len(peer.strikes) > self.limits.strikes

    async def _serve_member(self, peer: Peer, hub: TourHub) -> None:
        async for frame in peer.connection:
            affordable = peer.bytes.take(len(frame))
            envelope: p.Envelope | None = None
            if peer.role == "guide":
                # Parsed before the message bucket (a guide is authenticated, and parsing is bounded by the
                # frame and item caps): poses beyond the rate are dropped silently, as the protocol promises.
                with contextlib.suppress(p.ProtocolError):
                    envelope = p.parse(frame)
                if envelope is not None and isinstance(envelope.message, p.Pose):
                    if affordable and peer.poses.take():
                        await self._handle(peer, hub, envelope)
                    else:
                        self.metrics.counters["poses_dropped"] += 1
                    continue
            if not (affordable and peer.messages.take()):
                if await self._rate_limited(peer) is False:
                    return
                continue
            try:
                envelope = envelope or p.parse(frame)
            except p.ProtocolError as error:
                self._reply_error(peer, error.code, error.message, error.ref)
                if self._strike(peer):
                    await self._close(peer, p.CLOSE_POLICY, "too many bad messages")
                    return
                continue
            if await self._handle(peer, hub, envelope) is False:
                return

    async def _rate_limited(self, peer: Peer, ref: str | int | None = None) -> bool:
        """A message over a rate was dropped: say so at most once a second; False once that closed the peer."""
        now = self.clock.monotonic()
        if now - peer.last_rate_reply >= 1.0:
            peer.last_rate_reply = now
            self._reply_error(peer, "rate_limited", "too many messages; this one was dropped", ref)
        else:
            self.metrics.errors["rate_limited"] += 1
        if self._strike(peer):
            await self._close(peer, p.CLOSE_POLICY, "rate limit")
            return False
        return True

    async def _handle(self, peer: Peer, hub: TourHub, envelope: p.Envelope) -> bool:
        """One parsed message from a joined member; False when the connection should end."""
        try:
            return await self._handle_joined(peer, hub, envelope)
        except StoreUnavailable:
            self._reply_error(peer, "unavailable", "the tour store is unavailable; try again", envelope.ref)
            return True

    async def _handle_joined(self, peer: Peer, hub: TourHub, envelope: p.Envelope) -> bool:
        message, ref = envelope.message, envelope.ref
        member = hub.state.members.get(peer.member_id)
        if member is None:
            if not peer.closing:  # not a leave or an end: the server lost the member, so the client must resume
                await self._close(peer, p.CLOSE_SERVER_ERROR, "membership lost; resume")
            return False  # else removed (left, tour ended, grace expired elsewhere) while this frame was in flight
        if self.clock.time() > peer.expires:  # rights end with the token (or the visitor code's run)
            await self._refuse(peer, "token_expired", "your link has expired", p.CLOSE_UNAUTHORIZED)
            return False
        if isinstance(message, p.Pose):
            if member.role != "guide":
                self._reply_error(peer, "not_allowed", "only a guide may send poses", ref)
                return not self._strike(peer)
            pose = {"type": "pose", "member": peer.member_id, "at": self.now_ms(), **message.fields}
            hub.latest_pose = pose
            self.metrics.counters["poses_in"] += 1
            hub.offer_pose(p.dump(pose), peer.member_id)
        elif isinstance(message, p.Ping):
            peer.write(p.dump(p.pong(message.client_time, self.now_ms(), ref)))
        elif isinstance(message, p.Sync):
            peer.write(hub.state.snapshot_text(hub.latest_pose, self.now_ms(), member))
        elif isinstance(message, p.Hello):
            self._reply_error(peer, "already_joined", "this connection has already joined", ref)
            return not self._strike(peer)
        elif isinstance(message, p.Leave):
            await hub.commit(lambda state: state.decide_leave(peer.member_id, "left"))
            await self._close(peer, p.CLOSE_NORMAL, "left the tour")
            return False
        elif isinstance(message, p.PRESENCE) and member.role == "visitor" and not peer.presence.take():
            # Each presence change goes to every guide: a visitor gets a few a second, not the message rate.
            return await self._rate_limited(peer, ref)
        else:
            reply: dict[str, Any] | None = None

            def decide(state: TourState) -> list[dict[str, Any]]:
                nonlocal reply
                decision = state.decide(peer.member_id, message, self.now_ms(), ref)
                reply = decision.reply
                return decision.events

            await hub.commit(decide)
            if reply is not None:
                if reply["type"] == "error":
                    self.metrics.errors[reply["code"]] += 1
                peer.write(p.dump(reply))
                if reply["type"] == "error" and self._strike(peer):
                    await self._close(peer, p.CLOSE_POLICY, "too many refused commands")
                    return False
        return True

    async def _leave(self, peer: Peer) -> None:
        if peer.pose_drainer is not None:
            peer.pose_drainer.cancel()
        self.peers.discard(peer)
        hub = peer.hub
        if hub is None:
            return  # never joined
        self.source_members[peer.source] -= 1
        if self.source_members[peer.source] <= 0:
            del self.source_members[peer.source]
        if hub.peers.get(peer.member_id) is not peer:
            return  # replaced by a newer connection of the same member
        del hub.peers[peer.member_id]
        hub.guides.pop(peer.member_id, None)
        if peer.replaced:
            return  # the member is connected on another process
        if self.closing:
            return  # shutting down: members stay as they are and resume on the next process
        remove = functools.partial(TourState.decide_leave, member_id=peer.member_id, reason="removed")
        try:
            if peer.removed:  # closed for policy: gone now, so a kick-and-rejoin loop leaves nobody behind
                await hub.commit(remove)
                return
            await hub.commit(lambda state: state.decide_away(peer.member_id))
        except StoreUnavailable:
            log.warning("tour %s: member %s left during a store outage", hub.info.key, peer.member_id)
            if peer.removed:  # still removed, not given a grace, once the store is back
                self.spawn(hub._commit_when_possible(remove), "removing a member")
            else:
                hub.schedule_grace(peer.member_id, mark_away=True)  # retried until the store is back
            return
        if peer.member_id in hub.state.members:
            hub.schedule_grace(peer.member_id)

    # ------------------------------------------------------------------------------------------------ shutdown

    async def shutdown(self) -> None:
        """Tell every client we restart; the caller then closes the websockets server with 1012."""
        self.closing = True
        broadcast([peer.connection for peer in self.peers], p.dump(p.shutdown()))
        self.metrics.closes[p.CLOSE_RESTART] += len(self.peers)
        for hub in self.hubs.values():
            for task in [*hub.tasks, *hub.grace_timers.values()]:
                task.cancel()


def _is_literal_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)  # urlsplit().hostname has no IPv6 brackets
    except ValueError:
        return False
    return True


def print_links(catalog: Catalog, secret: bytes, base_url: str, out: TextIO) -> None:
    for info in catalog.tours.values():
        token = tokens.mint_guide_token(secret, info.exhibit, info.tour)
        code = tokens.visitor_code(secret, info.exhibit, info.tour, tokens.verify_guide_token(secret, token).expires)
        guide_link, visitor_link = tokens.tour_links(base_url, info.exhibit, info.tour, token, code)
        print(f"tour {info.exhibit}/{info.tour}: guide {guide_link}\n    visitors {visitor_link} (code {code})",
              file=out, flush=True)


def _response(status: int, headers: dict[str, str], body: bytes) -> Response:
    from http import HTTPStatus

    all_headers = Headers(headers)
    all_headers.setdefault("Content-Length", str(len(body)))
    all_headers.setdefault("Cache-Control", "no-store")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return Response(status, reason, all_headers, body)


async def serve_tours(site_dir: Path, host: str, port: int, *, http_handler: HttpHandler | None = None,
                      redis_url: str | None = None, secret: bytes | None = None, origins: list[str] | None = None,
                      ready: Callable[[int], None] | None = None, limits: Limits | None = None,
                      stop: asyncio.Event | None = None, handle_signals: bool = True,
                      links_log: TextIO | None = None, tls: ssl.SSLContext | None = None,
                      links_host: str | None = None, state_path: Path | None = None, clock: Clock | None = None,
                      started: Callable[[TourServer], None] | None = None) -> None:
    """Serve tours (websocket path /tours, /healthz, /metrics) and hand every other HTTP GET to `http_handler`.

    Runs until `stop` is set, SIGTERM/SIGINT arrive (with `handle_signals`) or the task is cancelled; then tells
    every client to reconnect (a `shutdown` message, close 1012). `ready(port)` is called once listening.
    Without Redis, `state_path` (a SQLite file) keeps the tours across restarts; None keeps them in memory only.
    With `links_log`, the guide and visitor links of every tour are printed there (for `vitrina serve`, whose
    secret is random per run, so nobody else can mint them), naming `links_host` (the LAN address other devices
    use; a wildcard bind is never a link). With `tls` it serves HTTPS and wss:// (`serve --lan`). `clock` and
    `started` (called with the TourServer before listening) are for tests.
    """
    if secret is None:
        raise ValueError("serve_tours needs a secret (vitrina serve passes a random one)")
    limits = limits or Limits()
    store: TourStore
    if redis_url:
        redis_store = RedisStore(redis_url, origin=f"{os.getpid()}-{secrets.token_hex(3)}")
        try:
            await redis_store.ping()
        except StoreUnavailable as error:  # e.g. Redis still starting after a reboot: hellos wait for it
            log.warning("%s; serving anyway: tours start once Redis answers (see /healthz)", error)
        store = redis_store
        heartbeat: asyncio.Task[None] | None = asyncio.create_task(redis_store.heartbeat())
    else:
        store = MemoryStore(state_file=StateFile(state_path) if state_path is not None else None)
        heartbeat = None
    server = TourServer(site_dir, secret, store, limits, origins, clock)
    server.http_handler = http_handler
    if started is not None:
        started(server)
    open_files = raise_open_files_limit()
    log.info("event loop %s", type(asyncio.get_running_loop()).__module__.split(".")[0])
    log.info("open-files limit %d: room for about %d connections (systemd: LimitNOFILE= raises it)",
             open_files, max(0, open_files - 64))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
                installed.append(signum)
    try:
        async with serve(server.handler, host, port, process_request=server.process_request, ssl=tls,
                         # websockets calls create_connection as it would call a ServerConnection subclass.
                         create_connection=cast(type[ServerConnection], AcceptGate.factory(server)),
                         compression=None, max_size=limits.max_message_bytes,
                         ping_interval=limits.ping_interval_s, ping_timeout=20, open_timeout=10,
                         # asyncio's default of 100 pending connections drops SYNs when a class joins at once, and a
                         # dropped SYN costs its visitor a 1 s retransmit; Node and nginx listen with 511.
                         backlog=LISTEN_BACKLOG) as ws_server:
            bound_port = next(iter(ws_server.sockets)).getsockname()[1]
            log.info("tour server on http://%s:%d%s", host, bound_port, p.PATH)
            if ready is not None:
                ready(bound_port)
            if links_log is not None:
                shown = links_host or ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host)
                print_links(server.catalog, secret, f"{'https' if tls else 'http'}://{shown}:{bound_port}/", links_log)
            try:
                await stop.wait()
            finally:
                await server.shutdown()
                ws_server.close(code=p.CLOSE_RESTART, reason="service restart")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(5):
                        await ws_server.wait_closed()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        if heartbeat is not None:
            heartbeat.cancel()
        await store.close()


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The defaults, with whichever of --room-cap, --grace and the --source-* caps were given."""
    given = {"room_cap": args.room_cap, "grace_s": args.grace, "source_connections": args.source_connections,
             "source_members": args.source_members, "source_connects_per_s": args.source_connects_per_s,
             "source_connects_burst": args.source_connects_burst}
    return Limits(**{name: value for name, value in given.items() if value is not None})


def run_from_args(args: argparse.Namespace) -> int:
    """`vitrina tour-server`: serve the tours of a built site until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    site = Path(args.site)
    if not site.is_dir():
        print(f"site folder {site} does not exist: build an exhibit first", file=sys.stderr)
        return 2
    try:
        secret = tokens.load_secret(args.secret_file)
    except (OSError, tokens.TokenError) as error:
        print(f"cannot read the tour secret: {error}", file=sys.stderr)
        return 2
    if secret is None:
        print(f"no tour secret: pass --secret-file FILE or set {tokens.SECRET_ENV}", file=sys.stderr)
        return 2
    limits = limits_from_args(args)
    state_path = None if args.redis or args.state == ":memory:" else Path(args.state or default_state_path(site))

    def announce(port: int) -> None:
        # Tests and scripts read this line to learn the port when --port 0 is given.
        print(f"tour server listening on {args.host}:{port}", flush=True)

    try:
        event_loop.run(serve_tours(site, args.host, args.port, redis_url=args.redis, secret=secret,
                                   origins=args.origin, ready=announce, limits=limits, state_path=state_path))
    except StateFileInUse as error:
        print(f"{error}: give each process its own --state, or share tours with --redis", file=sys.stderr)
        return 2
    return 0


def preview_persistence(site: Path) -> tuple[bytes, Path]:
    """For `vitrina serve -o SITE`: a secret and a state file kept beside the site (SITE.tour-secret, created 0600 on
    the first run; SITE.tours.sqlite3), so a restarted preview resumes its tours and its links keep working. The
    secret is random per site folder, so links minted for a real deployment still never work against a preview."""
    secret_file = site.parent / f"{site.name}.tour-secret"
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
    secret = tokens.load_secret(str(secret_file))
    assert secret is not None, f"{secret_file} is empty"
    return secret, site.parent / f"{site.name}.tours.sqlite3"


def default_state_path(site: Path) -> Path:
    """Where tour state lives without --state: the user's data directory (XDG), one file per site folder."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    digest = hashlib.sha256(str(site.resolve()).encode()).hexdigest()[:12]
    return Path(data_home) / "vitrina" / "tours" / f"{site.resolve().name}-{digest}.sqlite3"
