"""`vitrina serve` in a browser: a saved change reloads the open page; a broken spec shows the error overlay."""

from __future__ import annotations

import pytest

from pipeline.preview import serving
from tests.browser.conftest import watched_minimal

pytestmark = pytest.mark.browser


def test_change_reloads_the_page_and_a_broken_spec_shows_the_overlay(browser, tmp_path):
    """The designer's loop with the real compiler on a copy of exhibits/minimal."""
    spec, preview = watched_minimal(tmp_path)
    yaml = spec / "exhibit.yaml"
    original = yaml.read_text(encoding="utf-8")
    assert "title: A vase in a room" in original
    context = browser.new_context(viewport={"width": 800, "height": 500})
    try:
        with serving(preview.site) as base:
            page = context.new_page()
            page.goto(f"{base}/minimal/index.html")
            page.wait_for_function("window.__vitrinaPreview && window.__vitrinaPreview.status")
            assert page.locator("#exhibit-title").inner_text() == "A vase in a room"
            page.evaluate("window.__beforeReload = true")

            yaml.write_text(original.replace("title: A vase in a room", "title: A vase, edited"), encoding="utf-8")
            page.wait_for_function("document.getElementById('exhibit-title').textContent === 'A vase, edited'",
                                   timeout=30000)
            assert page.evaluate("window.__beforeReload") is None, "the page was reloaded, not patched"

            yaml.write_text(original.replace("size: [6, 5, 3]", "size: [6, five, 3]"), encoding="utf-8")
            overlay = page.locator("#vitrina-build-error")
            overlay.wait_for(state="visible", timeout=30000)
            problems = overlay.inner_text()
            assert "exhibit.yaml:" in problems and "rooms[0].size" in problems and "nothing was built" in problems
            assert overlay.get_attribute("role") == "alert"
            page.reload()
            overlay.wait_for(state="visible", timeout=10000)
            assert page.locator("#exhibit-title").inner_text() == "A vase, edited", "the last good build is served"

            yaml.write_text(original, encoding="utf-8")
            page.wait_for_function("document.getElementById('exhibit-title').textContent === 'A vase in a room'",
                                   timeout=30000)
            assert not overlay.is_visible()
    finally:
        context.close()
        preview.stop()
