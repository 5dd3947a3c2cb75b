"""Quantize stays within its precision and keeps named nodes' transforms; reorder improves the vertex cache."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import meshopt
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from pipeline.transforms.presets import GeometryOptions, apply_transforms, cache_key, default_transforms
from pipeline.transforms.prune import PruneAttributes
from pipeline.transforms.quantize import Quantize
from pipeline.transforms.reorder import Reorder
from tests.pipeline.transforms.scenes import decoded, grid, grid_primitive, world_triangles


def textured(rotation: float = 0.0) -> Material:
    transform = {"rotation": rotation, "scale": [2.0, 3.0], "offset": [0.1, 0.2]} if rotation else None
    return Material("m", base_color_texture=TextureRef(Texture("t", b"png", "image/png"), transform=transform))


def uv_after_transform(uv: np.ndarray, transform: dict | None) -> np.ndarray:
    """KHR_texture_transform as three.js applies it (T·R·S with R = [[c, s], [-s, c]])."""
    if not transform:
        return uv
    sx, sy = transform.get("scale", [1.0, 1.0])
    ox, oy = transform.get("offset", [0.0, 0.0])
    c, s = np.cos(transform.get("rotation", 0.0)), np.sin(transform.get("rotation", 0.0))
    u, v = uv[:, 0] * sx, uv[:, 1] * sy
    return np.stack([c * u + s * v + ox, -s * u + c * v + oy], axis=1)


def test_positions_stay_within_half_a_grid_step_and_named_nodes_keep_their_trs() -> None:
    artifact = Node("ding", keep=True, translation=(1.0, 2.0, 3.0), scale=(0.5, 0.5, 0.5),
                    mesh=Mesh("ding", [grid_primitive(textured(), n=20)]))
    wall = Node("wall", translation=(0.0, 0.0, -2.0), mesh=Mesh("wall", [grid_primitive(textured(), n=8, offset=3.0)]))
    scene = Scene("room", nodes=[artifact, wall])
    before = world_triangles(scene, ordered=False)
    Quantize()(scene)
    after = world_triangles(scene, ordered=False)
    assert (artifact.translation, artifact.scale) == ((1.0, 2.0, 3.0), (0.5, 0.5, 0.5))
    assert artifact.mesh is None and artifact.children[0].mesh is not None  # dequantization lives on a child
    primitive = artifact.children[0].mesh.primitives[0]
    assert primitive.attributes["POSITION"].dtype == np.uint16 and "POSITION" not in primitive.normalized
    assert int(primitive.attributes["POSITION"].max()) <= (1 << 14) - 1
    extent = 1.1  # the grids' largest side (1 wide plus the wave), shared by both meshes
    step = extent / ((1 << 14) - 1)
    # half a step per axis, in the wall's frame (scale 1) and the artifact's (scale 0.5)
    assert np.abs(after - before).max() <= step * 0.5 * 1.01 + 1e-6
    assert np.abs(after - before).max() > 0  # it did quantize


def test_mesh_grid_fits_each_mesh() -> None:
    small = Node("coin", mesh=Mesh("coin", [grid_primitive(n=5)]), scale=(0.01, 0.01, 0.01))
    big = Node("wall", mesh=Mesh("wall", [grid_primitive(n=5)]))
    big.mesh.primitives[0].attributes["POSITION"] = big.mesh.primitives[0].attributes["POSITION"] * 100  # type: ignore[union-attr]
    scene = Scene("s", nodes=[small, big])
    coin_before = world_triangles(Scene("c", nodes=[small]), ordered=False)
    Quantize(grid="mesh")(scene)
    coin_error = np.abs(world_triangles(Scene("c", nodes=[small]), ordered=False) - coin_before).max()
    assert 0 < coin_error <= 0.01 * 1.1 / ((1 << 14) - 1)  # a step of the coin's own box, not the wall's


def test_normals_and_uvs_decode_close_to_the_originals_even_under_a_rotated_texture_transform() -> None:
    material = textured(rotation=0.36)
    primitive = grid_primitive(material, n=16)
    primitive.attributes["TEXCOORD_0"] = primitive.attributes["TEXCOORD_0"] * 4 - 1.5  # tiling outside [0, 1]
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(primitive.vertex_count, 3))
    primitive.attributes["NORMAL"] = (normals / np.linalg.norm(normals, axis=1, keepdims=True)).astype(np.float32)
    original_normals = primitive.attributes["NORMAL"].astype(np.float64)
    ref = material.base_color_texture
    assert ref is not None
    sampled_before = uv_after_transform(primitive.attributes["TEXCOORD_0"].astype(np.float64), ref.transform)
    Quantize()(Scene("s", nodes=[Node("n", mesh=Mesh("m", [primitive]))]))
    assert primitive.attributes["NORMAL"].dtype == np.int8 and "NORMAL" in primitive.normalized
    angle = np.degrees(np.arccos(np.clip((decoded(primitive, "NORMAL") / np.linalg.norm(
        decoded(primitive, "NORMAL"), axis=1, keepdims=True) * original_normals).sum(1), -1, 1)))
    assert angle.max() < 1.0
    assert primitive.attributes["TEXCOORD_0"].dtype == np.uint16
    sampled_after = uv_after_transform(decoded(primitive, "TEXCOORD_0"), ref.transform)
    uv_span = 4.0 * 3.0  # the box is 4 wide, and the texture scales it by up to 3
    assert np.abs(sampled_after - sampled_before).max() <= uv_span / ((1 << 12) - 1)


def test_instanced_nodes_get_the_dequantization_in_their_instances() -> None:
    mesh = Mesh("bolt", [grid_primitive(n=4, offset=5.0)])
    node = Node("bolts", mesh=mesh, instances={
        "TRANSLATION": np.array([[0, 0, 0], [2, 0, 0]], np.float32),
        "ROTATION": np.array([[0, 0, 0, 1], [0, 0.7071068, 0, 0.7071068]], np.float32),
        "SCALE": np.array([[1, 1, 1], [1, 2, 1]], np.float32)})
    scene = Scene("s", nodes=[node])
    before = world_triangles(scene)
    Quantize()(scene)
    assert node.mesh is mesh and mesh.primitives[0].attributes["POSITION"].dtype == np.uint16
    assert np.abs(world_triangles(scene) - before).max() < 1e-3


def test_skinned_and_morphed_meshes_keep_float_positions() -> None:
    morphed = grid_primitive(n=4)
    morphed.targets = [{"POSITION": np.zeros_like(morphed.attributes["POSITION"])}]
    scene = Scene("s", nodes=[Node("m", mesh=Mesh("m", [morphed]))])
    Quantize()(scene)
    assert morphed.attributes["POSITION"].dtype == np.float32


def test_prune_drops_unread_uvs_and_tangents_but_keeps_read_ones() -> None:
    plain = grid_primitive(Material("plain"), n=3)
    plain.attributes["TANGENT"] = np.tile(np.array([1, 0, 0, 1], np.float32), (plain.vertex_count, 1))
    variant = grid_primitive(Material("plain too"), n=3)
    variant.variants = {"gold": textured()}
    PruneAttributes()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [plain, variant]))]))
    assert set(plain.attributes) == {"POSITION", "NORMAL"}
    assert "TEXCOORD_0" in variant.attributes  # the gold variant samples a texture with it


def test_reorder_improves_acmr_and_keeps_triangles() -> None:
    primitive = grid_primitive(n=40)
    rng = np.random.default_rng(3)
    tris = primitive.indices.reshape(-1, 3).copy()  # type: ignore[union-attr]
    rng.shuffle(tris)
    primitive.indices = tris.reshape(-1)
    scene = Scene("s", nodes=[Node("a", mesh=Mesh("a", [primitive]))])
    before_triangles = world_triangles(scene)
    before = meshopt.analyze_vertex_cache(primitive.indices, primitive.vertex_count).acmr
    Reorder(compression_order=False)(scene)
    after = meshopt.analyze_vertex_cache(primitive.indices, primitive.vertex_count).acmr
    assert after < 0.75 * before
    assert np.array_equal(world_triangles(scene), before_triangles)
    # vertices now appear in first-use order
    first_use = np.unique(primitive.indices, return_index=True)[1]
    assert np.all(np.diff(first_use) > 0)


def test_a_primitive_reordered_once_gets_one_pass_less_and_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.transforms.reorder import reorder_primitive

    def shuffled() -> Primitive:
        primitive = grid_primitive(n=30)
        tris = primitive.indices.reshape(-1, 3).copy()  # type: ignore[union-attr]
        np.random.default_rng(8).shuffle(tris)
        primitive.indices = tris.reshape(-1)
        return primitive

    plain = shuffled()
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [plain]))]))
    ladder_level = shuffled()
    reorder_primitive(ladder_level)  # as the ladder does after simplifying
    assert ladder_level.indices is not None
    view = ladder_level.indices.view()  # the ladder writes a copy whose arrays are read-only views
    view.flags.writeable = False
    written = Primitive(attributes=dict(ladder_level.attributes), indices=view)
    passes: list[int] = []
    real = meshopt.optimize_vertex_cache
    monkeypatch.setattr(meshopt, "optimize_vertex_cache", lambda *a, **k: passes.append(1) or real(*a, **k))
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [written]))]))
    assert len(passes) == 1  # two in all, as a primitive Reorder meets fresh gets
    assert np.array_equal(written.indices, plain.indices)  # type: ignore[arg-type]
    assert np.array_equal(written.attributes["POSITION"], plain.attributes["POSITION"])
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [shuffled()]))]))
    assert len(passes) == 3  # a fresh primitive still gets both


def test_reorder_for_compression_makes_the_index_stream_smaller() -> None:
    def stream_size(compression_order: bool) -> int:
        primitive = grid_primitive(n=60)
        rng = np.random.default_rng(4)
        tris = primitive.indices.reshape(-1, 3).copy()  # type: ignore[union-attr]
        rng.shuffle(tris)
        primitive.indices = tris.reshape(-1)
        Reorder(compression_order=compression_order)(Scene("s", nodes=[Node("a", mesh=Mesh("a", [primitive]))]))
        return len(meshopt.encode_index_buffer(primitive.indices))  # type: ignore[arg-type]
    assert stream_size(True) < stream_size(False)


def test_presets_follow_the_design_order_and_print_stable_options() -> None:
    names = [type(t).__name__ for t in default_transforms()]
    assert names == ["CompactAnimations", "PruneAttributes", "Weld", "Dedup", "Merge", "Instance", "Quantize",
                     "Weld", "Reorder"]
    assert cache_key(default_transforms()) == cache_key(default_transforms())
    assert "position_bits=12" in cache_key(default_transforms(GeometryOptions(position_bits=12)))
    assert [type(t).__name__ for t in default_transforms(GeometryOptions(merge=False, quantize=False))] == [
        "CompactAnimations", "PruneAttributes", "Weld", "Dedup", "Instance", "Reorder"]
    with pytest.raises(ValueError, match="grid"):
        Quantize(grid="room")


def test_vertices_equal_after_quantizing_are_welded_and_no_triangle_is_dropped() -> None:
    primitive = grid_primitive(n=12)
    # A seam of twins 1e-7 apart: distinct floats (the first weld keeps both), one grid cell apart from nothing.
    twins = Primitive(attributes={k: v.copy() for k, v in primitive.attributes.items()},
                      indices=np.asarray(primitive.indices).copy())
    count = primitive.vertex_count
    twins.attributes = {k: np.concatenate([v, v[:12]]) for k, v in twins.attributes.items()}
    twins.attributes["POSITION"][count:] += np.float32(1e-7)
    first_row = np.isin(twins.indices, np.arange(12))
    twins.indices = np.where(first_row, twins.indices + count, twins.indices).astype(np.uint32)
    twins.indices[:3] = [0, 1, count]  # a sliver between a vertex and its own twin: collapses after quantizing
    scene = Scene("s", nodes=[Node("n", mesh=Mesh("m", [twins]))])
    triangles = len(twins.indices) // 3
    apply_transforms(scene, default_transforms())
    out = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert out.attributes["POSITION"].dtype == np.uint16
    assert out.vertex_count == count
    assert len(out.indices) // 3 == triangles  # type: ignore[arg-type]


def test_default_preset_keeps_what_is_drawn() -> None:
    material = textured()
    nodes = [Node(f"n{i}", mesh=Mesh(f"m{i}", [grid_primitive(material, n=6, offset=float(i))])) for i in range(3)]
    scene = Scene("s", nodes=[Node("ding", keep=True, children=nodes)])
    before = world_triangles(scene)
    apply_transforms(scene, default_transforms())
    after = world_triangles(scene)
    assert after.shape == before.shape
    assert np.abs(after - before).max() < 1e-3
    assert scene.nodes[0].name == "ding" and scene.nodes[0].keep
    assert sum(len(n.mesh.primitives) for n in scene.all_nodes() if n.mesh) == 1


def test_quantize_rejects_bad_bits() -> None:
    with pytest.raises(ValueError):
        Quantize(position_bits=20)
    assert isinstance(Primitive, type)


def test_region_step_spans_the_box_of_all_its_meshes() -> None:
    left = Node("left", mesh=Mesh("left", [grid_primitive(n=6)]))
    right = Node("right", translation=(2.0, 0.0, 0.0), mesh=Mesh("right", [grid_primitive(n=6)]))
    Quantize()(Scene("s", nodes=[left, right]))
    # Together the two unit grids span x 0..3: one step for both, over the region's 3 m as gltfpack takes the
    # whole file's box (the larger mesh alone would give 1 m).
    assert left.scale == pytest.approx((3.0 / 16383,) * 3) and right.scale == pytest.approx((3.0 / 16383,) * 3)


def test_region_grid_gives_a_small_artifact_its_own_precision_in_a_big_room() -> None:
    coin = Node("coin", keep=True, translation=(3.0, 1.0, 0.0),
                children=[Node("face", mesh=Mesh("coin", [grid_primitive(n=6)]), scale=(0.02, 0.02, 0.02))])
    wall_primitive = grid_primitive(n=6)
    wall_primitive.attributes["POSITION"] = wall_primitive.attributes["POSITION"] * 12.0
    scene = Scene("room", nodes=[coin, Node("wall", mesh=Mesh("wall", [wall_primitive]))])
    coin_before = world_triangles(Scene("c", nodes=[coin]), ordered=False)
    Quantize()(scene)  # grid="region"
    coin_error = np.abs(world_triangles(Scene("c", nodes=[coin]), ordered=False) - coin_before).max()
    coin_step = 0.02 * 1.1 / ((1 << 14) - 1)  # the coin's world size over 14 bits, not the 12 m wall's
    assert 0 < coin_error <= coin_step * 0.5 * 1.01


def test_a_scan_off_any_lattice_keeps_gltfpacks_grid_within_half_a_step() -> None:
    # Noise scatters the vertices' rounding phases: no shift, the origin is the box corner as gltfpack takes it.
    for seed in range(4):
        primitive = grid_primitive(n=14)
        rng = np.random.default_rng(seed)
        primitive.attributes["POSITION"] = (primitive.attributes["POSITION"]
                                            + rng.normal(scale=1e-4, size=(196, 3)).astype(np.float32))
        low = primitive.attributes["POSITION"].min(axis=0).astype(np.float64)
        step = float((primitive.attributes["POSITION"].max(axis=0) - low).max()) / 16383
        node = Node("scan", mesh=Mesh("scan", [primitive]))
        scene = Scene("s", nodes=[node])
        before = world_triangles(scene, ordered=False)
        Quantize()(scene)
        assert np.allclose(node.translation, low, rtol=0, atol=1e-12)
        error = np.abs(world_triangles(scene, ordered=False) - before)
        assert 0 < error.max() <= step * 0.5 * 1.001 and np.linalg.norm(error, axis=-1).max() <= step * 3 ** 0.5 / 2


def test_a_mesh_on_its_own_lattice_is_quantized_onto_it() -> None:
    # The room's grid starts at the floor's corner; the scan's vertices sit on a lattice of the same step shifted
    # by 3/8 of a step on x and 5/8 on z (as a scanner's own grid does): the circular mean of the vertices' phases
    # finds it, so the scan comes out exact where the unshifted grid would move every vertex by 3/8 and 5/8 of a step.
    floor_primitive = grid_primitive(n=4)
    floor_primitive.attributes["POSITION"] = floor_primitive.attributes["POSITION"] * np.float32([2, 2, 0])  # flat
    floor = Node("floor", mesh=Mesh("floor", [floor_primitive]))
    step = 2.0 / 16383  # the region's largest side (the 2 m floor) over 14 bits
    rng = np.random.default_rng(5)
    lattice = np.stack([rng.integers(2000, 4000, 300) + 3 / 8, rng.integers(2000, 4000, 300),
                        rng.integers(2000, 4000, 300) + 5 / 8], axis=1) * step
    scan = Primitive(attributes={"POSITION": lattice}, indices=np.arange(297, dtype=np.uint32))
    scene = Scene("room", nodes=[floor, Node("scan", mesh=Mesh("scan", [scan]))])
    before = world_triangles(Scene("s", nodes=[scene.nodes[1]]), ordered=False)
    Quantize()(scene)
    error = np.abs(world_triangles(Scene("s", nodes=[scene.nodes[1]]), ordered=False) - before).max()
    assert error < step * 1e-3


def test_a_rotated_node_keeps_the_world_grid_gltfpack_would_use() -> None:
    # Turned 180° about y, the mesh's own box corner is the world box's far corner; the unshifted grid is
    # anchored at the world box's near corner instead, so world positions sit on gltfpack's world grid (up to the
    # phase shift, which is the same fraction of a step for every vertex on an axis).
    primitive = grid_primitive(n=9)
    node = Node("turned", rotation=(0.0, 1.0, 0.0, 0.0), translation=(0.3, 0.0, 0.7), mesh=Mesh("m", [primitive]))
    scene = Scene("s", nodes=[node])
    world = world_triangles(scene, ordered=False).reshape(-1, 3)
    low, step = world.min(axis=0), float((world.max(axis=0) - world.min(axis=0)).max()) / 16383
    Quantize()(scene)
    after = world_triangles(scene, ordered=False).reshape(-1, 3)
    phase = ((after - low) / step) % 1.0
    spread = np.minimum(phase.max(axis=0) - phase.min(axis=0), 1 - (phase.max(axis=0) - phase.min(axis=0)))
    assert np.all(spread < 1e-3)  # one phase per axis: the vertices share one grid
    assert np.all(np.minimum(phase, 1 - phase) < 1e-3)  # and it is gltfpack's world grid: no shift



def test_the_lattice_of_a_big_scan_is_read_from_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # As test_a_mesh_on_its_own_lattice_is_quantized_onto_it, with the phase read from 40 of the 1,200 vertices.
    from pipeline.transforms import quantize

    monkeypatch.setattr(quantize, "LATTICE_SAMPLE", 40)
    floor_primitive = grid_primitive(n=4)
    floor_primitive.attributes["POSITION"] = floor_primitive.attributes["POSITION"] * np.array([2, 2, 0], np.float32)
    step = 2.0 / 16383
    rng = np.random.default_rng(9)
    lattice = np.stack([rng.integers(2000, 4000, 1200) + 3 / 8, rng.integers(2000, 4000, 1200),
                        rng.integers(2000, 4000, 1200) + 5 / 8], axis=1) * step
    scan = Primitive(attributes={"POSITION": lattice}, indices=np.arange(1200, dtype=np.uint32))
    scene = Scene("room", nodes=[Node("floor", mesh=Mesh("floor", [floor_primitive])),
                                 Node("scan", mesh=Mesh("scan", [scan]))])
    off = np.ones(1200, dtype=bool)
    off[::30] = False  # the sample: every 30th vertex stays on the lattice, the rest are scattered off it
    lattice[off] += rng.uniform(0, step, size=(int(off.sum()), 3))
    scan.attributes["POSITION"] = lattice
    before = world_triangles(Scene("s", nodes=[scene.nodes[1]]), ordered=False).reshape(-1, 3)
    Quantize()(scene)
    error = np.abs(world_triangles(Scene("s", nodes=[scene.nodes[1]]), ordered=False).reshape(-1, 3) - before)
    assert error[~off].max() < step * 1e-3  # the phase came from the sample (all 1,200 agree on none)
    assert error[off].max() <= step * 0.5 * 1.001


def test_normals_and_uvs_of_a_big_scan_are_quantized_a_block_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    from pipeline.transforms import quantize

    rng = np.random.default_rng(2)
    count = 1_000_000
    normals = rng.normal(size=(count, 3)).astype(np.float32)
    uvs = rng.uniform(size=(count, 2)).astype(np.float32)
    material = Material("m", base_color_texture=TextureRef(Texture("t", b"png", "image/png")))

    def quantized(chunk: int) -> tuple[Primitive, int]:
        monkeypatch.setattr(quantize, "QUANTIZE_CHUNK", chunk)
        primitive = Primitive(attributes={"NORMAL": normals, "TEXCOORD_0": uvs}, material=material)
        tracemalloc.start()
        quantize._quantize_directions(primitive, 8)
        quantize._quantize_texcoords([primitive], 12)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return primitive, peak

    blocks, peak = quantized(1 << 16)
    whole, _ = quantized(count)
    # The int8 normals and uint16 UVs (7 MB) and a block's float64 temporaries: no float64 copy of the whole scan,
    # which alone would be 24 MB for the normals.
    assert peak < 12_000_000
    for name in ("NORMAL", "TEXCOORD_0"):
        assert np.array_equal(blocks.attributes[name], whole.attributes[name])


def test_a_big_primitive_gets_one_pass_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.transforms import reorder
    from pipeline.transforms.reorder import reorder_primitive

    passes: list[int] = []
    real = meshopt.optimize_vertex_cache
    monkeypatch.setattr(meshopt, "optimize_vertex_cache", lambda *a, **k: passes.append(1) or real(*a, **k))
    big = grid_primitive(n=30)  # 1,800 triangles
    monkeypatch.setattr(reorder, "ONE_PASS_TRIANGLES", big.triangle_count - 1)
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [big]))]))
    assert len(passes) == 1
    simplified = grid_primitive(n=30)
    reorder_primitive(simplified)  # the ladder's pass after simplifying is the only one
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [simplified]))]))
    assert len(passes) == 2
    monkeypatch.setattr(reorder, "ONE_PASS_TRIANGLES", big.triangle_count)
    Reorder()(Scene("s", nodes=[Node("a", mesh=Mesh("a", [grid_primitive(n=30)]))]))
    assert len(passes) == 4  # at the limit, still two


def _sphere_scene(bits_side: float = 1.0) -> tuple[Scene, np.ndarray]:
    """A unit icosphere (many triangles, every normal off the axes) in two primitives that share their border."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=bits_side)
    faces = np.asarray(sphere.faces)
    upper = sphere.triangles_center[:, 1] >= 0
    primitives = []
    for half in (faces[upper], faces[~upper]):
        used, local = np.unique(half, return_inverse=True)  # each half its own vertices: the border is duplicated
        primitives.append(Primitive({"POSITION": np.asarray(sphere.vertices, np.float32)[used]},
                                    local.reshape(-1).astype(np.uint32)))
    return Scene("s", nodes=[Node("ball", mesh=Mesh("ball", primitives))]), np.asarray(sphere.vertices)


def _quantized_vertices(scene: Scene) -> list[np.ndarray]:
    node = scene.nodes[0]
    mesh = node.mesh if node.mesh is not None else node.children[0].mesh
    holder = node if node.mesh is not None else node.children[0]
    assert mesh is not None
    return [decoded(p, "POSITION") * np.asarray(holder.scale) + np.asarray(holder.translation) for p in mesh.primitives]


def test_surface_rounding_keeps_a_curved_surface_closer_and_every_vertex_within_its_cell() -> None:
    results = {}
    for rounding in ("nearest", "surface"):
        scene, _ = _sphere_scene()
        before = [p.attributes["POSITION"].astype(np.float64) for p in scene.nodes[0].mesh.primitives]
        Quantize(position_bits=8, rounding=rounding)(scene)  # a coarse grid: 2/255 between grid points
        after = _quantized_vertices(scene)
        step = 2.0 / 255 * 1.0001
        moved = np.concatenate([a - b for a, b in zip(after, before, strict=True)])
        assert np.abs(moved).max() <= (0.5 if rounding == "nearest" else 1.0) * step  # its own grid cell
        results[rounding] = np.abs(np.linalg.norm(np.concatenate(after), axis=1) - 1.0)  # off the sphere
    # Off the surface: markedly less on average, and less at the worst vertex too.
    assert results["surface"].mean() < 0.6 * results["nearest"].mean()
    assert results["surface"].max() < results["nearest"].max()


def test_surface_rounding_rounds_a_shared_position_as_one_and_an_axis_aligned_face_as_nearest() -> None:
    scene, _ = _sphere_scene()
    floats = np.concatenate([p.attributes["POSITION"] for p in scene.nodes[0].mesh.primitives])
    Quantize(position_bits=8, rounding="surface")(scene)
    quantized = np.concatenate(_quantized_vertices(scene))
    _, first, which = np.unique(floats, axis=0, return_index=True, return_inverse=True)
    assert len(first) < len(floats)  # the border's positions are in both primitives
    assert np.array_equal(quantized, quantized[first][which.reshape(-1)])  # and round alike: no crack opens
    # A flat grid along the axes has nothing to gain across its plane: surface rounding is nearest rounding there.
    flat = {}
    for rounding in ("nearest", "surface"):
        positions, normals, uvs, indices = grid(n=9, wave=0.0)
        flat[rounding] = Scene("f", nodes=[Node("floor", mesh=Mesh("floor", [Primitive(
            {"POSITION": positions, "NORMAL": normals, "TEXCOORD_0": uvs}, indices)]))])
    for rounding, scene in flat.items():
        Quantize(position_bits=8, rounding=rounding)(scene)
    assert np.array_equal(world_triangles(flat["surface"]), world_triangles(flat["nearest"]))
    with pytest.raises(ValueError, match="rounding"):
        Quantize(rounding="up")
