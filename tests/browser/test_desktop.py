"""The exhibit page on a desktop: rendering, picking, keyboard, walking, language, captions, the tour API."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.site import parse_vtt
from tests.browser.conftest import EXHIBIT, nearest_artifact, viewer_state, wait_frames

pytestmark = pytest.mark.browser

BACKGROUND = (0x1D, 0x21, 0x26)


def artifact_with(page, key: str) -> dict:
    """The first artifact of the loaded manifest that has a non-empty `key` (annotations, audio…)."""
    return page.evaluate(f"__viewer.manifest.artifacts.find(a => a.{key} && Object.keys(a.{key}).length)")


def look_at(page, artifact: dict) -> dict:
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", artifact["view"])
    wait_frames(page, count=3)
    return page.evaluate("(id) => __viewer.project(id)", artifact["id"])


def test_artifact_is_drawn_where_it_projects(open_page, exhibit_url):
    page = open_page(exhibit_url)
    artifact = nearest_artifact(page, "a.kind === 'model'")
    point = look_at(page, artifact)
    assert point["visible"]
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    x, y = round(point["x"]), round(point["y"])
    differing = 0
    for dx in range(-6, 7, 3):
        for dy in range(-6, 7, 3):
            pixel = shot.getpixel((x + dx, y + dy))
            differing += sum(abs(a - b) for a, b in zip(pixel, BACKGROUND, strict=True)) > 40
    assert differing >= 20, f"only {differing}/25 samples around {x},{y} differ from the background"
    state = viewer_state(page, "errors", "loadedRooms", "manifest")
    assert state["errors"] == []
    assert state["loadedRooms"][0] == state["manifest"]["start"]["room"], "the room the visitor stands in loads first"
    assert sorted(state["loadedRooms"]) == sorted(room["id"] for room in state["manifest"]["rooms"])
    assert page.locator("#room-progress").is_hidden(), "the loading indicator goes away"
    assert page.log.lines == []


def test_click_on_artifact_opens_its_panel_and_escape_closes_it(open_page, exhibit_url):
    page = open_page(exhibit_url)
    artifact = nearest_artifact(page, "a.kind === 'model'")
    point = look_at(page, artifact)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("__viewer.openPanel === 'object'")
    state = viewer_state(page, "selectedArtifact")
    assert state["selectedArtifact"] == artifact["id"]
    panel = page.locator("#panel")
    assert panel.is_visible()
    record = artifact["record"]
    lang = page.evaluate("__viewer.language")
    assert page.locator("#panel-title").inner_text() == record["title"][lang]
    text = panel.inner_text()
    if record.get("credit"):
        assert record["credit"].get(lang, next(iter(record["credit"].values()))) in text
    assert page.locator("#panel dd a").first.get_attribute("href").startswith("http")  # the rights statement
    page.keyboard.press("Escape")
    page.wait_for_function("__viewer.openPanel === null")
    assert not panel.is_visible()


def test_keyboard_only_selection_returns_focus(open_page, exhibit_url):
    page = open_page(exhibit_url)
    first = page.locator(".artifact-button").first
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("__viewer.openPanel === 'object'")
    assert page.evaluate("document.activeElement.id") == "panel-title"
    assert first.get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")
    page.wait_for_function("__viewer.openPanel === null")
    assert page.evaluate("document.activeElement.dataset.artifact") == first.get_attribute("data-artifact")
    second = page.locator(".artifact-button").nth(1)
    second.focus()
    page.keyboard.press("Space")
    page.wait_for_function(f"__viewer.selectedArtifact === '{second.get_attribute('data-artifact')}'")


def forward_of(quaternion):
    """The horizontal direction a camera with this (x, y, z, w) rotation looks along (-Z rotated)."""
    x, y, z, w = quaternion
    return (-(2 * (x * z + w * y)), -(1 - 2 * (x * x + y * y)))  # (x, z) components of q * (0, 0, -1)


def test_keys_walk_and_turn(open_page, exhibit_url):
    page = open_page(exhibit_url)
    before = viewer_state(page, "camera")["camera"]
    fx, fz = forward_of(before["quaternion"])
    page.focus("canvas")
    page.keyboard.down("w")
    # Held until the walk shows: the step per frame depends on the frame rate of a busy machine.
    page.wait_for_function("([x, z, fx, fz]) => (__viewer.camera.position[0] - x) * fx + (__viewer.camera.position[2] - z) * fz > 0.3",
                           arg=[before["position"][0], before["position"][2], fx, fz], timeout=20000)
    page.keyboard.up("w")
    after = viewer_state(page, "camera")["camera"]
    moved = [a - b for a, b in zip(after["position"], before["position"], strict=True)]
    assert abs(moved[0] * fz - moved[2] * fx) < 0.05, f"W walks straight ahead ({fx:.2f},{fz:.2f}): {moved}"
    assert abs(after["position"][1] - before["position"][1]) < 1e-6, "eye height stays"
    page.keyboard.down("ArrowLeft")
    page.wait_for_function("(q) => Math.abs(__viewer.camera.quaternion.reduce((s, v, i) => s + v * q[i], 0)) < 0.995",
                           arg=after["quaternion"], timeout=20000)
    page.keyboard.up("ArrowLeft")
    turned = viewer_state(page, "camera")["camera"]
    tx, tz = forward_of(turned["quaternion"])
    assert fx * tz - fz * tx < 0, "ArrowLeft turns to the left (counter-clockwise seen from above)"
    assert turned["position"] == pytest.approx(after["position"], abs=1e-6), "turning does not walk"


def test_click_on_floor_walks_there(open_page, exhibit_url):
    page = open_page(exhibit_url)
    before = viewer_state(page, "camera")["camera"]["position"]
    box = page.locator("canvas").bounding_box()
    x, y = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.8
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName", [x, y]) == "CANVAS"
    target = page.evaluate("([x, y]) => __viewer.pickAt(x, y)", [x, y])
    assert target["kind"] == "floor"
    page.mouse.click(x, y)
    # The glide lasts 0.7 s of clock time; on a busy machine that may be only a few frames, so wait for arrival.
    page.wait_for_function("(p) => Math.hypot(__viewer.camera.position[0] - p[0], __viewer.camera.position[2] - p[2]) < 0.01",
                           arg=target["point"], timeout=20000)
    after = viewer_state(page, "camera")["camera"]["position"]
    assert abs(after[0] - before[0]) + abs(after[2] - before[2]) > 0.3, f"expected a walk to the clicked floor: {before} -> {after}"
    assert abs(after[1] - before[1]) < 1e-6, "the eye stays at eye height"


def test_language_switch_changes_every_label(open_page, exhibit_url):
    page = open_page(exhibit_url)
    manifest = page.evaluate("__viewer.manifest")
    languages = manifest["exhibit"]["languages"]
    other = next(code for code in languages if code != page.evaluate("__viewer.language"))
    first = next(a for a in manifest["artifacts"] if a["record"].get("title", {}).get(other))
    button = page.locator(f".artifact-button[data-artifact='{first['id']}']")
    button.click()
    page.select_option("#language-select", other)
    page.wait_for_function(f"__viewer.language === '{other}'")
    assert page.evaluate("document.documentElement.lang") == other
    assert button.inner_text() == first["record"]["title"][other]
    assert page.locator("#panel-title").inner_text() == first["record"]["title"][other]
    assert page.locator("#exhibit-title").inner_text() == manifest["exhibit"]["title"][other]
    ui_label = {"en": "Objects", "zh": "展品"}.get(other)
    if ui_label:
        assert page.locator("#artifact-list-title").inner_text() == ui_label


def test_captions_appear_when_the_audio_guide_plays(open_page, exhibit_url):
    page = open_page(exhibit_url)
    artifact = artifact_with(page, "audio")
    assert artifact, "the example needs an artifact with an audio guide"
    page.evaluate("(id) => __viewer.selectArtifact(id)", artifact["id"])
    audio = page.locator("#panel audio")
    assert audio.count() == 1
    assert page.locator("#panel audio track[kind=captions]").count() == 1
    page.evaluate("document.querySelector('#panel audio').play()")
    page.wait_for_function("__viewer.caption.length > 0", timeout=15000)
    captions = page.locator("#captions")
    assert captions.is_visible()
    assert captions.get_attribute("aria-live") == "polite"
    assert captions.inner_text().strip() == page.evaluate("__viewer.caption").strip()


def test_reduced_motion_cuts_instead_of_gliding(open_page, exhibit_url):
    page = open_page(exhibit_url, reduced_motion=True)
    artifact = page.evaluate("__viewer.manifest.artifacts[0]")
    page.evaluate("(id) => __viewer.selectArtifact(id)", artifact["id"])
    wait_frames(page, count=1)
    position = viewer_state(page, "camera")["camera"]["position"]
    assert all(abs(a - b) < 1e-3 for a, b in zip(position, artifact["view"]["position"], strict=True))


def test_page_works_when_the_tour_ui_is_missing(browser, exhibit_url):
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        context.route("**/tour-ui.js", lambda route: route.fulfill(status=404, body="missing"))
        page = context.new_page()
        page.goto(exhibit_url + "?tour=highlights")
        page.wait_for_function("window.__viewer && __viewer.ready && __viewer.tourError !== undefined", timeout=60000)
        page.locator(".artifact-button").first.click()
        page.wait_for_function("__viewer.openPanel === 'object'")
        assert page.evaluate("__viewer.errors") == []
    finally:
        context.close()


def test_tour_api(open_page, exhibit_url):
    page = open_page(exhibit_url)
    events = page.evaluate("""async () => {
        const seen = [];
        __viewer.on('select', (e) => seen.push(e.artifact));
        const stop = __viewer.manifest.tours[0].stops[1];
        const arrived = await __viewer.flyTo(stop.view, {durationMs: 200});
        __viewer.selectArtifact(stop.artifact, {fly: false});
        __viewer.setGhost('guide-1', {position: [0, 1.6, 0], quaternion: [0, 0, 0, 1],
                                      pointer: {origin: [0, 1.5, 0], direction: [0, 0, -1]}, label: 'Guide'});
        return {arrived, seen, pose: __viewer.cameraPose(), ghosts: __viewer.ghosts(), view: stop.view};
    }""")
    assert events["arrived"] is True
    assert events["seen"] == [page.evaluate("__viewer.manifest.tours[0].stops[1].artifact")]
    assert all(abs(a - b) < 1e-3 for a, b in zip(events["pose"]["position"], events["view"]["position"], strict=True))
    assert events["ghosts"] == ["guide-1"]
    box = page.locator("canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    ray = page.evaluate("__viewer.pointerRay()")
    assert ray is not None and abs(sum(c * c for c in ray["direction"]) - 1) < 1e-6
    page.evaluate("__viewer.setGhost('guide-1', null)")
    assert page.evaluate("__viewer.ghosts()") == []

    # Tour narration goes through the captioned audio guide, optionally starting part-way in.
    page.evaluate("__viewer.closePanel()")
    track = page.evaluate("Object.values(__viewer.manifest.artifacts.find(a => a.audio && Object.keys(a.audio).length).audio)[0]")
    page.evaluate("(track) => __viewer.playNarration(track, {startAtMs: 500})", track)
    page.wait_for_function("__viewer.caption.length > 0", timeout=15000)
    assert page.evaluate("document.querySelector('#tour-slot audio').currentTime") >= 0.5
    assert page.evaluate("__viewer.errors") == []


def test_object_page_works_without_javascript(browser, built_site, site_url):
    manifest = __import__("json").loads((built_site / EXHIBIT / "exhibit.json").read_text(encoding="utf-8"))
    artifact = next(a for a in manifest["artifacts"] if a.get("audio"))
    default = manifest["exhibit"]["default_language"]
    other = next(code for code in manifest["exhibit"]["languages"] if code != default)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site_url}/{EXHIBIT}/{artifact['page']}")
        assert page.locator("h1").inner_text() == artifact["record"]["title"][default]
        assert page.locator(f"section[lang={other}] h2").inner_text() == artifact["record"]["title"][other]
        captions = built_site / EXHIBIT / artifact["audio"][other]["captions"]
        expected = parse_vtt(captions.read_text(encoding="utf-8"))
        assert expected and page.locator(f"section[lang={other}] .transcript p").all_inner_texts() == expected
        assert page.locator("a.open-3d").get_attribute("href") == f"../index.html#artifact={artifact['id']}"
    finally:
        context.close()


def test_touch_tap_selects_and_walks(browser, exhibit_url):
    """A phone: taps go through the same picking as clicks (OrbitControls keeps drags and pinches)."""
    context = browser.new_context(viewport={"width": 412, "height": 800}, has_touch=True, is_mobile=True,
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(exhibit_url)
        page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=60000)
        assert page.evaluate("matchMedia('(pointer: coarse)').matches")
        artifact = nearest_artifact(page, "a.kind === 'model'")
        point = look_at(page, artifact)
        page.touchscreen.tap(point["x"], point["y"])
        page.wait_for_function(f"__viewer.selectedArtifact === '{artifact['id']}'")
        page.keyboard.press("Escape")
        before = viewer_state(page, "camera")["camera"]["position"]
        box = page.locator("canvas").bounding_box()
        for fraction in (0.95, 0.9, 0.85, 0.8, 0.75, 0.7):
            x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * fraction
            hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName === 'CANVAS' && __viewer.pickAt(x, y)", [x, y])
            if hit and hit["kind"] == "floor":
                break
        else:
            pytest.fail("no floor in view below the artifact")
        page.touchscreen.tap(x, y)
        page.wait_for_function("(p) => Math.hypot(__viewer.camera.position[0] - p[0], __viewer.camera.position[2] - p[2]) > 0.2",
                               arg=before, timeout=20000)
        assert page.evaluate("__viewer.errors") == []
    finally:
        context.close()


def test_click_on_a_hotspot_opens_its_annotation(open_page, exhibit_url):
    page = open_page(exhibit_url)
    artifact = nearest_artifact(page, "a.annotations && a.annotations.length")
    note = artifact["annotations"][0]
    look_at(page, artifact)
    point = page.evaluate("(key) => __viewer.project(key)", note["key"])
    assert point["visible"]
    assert page.evaluate("([x, y]) => __viewer.pickAt(x, y).annotation", [point["x"], point["y"]]) == note["key"]
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"__viewer.selectedAnnotation === '{note['key']}'")
    lang = page.evaluate("__viewer.language")
    pressed = page.locator("#panel .annotation-button[aria-pressed=true]")
    assert pressed.inner_text() == note["title"].get(lang) or pressed.inner_text() == next(iter(note["title"].values()))
    assert note["text"].get(lang, "") in page.locator("#panel").inner_text()


def test_walls_stop_walking_but_doors_let_you_through(open_page, exhibit_url):
    page = open_page(exhibit_url)
    manifest = page.evaluate("__viewer.manifest")
    room = next(r for r in manifest["rooms"] if any(d["wall"] in ("east", "west") for d in r.get("doors", [])))
    door = next(d for d in room["doors"] if d["wall"] in ("east", "west"))
    step = 1.0 if door["wall"] == "east" else -1.0
    x, z = door["position"][0], door["position"][2]

    def walk_towards(start_z: float, until_x: float) -> list[float]:
        """Hold W from 1.5 m before the wall until the eye passes until_x (frame rates vary on a busy machine)."""
        eye = [x - 1.5 * step, 1.6, start_z]
        page.evaluate("(v) => __viewer.flyTo(v, {durationMs: 0})",
                      {"position": eye, "target": [x + 10 * step, 1.6, start_z]})
        page.focus("canvas")
        page.keyboard.down("w")
        page.wait_for_function("([x, s]) => (__viewer.camera.position[0] - x) * s > 0", arg=[until_x, step],
                               timeout=30000)
        wait_frames(page, count=10)  # keep pushing: a wall must hold
        page.keyboard.up("w")
        return viewer_state(page, "camera")["camera"]["position"]

    wall = walk_towards(z + door["width"] / 2 + 1.0, until_x=x - 0.4 * step)  # beside the door: the wall
    assert (x - wall[0]) * step > 0, f"walked through the wall at x={x}: {wall}"
    through = walk_towards(z, until_x=x + 0.3 * step)  # straight at the doorway
    assert (through[0] - x) * step > 0.3, f"did not pass the door at x={x}: {through}"


QUEST3_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "OculusBrowser/35.0 Chrome/124.0 VR Safari/537.36")
PHONE = {"viewport": {"width": 412, "height": 800}, "has_touch": True, "is_mobile": True, "device_scale_factor": 1}


@pytest.mark.parametrize(("device", "listed", "expected"), [
    ({}, ["phone", "desktop"], "desktop"),
    (PHONE, ["desktop", "phone"], "phone"),
    ({"user_agent": QUEST3_USER_AGENT}, ["quest2", "quest3"], "quest3"),
    ({"user_agent": QUEST3_USER_AGENT}, ["phone", "quest2"], "quest2"),  # no quest3 entry: the nearest headset
    ({}, ["phone"], None),  # nothing for this device: the room's own GLB
], ids=["desktop", "phone", "quest3", "quest3-falls-back-to-quest2", "no-entry"])
def test_each_device_loads_the_glb_built_for_its_target(browser, exhibit_url, device, listed, expected):
    """The manifest lists per-target GLBs under `lod` (lighter rooms, smaller textures); the viewer loads the one
    for its device, and the room's own GLB only when there is none."""
    targets = ("quest2", "quest3", "phone", "desktop")
    context = browser.new_context(**device)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))

    def manifest(route):
        response = route.fetch()
        data = response.json()
        for room in data["rooms"]:
            room["lod"] = [{"target": t, "glb": room["glb"].replace(".glb", f".for-{t}.glb"), "error": 0.0,
                            "stats": room["stats"]} for t in listed]
        route.fulfill(response=response, json=data)

    def variant(route):
        url = route.request.url
        chosen = next((t for t in targets if url.endswith(f".for-{t}.glb")), None)
        if chosen is None:
            route.continue_()
            return
        route.fulfill(response=route.fetch(url=url.replace(f".for-{chosen}.glb", ".glb")))

    try:
        context.route("**/exhibit.json", manifest)
        context.route("**/*.glb", variant)
        page = context.new_page()
        page.goto(exhibit_url)
        page.wait_for_function("window.__viewer && __viewer.allRoomsLoadedMs !== null", timeout=60000)
        rooms = page.evaluate("__viewer.manifest.rooms.map(r => r.glb)")
        glbs = [url for url in requested if url.endswith(".glb") and "/rooms/" in url]
        for glb in rooms:
            wanted = glb.replace(".glb", f".for-{expected}.glb") if expected else glb
            assert any(url.endswith(wanted) for url in glbs), (wanted, glbs)
            assert not any(url.endswith(glb) for url in glbs if expected), glbs  # the room's own GLB not fetched
        assert page.evaluate("__viewer.failedRooms") == [] and page.evaluate("__viewer.errors") == []
    finally:
        context.close()


@pytest.mark.parametrize(("budget", "expected"), [
    (None, "sharper"),  # the manifest's budgets: close up, a level sharper than the thumb streams in
    ({"triangles": 1, "gpu_texture_bytes": 1, "max_texture": 1, "draw_calls": 1}, "thumb"),  # nothing fits: thumbs
], ids=["sharper-when-it-fits", "thumb-when-nothing-fits"])
def test_each_model_streams_within_the_device_budget(browser, exhibit_url, budget, expected):
    """Models are GLBs of their own (a ladder per artifact, coarse to fine): the viewer fetches every thumb first,
    then, walking up to one, a sharper level only if the target's budget allows it; each artifact's node is in the
    room exactly once whatever it shows."""
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))

    def manifest(route):
        response = route.fetch()
        data = response.json()
        if budget is not None:
            data["budgets"] = {target: budget for target in data["budgets"]}
        route.fulfill(response=response, json=data)

    try:
        context.route("**/exhibit.json", manifest)
        page = context.new_page()
        page.goto(exhibit_url)
        page.wait_for_function("window.__viewer && __viewer.allRoomsLoadedMs !== null", timeout=60000)
        models = page.evaluate("__viewer.manifest.artifacts.filter(a => (a.levels || []).length)")
        assert models
        for artifact in models:  # by the time every room is in, every thumb is
            thumb = artifact["levels"][0]["glb"]
            assert any(url.endswith(thumb) for url in requested), (artifact["id"], thumb)
        multi = next(a for a in models if len(a["levels"]) > 1)
        page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})",
                      {"target": multi["view"]["target"], "position": [multi["view"]["target"][0],
                                                                        multi["view"]["target"][1],
                                                                        multi["view"]["target"][2] + 0.5]})
        if expected == "sharper":
            page.wait_for_function("(id) => __viewer.streaming.levels[id] && __viewer.streaming.levels[id] !== 'thumb'",
                                   arg=multi["id"], timeout=30000)
        else:
            page.wait_for_timeout(2000)
            assert set(page.evaluate("Object.values(__viewer.streaming.levels)")) == {"thumb"}
            fetched = [url for url in requested if "/artifacts/" in url]
            assert all(any(url.endswith(a["levels"][0]["glb"]) for a in models) for url in fetched), fetched
        for artifact in models:
            assert page.evaluate("(id) => __viewer.nodesNamed(id)", artifact["id"]) == 1, artifact["id"]
        assert page.evaluate("__viewer.failedRooms") == [] and page.evaluate("__viewer.errors") == []
    finally:
        context.close()
