"""IIIF Content State links in a real browser: ?iiif-content= opens the artifact, annotation, stop or room it names."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from pipeline.standards import content_state
from pipeline.standards.common import Urls
from tests.browser.conftest import viewer_state

pytestmark = pytest.mark.browser

BASE = "https://vitrina.example.org/bronze-age/"  # the example's base_url: links made for the published site
URLS = Urls(BASE)


def open_link(open_page: Any, exhibit_url: str, **view: Any) -> Any:
    page = open_page(content_state.link(exhibit_url, content_state.target(URLS, **view)), reduced_motion=True)
    page.wait_for_function("'contentState' in window.__viewer", timeout=30000)
    return page


def camera_near(page: Any, position: list[float], tolerance: float = 0.05) -> bool:
    camera = page.evaluate("__viewer.cameraPose().position")
    return math.dist(camera, position) <= tolerance


def far_artifact(page: Any) -> dict[str, Any]:
    """The model artifact farthest from where visitors start: opening it cannot happen by accident."""
    return page.evaluate("""() => {
        const m = __viewer.manifest, s = m.start.position;
        const far = (a) => Math.hypot(a.position[0] - s[0], a.position[2] - s[2]);
        return m.artifacts.filter((a) => a.kind === 'model').sort((a, b) => far(b) - far(a))[0];
    }""")


def test_a_content_state_link_opens_the_artifact_it_names(open_page, exhibit_url):
    probe = open_page(exhibit_url)
    target = far_artifact(probe)
    page = open_link(open_page, exhibit_url, artifact=target["id"])
    state = viewer_state(page, "selectedArtifact", "openPanel", "contentState", "errors")
    assert state["contentState"] == {"artifact": target["id"]}
    assert state["selectedArtifact"] == target["id"] and state["openPanel"] == "object"
    assert camera_near(page, target["view"]["position"]), "the camera went to the artifact's view"
    assert page.locator("#panel-title").inner_text() == page.evaluate(
        "(a) => a.record.title[__viewer.language] || a.record.title.zh", target)
    assert state["errors"] == [] and page.log.lines == []


def test_an_annotation_link_opens_the_annotation(open_page, exhibit_url):
    page = open_link(open_page, exhibit_url, annotation="ding/taotie")
    state = viewer_state(page, "selectedArtifact", "selectedAnnotation")
    assert state == {"selectedArtifact": "ding", "selectedAnnotation": "ding/taotie"}


def test_a_tour_stop_link_opens_the_stop_at_its_view(open_page, exhibit_url):
    page = open_link(open_page, exhibit_url, tour="highlights", stop=4)
    stop = page.evaluate("__viewer.manifest.tours.find(t => t.id === 'highlights').stops[4]")
    state = viewer_state(page, "selectedArtifact", "selectedAnnotation")
    assert state == {"selectedArtifact": stop["artifact"], "selectedAnnotation": stop["annotation"]}
    assert camera_near(page, stop["view"]["position"])


def test_a_room_link_takes_the_visitor_into_that_room(open_page, exhibit_url):
    page = open_link(open_page, exhibit_url, room="gallery")
    room = page.evaluate("__viewer.manifest.rooms.find(r => r.id === 'gallery')")
    camera = page.evaluate("__viewer.cameraPose().position")
    assert all(room["bounds"]["min"][i] < camera[i] < room["bounds"]["max"][i] for i in range(3))
    assert viewer_state(page, "selectedArtifact")["selectedArtifact"] is None


def test_copy_link_writes_the_same_encoding_and_reopens_the_view(open_page, exhibit_url):
    page = open_page(exhibit_url)
    page.evaluate("__viewer.selectArtifact('ding', {annotation: 'ding/taotie'})")
    links = page.locator("#panel .copy-link")
    assert links.count() == 2, "one for the object, one for the open annotation"
    by_view = {}
    for index in range(2):
        link = links.nth(index).get_attribute("data-link")
        assert link.startswith(exhibit_url.split("#")[0] + "?iiif-content=")
        state = json.loads(content_state.decode(link.split("?iiif-content=", 1)[1]))
        by_view[state["id"].split("#", 1)[1]] = link
        assert state["partOf"] == [{"id": f"{BASE}iiif/exhibit.json", "type": "Manifest"}]
    assert set(by_view) == {"artifact/ding", "annotation/ding/taotie"}
    # The JS encoder and the Python one agree byte for byte on the same state.
    assert by_view["artifact/ding"] == content_state.link(exhibit_url, content_state.target(URLS, artifact="ding"))
    again = open_page(by_view["annotation/ding/taotie"], reduced_motion=True)
    again.wait_for_function("'contentState' in window.__viewer")
    assert viewer_state(again, "selectedAnnotation")["selectedAnnotation"] == "ding/taotie"


def test_a_link_to_something_else_changes_nothing(open_page, exhibit_url):
    other = Urls("https://elsewhere.example/exhibit/")
    page = open_page(content_state.link(exhibit_url, content_state.target(other, artifact="no-such-thing")))
    page.wait_for_function("'contentState' in window.__viewer")
    state = viewer_state(page, "selectedArtifact", "contentState", "errors")
    assert state["selectedArtifact"] is None and state["contentState"] is None
    assert any("iiif-content names nothing" in e for e in state["errors"])


def test_the_import_examples_catalogue_is_accessible_and_links_its_pages(browser, open_page, tmp_path_factory):
    """The exhibit page lists the objects not placed yet, each linked to its text page, with no serious axe issue."""
    from pipeline.build import BuildOptions, build
    from pipeline.preview import StaticSite, serving
    from tests.browser.test_accessibility import serious_violations
    from tests.conftest import REPO

    out = tmp_path_factory.mktemp("collection-import-site")
    build(REPO / "exhibits" / "collection-import", out, BuildOptions(quiet=True, jobs=1, cache_dir=out.parent / "cache"))
    with serving(StaticSite(out)) as base:
        page = open_page(f"{base}/collection-import/index.html")
        links = page.locator(".catalogue a")
        assert links.count() == 4
        assert page.locator("#catalogue-title").inner_text() == "In the catalogue, not on view"
        page.evaluate("__viewer.setLanguage('zh')")
        assert page.locator("#catalogue-title").inner_text() == "藏品目录（未展出）"
        assert serious_violations(page) == []
        href = links.first.get_attribute("href")
        response = page.request.get(f"{base}/collection-import/{href}")
        assert response.ok and "application/ld+json" in response.text()
