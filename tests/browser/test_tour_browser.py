"""A live tour in real Chromium: a guide page and a visitor page (two browser contexts) on one `vitrina serve`-style port."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.preview import StaticSite
from tests.conftest import NODE_MODULES, REPO

EXHIBIT = "bronze-age"
TOUR = "highlights"
ARRIVAL_TOLERANCE_M = 0.05


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real compiler's build of the rich example (its cache makes a rebuild take seconds)."""
    from pipeline.build import BuildOptions, build

    out = tmp_path_factory.mktemp("tour-site")
    build(REPO / "exhibits" / EXHIBIT / "exhibit.yaml", out, BuildOptions(quiet=True))
    return out


@contextlib.contextmanager
def tour_server(site: Path, secret: bytes) -> Iterator[str]:
    """The static site and the tour websocket on one port, as `vitrina serve` composes them; yields the base URL."""
    from viewer.tours.server import serve_tours

    loop = asyncio.new_event_loop()
    listening = threading.Event()
    bound: list[int] = []
    stop: asyncio.Event | None = None
    failure: list[BaseException] = []

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()

        def ready(port: int) -> None:
            bound.append(port)
            listening.set()

        await serve_tours(site, "127.0.0.1", 0, http_handler=StaticSite(site).respond, secret=secret, ready=ready,
                          stop=stop, handle_signals=False)

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as error:  # surfaced to the test below instead of dying silently in the thread
            failure.append(error)
            listening.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="tour-server", daemon=True)
    thread.start()
    assert listening.wait(20), "the tour server did not start"
    assert not failure, failure
    try:
        yield f"http://127.0.0.1:{bound[0]}"
    finally:
        if stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join(15)


@pytest.fixture(scope="module")
def tour_secret() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture(scope="module")
def tour_base(built_site: Path, tour_secret: bytes) -> Iterator[str]:
    with tour_server(built_site, tour_secret) as base:
        yield base


def serious_violations_in(page: Any, selector: str) -> list[str]:
    """axe-core on one part of the page (the rest is the viewer's, and its own tests cover it)."""
    page.add_script_tag(path=str(NODE_MODULES / "axe-core" / "axe.min.js"))
    result = page.evaluate("(selector) => axe.run(selector, {resultTypes: ['violations']})", selector)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def tour_state(page: Any) -> dict[str, Any]:
    return page.evaluate("JSON.parse(JSON.stringify(window.__tour || null))")


def wait_tour(page: Any, condition: str, timeout: int = 15000) -> dict[str, Any]:
    """Wait until `condition` (JS over `t` = window.__tour) holds; returns the state."""
    page.wait_for_function(f"(() => {{ const t = window.__tour; return Boolean(t && ({condition})); }})()", timeout=timeout)
    return tour_state(page)


def camera_position(page: Any) -> list[float]:
    return page.evaluate("window.__viewer.camera.position")


def wait_camera_at(page: Any, position: list[float], tolerance: float = ARRIVAL_TOLERANCE_M, timeout: int = 15000) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """([want, tol]) => { const c = window.__viewer.camera; if (!c) return false;
                 return Math.hypot(c.position[0] - want[0], c.position[1] - want[1], c.position[2] - want[2]) <= tol; }""",
            arg=[position, tolerance], timeout=timeout)
    except PlaywrightTimeout:
        state = tour_state(page)
        brief = {key: state.get(key) for key in ("stop", "following", "gliding", "glides", "anchored", "gather", "errors", "uiErrors")}
        raise AssertionError(f"camera at {camera_position(page)}, wanted {position}; tour {brief}") from None


def free_canvas_point(page: Any) -> tuple[float, float]:
    """A point where the 3D canvas itself is on top (the panels float over parts of it)."""
    point = page.evaluate("""() => {
        const canvas = document.querySelector('#stage canvas'), box = canvas.getBoundingClientRect();
        for (let fy = 0.3; fy < 0.98; fy += 0.04) for (let fx = 0.98; fx > 0.02; fx -= 0.03) {
          const x = box.left + fx * box.width, y = box.top + fy * box.height;
          if (document.elementFromPoint(x, y) === canvas) return [x, y];
        }
        return null; }""")
    if point is None:
        page.screenshot(path="/tmp/tour-covered.png")
    assert point is not None, "the panels cover the whole canvas"
    return point[0], point[1]


def distance(a: list[float], b: list[float]) -> float:
    return math.dist(a, b)


def test_guide_leads_a_visitor_through_the_tour(built_site: Path, tour_base: str, tour_secret: bytes,
                                                open_page: Any) -> None:
    import json

    from viewer.tours.tokens import mint_guide_token, visitor_code

    manifest = json.loads((built_site / EXHIBIT / "exhibit.json").read_text(encoding="utf-8"))
    stops = next(tour for tour in manifest["tours"] if tour["id"] == TOUR)["stops"]
    token = mint_guide_token(tour_secret, EXHIBIT, TOUR)
    code = visitor_code(tour_secret, EXHIBIT, TOUR)
    base = tour_base
    guide = open_page(f"{base}/{EXHIBIT}/?tour={TOUR}#guide={token}")
    state = wait_tour(guide, "t.connected && t.role === 'guide' && t.synced")
    assert "guide=" not in guide.url, "the guide token must be stripped from the address bar"
    assert state["status"] == "waiting" and state["lead"] == state["member"]

    # The visitor joins by code through the page's "Join a tour" button (lower case and a dash: the server normalises).
    visitor = open_page(f"{base}/{EXHIBIT}/")
    visitor.click("#tour-join-button")
    visitor.fill("#tour-code", f"{code[:3].lower()}-{code[3:].lower()}")
    visitor.fill("#tour-name", "Ana")
    visitor.click(".tour-join button[type=submit]")
    me = wait_tour(visitor, "t.connected && t.role === 'visitor' && t.synced")
    visitor_id = me["member"]
    assert me["following"] is True

    # The guide sees the visitor (name, device, following) in the member list.
    guide.wait_for_selector(f".tour-member[data-member='{visitor_id}']", timeout=10000)
    row = guide.inner_text(f".tour-member[data-member='{visitor_id}']")
    assert "Ana" in row and ("desktop" in row or "电脑" in row)

    # Both panels: keyboard-reachable, labelled controls (axe), in the exhibit's language, switching with it.
    for page in (guide, visitor):
        violations = serious_violations_in(page, "#tour-slot")
        assert violations == [], violations
    assert visitor.inner_text(".tour-back") == "回到导览员"
    visitor.evaluate("window.__viewer.setLanguage('en')")
    visitor.wait_for_function("document.querySelector('.tour-back').textContent === 'Back to the guide'", timeout=20000)
    assert visitor.inner_text(".tour-hand") == "Raise my hand"

    # A visitor's page cannot move the tour: the server refuses, and nothing starts.
    visitor.evaluate("window.__viewer.tourUI.client.start(0)")
    refused = wait_tour(visitor, "t.errors.some(e => e.code === 'not_allowed')")
    assert refused["status"] == "waiting"
    assert tour_state(guide)["status"] == "waiting"

    # Clock sync: both pages estimated the offset from pongs (same machine, so it is near zero).
    for page in (guide, visitor):
        clock = wait_tour(page, "t.clockSynced")
        assert abs(clock["offset"]) < 250 and clock["rtt"] is not None

    # Start: the visitor glides to stop 0 and the narration starts at the server's start time on both devices.
    guide.click(".tour-start")
    wait_tour(visitor, "t.stop === 0 && t.status === 'running'")
    wait_camera_at(visitor, stops[0]["view"]["position"])
    started = {}
    for name, page in (("guide", guide), ("visitor", visitor)):
        narration = wait_tour(page, "t.narration && t.narration.stop === 0")["narration"]
        started[name] = narration
    if stops[0].get("audio"):
        assert started["guide"]["startAt"] == started["visitor"]["startAt"]
        for narration in started.values():
            assert narration["src"], narration
            # Scheduled for start_at on the shared clock: not before it, and promptly after it.
            assert -60 <= narration["startedAtServer"] - narration["startAt"] <= 600, narration

    # Next: advance names the stop it leaves; the visitor arrives at stop 1's view.
    guide.click(".tour-next")
    wait_tour(visitor, "t.stop === 1")
    wait_camera_at(visitor, stops[1]["view"]["position"])
    assert "2" in tour_state(visitor)["statusText"]
    # A retried "next" from the stop already left is harmless: ignored as stale, the tour stays at stop 1.
    guide.evaluate("window.__viewer.tourUI.client.advance(0, 1)")
    stale = wait_tour(guide, "t.ignored.some(i => i.reason === 'stale')")
    assert stale["stop"] == 1

    # The guide's avatar and pointer reach the visitor as a ghost.
    guide.mouse.move(*free_canvas_point(guide))
    ghost = wait_tour(visitor, "t.ghost && t.ghost.pointer")["ghost"]
    assert ghost["ghost"] == "guide" and ghost["member"] == tour_state(guide)["member"]
    assert "guide" in visitor.evaluate("window.__viewer.ghosts()")

    # A raised hand shows in the guide's list.
    visitor.click(".tour-hand")
    hands = wait_tour(guide, f"t.hands.includes('{visitor_id}')")
    assert hands["hands"] == [visitor_id]
    guide.wait_for_selector(f".tour-member[data-member='{visitor_id}'] .tour-hand-badge", timeout=20000)
    visitor.wait_for_selector(".tour-hand[aria-pressed='true']", timeout=20000)
    # The guide takes the question and lowers the hand from the list; the visitor's button follows.
    guide.click(f".tour-member[data-member='{visitor_id}'] .tour-lower-hand")
    visitor.wait_for_selector(".tour-hand[aria-pressed='false']", timeout=20000)
    assert wait_tour(guide, "t.hands.length === 0")["hands"] == []
    assert guide.locator(f".tour-member[data-member='{visitor_id}'] .tour-hand-badge").count() == 0

    # Walking away from the guide's view: "not following", on both pages; "Back to the guide" restores it.
    before = camera_position(visitor)
    visitor.keyboard.down("KeyS")
    visitor.wait_for_function("window.__tour.following === false", timeout=10000)
    visitor.keyboard.up("KeyS")
    assert distance(camera_position(visitor), before) > 0.2
    assert visitor.get_attribute(".tour-following", "data-following") == "false"
    wait_tour(guide, f"t.members.some(m => m.id === '{visitor_id}' && m.following === false)")
    visitor.click(".tour-back")
    wait_tour(visitor, "t.following === true")
    wait_camera_at(visitor, stops[1]["view"]["position"])
    wait_tour(guide, f"t.members.some(m => m.id === '{visitor_id}' && m.following === true)")

    # "Bring everyone to me": a visitor who wandered off follows again and stands by the guide.
    visitor.keyboard.down("KeyS")
    visitor.wait_for_function("window.__tour.following === false", timeout=10000)
    visitor.keyboard.up("KeyS")
    guide.click(".tour-gather")
    gathered = wait_tour(visitor, "t.gather && t.following === true && !t.gliding && t.anchored")
    guide_at = guide.evaluate("window.__viewer.camera.position")
    visitor_at = camera_position(visitor)
    assert math.dist(guide_at[::2], visitor_at[::2]) < 2.0, (guide_at, visitor_at)
    assert gathered["gather"]["by"] == tour_state(guide)["member"]

    # A dropped connection resumes as the same member, and the tour goes on.
    visitor.evaluate("window.__viewer.tourUI.client.drop()")
    resumed = wait_tour(visitor, "t.welcomes >= 2 && t.connected && t.synced")
    assert resumed["member"] == visitor_id and resumed["resumes"] >= 1
    guide.click(".tour-next")
    wait_tour(visitor, "t.stop === 2")
    wait_camera_at(visitor, stops[2]["view"]["position"])

    # Handover: a second guide (a plain protocol client) joins; the page offers it the lead, and the visitors'
    # ghost follows the new lead.
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + "/tours") as second, \
            connect(base.replace("http://", "ws://") + "/tours") as other_visitor:
        # Another visitor's arrival goes to the guides only: the visitor's page sees a jump in seq, not a loss.
        other_visitor.send(json.dumps({"type": "hello", "v": 1, "code": code, "name": "Bo", "device": "ar"}))
        other_id = json.loads(other_visitor.recv(timeout=10))["member"]
        guide.wait_for_selector(f".tour-member[data-member='{other_id}']", timeout=10000)
        second.send(json.dumps({"type": "hello", "v": 1, "token": mint_guide_token(tour_secret, EXHIBIT, TOUR),
                                "name": "Wei", "device": "phone"}))
        second_id = json.loads(second.recv(timeout=10))["member"]
        guide.click(f".tour-member[data-member='{second_id}'] .tour-handover")
        handed = wait_tour(visitor, f"t.lead === '{second_id}'")
        assert handed["gaps"] >= 1 and handed["synced"] and other_id not in [m["id"] for m in handed["members"]]
        second.send(json.dumps({"type": "pose", "head": {"p": [1.0, 1.6, 1.0], "q": [0, 0, 0, 1]}, "pointer": None}))
        wait_tour(visitor, f"t.ghost && t.ghost.member === '{second_id}' && t.ghost.ghost === 'guide'")
        second.send(json.dumps({"type": "leave"}))
    wait_tour(visitor, f"t.lead === '{tour_state(guide)['member']}'")

    # Leaving is for good: the guide's list drops the visitor, and the visitor gets the join form back.
    visitor.click(".tour-leave")
    wait_tour(guide, f"!t.members.some(m => m.id === '{visitor_id}')")
    visitor.wait_for_selector("form.tour-join #tour-name", timeout=20000)
    assert tour_state(visitor)["finalClose"]["code"] == 1000

    for page in (guide, visitor):
        errors = tour_state(page)["uiErrors"]
        assert errors == [], errors
    assert guide.log.lines == [] and visitor.log.lines == [], guide.log.lines + visitor.log.lines


# Drives tour-client.js against a scripted socket, with timers and the clock under the test's control.
CLIENT_SCRIPT = """
async (moduleUrl) => {
  const { TourClient, backoffDelay, peekGuideToken } = await import(moduleUrl);
  const sockets = [];
  class ScriptedSocket {
    constructor(url) { this.url = url; this.readyState = 1; this.sent = []; this.handlers = {}; this.bufferedAmount = 0; sockets.push(this); }
    addEventListener(type, handler) { (this.handlers[type] ||= []).push(handler); }
    fire(type, event) { for (const handler of this.handlers[type] || []) handler(event); }
    send(text) { this.sent.push(JSON.parse(text)); }
    close(code = 1000, reason = '') { this.readyState = 3; this.fire('close', { code, reason }); }
    open() { this.fire('open', {}); }
    deliver(message) { this.fire('message', { data: JSON.stringify(message) }); }
  }
  let clock = 1_000_000;
  const timers = [];
  const client = new TourClient({
    url: 'ws://tours.test/tours', credentials: { code: 'K7M2QX', name: 'Ana' }, device: 'phone',
    WebSocketImpl: ScriptedSocket, now: () => clock, random: () => 1,  // random() = 1: the +25 % end of the jitter
    setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; }, clearTimer: () => {},
    // A failed handshake is followed by a plain GET of /tours: here it answers 200 (not a refusal), so the ordinary
    // backoff applies.
    fetchImpl: async () => ({ status: 200, headers: new Headers() }),
  });
  const out = {};
  const member = (id, role = 'visitor', device = 'desktop') => ({ id, name: id, role, device, following: true, hand: false, online: true });
  const event = (seq, kind, fields) => ({ type: 'event', seq, at: clock, kind, ...fields });

  client.connect();
  let socket = sockets[0];
  socket.open();
  out.hello = socket.sent[0];
  socket.deliver({ type: 'welcome', v: 1, member: 'm1', role: 'visitor', exhibit: 'x', tour: 't', resume_token: 'R1',
                   grace_ms: 120000, server_time: clock + 5000, resumed: false, replay: false });
  // Events that overtake the snapshot are held, then applied on top of it (and older ones dropped).
  socket.deliver(event(6, 'member_joined', { member: member('m2') }));
  socket.deliver(event(5, 'tour_started', { by: 'g', stop: 0, start_at: clock }));
  socket.deliver(event(7, 'hand_raised', { member: 'm2' }));
  out.beforeSnapshot = { seq: client.seq, synced: client.synced, held: client.held.length };
  socket.deliver({ type: 'snapshot', seq: 5, tour: { status: 'running', stop: 0, start_at: clock, lead: 'g', gather: null, stops: 3 },
                   members: [member('g', 'guide'), member('m1', 'visitor', 'phone')], pose: null });
  out.afterSnapshot = { seq: client.seq, members: [...client.members.keys()], hands: client.summary().hands };
  // A duplicate is ignored; a jump in seq (other visitors' presence goes to guides only) is applied, not resynced.
  socket.deliver(event(7, 'hand_lowered', { member: 'm2' }));
  socket.deliver(event(9, 'stop_changed', { by: 'g', from: 0, stop: 1, start_at: clock }));
  out.gap = { seq: client.seq, synced: client.synced, stop: client.tour.stop, sent: socket.sent.map((m) => m.type),
              hand: client.members.get('m2').hand, gaps: client.gaps };
  // An explicit sync holds events until its snapshot lands, then applies the newer ones on top.
  client.sync();
  socket.deliver(event(10, 'following_changed', { member: 'm1', following: false }));
  out.syncing = { synced: client.synced, seq: client.seq };
  socket.deliver({ type: 'snapshot', seq: 9, visitors: 4, tour: { status: 'running', stop: 1, start_at: clock, lead: 'g', gather: null, stops: 3 },
                   members: [member('g', 'guide'), member('m1')], pose: null });
  out.afterSync = { seq: client.seq, stop: client.tour.stop, following: client.summary().following, visitors: client.summary().visitorCount };
  // That snapshot lists us on a desktop, but we said phone: the client tells the server again.
  out.reconciled = socket.sent.at(-1);

  // Clock: the offset comes from the pongs with the lowest round trips.
  const pings = [[10, 1000], [300, 1150], [12, 1002], [500, 700], [14, 998]];
  for (const [rtt, offset] of pings) {
    client.ping();
    const ping = socket.sent.at(-1);
    clock += rtt;
    socket.deliver({ type: 'pong', re: ping.id, t: ping.t, server_time: ping.t + rtt / 2 + offset });
  }
  out.clock = { offset: client.offset, rtt: client.rtt, serverMinusLocal: client.serverNow() - clock };

  // A visitor's guide command is sent as asked; the server's refusal is kept as an error.
  const id = client.start(0);
  socket.deliver({ type: 'error', code: 'not_allowed', message: 'only a guide may do that', re: id });
  out.refused = client.errors.at(-1);

  // Shutdown: reconnect after the hinted delay (with jitter), and resume from the last applied seq.
  socket.deliver({ type: 'shutdown', reason: 'restart', reconnect_after_ms: 800 });
  socket.close(1012, 'service restart');
  out.shutdownDelay = timers.at(-1).ms;
  timers.at(-1).fn();
  socket = sockets[1];
  socket.open();
  out.resumeHello = socket.sent[0];
  socket.deliver({ type: 'welcome', v: 1, member: 'm1', role: 'visitor', exhibit: 'x', tour: 't', resume_token: 'R2',
                   grace_ms: 120000, server_time: clock, resumed: true, replay: true });
  socket.deliver(event(11, 'hand_raised', { member: 'm1' }));
  out.replayed = { seq: client.seq, hand: client.summary().hand, resumes: client.resumes };

  // Entering VR: one `device` message; the server's device_changed updates the member; no repeat once it has.
  const deviceId = client.setDevice('vr');
  out.deviceSent = socket.sent.at(-1);
  socket.deliver(event(12, 'device_changed', { member: 'm1', role: 'visitor', device: 'vr' }));
  out.device = { id: deviceId, me: client.me.device, again: client.setDevice('vr') };

  // Dropped connections that never get welcomed back off exponentially up to 10 s.
  out.backoff = [];
  for (let i = 0; i < 7; i++) {
    sockets.at(-1).close(1006, '');
    await new Promise((resolve) => setTimeout(resolve, 0));  // the refusal probe's answer comes first
    out.backoff.push(timers.at(-1).ms);
    timers.at(-1).fn();
  }
  out.expectedBackoff = [0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, () => 1));
  // A device change while disconnected goes into the next hello.
  out.offlineDevice = client.setDevice('ar');
  sockets.at(-1).open();
  out.reconnectHello = sockets.at(-1).sent[0];
  // "Tour ended" is final: no reconnect is scheduled.
  const before = timers.length;
  sockets.at(-1).close(4006, 'tour ended');
  out.ended = { timersAdded: timers.length - before, finalClose: client.finalClose };

  const payload = btoa(JSON.stringify({ v: 1, ex: 'bronze-age', tour: 'highlights', exp: 1, n: 'ab' }))
    .replace(/=+$/, '').replace(/\\+/g, '-').replace(/\\//g, '_');
  out.peek = peekGuideToken(`${payload}.sig`);
  return out;
}
"""


def test_tour_client_orders_events_syncs_the_clock_and_resumes(browser: Any, tour_base: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{tour_base}/index.html")
        out = page.evaluate(CLIENT_SCRIPT, f"{tour_base}/static/js/tour-client.js")
    finally:
        context.close()

    assert out["hello"] == {"type": "hello", "v": 1, "device": "phone", "code": "K7M2QX", "name": "Ana"}
    assert out["beforeSnapshot"] == {"seq": 0, "synced": False, "held": 3}
    assert out["afterSnapshot"] == {"seq": 7, "members": ["g", "m1", "m2"], "hands": ["m2"]}
    assert out["gap"] == {"seq": 9, "synced": True, "stop": 1, "sent": ["hello"], "hand": True, "gaps": 1}
    assert out["syncing"] == {"synced": False, "seq": 9}
    assert out["afterSync"] == {"seq": 10, "stop": 1, "following": False, "visitors": 4}
    assert {k: v for k, v in out["reconciled"].items() if k != "id"} == {"type": "device", "device": "phone"}
    assert out["clock"]["offset"] == pytest.approx(1000, abs=0.01)
    assert out["clock"]["rtt"] == 10
    assert out["clock"]["serverMinusLocal"] == pytest.approx(1000, abs=0.01)
    assert out["refused"]["code"] == "not_allowed"
    assert out["shutdownDelay"] == 1000  # 800 ms + 25 % jitter (random() = 1)
    assert out["resumeHello"] == {"type": "hello", "v": 1, "device": "phone", "resume": {"token": "R1", "seq": 10}}
    assert out["replayed"] == {"seq": 11, "hand": True, "resumes": 1}
    assert out["deviceSent"] == {"type": "device", "id": out["device"]["id"], "device": "vr"}
    assert out["device"]["me"] == "vr" and out["device"]["again"] is None
    assert out["offlineDevice"] is None
    assert out["reconnectHello"] == {"type": "hello", "v": 1, "device": "ar", "resume": {"token": "R2", "seq": 12}}
    assert out["backoff"] == out["expectedBackoff"] == [625, 1250, 2500, 5000, 10000, 12500, 12500]
    assert out["ended"] == {"timersAdded": 0, "finalClose": {"code": 4006, "reason": "tour ended"}}
    assert out["peek"] == {"exhibit": "bronze-age", "tour": "highlights", "expires": 1}


def test_a_visitor_in_vr_follows_the_guide_and_grips_back(built_site: Path, tour_base: str, tour_secret: bytes,
                                                          open_page: Any) -> None:
    """The same tour in a headset: flyTo moves the reference space, the status reaches the VR caption strip, a
    teleport is "looking around", and the right grip returns to the guide. The guide is a plain protocol client."""
    import json

    from websockets.sync.client import connect

    from tests.browser.test_xr import aim_right_controller, pull_trigger, world_to_local
    from viewer.tours.tokens import mint_guide_token, visitor_code

    tour_id = "jade-and-sound"  # not the other test's tour, so the two tests do not share state
    manifest = json.loads((built_site / EXHIBIT / "exhibit.json").read_text(encoding="utf-8"))
    stops = next(tour for tour in manifest["tours"] if tour["id"] == tour_id)["stops"]
    token = mint_guide_token(tour_secret, EXHIBIT, tour_id)

    with connect(tour_base.replace("http://", "ws://") + "/tours") as guide:
        guide.send(json.dumps({"type": "hello", "v": 1, "token": token, "name": "Mei", "device": "vr"}))
        welcome = json.loads(guide.recv(timeout=10))
        assert welcome["type"] == "welcome" and welcome["role"] == "guide"

        visitor = open_page(f"{tour_base}/{EXHIBIT}/?join={visitor_code(tour_secret, EXHIBIT, tour_id)}", xr=True)
        visitor.wait_for_selector("#tour-name", timeout=10000)
        assert visitor.locator("#tour-code").count() == 0, "a join link asks only for the name"
        visitor.fill("#tour-name", "Li")
        visitor.click(".tour-join button[type=submit]")
        joined = wait_tour(visitor, "t.connected && t.role === 'visitor' && t.synced")

        # Reloading a join link carries on as the same member (the tab kept the resume token), with no form.
        visitor.reload()
        visitor.wait_for_function("window.__viewer && window.__viewer.ready", timeout=60000)
        again = wait_tour(visitor, "t.connected && t.synced")
        assert again["member"] == joined["member"] and again["role"] == "visitor"
        assert visitor.locator("form.tour-join").count() == 0

        visitor.wait_for_function("document.getElementById('VRButton').dataset.i18n === 'enterVr'")
        visitor.click("#VRButton")
        visitor.wait_for_function("__viewer.mode === 'immersive-vr' && __viewer.xrFrames >= 5", timeout=30000)
        # Presence: the guide learns that the visitor is now in a headset.
        while True:
            message = json.loads(guide.recv(timeout=10))
            if message.get("kind") == "device_changed" and message["member"] == joined["member"]:
                break
        assert message["device"] == "vr"

        guide.send(json.dumps({"type": "start", "stop": 0}))
        wait_tour(visitor, "t.stop === 0")
        view = stops[0]["view"]["position"]
        visitor.wait_for_function(
            "(w) => Math.hypot(__viewer.camera.position[0] - w[0], __viewer.camera.position[2] - w[2]) < 0.05",
            arg=view, timeout=15000)
        # The stop and "following" reach the in-headset caption strip.
        caption = visitor.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.includes('·')", timeout=20000)
        status = tour_state(visitor)["statusText"]
        assert caption.json_value() and visitor.evaluate("__viewer.xr.caption").startswith(status)

        # The guide's head and laser become the 3D ghost.
        guide.send(json.dumps({"type": "pose", "head": {"p": [11.5, 1.6, 0.5], "q": [0, 0, 0, 1]},
                               "pointer": {"o": [11.6, 1.3, 0.4], "d": [0, -0.3, -0.95]}}))
        wait_tour(visitor, "t.ghost && t.ghost.pointer && t.ghost.ghost === 'guide'")

        # A teleport is the visitor going their own way; the right grip brings them back to the stop.
        floor_point = [view[0] + 1.0, 0.0, view[2] + 1.0]
        aim_right_controller(visitor, world_to_local(visitor, floor_point))
        pull_trigger(visitor)
        wait_tour(visitor, "t.following === false")
        visitor.evaluate("__xrDevice.controllers.right.updateButtonValue('squeeze', 1)")
        wait_tour(visitor, "t.grips >= 1")
        visitor.evaluate("__xrDevice.controllers.right.updateButtonValue('squeeze', 0)")
        wait_tour(visitor, "t.following === true")
        visitor.wait_for_function(
            "(w) => Math.hypot(__viewer.camera.position[0] - w[0], __viewer.camera.position[2] - w[2]) < 0.05",
            arg=view, timeout=15000)
        assert tour_state(visitor)["uiErrors"] == []


def receive_until(socket: Any, wanted: Any, timeout: float = 15.0) -> dict[str, Any]:
    """The next message from a plain protocol client for which `wanted(message)` holds (poses and the rest skipped)."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the awaited message did not arrive"
        message: dict[str, Any] = json.loads(socket.recv(timeout=left))
        if wanted(message):
            return message


def press_xr_button(page: Any, button: str, hand: str = "right") -> None:
    """Hold an IWER controller button until the tour UI's 50 ms poll has seen it, then let go."""
    before = tour_state(page)["xrButtons"]
    page.evaluate(f"__xrDevice.controllers.{hand}.updateButtonValue('{button}', 1)")
    wait_tour(page, f"t.xrButtons > {before}", timeout=20000)
    page.evaluate(f"__xrDevice.controllers.{hand}.updateButtonValue('{button}', 0)")
    wait_tour(page, "true")
    page.wait_for_timeout(120)  # over two polls: the release is seen, so the next press is a new edge


def test_a_guide_in_vr_gathers_and_ends_with_the_controller_buttons(tour_base: str, tour_secret: bytes,
                                                                     open_page: Any) -> None:
    """The guide wears the headset (IWER): grip starts or advances, A gathers, B twice ends; the status shows on the
    caption strip. The visitor is a plain protocol client and receives the events."""
    import json

    from websockets.sync.client import connect

    from viewer.tours.tokens import mint_guide_token, visitor_code

    tour_id = "jade-and-sound"
    with connect(tour_base.replace("http://", "ws://") + "/tours") as visitor:
        visitor.send(json.dumps({"type": "hello", "v": 1, "code": visitor_code(tour_secret, EXHIBIT, tour_id),
                                 "name": "Ana", "device": "desktop"}))
        assert json.loads(visitor.recv(timeout=10))["type"] == "welcome"

        guide = open_page(f"{tour_base}/{EXHIBIT}/#guide={mint_guide_token(tour_secret, EXHIBIT, tour_id)}", xr=True)
        me = wait_tour(guide, "t.connected && t.role === 'guide' && t.synced")
        guide.evaluate("__viewer.setLanguage('en')")  # the exhibit speaks zh first; the captions are checked in en
        guide.wait_for_function("document.getElementById('VRButton').dataset.i18n === 'enterVr'")
        guide.click("#VRButton")
        guide.wait_for_function("__viewer.mode === 'immersive-vr' && __viewer.xrFrames >= 5", timeout=30000)
        # Entering the headset puts the button hint on the caption strip.
        guide.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.includes('A/X')", timeout=20000)

        # A and B before the tour runs do nothing; the right grip starts it (or, if another test left it running,
        # moves on a stop): either way the visitor hears of it.
        if me["status"] != "running":
            press_xr_button(guide, "a-button")
            assert tour_state(guide)["status"] != "running"
        guide.evaluate("__xrDevice.controllers.right.updateButtonValue('squeeze', 1)")
        wait_tour(guide, "t.grips >= 1")
        guide.evaluate("__xrDevice.controllers.right.updateButtonValue('squeeze', 0)")
        receive_until(visitor, lambda m: m.get("kind") in ("tour_started", "stop_changed") and m["by"] == me["member"])
        wait_tour(guide, "t.status === 'running'")
        # The guide's own view glides to the stop too (the glide may start a frame after the event, and XR frames
        # are slow on a software renderer), so wait for a head pose that holds still over several XR frames.
        guide.wait_for_function("""() => {
            const p = JSON.stringify(__viewer.cameraPose().position), frames = __viewer.xrFrames;
            if (p !== window.__lastPose) { window.__lastPose = p; window.__poseFrames = frames; return false; }
            return frames - window.__poseFrames >= 4;
        }""", polling=100, timeout=45000)

        # A: "bring everyone to me", from where the guide's head is, in the room it stands in.
        head = guide.evaluate("__viewer.cameraPose().position")
        press_xr_button(guide, "a-button")
        gather = receive_until(visitor, lambda m: m.get("kind") == "gather")
        assert gather["by"] == me["member"]
        position = gather["position"]
        assert abs(position[0] - head[0]) < 0.05 and abs(position[2] - head[2]) < 0.05, (gather, head)
        guide.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.includes('Everyone is coming')",
                                timeout=20000)

        # B once asks for confirmation (on the caption strip) and ends nothing; B again ends the tour for everyone.
        press_xr_button(guide, "b-button")
        guide.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.includes('again')", timeout=20000)
        assert tour_state(guide)["status"] == "running"
        press_xr_button(guide, "y-button", hand="left")  # Y, the left hand's twin of B
        ended = receive_until(visitor, lambda m: m.get("kind") == "tour_ended")
        assert ended["by"] == me["member"]
    guide.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.includes('ended')", timeout=20000)
    assert tour_state(guide)["uiErrors"] == []
    assert guide.evaluate("__viewer.errors") == []
    assert guide.log.lines == [], guide.log.lines


def test_a_visitor_in_ar_follows_the_stops_without_flying(built_site: Path, tour_base: str, tour_secret: bytes,
                                                          open_page: Any) -> None:
    """AR (IWER with the office_small synthetic room): the tour panel is in the DOM overlay, a stop selects its
    artifact and shows its text instead of moving the reference space, and an unplaced visitor's next tap puts
    down the stop's artifact. The guide is a plain protocol client."""
    import json

    from websockets.sync.client import connect

    from tests.browser.conftest import load_sem_room
    from tests.browser.test_xr import pull_trigger
    from viewer.tours.tokens import mint_guide_token, visitor_code

    manifest = json.loads((built_site / EXHIBIT / "exhibit.json").read_text(encoding="utf-8"))
    stops = next(tour for tour in manifest["tours"] if tour["id"] == TOUR)["stops"]
    placeable = {a["id"] for a in manifest["artifacts"] if a.get("kind") != "panel"}

    with connect(tour_base.replace("http://", "ws://") + "/tours") as guide:
        guide.send(json.dumps({"type": "hello", "v": 1, "token": mint_guide_token(tour_secret, EXHIBIT, TOUR),
                               "name": "Mei", "device": "desktop"}))
        assert json.loads(guide.recv(timeout=10))["type"] == "welcome"
        snapshot = receive_until(guide, lambda m: m["type"] == "snapshot")
        if snapshot["tour"]["status"] != "running":
            guide.send(json.dumps({"type": "start", "stop": 0}))
            receive_until(guide, lambda m: m.get("kind") == "tour_started")
            at = 0
        else:
            at = snapshot["tour"]["stop"]

        visitor = open_page(f"{tour_base}/{EXHIBIT}/?join={visitor_code(tour_secret, EXHIBIT, TOUR)}", xr=True, sem=True)
        visitor.wait_for_selector("#tour-name", timeout=10000)
        visitor.fill("#tour-name", "Li")
        visitor.click(".tour-join button[type=submit]")
        wait_tour(visitor, f"t.connected && t.role === 'visitor' && t.synced && t.stop === {at}")
        load_sem_room(visitor)
        visitor.wait_for_function("document.getElementById('ARButton').dataset.i18n === 'startAr'")
        visitor.click("#ARButton")
        visitor.wait_for_function("__viewer.mode === 'immersive-ar' && __viewer.xrFrames > 3", timeout=30000)
        assert visitor.evaluate(
            "document.getElementById('ar-overlay').contains(document.querySelector('.tour-panel'))"), \
            "AR shows only the DOM overlay: the tour panel must be in it"
        receive_until(guide, lambda m: m.get("kind") == "device_changed" and m["device"] == "ar")
        origin = visitor.evaluate("__viewer.xrOrigin()")

        # The guide advances to a stop whose artifact can be placed.
        to = next(s["index"] for s in stops if s["index"] != at and s["artifact"] in placeable)
        guide.send(json.dumps({"type": "advance", "from": at, "to": to}))
        stop = stops[to]
        state = wait_tour(visitor, f"t.stop === {to} && t.arStops >= 1")
        assert state["following"] is True
        visitor.wait_for_function("(id) => __viewer.selectedArtifact === id", arg=stop["artifact"], timeout=20000)
        say = visitor.inner_text(".tour-panel .tour-say")
        assert say and say in stop["say"].values(), (say, stop["say"])
        assert visitor.evaluate("document.getElementById('ar-overlay').contains(document.getElementById('panel'))")
        assert visitor.evaluate("__viewer.xrOrigin()") == origin, "a stop does not move the reference space in AR"
        assert visitor.evaluate("document.getElementById('ar-subject').value") == f"artifact:{stop['artifact']}"

        # The first tap then puts down the stop's artifact, life size; the next stop leaves it where it is.
        visitor.evaluate("__xrDevice.position.set(0, 1.5, 0); __xrDevice.quaternion.set(-0.5, 0, 0, 0.866)")
        visitor.wait_for_function("__viewer.ar.hitTests > 3", timeout=20000)
        pull_trigger(visitor)
        placed = visitor.evaluate("JSON.parse(JSON.stringify(__viewer.ar))")
        assert placed["placed"] == 1 and placed["subject"] == f"artifact:{stop['artifact']}", placed
        after = next(s["index"] for s in stops if s["index"] != to)
        guide.send(json.dumps({"type": "advance", "from": to, "to": after}))
        wait_tour(visitor, f"t.stop === {after} && t.arStops >= 2")
        visitor.wait_for_function("(id) => __viewer.selectedArtifact === id", arg=stops[after]["artifact"], timeout=20000)
        kept = visitor.evaluate("JSON.parse(JSON.stringify(__viewer.ar))")
        assert (kept["placed"], kept["subject"], kept["position"]) == (1, placed["subject"], placed["position"])
        assert visitor.evaluate("__viewer.xrOrigin()") == origin
        assert tour_state(visitor)["following"] is True, "a stop in AR is not mistaken for looking around"

    assert tour_state(visitor)["uiErrors"] == []
    assert visitor.evaluate("__viewer.errors") == []
    assert visitor.log.lines == [], visitor.log.lines
