"""Posters rendered by the viewer in headless Chromium, and where the site shows them (a build of the minimal example)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import posters
from tests.conftest import REPO

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def poster_site(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Path:
    from pipeline.build import BuildOptions, build

    out = tmp_path_factory.mktemp("posters")
    report = build(REPO / "exhibits" / "minimal", out, BuildOptions(quiet=True, posters=True,
                                                                     cache_dir=out.parent / "poster-cache"))
    assert not [w for w in report.warnings if "poster" in w], report.warnings
    return out / "minimal"


def test_every_artifact_has_a_rendered_poster_and_every_room_a_cover(poster_site: Path) -> None:
    manifest = json.loads((poster_site / "exhibit.json").read_text(encoding="utf-8"))
    for entry in [*manifest["artifacts"], *manifest["rooms"]]:
        path = poster_site / (entry.get("poster") or entry["cover"])
        picture = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("L"), dtype=float)
        assert picture.shape == (posters.POSTER_SIZE[1], posters.POSTER_SIZE[0])
        assert picture.std() > 10, f"{path.name} is nearly uniform: not a render of a room"
    assert manifest["exhibit"]["cover"] == manifest["rooms"][0]["cover"]


def test_pages_show_the_posters_and_share_them_in_link_previews(poster_site: Path) -> None:
    manifest = json.loads((poster_site / "exhibit.json").read_text(encoding="utf-8"))
    vase = next(a for a in manifest["artifacts"] if a["id"] == "vase")
    object_page = (poster_site / "objects" / "vase.html").read_text(encoding="utf-8")
    assert f'<meta property="og:image" content="../{vase["poster"]}">' in object_page
    assert f'<meta name="twitter:image" content="../{vase["poster"]}">' in object_page
    assert f'class="object-poster" src="../{vase["poster"]}"' in object_page
    exhibit_page = (poster_site / "index.html").read_text(encoding="utf-8")
    assert f'<img class="artifact-thumb" src="{vase["poster"]}"' in exhibit_page
    assert f'<meta property="og:image" content="{manifest["exhibit"]["cover"]}">' in exhibit_page
    index = (poster_site.parent / "index.html").read_text(encoding="utf-8")
    assert f'src="minimal/{manifest["exhibit"]["cover"]}"' in index
    listed = {f["path"] for f in manifest["files"]}
    assert vase["poster"] in listed


@pytest.fixture
def poster_page(browser: Any, exhibit_url: str) -> Iterator[Any]:
    """The rich example as the poster renderer opens it: the poster's size, the canvas filling the page."""
    context = browser.new_context(viewport={"width": posters.POSTER_SIZE[0], "height": posters.POSTER_SIZE[1]},
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(exhibit_url)
    page.add_style_tag(content=posters.POSTER_STYLE)
    page.wait_for_function("window.__viewer && __viewer.ready && __viewer.allRoomsLoadedMs !== null", timeout=60000)
    yield page
    context.close()


def _fly(page: Any, view: dict[str, list[float]]) -> None:
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
    start = page.evaluate("__viewer.frames")
    page.wait_for_function(f"__viewer.frames >= {start + 2}")


def test_the_pictures_a_poster_is_keyed_by_include_every_one_the_viewers_frustum_reaches(
        poster_page: Any, built_site: Path) -> None:
    """posters.boxes_in_view, on the build's boxes of each room's materials, against the viewer's own camera at every
    shot of the rich example: a textured surface the viewer's frustum reaches is never left out of a poster's key
    (its pixels would then not render that poster again), and some are left out (the keys are per shot)."""
    from pipeline.gltf import container

    manifest = json.loads((built_site / "bronze-age" / "exhibit.json").read_text(encoding="utf-8"))
    boxes: dict[str, dict[str, list[Any]]] = {}  # room → material name → the build's boxes of that name
    for room in manifest["rooms"]:
        document = json.loads(container.split((built_site / "bronze-age" / room["glb"]).read_bytes())[0])
        by_name = boxes.setdefault(room["id"], {})
        for index, box in posters.material_boxes(document).items():
            by_name.setdefault(document["materials"][index].get("name", ""), []).append(box)
    left_out = 0
    for shot in posters.shots(manifest, {}, {}):
        _fly(poster_page, shot.view)
        # The models streamed into the rooms are not the rooms' GLBs: their levels key every poster whole.
        reached = {(entry["room"], entry["material"]) for entry in poster_page.evaluate("__viewer.texturedInView()")
                   if entry["material"] in boxes[entry["room"]]}
        assert reached, f"{shot.name}: the viewer's frustum reaches no textured surface of a room"
        named = [(room, material, box) for room, by_name in boxes.items()
                 for material, found in by_name.items() for box in found]
        seen = posters.boxes_in_view(shot.view, [box for _, _, box in named])
        in_key = {(room, material) for (room, material, _), visible in zip(named, seen, strict=True) if visible}
        for room, material in reached:
            assert (room, material) in in_key, (
                f"{shot.name}: the viewer sees {room}'s {material}, the poster's key leaves it out")
        left_out += len({(room, material) for room, material, _ in named} - in_key)
    assert left_out > 0


def test_a_snapshot_of_the_canvas_is_a_screenshot_of_it(poster_page: Any, built_site: Path) -> None:
    """Posters are taken with __viewer.snapshot() (the canvas drawn again and read back), not a page screenshot."""
    import base64

    manifest = json.loads((built_site / "bronze-age" / "exhibit.json").read_text(encoding="utf-8"))
    shot = posters.shots(manifest, {}, {})[0]
    _fly(poster_page, shot.view)
    poster_page.evaluate("__viewer.setHotspotsVisible(false)")
    _fly(poster_page, shot.view)
    screenshot = np.asarray(Image.open(io.BytesIO(poster_page.locator("#stage canvas").screenshot())).convert("RGB"))
    url = poster_page.evaluate("__viewer.snapshot()")
    snapshot = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    assert snapshot.shape == (posters.POSTER_SIZE[1], posters.POSTER_SIZE[0], 3)
    assert snapshot.std() > 10, "a blank drawing buffer"
    assert np.abs(snapshot.astype(int) - screenshot.astype(int)).max() <= 1


def test_a_snapshot_just_after_a_jump_into_a_room_of_another_exposure_is_taken_at_that_rooms_exposure(
        browser: Any, tmp_path: Path) -> None:
    """The viewer eases the exposure towards the room the camera is in, frame by frame: a poster taken a frame or
    two after the cut into a darker room would be brighter the faster the frames came."""
    from pipeline.build import BuildOptions, build
    from pipeline.preview import StaticSite, serving
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    folder = write_tiny_exhibit(tmp_path / "tiny")
    spec = folder / "exhibit.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("    size: [4, 4, 3]\n", "    size: [4, 4, 3]\n    lighting: {exposure: 0.4}\n", 1),
                    encoding="utf-8")
    build(spec, tmp_path / "site", BuildOptions(quiet=True, cache_dir=tmp_path / "cache"))
    manifest = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    side = next(room for room in manifest["rooms"] if room["id"] == "side")
    with serving(StaticSite(tmp_path / "site")) as base:
        context = browser.new_context(viewport={"width": posters.POSTER_SIZE[0], "height": posters.POSTER_SIZE[1]},
                                      reduced_motion="reduce")
        try:
            page = context.new_page()
            page.goto(f"{base}/tiny/index.html")
            page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 20", timeout=60000)
            assert page.evaluate("__viewer.colourOutput().exposure") == pytest.approx(1.0, abs=0.01)  # the hall
            view = posters.room_cover_view(side, manifest.get("start"))
            page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
            page.evaluate("__viewer.snapshot()")
            assert page.evaluate("__viewer.colourOutput().exposure") == pytest.approx(0.4, abs=1e-6)
        finally:
            context.close()


def test_a_poster_is_the_same_whichever_shots_were_taken_before_it(poster_page: Any, built_site: Path) -> None:
    """A view taken afresh settles into the levels a visitor arriving there gets: the hall's cover after a close-up
    of the ding (whose finer level the streamer would otherwise keep a while) is the cover taken first."""
    import base64

    manifest = json.loads((built_site / "bronze-age" / "exhibit.json").read_text(encoding="utf-8"))
    by_name = {shot.name: shot for shot in posters.shots(manifest, {}, {})}
    poster_page.evaluate("__viewer.setHotspotsVisible(false)")

    def take(name: str) -> tuple[dict[str, str], np.ndarray]:
        poster_page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0, afresh: true})", by_name[name].view)
        poster_page.evaluate(posters.SETTLE_STREAMING)
        levels = poster_page.evaluate("({...__viewer.streaming.levels})")
        url = poster_page.evaluate("__viewer.snapshot()")
        return levels, np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))

    cover_levels, cover = take("room-hall")
    close_levels, _ = take("artifact-ding")
    assert close_levels["ding"] != cover_levels["ding"], "the close-up loads a finer level of the ding"
    again_levels, again = take("room-hall")
    assert again_levels == cover_levels
    assert np.abs(again.astype(int) - cover.astype(int)).max() <= 1
