"""The visitor's floor plan: rooms and the room list, "you are here" following the camera, walking to a room."""

from __future__ import annotations

import pytest

from tests.browser.test_accessibility import serious_violations

pytestmark = pytest.mark.browser


def test_floor_plan_shows_where_the_visitor_is_and_walks_to_a_room(open_page, exhibit_url):
    page = open_page(exhibit_url, reduced_motion=True)
    button = page.locator("#floor-plan-button")
    assert button.get_attribute("aria-expanded") == "false" and page.locator("#floor-plan").is_hidden()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    plan = page.locator("#floor-plan")
    assert plan.is_visible()
    rooms = page.evaluate("__viewer.manifest.rooms.map((r) => r.id)")
    assert len(rooms) >= 2
    assert plan.locator("rect.floor-plan-room").count() == len(rooms)
    start_room = page.evaluate("__viewer.manifest.start.room")
    page.wait_for_function(f"__viewer.floorPlan.room === '{start_room}'")
    current = plan.locator("button[aria-current='location']")
    assert current.count() == 1 and current.get_attribute("data-room") == start_room
    marker = plan.locator("g.floor-plan-here").get_attribute("transform")
    assert marker and marker.startswith("translate(")

    other = next(room for room in rooms if room != start_room)
    plan.locator(f"button[data-room='{other}']").click()
    page.wait_for_function(f"__viewer.floorPlan.room === '{other}'", timeout=10000)
    assert plan.locator("button[aria-current='location']").get_attribute("data-room") == other
    assert plan.locator("g.floor-plan-here").get_attribute("transform") != marker, "the marker moved with the visitor"
    assert plan.locator("rect.floor-plan-room.here").count() == 1
    other_name = plan.locator(f"button[data-room='{other}']").inner_text()
    assert plan.locator("svg").get_attribute("aria-label").endswith(f": {other_name}"), "it says where the visitor is"

    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    assert plan.is_hidden() and button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("__viewer.errors") == []


def test_floor_plan_follows_the_language(open_page, exhibit_url):
    page = open_page(exhibit_url)
    languages = page.evaluate("__viewer.manifest.exhibit.languages")
    labels = set()
    for language in languages:
        page.evaluate(f"__viewer.setLanguage('{language}')")
        labels.add(page.locator("#floor-plan-button").inner_text())
    assert len(labels) == len(languages) == 2, labels


def test_floor_plan_draws_a_case_turned_with_it(open_page, tmp_path):
    from pipeline.build import BuildOptions, build
    from pipeline.preview import StaticSite, serving
    from tests.pipeline.test_compose_cases import _write

    build(_write(tmp_path / "tiny"), tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    with serving(StaticSite(tmp_path / "site")) as base:
        page = open_page(f"{base}/tiny/index.html")
        page.click("#floor-plan-button")
        case = page.locator("#floor-plan rect.floor-plan-case")
        assert case.count() == 1
        assert case.get_attribute("transform").endswith("rotate(90)")
        box = case.bounding_box()
        assert box is not None and box["height"] > box["width"] * 2, "1.4 m by 0.6 m, turned to run north-south"
