"""Device budgets: profiles, texture memory estimates, per-room and per-asset classification, and simplification
within an error bound (measured independently with trimesh)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import trimesh

from pipeline import budgets
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from tests.pipeline.transforms.scenes import grid, grid_primitive

MB = 1024 * 1024


def png_header(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height) + b"\x08\x06\0\0\0"


def ktx2_header(width: int, height: int) -> bytes:
    return b"\xabKTX 20\xbb\r\n\x1a\n" + struct.pack("<IIII", 0, 1, width, height) + b"\0" * 40


def triangles_primitive(count: int, material: Material | None = None) -> Primitive:
    """`count` separate small triangles (cheap to build, exact triangle count)."""
    positions = np.random.default_rng(count).random((count * 3, 3)).astype(np.float32)
    return Primitive(attributes={"POSITION": positions}, indices=np.arange(count * 3, dtype=np.uint32),
                     material=material)


def room(triangles: int, draw_calls: int, textures: list[Texture] | None = None) -> Scene:
    per_call = triangles // draw_calls
    material = Material("m", base_color_texture=TextureRef(textures[0])) if textures else None
    nodes = [Node(f"n{i}", mesh=Mesh(f"m{i}", [triangles_primitive(per_call, material)])) for i in range(draw_calls)]
    return Scene("hall", nodes=nodes)


def test_profiles_match_the_design_table() -> None:
    quest2 = budgets.PROFILES["quest2"]
    assert (quest2.draw_calls, quest2.triangles, quest2.texture_bytes_gpu, quest2.max_texture_size) == (
        100, 500_000, 256 * MB, 2048)
    assert budgets.PROFILES["desktop"].limits()["triangles"] == 3_000_000
    assert set(budgets.PROFILES) == {"quest2", "quest3", "phone", "desktop"}
    assert all(p.bytes > 0 for p in budgets.PROFILES.values())


def test_texture_memory_estimates() -> None:
    png = Texture("a", png_header(2048, 1024), "image/png")
    assert budgets.texture_gpu_bytes(png) == 2048 * 1024 * 4 * 4 // 3
    assert budgets.texture_gpu_bytes(png, max_size=1024) == 1024 * 512 * 4 * 4 // 3
    ktx = Texture("b", ktx2_header(4096, 4096), "image/ktx2")
    assert budgets.texture_gpu_bytes(ktx) == 4096 * 4096 * 4 // 3
    recorded = Texture("c", b"not parsed", "image/jpeg", width=300, height=200)
    assert budgets.texture_gpu_bytes(recorded) == 300 * 200 * 4 * 4 // 3


@pytest.mark.parametrize(("triangles", "draw_calls", "over"), [
    (400_000, 80, {"quest2": [], "quest3": [], "phone": ["triangles"], "desktop": []}),
    (600_000, 150, {"quest2": ["triangles", "draw_calls"], "quest3": [], "phone": ["triangles", "draw_calls"],
                    "desktop": []}),
    (90_000, 120, {"quest2": ["draw_calls"], "quest3": [], "phone": ["draw_calls"], "desktop": []}),
])
def test_rooms_are_classified_for_each_profile(triangles: int, draw_calls: int, over: dict[str, list[str]]) -> None:
    scene = room(triangles, draw_calls)
    for profile, expected in over.items():
        report = budgets.check_budget(scene, profile)
        assert report.over == expected, profile
        assert report.ok == (not expected)


def test_texture_memory_and_download_size_count_against_the_budget() -> None:
    big = Texture("big", png_header(8192, 8192), "image/png")
    scene = room(1000, 2, [big])
    # 8192² is resized to each target's maximum first: 2048² RGBA8 with mips is ~21 MB, within every budget
    assert budgets.check_budget(scene, "quest2").values["texture_bytes_gpu"] == 2048 * 2048 * 4 * 4 // 3
    many = Scene("gallery", nodes=[Node(f"p{i}", mesh=Mesh("m", [triangles_primitive(2, Material(
        "m", base_color_texture=TextureRef(Texture(f"t{i}", png_header(2048, 2048), "image/png"))))]))
        for i in range(15)])
    assert budgets.check_budget(many, "quest2").over == ["texture_bytes_gpu"]
    assert budgets.check_budget(many, "desktop").ok
    assert budgets.check_budget(scene, "phone", download_bytes=20 * MB).over == ["bytes"]


def test_per_asset_report_attributes_cost_to_artifacts() -> None:
    ding = Node("ding", keep=True, children=[Node("body", mesh=Mesh("b", [triangles_primitive(300)]))])
    vase = Node("vase", keep=True, mesh=Mesh("v", [triangles_primitive(50), triangles_primitive(20)]))
    wall = Node("wall", mesh=Mesh("w", [triangles_primitive(12)]))
    scene = Scene("hall", nodes=[ding, vase, wall])
    usage = {u.name: (u.triangles, u.draw_calls) for u in budgets.asset_usage(scene, ["ding", "vase"])}
    assert usage == {"ding": (300, 1), "vase": (70, 2), "room": (12, 1)}
    lines = budgets.asset_report(scene, ["ding", "vase"])
    assert lines[0].strip().startswith("ding: 300 triangles")


def test_instances_count_every_copy_but_one_draw_call() -> None:
    node = Node("bolts", mesh=Mesh("b", [triangles_primitive(100)]),
                instances={"TRANSLATION": np.zeros((7, 3), np.float32)})
    usage = budgets.measure(Scene("s", nodes=[node]))
    assert (usage.triangles, usage.draw_calls) == (700, 1)


def dense_scan(n: int = 160) -> Scene:
    positions, normals, uvs, indices = grid(n, size=1.0, wave=0.15)
    primitive = Primitive(attributes={"POSITION": positions, "NORMAL": normals}, indices=indices)
    return Scene("hall", nodes=[Node("scan", keep=True, mesh=Mesh("scan", [primitive]))])


def surface_error(original: Scene, simplified: Scene) -> float:
    """Hausdorff distance (sampled both ways) relative to the bbox diagonal, measured with trimesh."""
    def mesh_of(scene: Scene) -> trimesh.Trimesh:
        p = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
        return trimesh.Trimesh(p.attributes["POSITION"], np.asarray(p.indices).reshape(-1, 3), process=False)
    a, b = mesh_of(original), mesh_of(simplified)
    diagonal = float(np.linalg.norm(a.bounds[1] - a.bounds[0]))
    worst = 0.0
    for source, target in ((a, b), (b, a)):
        points = source.sample(3000, seed=1)
        _, distance, _ = trimesh.proximity.closest_point(target, points)
        worst = max(worst, float(distance.max()))
    return worst / diagonal


def test_simplify_to_budget_meets_the_target_within_the_error_bound() -> None:
    scene = dense_scan()
    before = budgets.measure(scene).triangles
    tight = budgets.DeviceProfile("tight", draw_calls=10, triangles=before // 5, texture_bytes_gpu=MB,
                                  max_texture_size=1024, bytes=MB)
    lighter, error = budgets.simplify_to_budget(scene, tight, max_error=0.01)
    assert budgets.measure(scene).triangles == before  # the full-detail room is untouched
    assert budgets.measure(lighter).triangles <= tight.triangles
    assert 0 < error <= 0.01
    measured = surface_error(scene, lighter)  # independent measurement: within the bound and the report
    assert measured <= 0.01 and measured <= error * 1.05


def test_simplify_stops_at_the_error_bound_rather_than_the_budget() -> None:
    scene = dense_scan()
    before = budgets.measure(scene).triangles
    impossible = budgets.DeviceProfile("x", draw_calls=10, triangles=50, texture_bytes_gpu=MB,
                                       max_texture_size=1024, bytes=MB)
    lighter, error = budgets.simplify_to_budget(scene, impossible, max_error=0.0005)
    remaining = budgets.measure(lighter).triangles
    assert 50 < remaining < before
    assert error <= 0.0005
    assert surface_error(scene, lighter) <= 0.0005


def test_simplifying_a_big_room_says_so_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    from dataclasses import replace as changed

    from pipeline import budgets as module
    from pipeline import progress as hooks
    from pipeline.report import Progress
    from pipeline.scene import Mesh, Node, Scene
    from tests.pipeline.transforms.scenes import grid_primitive

    scene = Scene("room", nodes=[Node("scan", mesh=Mesh("scan", [grid_primitive(n=30)]))])  # 1,682 triangles
    monkeypatch.setattr(module, "PROGRESS_TRIANGLES", 1682)
    stream = io.StringIO()
    progress = Progress(stream)
    profile = changed(module.PROFILES["quest2"], triangles=500)
    with progress.stage("write"), hooks.reporting_to(progress):
        lighter, _ = module.simplify_to_budget(scene, profile, 0.05)
        monkeypatch.setattr(module, "PROGRESS_TRIANGLES", 1683)
        module.simplify_to_budget(scene, profile, 0.05)  # one triangle under the threshold: silent
    assert stream.getvalue().splitlines() == ["write…", "write: simplifying 1,682 triangles for quest2…"]
    assert module.measure(lighter).triangles <= 500


# ---- edges that mutation testing found unchecked (make mutants) -------------------------------------------------


def jpeg_header(width: int, height: int, sof: int = 0xC0) -> bytes:
    """SOI, an APP0 segment to skip, then a start-of-frame segment naming the size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
    frame = bytes([0xFF, sof]) + struct.pack(">HBHH", 17, 8, height, width) + b"\0" * 10
    return b"\xff\xd8" + app0 + frame


def test_image_sizes_come_from_headers_unless_both_sides_were_recorded() -> None:
    assert budgets.image_size(Texture("p", png_header(640, 480), "image/png")) == (640, 480)
    assert len(png_header(1, 1)[:24]) == 24
    assert budgets.image_size(Texture("p", png_header(640, 480)[:24], "image/png")) == (640, 480)  # just the IHDR
    assert budgets.image_size(Texture("p", png_header(640, 480)[:23], "image/png")) == (0, 0)
    assert budgets.image_size(Texture("k", ktx2_header(256, 128), "image/ktx2")) == (256, 128)
    assert budgets.image_size(Texture("j", jpeg_header(800, 600), "image/jpeg")) == (800, 600)
    assert budgets.image_size(Texture("j", jpeg_header(1024, 768, sof=0xC2), "image/jpeg")) == (1024, 768)
    assert budgets.image_size(Texture("j", b"\xff\xd8\0\0" + b"\0" * 20, "image/jpeg")) == (0, 0)  # no marker
    # Half a record (a width without a height) is not trusted: the header decides.
    assert budgets.image_size(Texture("p", png_header(640, 480), "image/png", width=99)) == (640, 480)


def test_fitted_sizes_halve_until_the_larger_side_fits() -> None:
    assert budgets.fitted_size(4096, 1024, 2048) == (2048, 512)
    assert budgets.fitted_size(4096, 1, 1024) == (1024, 1)  # never below one texel
    assert budgets.fitted_size(3000, 2000, None) == (3000, 2000)
    assert budgets.fitted_size(2048, 2048, 2048) == (2048, 2048)


def test_without_artifact_ids_every_kept_node_is_an_artifact() -> None:
    texture = Texture("t", png_header(4096, 4096), "image/png")
    textured = Material("m", base_color_texture=TextureRef(texture))
    ding = Node("ding", keep=True, mesh=Mesh("d", [triangles_primitive(30, textured)]))
    vase = Node("vase", keep=True, mesh=Mesh("v", [triangles_primitive(20)]))
    plinth = Node("plinth", mesh=Mesh("p", [triangles_primitive(5)]))
    scene = Scene("hall", nodes=[ding, vase, plinth])
    assert [(u.name, u.triangles) for u in budgets.asset_usage(scene)] == [("ding", 30), ("vase", 20), ("room", 5)]
    # Named ids: a kept node that is not named stays in the room; a named node that is not kept is no artifact.
    named = budgets.asset_usage(scene, ["vase", "plinth"])
    assert [(u.name, u.triangles) for u in named] == [("vase", 20), ("room", 35)]
    # Textures are counted at the size the target receives.
    fitted = budgets.asset_usage(scene, ["ding"], max_texture_size=1024)
    assert fitted[0].texture_bytes_gpu == 1024 * 1024 * 4 * 4 // 3
    lines = budgets.asset_report(scene, ["vase"])
    assert [line.split(":")[0].strip() for line in lines] == ["room", "vase"]  # largest first
    assert lines[0] == "  room: 35 triangles, 2 draw calls, 85.3 MB GPU textures"


def test_the_lighter_copy_shares_textures_but_not_meshes() -> None:
    texture = Texture("t", png_header(64, 64), "image/png")
    scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [grid_primitive(Material(
        "m", base_color_texture=TextureRef(texture)), n=40)]))])
    tiny = budgets.DeviceProfile("tiny", draw_calls=10, triangles=500, texture_bytes_gpu=MB, max_texture_size=64,
                                 bytes=MB)
    lighter, _ = budgets.simplify_to_budget(scene, tiny, max_error=0.05)
    copied = lighter.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    original = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert copied.material.base_color_texture.texture is texture  # type: ignore[union-attr]
    assert copied is not original and original.triangle_count == 2 * 39 * 39


def scan_primitive(n: int = 60, scale: float = 1.0, offset: float = 0.0, indexed: bool = True) -> Primitive:
    positions, normals, _, indices = grid(n, size=1.0, wave=0.15)
    positions = positions * np.float32(scale) + np.array([offset, 0, 0], np.float32)  # far along one axis only
    if not indexed:
        return Primitive(attributes={"POSITION": positions[indices]})
    return Primitive(attributes={"POSITION": positions, "NORMAL": normals}, indices=indices)


def test_simplification_counts_every_copy_of_a_mesh_it_draws() -> None:
    shared = Mesh("scan", [scan_primitive()])  # 6,962 triangles, drawn by two nodes, one of them 3 times over
    scene = Scene("hall", nodes=[Node("a", mesh=shared), Node("b", mesh=shared, instances={
        "TRANSLATION": np.zeros((3, 3), np.float32)})])
    drawn = budgets.measure(scene).triangles
    assert drawn == 4 * 6962
    report = budgets.simplify_scene(scene, target_triangles=drawn // 4, max_error=0.05)
    after = budgets.measure(scene).triangles
    assert drawn // 4 * 0.8 <= after <= drawn // 4  # met, and not far below: the copies were counted, not guessed
    assert [(r.mesh, r.triangles_before, r.triangles_after) for r in report] == [("scan", 6962, after // 4)]


def test_small_and_non_triangle_parts_are_kept_and_counted_as_fixed() -> None:
    wall = Primitive(attributes={"POSITION": np.random.default_rng(1).random((60, 3)).astype(np.float32)},
                     indices=np.arange(60, dtype=np.uint32))  # 20 triangles: under MIN_TRIANGLES
    lines = Primitive(attributes={"POSITION": np.zeros((400, 3), np.float32)}, mode=1)
    scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [wall, scan_primitive(), lines])),
                                 Node("wall", mesh=Mesh("wall", [wall]))])
    report = budgets.simplify_scene(scene, target_triangles=3000, max_error=0.05)
    assert wall.triangle_count == 20 and lines.vertex_count == 400  # untouched
    after = budgets.measure(scene).triangles
    assert 3000 * 0.8 <= after <= 3000  # the two walls (40) were subtracted from the target, not added
    (scan,) = report
    assert (scan.triangles_before, scan.triangles_after) == (6962, after - 40)


def test_an_unindexed_scan_is_taken_as_it_is() -> None:
    """Without indices every triangle has its own corners: nothing can collapse, and nothing breaks."""
    primitive = scan_primitive(indexed=False)
    scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [primitive]))])
    (report,) = budgets.simplify_scene(scene, target_triangles=2000, max_error=0.05)
    assert primitive.triangle_count == 6962 and (report.triangles_before, report.triangles_after) == (6962, 6962)


@pytest.mark.parametrize(("scale", "offset"), [(100.0, 0.0), (0.01, 0.0), (1.0, 500.0)])
def test_the_error_bound_is_relative_to_each_meshs_own_size(scale: float, offset: float) -> None:
    """Centimetres or kilometres, near the origin or far from it: the same shape simplifies the same way."""
    def simplified(scale: float, offset: float, max_error: float, target: int) -> tuple[Scene, Scene, float]:
        scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [scan_primitive(80, scale, offset)]))])
        profile = budgets.DeviceProfile("p", draw_calls=10, triangles=target, texture_bytes_gpu=MB,
                                        max_texture_size=1024, bytes=MB)
        lighter, error = budgets.simplify_to_budget(scene, profile, max_error)
        return scene, lighter, error

    def unit_error(scene: Scene, lighter: Scene) -> float:
        """surface_error back at unit size (trimesh's tolerances are absolute)."""
        for each in (scene, lighter):
            primitive = each.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
            positions = primitive.attributes["POSITION"]
            primitive.attributes["POSITION"] = (positions - np.array([offset, 0, 0], np.float32)) / np.float32(scale)
        return surface_error(scene, lighter)

    reference = budgets.measure(simplified(1.0, 0.0, 0.002, 50)[1]).triangles
    scene, lighter, error = simplified(scale, offset, 0.002, 50)  # the bound stops it well before 50
    assert budgets.measure(lighter).triangles == pytest.approx(reference, rel=0.1)
    assert 0 < error <= 0.002 and unit_error(scene, lighter) <= 0.002
    # A reachable target: the reported error is the estimate, below the bound, and at least what was measured.
    scene, lighter, error = simplified(scale, offset, 0.05, 4000)
    assert budgets.measure(lighter).triangles <= 4000
    assert 0 < error < 0.05 and unit_error(scene, lighter) <= error * 1.05


def test_a_room_within_the_budget_is_copied_unsimplified() -> None:
    scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [scan_primitive(20)]))])  # 722 triangles
    lighter, error = budgets.simplify_to_budget(scene, "quest2", max_error=0.01)  # a profile by name
    assert (budgets.measure(lighter).triangles, error) == (722, 0.0) and lighter is not scene


def test_a_room_of_small_parts_cannot_be_simplified_and_reports_no_error() -> None:
    parts = [Node(f"brick{i}", mesh=Mesh(f"b{i}", [triangles_primitive(40)])) for i in range(30)]  # 1,200, all < 64
    profile = budgets.DeviceProfile("p", draw_calls=100, triangles=500, texture_bytes_gpu=MB, max_texture_size=1024,
                                    bytes=MB)
    lighter, error = budgets.simplify_to_budget(Scene("hall", nodes=parts), profile, max_error=0.01)
    assert (budgets.measure(lighter).triangles, error) == (1200, 0.0)


def test_a_simplified_primitive_drops_the_vertices_it_no_longer_uses() -> None:
    primitive = scan_primitive()
    budgets.simplify_scene(Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [primitive]))]), 1000, 0.05)
    assert primitive.indices is not None and primitive.triangle_count <= 1000
    assert primitive.vertex_count == len(np.unique(primitive.indices)) < 60 * 60


def test_ktx2_and_png_headers_of_the_least_length_are_read() -> None:
    assert budgets.image_size(Texture("k", ktx2_header(256, 128)[:28], "image/ktx2")) == (256, 128)
    assert budgets.image_size(Texture("k", ktx2_header(256, 128)[:27], "image/ktx2")) == (0, 0)
    assert budgets.image_size(Texture("x", b"\0" * 40, "image/png")) == (0, 0)  # no known header: unknown size


def test_every_reducible_part_of_every_mesh_is_simplified_and_reported() -> None:
    scene = Scene("hall", nodes=[Node("pair", mesh=Mesh("pair", [scan_primitive(), scan_primitive(40)])),
                                 Node("other", mesh=Mesh("other", [scan_primitive(50)]))])
    before = budgets.measure(scene).triangles
    assert before == 6962 + 3042 + 4802
    report = budgets.simplify_scene(scene, target_triangles=3000, max_error=0.05)
    pair, other = (node.mesh for node in scene.nodes)
    assert pair is not None and other is not None
    by_mesh = {r.mesh: (r.triangles_before, r.triangles_after) for r in report}
    assert by_mesh == {"pair": (6962 + 3042, sum(p.triangle_count for p in pair.primitives)),
                       "other": (4802, other.primitives[0].triangle_count)}
    assert 2400 <= budgets.measure(scene).triangles <= 3000


def test_one_pass_usually_meets_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first ratio aims a little under the target, so each part is simplified once, not again and again."""
    calls: list[int] = []
    real = budgets.meshopt.simplify

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(budgets.meshopt, "simplify", counted)
    wall = Primitive(attributes={"POSITION": np.random.default_rng(2).random((120, 3)).astype(np.float32)},
                     indices=np.arange(120, dtype=np.uint32))  # 40 fixed triangles
    scene = Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [scan_primitive(), wall]))])
    budgets.simplify_scene(scene, target_triangles=3000, max_error=0.05)
    assert len(calls) == 1 and 2700 <= budgets.measure(scene).triangles <= 3000


def flat_grid(rows: int, columns: int) -> Primitive:
    """A flat grid of rows × columns vertices: 2 × (rows - 1) × (columns - 1) triangles, most of them collapsible."""
    positions = np.array([(x, y, 0) for y in range(rows) for x in range(columns)], np.float32)
    quads = [(r * columns + c, r * columns + c + 1, (r + 1) * columns + c, (r + 1) * columns + c + 1)
             for r in range(rows - 1) for c in range(columns - 1)]
    indices = np.array([t for a, b, c, d in quads for t in ((a, b, c), (b, d, c))], np.uint32).reshape(-1)
    return Primitive(attributes={"POSITION": positions}, indices=indices)


def test_a_part_of_exactly_min_triangles_is_simplified() -> None:
    flat = flat_grid(5, 9)
    assert flat.triangle_count == budgets.MIN_TRIANGLES
    budgets.simplify_scene(Scene("hall", nodes=[Node("flat", mesh=Mesh("flat", [flat]))]), 10, 0.01)
    assert flat.triangle_count < budgets.MIN_TRIANGLES


def test_a_slightly_simplified_part_drops_its_unused_vertices_too() -> None:
    primitive = scan_primitive()
    budgets.simplify_scene(Scene("hall", nodes=[Node("scan", mesh=Mesh("scan", [primitive]))]), 6000, 0.05)
    assert primitive.indices is not None and 5000 < primitive.triangle_count <= 6000
    assert primitive.vertex_count == len(np.unique(primitive.indices))


def test_large_jpeg_segments_and_a_frame_at_the_very_end_are_read() -> None:
    icc = b"\xff\xe2" + struct.pack(">H", 40_002) + b"\0" * 40_000  # a 40 KB ICC profile: a length above 32767
    frame = b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 600, 800)
    assert budgets.image_size(Texture("j", b"\xff\xd8" + icc + frame + b"\0" * 10, "image/jpeg")) == (800, 600)
    assert budgets.image_size(Texture("j", b"\xff\xd8" + frame + b"\0", "image/jpeg")) == (800, 600)  # just enough
    assert budgets.image_size(Texture("j", b"\xff\xd8" + frame, "image/jpeg")) == (0, 0)  # cut short
    only_app0 = jpeg_header(1, 1)[:2 + 18]  # SOI and an APP0, then nothing
    assert budgets.image_size(Texture("j", only_app0, "image/jpeg")) == (0, 0)


@pytest.mark.parametrize("sof", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
def test_every_kind_of_jpeg_frame_names_the_size(sof: int) -> None:
    huffman = b"\xff\xc4" + struct.pack(">H", 6) + b"\0" * 4  # DHT (0xC4) looks like a frame marker but is not one
    frame = jpeg_header(320, 200, sof)[2:]
    assert budgets.image_size(Texture("j", b"\xff\xd8" + huffman + frame, "image/jpeg")) == (320, 200)


def noisy_grid(n: int, seed: int) -> Primitive:
    """A grid whose heights are noise: no vertex can go without a visible error."""
    primitive = scan_primitive(n)
    primitive.attributes["POSITION"][:, 2] = np.random.default_rng(seed).random(n * n).astype(np.float32) * 0.2
    return primitive


def test_passes_go_on_while_one_part_is_held_by_the_error_bound() -> None:
    """The first pass lowers every part alike; the noisy scan cannot follow, so later passes take more from the
    flat one until the room fits. (Found by mutation testing: the ratio closes in slowly when a part is held, so a
    target below about 5,000 here is not met within the six passes although the flat grid could give more.)"""
    flat, noisy = flat_grid(50, 50), noisy_grid(40, 3)
    scene = Scene("hall", nodes=[Node("flat", mesh=Mesh("flat", [flat])), Node("noisy", mesh=Mesh("noisy", [noisy]))])
    budgets.simplify_scene(scene, target_triangles=5200, max_error=0.0005)
    assert noisy.triangle_count > 2900  # held by the bound
    assert flat.triangle_count + noisy.triangle_count <= 5200  # after five passes
