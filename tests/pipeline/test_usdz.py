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


def _repackaged(good: bytes, compression: int, extra: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as package:
        for name in source.namelist():
            package.writestr(name, source.read(name))
        for name, data in extra.items():
            package.writestr(name, data)
    return out.getvalue()


def test_the_real_arkit_checker_catches_a_package_ar_quick_look_cannot_read(tmp_path: Path) -> None:
    good = usdz.usdz_bytes(_textured_box(), "Box")
    compressed = tmp_path / "compressed.usdz"
    compressed.write_bytes(_repackaged(good, zipfile.ZIP_DEFLATED, {}))
    assert any("compressed" in p for p in usdz.arkit_problems(compressed))
    webp = tmp_path / "webp.usdz"
    webp.write_bytes(_repackaged(good, zipfile.ZIP_STORED, {"extra.webp": b"RIFF0000WEBP"}))
    problems = usdz.arkit_problems(webp)
    # The rule names are usdchecker's own: this is its engine, not a stand-in.
    assert any("extra.webp" in p and "ARKitFileExtensionChecker" in p for p in problems)
    assert any("ByteAlignmentChecker" in p for p in problems)  # zipfile does not align entries to 64 bytes


def test_the_real_arkit_checker_refuses_a_shader_ar_quick_look_lacks_and_a_stage_without_default_prim(
        tmp_path: Path) -> None:
    from pxr import Sdf, Usd, UsdGeom, UsdShade, UsdUtils

    stage = Usd.Stage.CreateNew(str(tmp_path / "odd.usdc"))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.Xform.Define(stage, "/root")
    UsdShade.Material.Define(stage, "/root/look")
    UsdShade.Shader.Define(stage, "/root/look/toon").CreateIdAttr("ToonShader")
    stage.GetRootLayer().Save()
    UsdUtils.CreateNewARKitUsdzPackage(Sdf.AssetPath(str(tmp_path / "odd.usdc")), str(tmp_path / "odd.usdz"))
    problems = usdz.arkit_problems(tmp_path / "odd.usdz")
    assert any("ARKitShaderChecker" in p and "ToonShader" in p for p in problems)
    assert any("defaultPrim" in p for p in problems)


def test_every_usdz_the_examples_build_passes_the_real_arkit_checker(tmp_path: Path) -> None:
    from pipeline.build import write_usdz
    from pipeline.cache import AssetCache
    from pipeline.report import BuildReport
    from pipeline.spec import load_exhibit
    from tests.conftest import REPO

    written = 0
    for spec in sorted((REPO / "exhibits").glob("*/exhibit.yaml")):
        loaded = load_exhibit(spec.parent)
        folder = tmp_path / loaded.exhibit.id
        folder.mkdir()
        files = write_usdz(folder, loaded.exhibit, loaded.root, AssetCache(None),
                           BuildReport(exhibit=loaded.exhibit.id, out_dir=str(folder)))
        for artifact_id, relative in files.items():
            assert usdz.arkit_problems(folder / relative) == [], (spec.parent.name, artifact_id)
            written += 1
    assert written >= 6  # the rich example's six models at least


def _usdz_triangles(path: Path, folder: Path) -> int:
    from pxr import UsdGeom

    folder.mkdir()
    stage, _ = _stage(path.read_bytes(), folder)
    counts = [UsdGeom.Mesh(prim).GetFaceVertexCountsAttr().Get() for prim in stage.Traverse()
              if prim.IsA(UsdGeom.Mesh)]
    return sum(sum(1 for n in faces if n == 3) for faces in counts)


def test_a_model_above_the_phone_budget_is_simplified_for_ar_quick_look(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import build
    from pipeline.cache import AssetCache
    from pipeline.report import BuildReport
    from pipeline.spec import load_exhibit
    from tests.conftest import REPO

    loaded = load_exhibit(REPO / "exhibits" / "bronze-age")

    def packages(cap: int, name: str) -> dict[str, Path]:
        monkeypatch.setattr(build, "AR_TRIANGLES", cap)
        folder = tmp_path / name
        folder.mkdir()
        files = build.write_usdz(folder, loaded.exhibit, loaded.root, AssetCache(None),
                                 BuildReport(exhibit=loaded.exhibit.id, out_dir=str(folder)))
        return {artifact_id: folder / relative for artifact_id, relative in files.items()}

    whole, capped = packages(10_000_000, "whole"), packages(300, "capped")
    assert whole.keys() == capped.keys() and whole
    shrunk = 0
    for artifact_id, path in capped.items():
        before = _usdz_triangles(whole[artifact_id], tmp_path / f"{artifact_id}-whole")
        after = _usdz_triangles(path, tmp_path / f"{artifact_id}-capped")
        assert after <= max(before, 300) * 1.05, artifact_id
        if before > 3000:
            # Near the cap, not at it: at 300 triangles the UV seams meshoptimizer keeps weigh in.
            assert after <= 1000, (artifact_id, before, after)
            shrunk += 1
        assert usdz.arkit_problems(path) == [], artifact_id
    assert shrunk >= 1


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
