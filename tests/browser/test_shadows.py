"""The desktop's real-time key-light shadow: behind the Shadows setting, never on a phone or in an XR session."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import wait_frames
from tests.browser.test_baked_light import HIDE_OVERLAYS, canvas_grey

pytestmark = pytest.mark.browser


def _settled(page: Any) -> dict[str, Any]:
    from pipeline.posters import SETTLE_STREAMING

    page.evaluate(SETTLE_STREAMING)
    page.wait_for_timeout(700)  # the shadow set-up runs twice a second for models that streamed in
    wait_frames(page, count=3)
    return dict(page.evaluate("__viewer.shadows()"))


def test_desktop_high_quality_renders_the_key_light_shadow_of_the_artifacts(open_page: Any, exhibit_url: str) -> None:
    page = open_page(f"{exhibit_url}?quality=high", reduced_motion=True)
    state = _settled(page)
    assert state["enabled"] and state["wanted"] and not state["inXR"]
    assert state["lights"] == 4, "the four spotlights nearest the eye cast (of the example's ten)"
    assert state["modelsCasting"] >= 1, "the artifacts cast"
    assert page.locator("#shadows-toggle").get_attribute("aria-pressed") == "true"
    # The shadow is drawn: the view changes when it is switched off (on the baked floor through its shadow twin).
    page.add_style_tag(content=HIDE_OVERLAYS)
    view = page.evaluate("__viewer.manifest.artifacts.find((a) => a.id === 'ding').view")
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
    wait_frames(page, count=3)
    with_shadow = canvas_grey(page).astype(float)
    assert page.evaluate("__viewer.setShadows(false)")["enabled"] is False
    wait_frames(page, count=3)
    without = canvas_grey(page).astype(float)
    assert np.abs(with_shadow - without).mean() > 0.05
    assert (with_shadow < without - 8).sum() > 200, "pixels the shadow darkens"


def test_desktop_default_is_off_and_the_toggle_turns_it_on(open_page: Any, exhibit_url: str) -> None:
    page = open_page(exhibit_url)
    state = page.evaluate("__viewer.shadows()")
    assert not state["enabled"] and state["lights"] == 0 and state["casting"] == 0
    toggle = page.locator("#shadows-toggle")
    assert toggle.get_attribute("aria-pressed") == "false" and toggle.inner_text() == "阴影"  # zh is the default
    page.evaluate("__viewer.setLanguage('en')")
    assert toggle.inner_text() == "Shadows"
    toggle.click()
    state = _settled(page)
    assert state["enabled"] and state["lights"] >= 1 and state["modelsCasting"] >= 1
    assert page.evaluate("localStorage.getItem('vitrina-quality')") == "high"  # remembered for the next visit


def test_a_phone_never_pays_for_it_even_when_asked(browser: Any, exhibit_url: str) -> None:
    context = browser.new_context(viewport={"width": 412, "height": 800}, has_touch=True, is_mobile=True,
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(f"{exhibit_url}?quality=high")
        page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=60000)
        state = page.evaluate("__viewer.setShadows(true)")
        assert not state["enabled"] and state["lights"] == 0 and state["casting"] == 0
        assert page.locator("#shadows-toggle").count() == 0
        # What a phone gets instead: the baked contact shadows, drawn unlit like the lightmaps.
        assert page.evaluate("__viewer.withoutContactShadows()") >= 1
    finally:
        context.close()


def _xr_page(browser: Any, url: str, desktop_agent: bool) -> tuple[Any, Any]:
    """A page with IWER's emulated Quest 3; with desktop_agent, as a PC headset on a desktop browser would be."""
    from tests.browser.conftest import IWER_SETUP, NODE_MODULES

    context = browser.new_context(viewport={"width": 900, "height": 600})
    context.add_init_script(path=str(NODE_MODULES / "iwer/build/iwer.min.js"))
    context.add_init_script(script=IWER_SETUP)
    if desktop_agent:  # IWER sets the Quest's user agent; a desktop browser driving a PC headset keeps its own
        context.add_init_script(script="Object.defineProperty(navigator, 'userAgent', "
                                       "{value: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140', configurable: true});")
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=60000)
    return context, page


def test_an_xr_session_turns_it_off_and_leaving_turns_it_back_on(browser: Any, exhibit_url: str) -> None:
    context, page = _xr_page(browser, f"{exhibit_url}?quality=high", desktop_agent=True)
    try:
        assert page.evaluate("__viewer.shadows()")["enabled"]
        page.wait_for_function("document.getElementById('VRButton').dataset.i18n === 'enterVr'")
        page.click("#VRButton")
        page.wait_for_function("__viewer.xrFrames >= 5", timeout=30000)
        state = page.evaluate("__viewer.shadows()")
        assert state["inXR"] and not state["enabled"] and state["lights"] == 0 and state["casting"] == 0
        page.evaluate("document.getElementById('VRButton').click()")  # IWER's overlay covers the page: from script
        page.wait_for_function("__viewer.mode === 'desktop' && !__viewer.shadows().inXR", timeout=30000)
        assert page.evaluate("__viewer.shadows()")["enabled"]
    finally:
        context.close()


def test_a_headset_browser_never_pays_for_it_even_when_asked(browser: Any, exhibit_url: str) -> None:
    context, page = _xr_page(browser, f"{exhibit_url}?quality=high", desktop_agent=False)
    try:
        assert "Quest" in page.evaluate("navigator.userAgent")
        state = page.evaluate("__viewer.setShadows(true)")
        assert not state["enabled"] and state["lights"] == 0
        assert page.locator("#shadows-toggle").count() == 0
    finally:
        context.close()
