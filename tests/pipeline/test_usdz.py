"""USDZ for AR Quick Look: units, axis, title, materials, determinism, rights gate and the ARKit checks."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pxr", reason="usd-core is needed: pip install vitrina[ar]")

from pipeline import compose, images, usdz  # noqa: E402
from pipeline.scene import Material, Node, Scene, Texture, TextureRef  # noqa: E402


def _textured_box() -> Scene:
    builder = compose.MeshBuilder()
    png = images.png_from_rgb(np.full((4, 4, 3), 0.5))
    material = Material(name="glaze", base_color_factor=(0.9, 0.8, 0.7, 1.0), metallic_factor=0.1,
                        roughness_factor=0.4,
                        base_color_texture=TextureRef(Texture(name="t", data=png, mime_type="image/png")))
    builder.box((-0.1, 0.0, -0.2), (0.1, 0.5, 0.2), material, bottom=True)
    # Somewhere off the origin and in centimetres scaled to metres by its node, as an ingested asset may be.
    return Scene(name="box", nodes=[Node(name="box", mesh=builder.mesh("box"), translation=(3.0, 1.0, -2.0))])


def _stage(data: bytes, folder: Path):  # type: ignore[no-untyped-def]
    from pxr import Usd

    path = folder / "a.usdz"
    path.write_bytes(data)
    return Usd.Stage.Open(str(path)), path


def test_usdz_is_in_metres_y_up_standing_at_the_origin_and_titled(tmp_path: Path) -> None:
    from pxr import Usd, UsdGeom

    stage, path = _stage(usdz.usdz_bytes(_textured_box(), "Ding with taotie"), tmp_path)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    root = stage.GetDefaultPrim()
    assert root.GetDisplayName() == "Ding with taotie"
    box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeWorldBound(root).ComputeAlignedRange()
    assert np.allclose(box.GetMin(), (-0.1, 0.0, -0.2), atol=1e-6)
    assert np.allclose(box.GetMax(), (0.1, 0.5, 0.2), atol=1e-6)
    assert usdz.arkit_problems(path) == []


def test_height_scales_the_model_to_its_real_size(tmp_path: Path) -> None:
    from pxr import Usd, UsdGeom

    stage, _ = _stage(usdz.usdz_bytes(_textured_box(), "Box", height=1.0), tmp_path)
    box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeWorldBound(
        stage.GetDefaultPrim()).ComputeAlignedRange()
    assert box.GetMax()[1] == pytest.approx(1.0)


def test_materials_are_preview_surfaces_with_the_texture_packaged(tmp_path: Path) -> None:
    from pxr import UsdShade

    data = usdz.usdz_bytes(_textured_box(), "Box")
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
    assert names[0].endswith(".usdc") and any(n.endswith(".png") for n in names)
    stage, _ = _stage(data, tmp_path)
    shaders = {str(UsdShade.Shader(p).GetIdAttr().Get()) for p in stage.Traverse() if p.GetTypeName() == "Shader"}
    assert shaders == {"UsdPreviewSurface", "UsdUVTexture", "UsdPrimvarReader_float2"}
    surface = next(UsdShade.Shader(p) for p in stage.Traverse()
                   if p.GetTypeName() == "Shader" and UsdShade.Shader(p).GetIdAttr().Get() == "UsdPreviewSurface")
    assert surface.GetInput("roughness").Get() == pytest.approx(0.4)


def test_the_same_model_gives_the_same_bytes() -> None:
    assert usdz.usdz_bytes(_textured_box(), "Box") == usdz.usdz_bytes(_textured_box(), "Box")


def test_arkit_checks_catch_a_package_ar_quick_look_cannot_read(tmp_path: Path) -> None:
    good = usdz.usdz_bytes(_textured_box(), "Box")
    source = zipfile.ZipFile(io.BytesIO(good))
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name in source.namelist():
            package.writestr(name, source.read(name))
        package.writestr("extra.webp", b"RIFF0000WEBP")
    path = tmp_path / "bad.usdz"
    path.write_bytes(bad.getvalue())
    problems = usdz.arkit_problems(path)
    assert any("extra.webp" in p for p in problems)
    assert any("compressed" in p for p in problems)


def test_a_new_title_is_set_on_the_cached_package_and_it_still_passes_the_arkit_checks(tmp_path: Path) -> None:
    base = usdz.usdz_bytes(_textured_box(), "ding")
    renamed = usdz.retitled(base, "Ding with taotie, 兽面纹鼎")
    stage, path = _stage(renamed, tmp_path)
    assert stage.GetDefaultPrim().GetDisplayName() == "Ding with taotie, 兽面纹鼎"
    assert stage.GetRootLayer().documentation == "Ding with taotie, 兽面纹鼎"
    assert usdz.arkit_problems(path) == []
    assert usdz.retitled(base, "Ding with taotie, 兽面纹鼎") == renamed  # deterministic
    (tmp_path / "fresh").mkdir()
    fresh = usdz.usdz_bytes(_textured_box(), "Ding with taotie, 兽面纹鼎")
    assert _stage(fresh, tmp_path / "fresh")[0].GetDefaultPrim().GetDisplayName() == \
        stage.GetDefaultPrim().GetDisplayName()
