"""`vitrina serve` in a browser: a saved change reloads the open page; a broken spec shows the error overlay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import Problem, SpecError
from pipeline.preview import Preview, serving
from tests.browser.fixture_site import EXHIBIT_ID, make_fixture_site

pytestmark = pytest.mark.browser


def title_builder(spec_dir: Path):
    """Builds the fixture site titled by spec_dir/title.json; invalid JSON is a located spec error."""
    def build(out_dir: Path) -> None:
        source = spec_dir / "title.json"
        try:
            title = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise SpecError([Problem(str(source), error.lineno, error.colno, "title", error.msg)]) from None
        make_fixture_site(out_dir, title=title)
    return build


def test_change_reloads_the_page_and_a_broken_spec_shows_the_overlay(browser, tmp_path):
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "title.json").write_text(json.dumps({"zh": "第一版", "en": "First"}), encoding="utf-8")
    preview = Preview(title_builder(spec), spec, tmp_path / "site", poll_seconds=0.1, debounce_seconds=0.15)
    assert preview.build()
    preview.start_watching()
    context = browser.new_context(viewport={"width": 800, "height": 500})
    try:
        with serving(preview.site) as base:
            page = context.new_page()
            page.goto(f"{base}/{EXHIBIT_ID}/index.html")
            page.wait_for_function("window.__vitrinaPreview && window.__vitrinaPreview.status")
            assert page.locator("#exhibit-title").inner_text() == "第一版"
            page.evaluate("window.__beforeReload = true")

            (spec / "title.json").write_text(json.dumps({"zh": "第二版", "en": "Second"}), encoding="utf-8")
            page.wait_for_function("document.getElementById('exhibit-title').textContent === '第二版'", timeout=30000)
            assert page.evaluate("window.__beforeReload") is None, "the page was reloaded, not patched"

            (spec / "title.json").write_text('{"zh": "坏了", "en": }', encoding="utf-8")
            overlay = page.locator("#vitrina-build-error")
            overlay.wait_for(state="visible", timeout=30000)
            assert "title.json:1:" in overlay.inner_text() and "nothing was built" in overlay.inner_text()
            assert overlay.get_attribute("role") == "alert"
            page.reload()
            overlay.wait_for(state="visible", timeout=10000)
            assert page.locator("#exhibit-title").inner_text() == "第二版", "the last good build is still served"

            (spec / "title.json").write_text(json.dumps({"zh": "第三版", "en": "Third"}), encoding="utf-8")
            page.wait_for_function("document.getElementById('exhibit-title').textContent === '第三版'", timeout=30000)
            assert not overlay.is_visible()
    finally:
        context.close()
        preview.stop()
