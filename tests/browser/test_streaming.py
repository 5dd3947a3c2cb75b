"""The viewer streams each model's ladder: every thumb first, a sharper level up close, the thumb again far away."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.preview import StaticSite, serving
from tests.pipeline.tiny_exhibit import sphere_obj, write_tiny_exhibit

# Two dense spheres (about 60k triangles each): enough for a `low` level between the thumb and the full model.
RINGS, SEGMENTS = 150, 200

GLB_BYTES = """() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.glb'))
  .map((e) => ({url: e.name.split('/').slice(-2).join('/'), bytes: e.encodedBodySize, end: e.responseEnd}))"""


@pytest.fixture(scope="module")
def streaming_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from pipeline.build import BuildOptions, build

    root = tmp_path_factory.mktemp("streaming")
    spec = write_tiny_exhibit(root / "tiny", targets="quest2, desktop")
    (spec / "models" / "cube.obj").write_text(sphere_obj(RINGS, SEGMENTS), encoding="utf-8")
    build(spec, root / "site", BuildOptions(quiet=True, jobs=1, cache_dir=root / "cache"))
    with serving(StaticSite(root / "site")) as base:
        yield f"{base}/tiny/index.html"


def _levels(page: Any) -> dict[str, str]:
    return dict(page.evaluate("() => ({...__viewer.streaming.levels})"))


def test_every_thumb_shows_before_any_sharper_level_loads(open_page: Any, streaming_site: str) -> None:
    page = open_page(streaming_site)
    models = page.evaluate("() => __viewer.manifest.artifacts.filter((a) => a.levels).map((a) => "
                           "({id: a.id, names: a.levels.map((l) => l.name), thumb: a.levels[0].glb}))")
    assert {m["id"] for m in models} == {"cube", "cube2"}
    assert all(m["names"][0] == "thumb" and len(m["names"]) >= 3 for m in models), models
    loads = page.evaluate(GLB_BYTES)
    thumbs = {m["thumb"].split("/")[-1] for m in models}
    first_room_visible = page.evaluate("() => __viewer.firstRoomVisibleMs")
    before = [load for load in loads if load["end"] <= first_room_visible]
    assert {load["url"].split("/")[-1] for load in before if load["url"].startswith("artifacts/")} <= thumbs
    assert not page.evaluate("() => __viewer.errors"), page.evaluate("() => __viewer.errors")
    stats = page.evaluate("() => __viewer.streaming")
    assert stats["thumbsMs"] is not None and stats["failures"] == []


def test_walking_up_sharpens_and_walking_away_drops_back(open_page: Any, streaming_site: str) -> None:
    page = open_page(streaming_site)
    cube = page.evaluate("() => __viewer.manifest.artifacts.find((a) => a.id === 'cube')")
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})",
                  {"target": cube["view"]["target"], "position": [cube["position"][0], cube["view"]["target"][1],
                                                                  cube["position"][2] + 0.6]})
    finest = cube["levels"][-1]
    assert finest["name"] != "thumb"
    page.wait_for_function("(name) => __viewer.streaming.levels.cube === name", arg=finest["name"], timeout=30000)
    assert page.evaluate("() => __viewer.streaming.triangles") >= finest["triangles"]
    # The node the room's scene holds under the artifact's name is the new level's, so picking and XR still find it.
    assert page.evaluate("() => __viewer.artifactTriangles('cube')") == finest["triangles"]
    far = [cube["position"][0], 1.6, cube["position"][2] + 60]
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", {"target": cube["position"], "position": far})
    page.wait_for_timeout(400)
    assert _levels(page)["cube"] == finest["name"]  # hysteresis: not dropped at once
    page.wait_for_function("() => __viewer.streaming.levels.cube === 'thumb'", timeout=30000)
    assert not page.evaluate("() => __viewer.errors")


def test_a_device_budget_keeps_a_sharper_level_away(open_page: Any, streaming_site: str, browser: Any) -> None:
    """A phone-sized texture limit: the streamer never picks a level whose textures exceed it."""
    context = browser.new_context(viewport={"width": 900, "height": 600})
    context.add_init_script(script="""
      const original = WebGL2RenderingContext.prototype.getParameter;
      WebGL2RenderingContext.prototype.getParameter = function (p) {
        return p === this.MAX_TEXTURE_SIZE ? 256 : original.call(this, p);
      };""")
    try:
        page = context.new_page()
        page.goto(streaming_site)
        page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=60000)
        assert page.evaluate("() => __viewer.streaming.budget.maxTexture") == 256
        cube = page.evaluate("() => __viewer.manifest.artifacts.find((a) => a.id === 'cube')")
        page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})",
                      {"target": cube["view"]["target"], "position": [cube["position"][0], 0.8, cube["position"][2] + 0.6]})
        page.wait_for_timeout(1500)
        textures = {level["name"]: level["max_texture"] for level in cube["levels"]}
        assert textures[_levels(page)["cube"]] <= 256 or _levels(page)["cube"] == "thumb"
    finally:
        context.close()


def test_settled_means_the_view_has_every_level_it_will_load(open_page: Any, streaming_site: str) -> None:
    # Posters and screenshots wait for `settledMs` (pipeline.posters.SETTLE_STREAMING): once a choice after the move
    # finds nothing to load, the sharpest level this view gets is in, and no later choice loads another.
    from pipeline.posters import SETTLE_STREAMING

    page = open_page(streaming_site)
    cube = page.evaluate("() => __viewer.manifest.artifacts.find((a) => a.id === 'cube')")
    assert _levels(page)["cube"] == "thumb"
    moved = page.evaluate("(view) => { __viewer.flyTo(view, {durationMs: 0}); return performance.now(); }",
                          {"target": cube["view"]["target"], "position": [cube["position"][0], cube["view"]["target"][1],
                                                                          cube["position"][2] + 0.6]})
    page.evaluate(SETTLE_STREAMING)
    assert page.evaluate("() => __viewer.streaming.settledMs") > moved
    assert _levels(page)["cube"] == cube["levels"][-1]["name"]  # up close: the finest, in before the picture
    loads = page.evaluate("() => __viewer.streaming.loads")
    page.wait_for_timeout(800)  # three more choices (one each 250 ms) for the same view
    assert page.evaluate("() => __viewer.streaming.loads") == loads


def test_a_level_that_fails_to_load_rests_before_it_is_asked_for_again(open_page: Any, streaming_site: str) -> None:
    # Asked for again at every choice (four a second), a level gone from the server was a stream of requests, and,
    # as the largest upgrade on screen, it kept every other object from its own.
    from pipeline.posters import SETTLE_STREAMING

    page = open_page(streaming_site)
    cube = page.evaluate("() => __viewer.manifest.artifacts.find((a) => a.id === 'cube')")
    finest = cube["levels"][-1]["glb"].split("/")[-1]
    asked: list[str] = []

    def gone(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=404, body="gone")

    page.route(f"**/{finest}", gone)
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})",
                  {"target": cube["view"]["target"], "position": [cube["position"][0], cube["view"]["target"][1],
                                                                  cube["position"][2] + 0.6]})
    page.wait_for_function("() => __viewer.streaming.failures.length > 0", timeout=30000)
    page.evaluate(SETTLE_STREAMING)  # the failed level rests: the view settles without it, as a poster needs
    assert page.evaluate("() => __viewer.streaming.settledMs") is not None
    page.wait_for_timeout(1500)  # six choices at four a second; the level rests for 2 s
    assert len(asked) == 1, asked
    assert _levels(page)["cube"] != cube["levels"][-1]["name"]
