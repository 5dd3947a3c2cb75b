"""Render and wording fixes seen on a designer's first day, in a real browser: default material, marker size,
rights names, translated XR buttons, plural forms."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from pipeline.preview import StaticSite, serving
from tests.browser.conftest import wait_frames

pytestmark = pytest.mark.browser

I18N = "../static/js/i18n.js"  # relative to the exhibit page; the module instance app.js already loaded


def test_a_vertex_coloured_ply_without_a_material_is_a_lit_dielectric(open_page, exhibit_url):
    """The bell is a PLY with vertex colours and no material: it must not get glTF's fully metallic default."""
    page = open_page(exhibit_url)
    materials = page.evaluate("__viewer.artifactMaterials('bell')")
    assert materials, "the bell's meshes are loaded"
    for material in materials:
        assert material["metalness"] == 0
        assert material["hasColorAttribute"] and material["vertexColors"]
    assert _brightness_around(page, "bell") > 45, "the bell renders dark"
    assert page.log.lines == []


def _brightness_around(page, artifact_id: str) -> float:
    """Mean grey level of 25 pixels around where an artifact's centre is drawn, after flying to its view."""
    view = page.evaluate("(id) => __viewer.manifest.artifacts.find((a) => a.id === id).view", artifact_id)
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
    wait_frames(page, count=3)
    point = page.evaluate("(id) => __viewer.project(id)", artifact_id)
    shot = Image.open(io.BytesIO(page.screenshot())).convert("L")
    x, y = round(point["x"]), round(point["y"])
    samples = [float(shot.getpixel((x + dx, y + dy))) for dx in range(-6, 7, 3) for dy in range(-6, 7, 3)]  # type: ignore[arg-type]
    return sum(samples) / len(samples)


def test_the_starter_exhibits_stl_vessel_is_a_lit_dielectric(open_page, tmp_path: Path):
    """`vitrina new` is a newcomer's first impression: its STL vessel (no material at all) must not render black."""
    from pipeline.build import BuildOptions, build
    from pipeline.spec.starter import create_starter

    folder = create_starter(tmp_path / "starter")
    build(folder, tmp_path / "site", BuildOptions(quiet=True, cache_dir=tmp_path / "cache"))
    with serving(StaticSite(tmp_path / "site")) as base:
        page = open_page(f"{base}/starter/index.html")
        materials = page.evaluate("__viewer.artifactMaterials('vessel')")
        assert materials and all(material["metalness"] == 0 for material in materials)
        assert _brightness_around(page, "vessel") > 45
        assert page.log.lines == []


def test_hotspot_markers_are_dots_sized_to_their_object_that_grow_on_focus(open_page, exhibit_url):
    page = open_page(exhibit_url)
    artifact = page.evaluate("__viewer.manifest.artifacts.find((a) => a.annotations && a.annotations.length)")
    key = artifact["annotations"][0]["key"]
    largest = max(high - low for low, high in zip(artifact["bounds"]["min"], artifact["bounds"]["max"], strict=True))
    resting = page.evaluate("(key) => __viewer.hotspotSize(key)", key)
    assert resting <= max(0.012, 0.06 * largest) + 1e-9
    assert resting < 0.08  # the 8 cm discs that covered a bottle's label
    page.evaluate("(id) => __viewer.selectArtifact(id)", artifact["id"])
    page.wait_for_selector(f'#panel .annotation-button[data-annotation="{key}"]')
    page.focus(f'#panel .annotation-button[data-annotation="{key}"]')
    wait_frames(page, count=2)
    assert page.evaluate("(key) => __viewer.hotspotSize(key)", key) == pytest.approx(2 * resting)
    page.focus("#panel-close")
    wait_frames(page, count=2)
    assert page.evaluate("(key) => __viewer.hotspotSize(key)", key) == pytest.approx(resting)
    page.evaluate("__viewer.closePanel()")
    # The mouse over the dot grows it too, and leaving it shrinks it back.
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", artifact["view"])
    wait_frames(page, count=3)
    point = page.evaluate("(key) => __viewer.project(key)", key)
    page.mouse.move(point["x"], point["y"])
    wait_frames(page, count=2)
    assert page.evaluate("(key) => __viewer.hotspotSize(key)", key) == pytest.approx(2 * resting)
    page.mouse.move(5, 5)
    wait_frames(page, count=2)
    assert page.evaluate("(key) => __viewer.hotspotSize(key)", key) == pytest.approx(resting)


def test_rights_are_named_and_linked_in_the_panel_without_overflow(open_page, exhibit_url):
    page = open_page(exhibit_url)
    page.evaluate("__viewer.setLanguage('en')")
    page.evaluate("__viewer.selectArtifact('bell')")
    link = page.locator("#panel dd.rights a")
    link.wait_for()
    assert link.inner_text() == "CC0 1.0"
    assert link.get_attribute("href") == "https://creativecommons.org/publicdomain/zero/1.0/"
    overflowing = page.evaluate("""() => [...document.querySelectorAll('#panel dd')]
        .filter((dd) => dd.scrollWidth > dd.clientWidth + 1).map((dd) => dd.textContent)""")
    assert overflowing == []
    labels = page.evaluate(f"""async () => {{
        const {{ rightsLabel, I18n }} = await import('{I18N}');
        const en = new I18n(['en', 'zh'], 'en'), zh = new I18n(['zh', 'en'], 'zh');
        return [rightsLabel('https://creativecommons.org/licenses/by-nc-sa/4.0/', en),
                rightsLabel('http://rightsstatements.org/vocab/InC/1.0/', en),
                rightsLabel('http://rightsstatements.org/vocab/InC/1.0/', zh),
                rightsLabel('http://rightsstatements.org/vocab/NoC-US/1.0/', en),
                rightsLabel('https://example.org/terms', en)];
    }}""")
    assert labels == ["CC BY-NC-SA 4.0", "In copyright", "受版权保护", "No copyright – United States", None]


def test_xr_buttons_speak_the_page_language(open_page, exhibit_url):
    """Headless Chromium has no XR device, so three.js writes 'VR NOT SUPPORTED': it must read in Chinese."""
    page = open_page(exhibit_url)
    page.evaluate("__viewer.setLanguage('zh')")
    buttons = page.locator("#xr-buttons > *")
    page.wait_for_function("[...document.querySelectorAll('#xr-buttons > *')].every((b) => !/SUPPORTED/.test(b.textContent))")
    assert sorted(buttons.all_inner_texts()) == ["不支持 AR", "不支持 VR"]
    page.evaluate("__viewer.setLanguage('en')")
    assert sorted(buttons.all_inner_texts()) == ["AR not supported", "VR not supported"]


def test_counts_use_the_languages_plural_rules(open_page, exhibit_url, site_url):
    page = open_page(exhibit_url)
    counts = page.evaluate(f"""async () => {{
        const {{ I18n }} = await import('{I18N}');
        const en = new I18n(['en'], 'en'), zh = new I18n(['zh'], 'zh');
        return [0, 1, 2].map((n) => en.t('objectCount', {{ n }})).concat([zh.t('objectCount', {{ n: 1 }})]);
    }}""")
    assert counts == ["0 objects", "1 object", "2 objects", "1 件展品"]
    page.goto(f"{site_url}/index.html")
    assert "10 件展品" in page.locator("main").inner_text()
