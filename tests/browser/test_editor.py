"""`vitrina serve --edit` in a browser: a drag writes one YAML line with comments kept; keys rotate; undo restores."""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.preview import serving
from tests.browser.conftest import watched_minimal
from tests.browser.test_accessibility import serious_violations

pytestmark = pytest.mark.browser


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _act_and_wait_for_reload(page: Any, action: Any, timeout: int = 60000) -> None:
    """Run an action that saves; wait until the rebuild has reloaded the page and the editor is back."""
    page.evaluate("window.__beforeSave = true")
    action()
    page.wait_for_function("!window.__beforeSave && window.__viewer && window.__viewer.editor"
                           " && window.__viewer.editor.ready && window.__viewer.ready", timeout=timeout)


@contextlib.contextmanager
def _editor_page(browser: Any, tmp_path: Path, rewrite: Any = None) -> Iterator[tuple[Any, Path, str]]:
    """`serve --edit` on a copy of exhibits/minimal: (the page with the editor ready, the YAML file, its text)."""
    spec, preview = watched_minimal(tmp_path, edit_token="test-token", rewrite=rewrite)
    yaml_file = spec / "exhibit.yaml"
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        with serving(preview.site) as base:
            page = context.new_page()
            page.goto(f"{base}/minimal/index.html")
            page.wait_for_function("window.__viewer.ready && window.__viewer.editor && window.__viewer.editor.ready",
                                   timeout=30000)
            yield page, yaml_file, yaml_file.read_text(encoding="utf-8")
    finally:
        context.close()
        preview.stop()


def test_drag_writes_one_line_keys_rotate_and_undo_restores_the_file(browser: Any, tmp_path: Path) -> None:
    with _editor_page(browser, tmp_path) as (page, yaml_file, original):
        assert page.locator("#vitrina-editor").is_visible()
        vase = page.evaluate("window.__viewer.project('vase')")
        assert vase["visible"]

        def drag() -> None:
            page.mouse.move(vase["x"], vase["y"])
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(vase["x"] + 9 * step, vase["y"] + 2 * step)
            page.mouse.up()

        _act_and_wait_for_reload(page, drag)
        dragged = yaml_file.read_text(encoding="utf-8")
        changed = _changed_lines(original, dragged)
        assert len(changed) == 2, changed
        assert changed[0] == "-    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}}"
        assert changed[1].startswith("+    place: {room: room, at: [") and \
            changed[1].endswith("], plinth: {height: 0.9}}") and changed[1] != "+" + changed[0][1:]
        x = float(changed[1].split("at: [")[1].split(",")[0])
        assert x > 0.5 and round(x / 0.25, 6).is_integer(), f"moved east, snapped to the 25 cm grid: {x}"
        for comment in ("# yaml-language-server: $schema=../../docs/exhibit.schema.json",
                        "# The smallest useful exhibit: one room, one text panel and one model"):
            assert comment in dragged
        assert page.evaluate("window.__viewer.editor.selected") == "artifact:vase", "the selection survives"

        page.focus("#vitrina-editor-pad")
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("BracketRight"))
        rotated = yaml_file.read_text(encoding="utf-8")
        assert _changed_lines(dragged, rotated)[1].endswith("plinth: {height: 0.9}, rotate: 15}")

        _act_and_wait_for_reload(page, lambda: page.keyboard.press("Control+z"))
        assert yaml_file.read_text(encoding="utf-8") == dragged, "undo removes the rotate it added"
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("Control+z"))
        assert yaml_file.read_text(encoding="utf-8") == original, "undo restores the file byte for byte"
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("Control+Shift+z"))
        assert yaml_file.read_text(encoding="utf-8") == dragged, "redo moves it again"

        moved = page.evaluate("window.__viewer.project('vase')")

        def turn() -> None:  # Ctrl+drag turns: 64 px at 0.5°/px is 32°, snapped to 30°
            page.keyboard.down("Control")
            page.mouse.move(moved["x"], moved["y"])
            page.mouse.down()
            for step in range(1, 9):
                page.mouse.move(moved["x"] + 8 * step, moved["y"])
            page.mouse.up()
            page.keyboard.up("Control")

        _act_and_wait_for_reload(page, turn)
        assert _changed_lines(dragged, yaml_file.read_text(encoding="utf-8"))[1].endswith(
            "plinth: {height: 0.9}, rotate: 30}")
        assert page.evaluate("window.__viewer.errors") == []


def test_clicking_a_model_copies_the_point_in_the_artifacts_own_frame(browser: Any, tmp_path: Path) -> None:
    """`serve` without --edit: Copy a point, click the vase, get `at: [x, y, z]` on it, in metres from its base."""
    _, preview = watched_minimal(tmp_path)
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        with serving(preview.site) as base:
            page = context.new_page()
            page.goto(f"{base}/minimal/index.html")
            page.wait_for_function("window.__viewer.ready && window.__viewer.pointPicker", timeout=30000)
            assert page.locator("#vitrina-editor").count() == 0, "the editor is only on with --edit"
            vase = page.evaluate("window.__viewer.project('vase')")
            page.click("#vitrina-copy-point")
            assert page.get_attribute("#vitrina-copy-point", "aria-pressed") == "true"
            page.mouse.click(vase["x"], vase["y"])
            page.wait_for_function("window.__viewer.pointPicker.last !== null")
            last = page.evaluate("window.__viewer.pointPicker.last")
            x, y, z = last["at"]
            assert last["artifact"] == "vase" and last["line"] == f"at: [{x}, {y}, {z}]"
            # The vase is 24 cm tall and about 12 cm wide: the point is on it, in its frame, not the room's.
            assert 0.0 < y < 0.25 and abs(x) < 0.1 and abs(z) < 0.1, last
            assert page.locator("[role=status]", has_text="vase: at: [").count() == 1
            assert page.evaluate("window.__viewer.openPanel") is None, "copying a point does not select the object"
    finally:
        context.close()
        preview.stop()


def test_a_panel_slides_along_its_wall_and_check_warnings_show_on_the_object(browser: Any, tmp_path: Path) -> None:
    with _editor_page(browser, tmp_path) as (page, yaml_file, original):
        assert serious_violations(page) == [], "the editor is as accessible as the viewer"
        panel = page.evaluate("window.__viewer.project('welcome')")

        def slide() -> None:
            page.mouse.move(panel["x"], panel["y"])
            page.mouse.down()
            for step in range(1, 9):
                page.mouse.move(panel["x"] + 8 * step, panel["y"])
            page.mouse.up()

        _act_and_wait_for_reload(page, slide)
        changed = _changed_lines(original, yaml_file.read_text(encoding="utf-8"))
        assert changed[0] == "-    place: {room: room, wall: north, at: -1.5, height: 1.5}"
        assert len(changed) == 2 and changed[1].startswith("+    place: {room: room, wall: north, at: ")
        offset = float(changed[1].split("at: ")[1].split(",")[0])
        assert offset > -1.5 and changed[1].endswith(", height: 1.5}"), "slid right, not up or down"
        assert page.locator(".vitrina-editor-badge").count() == 0

        page.select_option("#vitrina-editor-target", "artifact:vase")
        page.fill("#vitrina-editor-place-at-0", "2.9")
        _act_and_wait_for_reload(page, lambda: page.press("#vitrina-editor-place-at-0", "Enter"))
        assert "at: [2.9, -0.5]" in yaml_file.read_text(encoding="utf-8")
        badge = page.locator(".vitrina-editor-badge")
        badge.wait_for(state="attached", timeout=10000)
        assert "vase" in badge.get_attribute("aria-label") and "outside room" in badge.get_attribute("aria-label")
        assert "stands partly outside" in page.locator("#vitrina-editor-problems").inner_text()

        before_start = yaml_file.read_text(encoding="utf-8")
        page.select_option("#vitrina-editor-target", "room:room")
        page.focus("#vitrina-editor-pad")
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("ArrowLeft"))
        page.focus("#vitrina-editor-pad")
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("BracketLeft"))
        assert _changed_lines(before_start, yaml_file.read_text(encoding="utf-8")) == [
            "-    start: {at: [0, 2], facing: 0}", "+    start: {at: [-0.25, 2], facing: 345}"]
        start = page.evaluate("window.__viewer.manifest.start")
        assert start["yaw"] % 360 == 15 and start["position"][0] == -0.25, "the rebuilt exhibit starts there"


def test_check_s_warnings_show_live_while_dragging_before_anything_is_written(browser: Any, tmp_path: Path) -> None:
    with _editor_page(browser, tmp_path) as (page, yaml_file, original):
        vase = page.evaluate("window.__viewer.project('vase')")
        assert page.locator(".vitrina-editor-badge").count() == 0, "the vase starts without problems"
        page.keyboard.down("Shift")  # free movement: nothing holds the plinth inside the walls
        page.mouse.move(vase["x"], vase["y"])
        page.mouse.down()
        for step in range(1, 16):  # 15 × 40 px east: well through the east wall
            page.mouse.move(vase["x"] + 40 * step, vase["y"])
        page.wait_for_function("window.__viewer.editor.live && window.__viewer.editor.live.problems.length > 0",
                               timeout=20000)
        live = page.evaluate("window.__viewer.editor.live")
        assert live["target"] == "artifact:vase" and live["key"] == "place.at"
        assert any("outside room 'room'" in problem["message"] for problem in live["problems"]), live
        assert page.locator(".vitrina-editor-badge[aria-label^='vase:']").count() == 1, "the badge is on the object"
        assert "outside" in page.locator("#vitrina-editor-problems").inner_text()
        assert yaml_file.read_text(encoding="utf-8") == original, "checked before the write: nothing written yet"
        for step in range(14, -1, -1):  # back where it was: the release writes nothing and the warning goes
            page.mouse.move(vase["x"] + 40 * step, vase["y"])
        page.mouse.up()
        page.keyboard.up("Shift")
        page.wait_for_function("window.__viewer.editor.live === null && "
                               "document.querySelectorAll('.vitrina-editor-badge').length === 0", timeout=10000)
        assert yaml_file.read_text(encoding="utf-8") == original


# A second room east of the first, through a door, for moves between rooms.
ANNEX = """    start: {at: [0, 2], facing: 0}
    doors:
      - {wall: east, to: annex, at: 0, width: 1.2, height: 2.2}
  - id: annex  # the small room behind the door
    name: Annex
    size: [4, 5, 3]
    position: [5, 0]
"""


def test_another_room_or_wall_from_the_panel_is_one_line_with_comments_kept(browser: Any, tmp_path: Path) -> None:
    def two_rooms(text: str) -> str:
        return text.replace("    start: {at: [0, 2], facing: 0}\n", ANNEX, 1)

    with _editor_page(browser, tmp_path, two_rooms) as (page, yaml_file, original):
        page.select_option("#vitrina-editor-target", "artifact:vase")
        _act_and_wait_for_reload(page, lambda: page.select_option("#vitrina-editor-place-room", "annex"))
        moved = yaml_file.read_text(encoding="utf-8")
        assert _changed_lines(original, moved) == [
            "-    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}}",
            "+    place: {room: annex, at: [0, 0], plinth: {height: 0.9}}"]
        assert "  - id: annex  # the small room behind the door\n" in moved and moved.startswith("# yaml-language")
        assert page.evaluate("__viewer.manifest.artifacts.find((a) => a.id === 'vase').room") == "annex"

        page.select_option("#vitrina-editor-target", "artifact:welcome")
        _act_and_wait_for_reload(page, lambda: page.select_option("#vitrina-editor-place-wall", "south"))
        hung = yaml_file.read_text(encoding="utf-8")
        assert _changed_lines(moved, hung) == ["-    place: {room: room, wall: north, at: -1.5, height: 1.5}",
                                               "+    place: {room: room, wall: south, at: 0, height: 1.5}"]
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("Control+z"))
        assert yaml_file.read_text(encoding="utf-8") == moved, "undo hangs it back"

        page.select_option("#vitrina-editor-target", "artifact:vase")
        _act_and_wait_for_reload(page, lambda: page.select_option("#vitrina-editor-place-wall", "east"))
        assert "    place: {room: annex, wall: east, at: 0, height: 1.5}\n" in yaml_file.read_text(encoding="utf-8")
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("Control+z"))
        assert yaml_file.read_text(encoding="utf-8") == moved, "undo puts it back on the floor with its plinth"
        assert page.evaluate("window.__viewer.errors") == []


def test_dragging_an_artifact_through_the_door_moves_it_into_the_other_room(browser: Any, tmp_path: Path) -> None:
    def two_rooms(text: str) -> str:
        return text.replace("    start: {at: [0, 2], facing: 0}\n", ANNEX, 1)

    with _editor_page(browser, tmp_path, two_rooms) as (page, yaml_file, original):
        vase = page.evaluate("window.__viewer.project('vase')")

        def drag() -> None:
            page.keyboard.down("Shift")
            page.mouse.move(vase["x"], vase["y"])
            page.mouse.down()
            for step in range(1, 80):  # east, until the drop point is past the door in the annex
                page.mouse.move(vase["x"] + 12 * step, vase["y"])
                if page.evaluate("window.__viewer.editor.dragging?.value?.room === 'annex'"):
                    break
            dragged = page.evaluate("window.__viewer.editor.dragging.value")
            assert dragged["room"] == "annex" and dragged["wall"] is None and -2 < dragged["at"][0] < 2, dragged
            page.mouse.up()
            page.keyboard.up("Shift")

        _act_and_wait_for_reload(page, drag)
        changed = _changed_lines(original, yaml_file.read_text(encoding="utf-8"))
        assert len(changed) == 2 and changed[1].startswith("+    place: {room: annex, at: ["), changed
        assert page.evaluate("__viewer.manifest.artifacts.find((a) => a.id === 'vase').room") == "annex"


def _drag_from(page: Any, spot: dict[str, float], dx: float, dy: float, steps: int = 10) -> None:
    page.mouse.move(spot["x"], spot["y"])
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(spot["x"] + dx * step / steps, spot["y"] + dy * step / steps)
    page.mouse.up()


def test_the_ring_turns_and_the_upright_arrow_raises_the_plinth_one_line_each(browser: Any, tmp_path: Path) -> None:
    with _editor_page(browser, tmp_path) as (page, yaml_file, original):
        page.select_option("#vitrina-editor-target", "artifact:vase")
        # From higher up and further back, as a designer looks at a plinth to turn it.
        page.evaluate("__viewer.flyTo({target: [0.5, 0.6, -0.5], position: [0.5, 2.6, 2.4]}, {durationMs: 0})")
        page.wait_for_function("window.__viewer.editor.handles?.rotate?.visible && "
                               "window.__viewer.editor.handles?.height?.visible", timeout=10000)
        handles = page.evaluate("window.__viewer.editor.handles")
        _act_and_wait_for_reload(page, lambda: _drag_from(page, handles["rotate"], 120, 0))
        turned = yaml_file.read_text(encoding="utf-8")
        changed = _changed_lines(original, turned)
        assert len(changed) == 2 and changed[1].startswith("+    place: {room: room, at: [0.5, -0.5], plinth: "
                                                           "{height: 0.9}, rotate: "), changed
        rotate = float(changed[1].split("rotate: ")[1].rstrip("}"))
        assert rotate != 0 and rotate % 15 == 0, "snapped to 15° steps"

        page.wait_for_function("window.__viewer.editor.handles?.height?.visible", timeout=10000)
        handles = page.evaluate("window.__viewer.editor.handles")
        _act_and_wait_for_reload(page, lambda: _drag_from(page, handles["height"], 0, -60))
        raised = yaml_file.read_text(encoding="utf-8")
        changed = _changed_lines(turned, raised)
        assert len(changed) == 2, changed
        height = float(changed[1].split("plinth: {height: ")[1].split("}")[0])
        assert height > 0.9 and round(height / 0.05, 6).is_integer(), f"raised in 5 cm steps: {height}"
        assert raised.startswith("# yaml-language-server"), "comments kept"
        assert page.evaluate("window.__viewer.errors") == []


def test_a_picture_s_arrows_slide_it_along_its_wall_and_up(browser: Any, tmp_path: Path) -> None:
    with _editor_page(browser, tmp_path) as (page, yaml_file, original):
        page.select_option("#vitrina-editor-target", "artifact:welcome")
        page.wait_for_function("window.__viewer.editor.handles?.along && window.__viewer.editor.handles?.updown",
                               timeout=10000)
        handles = page.evaluate("window.__viewer.editor.handles")
        assert handles["along"]["visible"] and handles["updown"]["visible"], handles
        _act_and_wait_for_reload(page, lambda: _drag_from(page, handles["along"], 80, 0))
        slid = yaml_file.read_text(encoding="utf-8")
        changed = _changed_lines(original, slid)
        assert len(changed) == 2 and changed[1].startswith("+    place: {room: room, wall: north, at: ") and \
            changed[1].endswith(", height: 1.5}") and "at: -1.5," not in changed[1], changed
        page.wait_for_function("window.__viewer.editor.handles?.updown?.visible", timeout=10000)
        handles = page.evaluate("window.__viewer.editor.handles")
        _act_and_wait_for_reload(page, lambda: _drag_from(page, handles["updown"], 0, -40))
        changed = _changed_lines(slid, yaml_file.read_text(encoding="utf-8"))
        assert len(changed) == 2 and "height: 1.5}" not in changed[1], changed


def test_live_tours_run_beside_the_editor_on_the_same_port(browser: Any, tmp_path: Path) -> None:
    """`serve --edit` with the tour server answering the page: edits go through it (in a header, as it reads no
    bodies) while the page's tour socket connects."""
    import asyncio
    import secrets
    import threading

    from pipeline.preview import answered_hosts
    from viewer.tours.server import serve_tours

    spec, preview = watched_minimal(tmp_path, edit_token="test-token")
    yaml_file = spec / "exhibit.yaml"
    original = yaml_file.read_text(encoding="utf-8")
    loop = asyncio.new_event_loop()
    bound: list[int] = []
    listening = threading.Event()
    stop: list[asyncio.Event] = []

    def ready(port: int) -> None:
        preview.site.edit.hosts |= answered_hosts("127.0.0.1", port)
        bound.append(port)
        listening.set()

    async def main() -> None:
        stop.append(asyncio.Event())
        await serve_tours(preview.site.root, "127.0.0.1", 0, http_handler=preview.site.respond,
                          secret=secrets.token_bytes(32), ready=ready, stop=stop[0], handle_signals=False)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        assert listening.wait(20), "the tour server did not start"
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{bound[0]}/minimal/index.html")
        page.wait_for_function("window.__viewer.ready && window.__viewer.editor && window.__viewer.editor.ready",
                               timeout=30000)
        page.select_option("#vitrina-editor-target", "artifact:vase")
        page.focus("#vitrina-editor-pad")
        _act_and_wait_for_reload(page, lambda: page.keyboard.press("BracketRight"))
        assert _changed_lines(original, yaml_file.read_text(encoding="utf-8")) == [
            "-    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}}",
            "+    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}, rotate: 15}"]
        reply = page.evaluate("""() => new Promise((resolve) => {
            const socket = new WebSocket(location.origin.replace('http', 'ws') + '/tours');
            socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', v: 1, code: 'NOSUCHCODE', name: 'Ana', device: 'desktop' }));
            socket.onmessage = (event) => { resolve(event.data); socket.close(); };
            socket.onclose = (event) => resolve(`closed ${event.code} ${event.reason}`);
        })""")
        # The tour server itself answers, in its protocol: a well-formed hello with a code no tour has.
        answer = json.loads(reply)
        assert (answer["type"], answer["code"]) == ("error", "unauthorized"), reply
    finally:
        context.close()
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(15)
        preview.stop()
