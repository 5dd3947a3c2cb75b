"""AR on phones without WebXR: AR Quick Look (USDZ) on iOS, gated by rights; USDZ files pass the ARKit checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import EXHIBIT

pytestmark = pytest.mark.browser

# Safari answers relList.supports('ar'); Chromium does not, so the test makes it answer like Safari.
PRETEND_QUICK_LOOK = """
const supports = DOMTokenList.prototype.supports;
DOMTokenList.prototype.supports = function (token) { return token === 'ar' || supports.call(this, token); };
"""


@pytest.fixture
def quick_look_page(browser: Any, exhibit_url: str) -> Any:
    context = browser.new_context(viewport={"width": 900, "height": 600})
    context.add_init_script(PRETEND_QUICK_LOOK)
    page = context.new_page()
    page.goto(exhibit_url)
    page.wait_for_function("window.__viewer && window.__viewer.ready", timeout=120000)
    yield page
    context.close()


def test_ios_gets_an_ar_quick_look_link_for_the_selected_artifact(quick_look_page: Any, site_url: str) -> None:
    page = quick_look_page
    page.evaluate("__viewer.selectArtifact('ding')")
    link = page.locator("#ar-handoff")
    link.wait_for(state="visible")
    assert link.get_attribute("rel") == "ar"
    href = link.get_attribute("href")
    assert href is not None and href.endswith(".usdz") and "/usdz/ding." in href
    assert link.locator("img").count() == 1, "AR Quick Look wants an image as the link's only child"
    response = page.request.get(href)
    assert response.ok and response.body()[:2] == b"PK"


def test_no_link_for_an_artifact_without_usdz(quick_look_page: Any) -> None:
    page = quick_look_page
    page.evaluate("__viewer.selectArtifact('intro')")  # a text panel: nothing to place
    page.wait_for_timeout(200)
    assert page.locator("#ar-handoff").is_hidden()


def test_chromium_on_a_desktop_gets_no_hand_off(open_page: Any, exhibit_url: str) -> None:
    page = open_page(exhibit_url)
    page.evaluate("__viewer.selectArtifact('ding')")
    page.wait_for_timeout(200)
    assert page.locator("#ar-handoff").is_hidden()


def test_every_listed_usdz_passes_the_arkit_checks(built_site: Path) -> None:
    from pipeline import usdz

    folder = built_site / EXHIBIT
    manifest = json.loads((folder / "exhibit.json").read_text(encoding="utf-8"))
    listed = [a for a in manifest["artifacts"] if a.get("usdz")]
    assert {a["id"] for a in listed} == {a["id"] for a in manifest["artifacts"] if a["kind"] == "model"}
    for artifact in listed:
        assert usdz.arkit_problems(folder / artifact["usdz"]) == [], artifact["id"]
