"""Fixtures for tour tests: a tiny built site, an in-process tour server on port 0, real clients, a real redis-server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from viewer.tours import tokens
from viewer.tours.clock import ManualClock
from viewer.tours.protocol import Hand
from viewer.tours.server import Limits, TourServer, serve_tours
from viewer.tours.session import Member, TourState
from viewer.tours.store import TourStore

REPO_ROOT = Path(__file__).resolve().parents[3]
SECRET = b"test-secret-0123456789abcdef"
EXHIBIT = "bronze-age"
TOUR = "highlights"


def write_site(root: Path, exhibit: str = EXHIBIT, tours: dict[str, int] | None = None) -> Path:
    """A site holding one exhibit.json with the given tours (id → number of stops), as the compiler would write it."""
    tours = tours or {TOUR: 3, "short": 1}
    manifest = {
        "schema_version": 1,
        "exhibit": {"id": exhibit, "title": {"en": "Test"}, "languages": ["en"], "default_language": "en"},
        "tours": [{
            "id": tour_id, "title": {"en": tour_id},
            "stops": [{"index": i, "artifact": f"a{i}", "annotation": None, "room": "hall", "say": {"en": "…"},
                       "view": {"target": [i, 1, 0], "position": [i, 1.6, 2]}} for i in range(stops)],
        } for tour_id, stops in tours.items()],
    }
    (root / exhibit).mkdir(parents=True, exist_ok=True)
    (root / exhibit / "exhibit.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def guide_token(tour: str = TOUR, exhibit: str = EXHIBIT, secret: bytes = SECRET, now: float | None = None,
                hours: float = tokens.GUIDE_HOURS) -> str:
    return tokens.mint_guide_token(secret, exhibit, tour, hours=hours, now=now)


def code(tour: str = TOUR, exhibit: str = EXHIBIT, secret: bytes = SECRET, now: float | None = None) -> str:
    return tokens.visitor_code(secret, exhibit, tour, now=now)


class Client:
    """A real websockets client with helpers to wait for a given message type, keeping everything it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            message = json.loads(await self.ws.recv())
        self.seen.append(message)
        return message

    async def expect(self, type_: str, timeout: float = 3.0, **match: Any) -> dict[str, Any]:
        """The next message of this type (and these field values), skipping others (poses, unrelated events)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == type_ and all(message.get(k) == v for k, v in match.items()):
                return message

    async def closed(self, timeout: float = 3.0) -> int | None:
        """Wait for the server to close; the close code."""
        async with asyncio.timeout(timeout):
            try:
                while True:
                    self.seen.append(json.loads(await self.ws.recv()))
            except Exception:
                pass
        await self.ws.wait_closed()
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class TourServerHandle:
    port: int
    site: Path
    server: TourServer | None = None  # None for a server in another process
    clock: ManualClock | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/tours"

    async def connect(self, **kwargs: Any) -> Client:
        kwargs.setdefault("compression", None)
        return Client(await connect(self.url, **kwargs))

    async def join(self, hello: dict[str, Any], **kwargs: Any) -> Client:
        """Connect and send a hello; the welcome is kept in client.welcome."""
        client = await self.connect(**kwargs)
        await client.send(type="hello", v=1, **hello)
        client.welcome = await client.expect("welcome")
        return client

    def now(self) -> float | None:
        """The server's wall clock when it is a ManualClock (tokens must be minted in its time), else None."""
        return None if self.clock is None else self.clock.time()

    async def guide(self, name: str = "Mei", tour: str = TOUR, **extra: Any) -> Client:
        return await self.join({"token": guide_token(tour, now=self.now()), "name": name, "device": "vr", **extra})

    async def visitor(self, name: str = "Ana", tour: str = TOUR, device: str = "phone", **kwargs: Any) -> Client:
        return await self.join({"code": code(tour, now=self.now()), "name": name, "device": device}, **kwargs)


class ServerProcess:
    """`vitrina tour-server --port 0` (plus `extra` arguments) as a subprocess; the port comes from its "listening
    on" line. Its log (stderr) goes to `log` when given."""

    def __init__(self, site: Path, secret_file: Path, *extra: str, log: Path | None = None) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "tour-server", "--site", str(site), "--port", "0",
             "--secret-file", str(secret_file), *extra],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
            stderr=subprocess.DEVNULL if log is None else log.open("a", encoding="utf-8"))
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert found, f"no port in {line!r}"
        self.handle = TourServerHandle(int(found.group(1)), site)

    def stop(self) -> None:
        """SIGKILL by PID: no goodbye to the clients, nothing flushed."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


async def fill_tour(store: TourStore, state: TourState, joins: int) -> None:
    """Publish `joins` visitor joins and a raised hand for every third one through `store`, applying them to
    `state` (the store's compare-and-set append must accept each)."""

    async def publish(drafts: list[dict[str, Any]]) -> None:
        events = state.number(drafts, 0)
        assert await store.append(state, events)
        for event in events:
            state.apply(event)

    for index in range(joins):
        await publish(state.decide_join(Member(f"m{index}", f"V{index}", "visitor", "phone"), room_cap=10_000))
        if index % 3 == 0:
            await publish(state.decide(f"m{index}", Hand(True), 0).events)


TEST_LIMITS = Limits(join_timeout_s=0.5, grace_s=2.0, room_cap=5, rate_per_s=40, burst=80, ping_interval_s=None)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site")


@pytest.fixture
async def tour_server(site: Path, request: pytest.FixtureRequest) -> AsyncIterator[TourServerHandle]:
    """An in-process tour server on 127.0.0.1:0; `@pytest.mark.limits(**kwargs)` overrides TEST_LIMITS,
    `@pytest.mark.manual_clock` gives it a ManualClock (handle.clock) that only the test moves, and
    `@pytest.mark.origins(*origins)` an Origin allow-list."""
    marker = request.node.get_closest_marker("limits")
    limits = replace(TEST_LIMITS, **marker.kwargs) if marker else TEST_LIMITS
    clock = ManualClock() if request.node.get_closest_marker("manual_clock") else None
    origins_marker = request.node.get_closest_marker("origins")
    stop = asyncio.Event()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    servers: list[TourServer] = []
    task = asyncio.create_task(serve_tours(site, "127.0.0.1", 0, secret=SECRET, limits=limits, stop=stop,
                                           ready=ready.set_result, handle_signals=False,
                                           http_handler=_static_stub, clock=clock, started=servers.append,
                                           origins=list(origins_marker.args) if origins_marker else None))
    port = await asyncio.wait_for(ready, 5)
    handle = TourServerHandle(port, site, servers[0], clock)
    handle.stop = stop  # type: ignore[attr-defined]
    handle.task = task  # type: ignore[attr-defined]
    yield handle
    stop.set()
    await asyncio.wait_for(task, 10)


def _static_stub(path: str, headers: Any) -> tuple[int, dict[str, str], bytes] | None:
    """Stands in for `vitrina serve`'s static responder: proves other paths reach it."""
    if path == "/index.html":
        return 200, {"Content-Type": "text/html"}, b"<!doctype html><title>site</title>"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server on a free loopback port that a test may stop and start again (on the same port).

    By default without persistence, so a restart comes back empty; with `config` (a deployment's redis.conf, whose
    port and folder are replaced), its persistence settings apply.
    """

    def __init__(self, binary: str, folder: Path, config: Path | None = None) -> None:
        self.binary, self.folder, self.config = binary, folder, config
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.config is not None:
            settings = [str(self.config), "--port", str(self.port), "--dir", str(self.folder)]
        else:
            settings = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(self.folder)]
        self.process = subprocess.Popen([self.binary, *settings], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self, crash: bool = False) -> None:
        """SIGTERM (Redis writes its data out and exits), or with `crash` SIGKILL (only what the AOF holds
        survives), by PID."""
        if self.process is None:
            return
        if crash:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, 9)
            self.process.wait(5)
        self.process = None

    def restart(self, crash: bool = False) -> None:
        self.stop(crash)
        self.start()


@pytest.fixture
def redis_server(redis_server_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server without persistence, stopped by its PID at teardown."""
    server = RedisServer(redis_server_binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
async def in_process(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[list[TourServerHandle]]:
    """Two tour servers on one event loop, sharing the fixture's redis-server as two processes would (each has its own RedisStore,
    subscriptions and origin)."""
    site = write_site(tmp_path / "site")
    stop = asyncio.Event()
    handles, tasks = [], []
    for _ in range(2):
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        started: list[TourServer] = []
        tasks.append(asyncio.create_task(serve_tours(site, "127.0.0.1", 0, redis_url=redis_server.url, secret=SECRET,
                                                     limits=TEST_LIMITS, stop=stop, ready=ready.set_result,
                                                     handle_signals=False, started=started.append)))
        handles.append(TourServerHandle(await asyncio.wait_for(ready, 10), site, started[0]))
    try:
        yield handles
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "limits(**kwargs): Limits overrides for the tour_server fixture")
    config.addinivalue_line("markers", "manual_clock: the tour_server fixture runs on a ManualClock")
    config.addinivalue_line("markers", "origins(*origins): the tour_server fixture's Origin allow-list")


@pytest.fixture(autouse=True, scope="session")
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tour servers started by tests (also as subprocesses) keep their default state file in a temporary data
    home, never in the user's ~/.local/share."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if saved is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = saved
