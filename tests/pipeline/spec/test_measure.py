"""Measuring models from their headers (pipeline.spec.measure) and the checks built on it (pipeline.spec.content)."""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.spec.content import record_dimensions
from pipeline.spec.measure import _ply_measure, measure, references
from tests.helpers import traced_peak
from tests.pipeline.spec.assetgen import _glb, copy_case, gltf_box, write_box

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
FIRST_DAY = sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith("first-day-") and not p.name.endswith("clean"))


@pytest.mark.parametrize("suffix", [".glb", ".gltf", ".ply", ".obj", ".stl"])
def test_every_format_gives_its_bounds_and_triangles(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"box{suffix}"
    write_box(path, (300.0, 496.0, 250.0), {})
    measured = measure(path)
    assert measured.low == pytest.approx((-150, 0, -125))
    assert measured.high == pytest.approx((150, 496, 125))
    assert measured.triangles == 12


def test_gltf_triangles_follow_nodes_instances_and_strips(tmp_path: Path) -> None:
    document, binary = gltf_box((1.0, 2.0, 1.0), triangles=30)
    document["nodes"] = [{"mesh": 0, "translation": [10, 0, 0], "scale": [2, 2, 2]},
                         {"mesh": 0, "extensions": {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 0}}}}]
    document["scenes"] = [{"nodes": [0, 1]}]
    path = tmp_path / "two.glb"
    path.write_bytes(_glb(document, binary))
    measured = measure(path)
    # 30 drawn once by node 0, and 8 times by node 1 (its instancing accessor counts 8).
    assert measured.triangles == 30 + 8 * 30
    assert measured.low == pytest.approx((-0.5, 0, -1))  # node 0 spans x 9..11, y 0..4, z -1..1
    assert measured.high == pytest.approx((11, 4, 1))
    document["meshes"][0]["primitives"][0]["mode"] = 5  # type: ignore[index]
    path.write_bytes(_glb(document, binary))
    assert measure(path).triangles == 9 * (90 - 2)


def test_ply_triangles_come_from_the_header_alone(tmp_path: Path) -> None:
    """A scan's face block is never read: a PLY whose faces are cut off still counts them from its header."""
    path = tmp_path / "scan.ply"
    write_box(path, (1.0, 1.0, 1.0), {})
    data = path.read_bytes().replace(b"element face 12", b"element face 10000000")
    path.write_bytes(data[: data.index(b"end_header") + 11 + 8 * 15])  # header and the 8 vertices only
    measured = measure(path)
    assert measured.triangles == 10_000_000
    assert measured.high == pytest.approx((0.5, 1, 0.5))


def test_unreadable_files_measure_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "broken.glb"
    path.write_bytes(b"glTF" + struct.pack("<II", 2, 40) + struct.pack("<I", 8) + b"JSON" + b"{broken}")
    measured = measure(path)
    assert (measured.low, measured.triangles, measured.extent) == (None, None, None)


def test_references_of_gltf_obj_and_mtl(tmp_path: Path) -> None:
    document, _ = gltf_box((1.0, 1.0, 1.0), image="tex/a%20b.png", buffer_uri="data.bin")
    document["images"].append({"uri": "data:image/png;base64,AAAA"})  # type: ignore[attr-defined]
    (tmp_path / "m.gltf").write_text(json.dumps(document), encoding="utf-8")
    assert references(tmp_path / "m.gltf") == [("buffer", "data.bin"), ("image", "tex/a b.png")]
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nv 0 0 0\n", encoding="utf-8")
    assert references(tmp_path / "m.obj") == [("material library", "m.mtl")]
    (tmp_path / "m.mtl").write_text("newmtl a\nmap_Kd -s 1 1 1 -bm 0.5 maps/colour map.jpg\nbump -clamp on n.png\n"
                                    "map_Ks maps\\shine.png\n", encoding="utf-8")
    assert references(tmp_path / "m.mtl") == [("texture", "maps/colour map.jpg"), ("texture", "n.png"),
                                              ("texture", "maps/shine.png")]


def test_a_big_objs_material_libraries_are_found_block_by_block_without_holding_its_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A 4M-triangle scan's 430 MB of text was read whole to find its mtllib lines: the process held it all.
    from pipeline.spec import measure as measuring

    block = 1 << 14
    monkeypatch.setattr(measuring, "SCAN_BLOCK", block)
    numbers = "".join(f"v {i} {i * 0.5} {i * 0.25}\n" for i in range(40_000))
    head = "mtllib first.mtl\n" + numbers + "# usemtl is not mtllib, nor is this: mtllib x.mtl\n"
    # The second statement's word across two blocks, its line starting in the one before.
    padding = -(len(head) + len("#\n") + len("  mt")) % block
    head += "#" + "x" * padding + "\n"
    path = tmp_path / "scan.obj"
    path.write_text(head + "  mtllib  middle pages.mtl \n" + numbers + "mtllib last.mtl", encoding="utf-8")
    assert (len(head) + len("  mt")) % block == 0 and path.stat().st_size > 1_500_000
    found, peak = traced_peak(lambda: measuring._references(path))
    assert found == [("material library", "first.mtl"), ("material library", "middle pages.mtl"),
                     ("material library", "last.mtl")]
    assert peak < 200_000


def test_references_read_a_model_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An exhibit showing one OBJ 19 times asks 19 times; each read scanned the whole file.
    from pipeline.spec import measure as measuring

    reads: list[Path] = []
    real = measuring._references

    def counted(path: Path) -> list[tuple[str, str]]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(measuring, "_references", counted)
    path = tmp_path / "bust.obj"
    path.write_text("mtllib a.mtl\nv 0 0 0\n", encoding="utf-8")
    assert [references(path) for _ in range(19)] == [[("material library", "a.mtl")]] * 19
    assert reads == [path]
    path.write_text("mtllib second.mtl\nv 0 0 0\n", encoding="utf-8")  # edited: another size
    assert references(path) == [("material library", "second.mtl")]
    assert reads == [path, path]


@pytest.mark.parametrize("document", [
    {"images": 5, "buffers": {"uri": "a.bin"}}, {"images": [{"uri": 3}, "x", None]}, [1, 2], "text",
])
def test_malformed_gltf_refers_to_nothing_and_measures_as_unknown(document: object, tmp_path: Path) -> None:
    path = tmp_path / "odd.gltf"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert references(path) == []
    assert measure(path).triangles in (None, 0)
    (tmp_path / "broken.gltf").write_bytes(b"{not json")
    assert references(tmp_path / "broken.gltf") == []


def test_a_textured_ply_refers_to_its_texture_file(tmp_path: Path) -> None:
    header = ("ply\nformat binary_little_endian 1.0\ncomment TextureFile scan skin.jpg\nelement vertex 1\n"
              "property float x\nproperty float y\nproperty float z\n{uv}element face 0\n"
              "property list uchar int vertex_indices\nend_header\n")
    (tmp_path / "a.ply").write_bytes(header.format(uv="property float s\nproperty float t\n").encode() + bytes(20))
    assert references(tmp_path / "a.ply") == [("texture", "scan skin.jpg")]
    (tmp_path / "b.ply").write_bytes(header.format(uv="").encode() + bytes(12))
    assert references(tmp_path / "b.ply") == []  # no texture coordinates: the reader ignores the texture too
    # An ASCII PLY is read with its texture too, so the texture is part of what the cache's key covers.
    (tmp_path / "c.ply").write_text(header.replace("binary_little_endian", "ascii").format(
        uv="property float s\nproperty float t\n") + "0 0 0 0.5 0.5\n")
    assert references(tmp_path / "c.ply") == [("texture", "scan skin.jpg")]


def test_an_ascii_ply_is_measured_a_block_of_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # It split every row into a list of Python strings: 0.44 GB for a 1M-triangle scan's 60 MB of text. The rows
    # have six decimals, as MeshLab writes them: the x, y, z the measure parses take 12 bytes a row, the text 40.
    from pipeline import ingest

    rows = 20_000
    points = [(i % 7 - 3.5, (i * 13) % 101 / 10, -(i % 5)) for i in range(rows)]
    text = ("ply\nformat ascii 1.0\nelement vertex 20000\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\nelement face 1\n"
            "property list uchar int vertex_indices\nend_header\n"
            + "".join(f"{x:.6f} {y:.6f} {z:.6f} 200 100 50\n" for x, y, z in points) + "3 0 1 2\n")
    (tmp_path / "scan.ply").write_text(text)
    monkeypatch.setattr(ingest, "PLY_TEXT_BLOCK", 1 << 14)
    found, peak = traced_peak(lambda: _ply_measure(tmp_path / "scan.ply"))  # measure() also hashes the file
    assert (found.low, found.high, found.triangles) == ((-3.5, 0.0, -4.0), (2.5, 10.0, 0.0), 1)
    assert peak < len(text) / 2, peak
    # Rows that are not as the header says (a missing colour): unknown, for the reader to explain.
    (tmp_path / "odd.ply").write_text(text.replace("200 100 50\n", "200 100\n", 1))
    assert measure(tmp_path / "odd.ply").low is None


@pytest.mark.parametrize(("text", "sizes", "height"), [
    ("H. 49.6 cm", [0.496], 0.496),
    ("30 x 20 x 10 cm", [0.3, 0.2, 0.1], None),
    ("高 26 厘米", [0.26], 0.26),
    ("Height: 12 in; width 300 mm", [0.3048, 0.3], 0.3048),
    ("Shang dynasty, 1300 BC", None, None),
])
def test_record_dimensions_are_read_with_their_units(text: str, sizes: list[float] | None,
                                                     height: float | None) -> None:
    parsed = record_dimensions(text)
    if sizes is None:
        assert parsed is None
        return
    assert parsed is not None
    assert parsed[0] == pytest.approx(sizes)
    assert parsed[1] == (pytest.approx(height) if height is not None else None)


def _check(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           assets: str | None = None) -> str:
    folder = tmp_path / case
    copy_case(FIXTURES / case, folder)
    if assets is not None:
        from tests.pipeline.spec.assetgen import write_assets

        write_assets(folder, assets)
    monkeypatch.chdir(tmp_path)
    main(["check", case])
    return capsys.readouterr().out


@pytest.mark.parametrize(("triangles", "warned"), [(500_000, False), (500_001, True)])
def test_triangle_budget_warns_one_past_the_limit(triangles: int, warned: bool, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    output = _check("first-day-00-clean", tmp_path, monkeypatch, capsys,
                    assets=f"models/car.glb box 0.3 0.12 0.15 triangles={triangles}")
    assert ("500,000 triangles on quest2" in output) is warned
    assert "desktop" not in output.split("models as placed")[0]  # 3M on desktop: well within


def test_the_first_day_mistakes_are_each_located_and_none_is_silent() -> None:
    """The issue's bar: of the 28 mistakes at least 26 are reported at file:line:col, and none passes in silence."""
    assert len(FIRST_DAY) == 28
    located = 0
    for case in FIRST_DAY:
        expected = (FIXTURES / case / "expected.txt").read_text(encoding="utf-8")
        first = expected.splitlines()[0]
        assert not first.startswith("models as placed"), f"{case} passes check in silence"
        located += bool(re.match(rf"^{re.escape(case)}/\S+:\d+:\d+  ", first))
    assert located >= 26
    clean = (FIXTURES / "first-day-00-clean" / "expected.txt").read_text(encoding="utf-8")
    assert clean.endswith("0 errors, 0 warnings.\n")


def test_file_names_with_spaces_inside_an_obj_and_its_mtl_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    write_tiny_exhibit(tmp_path / "tiny")  # mtllib 'cube parts.mtl', map_Kd 'cube skin.png'
    monkeypatch.chdir(tmp_path)
    assert main(["check", "tiny"]) == 0, capsys.readouterr().out
    (tmp_path / "tiny" / "models" / "cube skin.png").unlink()
    assert main(["check", "tiny"]) == 1
    assert ("refers to texture 'cube skin.png': file not found: 'models/cube skin.png'"
            in capsys.readouterr().out)


def _check_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  file: str, old: str, new: str) -> str:
    """`vitrina check` of the clean first-day exhibit with one text replaced in one of its YAML files."""
    folder = tmp_path / "edited"
    copy_case(FIXTURES / "first-day-00-clean", folder)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    main(["check", "edited"])
    return capsys.readouterr().out


@pytest.mark.parametrize(("x", "warned"), [(-2.75, False), (-2.76, True)])
def test_door_clearance_is_one_metre_exactly(x: float, warned: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The car's plinth is 0.5 m wide, so at x = -2.75 its west edge is 1 m from the gallery's west door."""
    output = _check_edited(tmp_path, monkeypatch, capsys, "artifacts/gallery.yaml",
                           "at: [0, 0], plinth: {height: 0.7}", f"at: [{x}, 0], plinth: {{height: 0.7}}")
    assert ("from the door to 'hall'" in output) is warned


@pytest.mark.parametrize(("z", "warned"), [(0.135, False), (0.136, True)])
def test_annotation_margin_is_ten_centimetres_for_a_small_model(z: float, warned: bool, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The bottle is 7 cm across: 3.5 cm from its axis to its side, plus the 10 cm margin."""
    output = _check_edited(tmp_path, monkeypatch, capsys, "exhibit.yaml", "at: [0, 0.15, 0.04]", f"at: [0, 0.15, {z}]")
    assert ("annotation 'label' is" in output) is warned


@pytest.mark.parametrize(("height", "refused"), [(2.5, False), (2.501, True)])
def test_a_model_may_reach_the_ceiling_but_not_pass_it(height: float, refused: bool, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The bust stands on a 1 m plinth in a 3.5 m room: 2.5 m of model fits exactly."""
    output = _check_edited(tmp_path, monkeypatch, capsys, "artifacts/gallery.yaml",
                           "    units: mm\n    place: {room: gallery, at: [2, -1]",
                           f"    height: {height}\n    place: {{room: gallery, at: [2, -1]")
    assert ("taller than room 'gallery'" in output) is refused


@pytest.mark.parametrize(("units", "speck"), [("m", False), ("cm", True)])
def test_a_model_under_five_millimetres_is_a_speck(units: str, speck: bool, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    output = _check_edited(tmp_path, monkeypatch, capsys, "exhibit.yaml", "    model: models/bottle.gltf\n",
                           f"    model: models/bottle.gltf\n    units: {units}\n")
    assert ("the model is only" in output) is speck


def test_a_text_model_is_measured_once_per_content_across_processes(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # `check` and every build measure an OBJ by reading all of its text: a warm one must not read it again.
    from pipeline.spec import measure as measuring

    reads: list[Path] = []
    real = measuring._obj_measure

    def counted(path: Path) -> measuring.Measure:
        reads.append(path)
        return real(path)

    monkeypatch.setitem(measuring._READERS, ".obj", counted)
    path = tmp_path / "box.obj"
    write_box(path, (300.0, 496.0, 250.0), {})
    first = measure(path)
    measuring._cached_measure.cache_clear()  # as a new process would start
    assert measure(path) == first and first.triangles == 12 and reads == [path]
    copy = tmp_path / "copy.obj"
    copy.write_bytes(path.read_bytes())
    assert measure(copy) == first and reads == [path]  # same content, same measure
    write_box(path, (300.0, 100.0, 250.0), {})
    assert measure(path).high == pytest.approx((150, 100, 125)) and reads == [path, path]


def test_a_damaged_remembered_measure_is_measured_again(tmp_path: Path) -> None:
    from pipeline.source_facts import facts_dir
    from pipeline.spec import measure as measuring

    path = tmp_path / "box.obj"
    write_box(path, (300.0, 496.0, 250.0), {})
    first = measure(path)
    for damage in ('{"low": [1, 2], "high": null, "triangles": 3}', '{"low": null, "high": null, "triangles": -1}',
                   '{"low": null}', "[]", "{"):
        for entry in (facts_dir() / "content").rglob("*.json"):
            entry.write_text(damage, encoding="utf-8")
        measuring._cached_measure.cache_clear()
        assert measure(path) == first, damage


def test_an_obj_too_big_to_scan_is_not_hashed_to_remember_that(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import source_facts
    from pipeline.spec import measure as measuring

    hashed: list[Path] = []

    def digest(path: Path) -> str:
        hashed.append(path)
        return "0" * 64

    monkeypatch.setattr(source_facts, "file_digest", digest)
    path = tmp_path / "box.obj"
    write_box(path, (300.0, 496.0, 250.0), {})
    monkeypatch.setattr(measuring, "MAX_TEXT_SCAN_BYTES", path.stat().st_size - 1)
    assert measure(path) == measuring.Measure(None, None, None) and hashed == []
    monkeypatch.setattr(measuring, "MAX_TEXT_SCAN_BYTES", path.stat().st_size)
    write_box(path, (300.0, 496.0, 250.0), {})  # a new version, so that this process measures it again
    assert measure(path).triangles == 12 and len(hashed) == 1


def test_an_obj_measure_counts_polygons_and_reads_only_positions_across_blocks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import obj_text

    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 64)  # a few lines a block: bounds and counts carry across them
    lines = ["# a quad, a triangle and a pentagon", "mtllib m.mtl", "v -1 0 0.5", "vt 9 9", "vn 0 1 0",
             "v 2 -3 0\r", "v 0 4 -7 0.5 0.5 0.5", "v 0 0 0", "v 1 1 1",
             "f 1/1/1 2/1/1 3/1/1 4/1/1", "usemtl skin", "f 1 2 3", "f 1 2 3 4 5"]
    path = tmp_path / "shapes.obj"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    measured = measure(path)
    assert measured.triangles == 2 + 1 + 3
    assert measured.low == (-1.0, -3.0, -7.0) and measured.high == (2.0, 4.0, 1.0)


def test_an_obj_with_a_vertex_line_of_many_numbers_measures_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "odd.obj"
    path.write_text("v 0 0 0\nv 1 1 1 " + " ".join(["2"] * 50) + "\nf 1 2 1\n", encoding="utf-8")
    measured = measure(path)
    assert (measured.low, measured.high, measured.triangles) == (None, None, None)


@pytest.mark.parametrize("split_after", ["v 2 -3 0", "f 1/1/1 2/1/1 3/1/1 4/1/1", "usemtl skin"])
def test_a_big_obj_measured_in_two_halves_at_once_measures_as_in_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split_after: str) -> None:
    # The second half is measured in a forked process: bounds and counts join into exactly one pass's.
    from pipeline import forked_half, obj_text

    lines = ["v -1 0 0.5", "vt 9 9", "v 2 -3 0", "v 0 4 -7", "v 0 0 0", "v 1 1 1", "f 1/1/1 2/1/1 3/1/1 4/1/1",
             "usemtl skin", "f 1 2 3", "v 5 0 0", "f 1 2 3 4 5"]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "big.obj"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 16)
    one_bounds, one_triangles = obj_text.obj_extent(path)
    assert one_triangles == 2 + 1 + 3 and one_bounds is not None
    assert one_bounds.tolist() == [[-1.0, -3.0, -7.0], [5.0, 4.0, 1.0]]
    offset = text.index(split_after) + len(split_after) + 1
    monkeypatch.setattr(obj_text, "OBJ_SPLIT_BYTES", 0)
    monkeypatch.setattr(obj_text, "_half_the_work", lambda path, size, costs: offset)
    real_child, mark = forked_half._in_child, tmp_path / "child.pid"
    monkeypatch.setattr(forked_half, "_in_child", lambda *args: (mark.write_text(str(os.getpid())), real_child(*args)))
    bounds, triangles = obj_text.obj_extent(path)
    assert int(mark.read_text()) != os.getpid()
    assert triangles == one_triangles and bounds is not None and bounds.tolist() == one_bounds.tolist()
    # A vertex line of too many numbers in the second half leaves the measure unknown, as in one pass.
    path.write_text(text + "v 1 1 1 " + " ".join(["2"] * 50) + "\n", encoding="utf-8")
    with pytest.raises(ValueError):
        obj_text.obj_extent(path)


def test_an_ascii_ply_too_big_to_scan_counts_its_faces_from_the_header_alone(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Finding its first face means counting its vertex lines: check does that only within its text-scan limit.
    from pipeline.spec import measure as measuring

    text = ("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n"
            "4 0 1 2 3\n")
    (tmp_path / "quad.ply").write_text(text)
    assert measuring._ply_measure(tmp_path / "quad.ply").triangles == 2
    monkeypatch.setattr(measuring, "MAX_TEXT_SCAN_BYTES", len(text) - 1)
    assert measuring._ply_measure(tmp_path / "quad.ply").triangles == 1


@pytest.mark.parametrize("written", ["C:\\Users\\ana\\scan\\cube skin.png", "/home/ana/scan/cube skin.png",
                                     "\\\\server\\scans\\cube skin.png", "textures\\cube skin.png"])
def test_a_texture_named_by_a_path_on_another_machine_is_read_beside_the_model(
        written: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # 3ds Max and others write where the texture was on their own disk; the file then travels beside the model.
    from tests.pipeline.tiny_exhibit import write_tiny_exhibit

    folder = write_tiny_exhibit(tmp_path / "tiny")
    mtl = folder / "models" / "cube parts.mtl"
    mtl.write_text(mtl.read_text(encoding="utf-8").replace("map_Kd cube skin.png", f"map_Kd {written}"),
                   encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "tiny"]) == 0
    shown = written.replace("\\", "/")
    why = "which is not there" if written.startswith("textures") else "a path on the machine that wrote it"
    assert (f"'models/cube parts.mtl' refers to texture '{shown}', {why}; the build reads 'models/cube skin.png', "
            "the file of that name beside it") in capsys.readouterr().out
    (folder / "models" / "cube skin.png").unlink()
    assert main(["check", "tiny"]) == 1
    output = capsys.readouterr().out
    if written.startswith("textures"):
        assert f"refers to texture '{shown}': file not found: 'models/{shown}'" in output
    else:
        assert (f"'models/cube parts.mtl' refers to texture '{shown}', a path on the machine that wrote it; copy "
                "that file to 'models/cube skin.png'") in output
