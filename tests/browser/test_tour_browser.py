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
from tests.conftest import REPO

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


def tour_state(page: Any) -> dict[str, Any]:
    return page.evaluate("JSON.parse(JSON.stringify(window.__tour || null))")


def wait_tour(page: Any, condition: str, timeout: int = 15000) -> dict[str, Any]:
    """Wait until `condition` (JS over `t` = window.__tour) holds; returns the state."""
    page.wait_for_function(f"(() => {{ const t = window.__tour; return Boolean(t && ({condition})); }})()", timeout=timeout)
    return tour_state(page)


def camera_position(page: Any) -> list[float]:
    return page.evaluate("window.__viewer.camera.position")


def wait_camera_at(page: Any, position: list[float], tolerance: float = ARRIVAL_TOLERANCE_M, timeout: int = 15000) -> None:
    page.wait_for_function(
        """([want, tol]) => { const c = window.__viewer.camera; if (!c) return false;
             return Math.hypot(c.position[0] - want[0], c.position[1] - want[1], c.position[2] - want[2]) <= tol; }""",
        arg=[position, tolerance], timeout=timeout)


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


def test_guide_leads_a_visitor_through_the_tour(built_site: Path, open_page: Any) -> None:
    import json

    from viewer.tours.tokens import mint_guide_token, visitor_code

    manifest = json.loads((built_site / EXHIBIT / "exhibit.json").read_text(encoding="utf-8"))
    stops = next(tour for tour in manifest["tours"] if tour["id"] == TOUR)["stops"]
    secret = secrets.token_bytes(32)
    token = mint_guide_token(secret, EXHIBIT, TOUR)
    code = visitor_code(secret, EXHIBIT, TOUR)

    with tour_server(built_site, secret) as base:
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
        guide.wait_for_selector(f".tour-member[data-member='{visitor_id}'] .tour-hand-badge", timeout=5000)
        assert visitor.get_attribute(".tour-hand", "aria-pressed") == "true"

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

        # A dropped connection resumes as the same member, and the tour goes on.
        visitor.evaluate("window.__viewer.tourUI.client.drop()")
        resumed = wait_tour(visitor, "t.welcomes >= 2 && t.connected && t.synced")
        assert resumed["member"] == visitor_id and resumed["resumes"] >= 1
        guide.click(".tour-next")
        wait_tour(visitor, "t.stop === 2")
        wait_camera_at(visitor, stops[2]["view"]["position"])

        for page in (guide, visitor):
            errors = tour_state(page)["uiErrors"]
            assert errors == [], errors
        assert guide.log.lines == [] and visitor.log.lines == [], guide.log.lines + visitor.log.lines
