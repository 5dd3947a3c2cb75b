"""Baked light in the viewer: golden images of the rich example (SSIM), colour management, draw calls and memory."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import wait_frames

pytestmark = pytest.mark.browser

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("VITRINA_UPDATE_GOLDEN") == "1"
# SwiftShader renders the same frame to within a few grey levels; a lost lightmap drops SSIM to about 0.7.
MIN_SSIM = 0.93
HIDE_OVERLAYS = "#stage > :not(canvas) { visibility: hidden !important; }"


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """Mean structural similarity of two greyscale images (Wang et al. 2004, Gaussian window σ = 1.5)."""
    from scipy.ndimage import gaussian_filter

    a, b = first.astype(np.float64), second.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return np.asarray(gaussian_filter(x, 1.5, truncate=3.5))

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def canvas_grey(page: Any) -> np.ndarray:
    shot = page.locator("#stage canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("L"))


def compare_with_golden(page: Any, name: str) -> float:
    from pipeline.posters import SETTLE_STREAMING

    page.evaluate(SETTLE_STREAMING)  # models stream in levels: compare once the sharpest for this view is in
    wait_frames(page, count=4)
    grey = canvas_grey(page)
    path = GOLDEN / f"{name}.png"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no reference {path.name}: run with VITRINA_UPDATE_GOLDEN=1 and look at it before committing")
        GOLDEN.mkdir(exist_ok=True)
        Image.fromarray(grey).save(path, optimize=True)
    reference = np.asarray(Image.open(path).convert("L"))
    assert reference.shape == grey.shape, "the viewport changed: regenerate the references"
    return ssim(reference, grey)


@pytest.fixture
def baked_page(open_page: Any, exhibit_url: str) -> Any:
    page = open_page(exhibit_url, reduced_motion=True)
    page.add_style_tag(content=HIDE_OVERLAYS)
    return page


def _strip_lightmaps(page: Any) -> int:
    return int(page.evaluate("() => __viewer.withoutBakedLight()"))


def test_start_view_matches_its_golden_image_and_fails_without_the_lightmap(baked_page: Any) -> None:
    page = baked_page
    assert page.evaluate("__viewer.bakedSurfaces") > 0
    score = compare_with_golden(page, "start-view")
    assert score >= MIN_SSIM, f"SSIM {score:.3f} against the reference start view"
    assert _strip_lightmaps(page) > 0
    without = compare_with_golden(page, "start-view") if not UPDATE else 0.0
    print(f"start view SSIM {score:.4f}, without lightmap {without:.4f}")
    assert without < MIN_SSIM, f"a view without its lightmap still scores SSIM {without:.3f}"


def test_artifact_close_up_matches_its_golden_image(baked_page: Any) -> None:
    page = baked_page
    view = page.evaluate("__viewer.manifest.artifacts.find((a) => a.id === 'ding').view")
    page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
    score = compare_with_golden(page, "ding-close-up")
    assert score >= MIN_SSIM, f"SSIM {score:.3f} against the reference close-up"


def test_the_contact_shadow_darkens_the_plinth_top_under_the_ding(baked_page: Any) -> None:
    page = baked_page
    page.evaluate("__viewer.setHotspotsVisible(false)")
    # Above the ding's plinth, looking down at its feet.
    page.evaluate("__viewer.flyTo({target: [0, 0.95, 0], position: [0.55, 1.65, 0.95]}, {durationMs: 0})")
    from pipeline.posters import SETTLE_STREAMING

    page.evaluate(SETTLE_STREAMING)
    wait_frames(page, count=4)
    with_shadows = canvas_grey(page).astype(float)
    assert page.evaluate("__viewer.withoutContactShadows()") >= 1
    wait_frames(page, count=4)
    without = canvas_grey(page).astype(float)
    darker = with_shadows < without - 4
    assert darker.sum() > 1500, "the shadow covers a patch around the feet"
    # Soft: the darkening fades out, it is not one flat step at a box edge.
    steps = np.unique(np.round((without - with_shadows)[darker] / 4))
    assert len(steps) >= 4
    assert (with_shadows > without + 2).sum() < 50, "a shadow only ever darkens"


def test_every_model_has_a_contact_shadow_and_the_baked_rooms_are_valid_gltf(built_site: Path) -> None:
    import json

    from pipeline.ladder import glb_json
    from tests.gltf_validator import errors_of, validate_many, validator_available

    folder = built_site / "bronze-age"
    manifest = json.loads((folder / "exhibit.json").read_text(encoding="utf-8"))
    rooms = [folder / room["glb"] for room in manifest["rooms"]]
    shadowed = set()
    for path in rooms:
        document, _ = glb_json(path.read_bytes())
        for node in document["nodes"]:
            shadowed.update(node.get("extras", {}).get("vitrina", {}).get("contact_shadows", []))
    assert shadowed == {a["id"] for a in manifest["artifacts"] if a["kind"] == "model"}
    if not validator_available():
        pytest.skip("gltf-validator (npm) is not installed")
    for path, report in zip(rooms, validate_many(rooms), strict=True):
        assert errors_of(report) == [], path.name


def test_colour_management_and_every_texture_colour_space(baked_page: Any) -> None:
    page = baked_page
    output = page.evaluate("__viewer.colourOutput()")
    assert output["outputColorSpace"] == "srgb" and output["toneMapping"] == "neutral"
    textures = page.evaluate("__viewer.textureColourSpaces()")
    slots = {t["slot"] for t in textures}
    assert {"map", "lightMap"} <= slots
    wrong = [t for t in textures if t["colorSpace"] != t["expected"]]
    assert wrong == []
    # The contact shadows' atlas is a colour texture (black; glTF reads its alpha linearly either way).
    shadows = [t for t in textures if t["material"].endswith("-contact-shadow")]
    assert shadows and all(t["slot"] == "map" and t["colorSpace"] == "srgb" for t in shadows)


def test_baked_rooms_stay_within_every_target_budget(built_site: Path) -> None:
    import json

    report = json.loads((built_site / "bronze-age" / "report.json").read_text(encoding="utf-8"))
    assert report["bakes"], "the example's rooms were baked"
    for check in report["budgets"]:
        for metric in ("draw_calls", "texture_bytes_gpu"):
            assert check["values"][metric] <= check["limits"][metric], (check["room"], check["target"], metric)
