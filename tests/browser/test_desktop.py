"""The exhibit page on a desktop: rendering, picking, keyboard, walking, language, captions, the tour API."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.browser.conftest import viewer_state, wait_frames

pytestmark = pytest.mark.browser

BACKGROUND = (0x1D, 0x21, 0x26)


def exhibit_url(base: str, manifest_id: str = "fixture-hall") -> str:
    return f"{base}/{manifest_id}/index.html"


def artifact_with(page, key: str) -> dict:
    """The first artifact of the loaded manifest that has a non-empty `key` (annotations, audio…)."""
    return page.evaluate(f"__viewer.manifest.artifacts.find(a => a.{key} && Object.keys(a.{key}).length)")


def look_at(page, artifact: dict) -> dict:
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", artifact["view"])
    wait_frames(page, count=3)
    return page.evaluate("(id) => __viewer.project(id)", artifact["id"])


def test_artifact_is_drawn_where_it_projects(open_page, site_url):
    page = open_page(exhibit_url(site_url))
    artifact = page.evaluate("__viewer.manifest.artifacts.find(a => a.kind === 'model')")
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
    assert viewer_state(page, "errors")["errors"] == []
    assert page.log.lines == []


def test_click_on_artifact_opens_its_panel_and_escape_closes_it(open_page, site_url):
    page = open_page(exhibit_url(site_url))
    artifact = page.evaluate("__viewer.manifest.artifacts.find(a => a.kind === 'model')")
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


def test_keyboard_only_selection_returns_focus(open_page, site_url):
    page = open_page(exhibit_url(site_url))
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


def test_keys_walk_and_turn(open_page, site_url):
    page = open_page(exhibit_url(site_url))
    before = viewer_state(page, "camera")["camera"]
    page.focus("canvas")
    page.keyboard.down("w")
    page.wait_for_timeout(400)
    page.keyboard.up("w")
    wait_frames(page)
    after = viewer_state(page, "camera")["camera"]
    moved = [a - b for a, b in zip(after["position"], before["position"], strict=True)]
    assert moved[2] < -0.2, f"W should walk forward (-Z at the start): {moved}"
    assert abs(after["position"][1] - before["position"][1]) < 1e-6, "eye height stays"
    page.keyboard.down("ArrowLeft")
    page.wait_for_timeout(300)
    page.keyboard.up("ArrowLeft")
    wait_frames(page)
    turned = viewer_state(page, "camera")["camera"]["quaternion"]
    assert abs(turned[1]) > 0.05, f"ArrowLeft should turn the view: {turned}"


def test_click_on_floor_walks_there(open_page, site_url):
    page = open_page(exhibit_url(site_url))
    before = viewer_state(page, "camera")["camera"]["position"]
    box = page.locator("canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.92)
    page.wait_for_timeout(900)  # the glide takes 0.7 s
    wait_frames(page)
    after = viewer_state(page, "camera")["camera"]["position"]
    assert after[2] < before[2] - 0.3, f"expected a step towards the clicked floor: {before} -> {after}"
    assert abs(after[1] - before[1]) < 1e-6


def test_language_switch_changes_every_label(open_page, site_url):
    page = open_page(exhibit_url(site_url))
    manifest = page.evaluate("__viewer.manifest")
    languages = manifest["exhibit"]["languages"]
    other = next(code for code in languages if code != page.evaluate("__viewer.language"))
    first = manifest["artifacts"][0]
    page.locator(".artifact-button").first.click()
    page.select_option("#language-select", other)
    page.wait_for_function(f"__viewer.language === '{other}'")
    assert page.evaluate("document.documentElement.lang") == other
    assert page.locator(".artifact-button").first.inner_text() == first["record"]["title"][other]
    assert page.locator("#panel-title").inner_text() == first["record"]["title"][other]
    assert page.locator("#exhibit-title").inner_text() == manifest["exhibit"]["title"][other]
    ui_label = {"en": "Objects", "zh": "展品"}.get(other)
    if ui_label:
        assert page.locator("#artifact-list-title").inner_text() == ui_label


def test_captions_appear_when_the_audio_guide_plays(open_page, site_url):
    page = open_page(exhibit_url(site_url))
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


def test_reduced_motion_cuts_instead_of_gliding(open_page, site_url):
    page = open_page(exhibit_url(site_url), reduced_motion=True)
    artifact = page.evaluate("__viewer.manifest.artifacts[0]")
    page.evaluate("(id) => __viewer.selectArtifact(id)", artifact["id"])
    wait_frames(page, count=1)
    position = viewer_state(page, "camera")["camera"]["position"]
    assert all(abs(a - b) < 1e-3 for a, b in zip(position, artifact["view"]["position"], strict=True))


def test_tour_api(open_page, site_url):
    page = open_page(exhibit_url(site_url) + "?tour=nothing-here")
    page.wait_for_function("__viewer.tourError !== undefined")  # tour-ui.js may be missing: the page carries on
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
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ray = page.evaluate("__viewer.pointerRay()")
    assert ray is not None and abs(sum(c * c for c in ray["direction"]) - 1) < 1e-6
    page.evaluate("__viewer.setGhost('guide-1', null)")
    assert page.evaluate("__viewer.ghosts()") == []
    assert page.evaluate("__viewer.errors") == []


def test_object_page_works_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site_url}/fixture-hall/objects/ding.html")
        assert page.locator("h1").inner_text() == "兽面纹鼎"
        assert page.locator("section[lang=en] h2").inner_text() == "Ding with taotie motif"
        assert page.locator("section[lang=en] .transcript p").all_inner_texts() == ["This is a ding.", "Look at its motif."]
        assert page.locator("a.open-3d").get_attribute("href") == "../index.html#artifact=ding"
    finally:
        context.close()
