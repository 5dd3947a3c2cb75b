"""Weld merges equal vertices and keeps seams; dedup shares equal meshes, materials and textures."""

from __future__ import annotations

import numpy as np

from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from pipeline.transforms.dedup import Dedup
from pipeline.transforms.presets import GeometryOptions, default_transforms
from pipeline.transforms.weld import Weld
from tests.pipeline.transforms.scenes import grid_primitive, soup, world_triangles


def test_weld_turns_a_triangle_soup_back_into_a_shared_grid() -> None:
    indexed = grid_primitive(n=10)
    primitive = soup(indexed)
    scene = Scene("s", nodes=[Node("a", mesh=Mesh("m", [primitive]))])
    before = world_triangles(scene)
    assert primitive.vertex_count == 81 * 2 * 3
    Weld()(scene)
    assert primitive.vertex_count == 100
    assert primitive.indices is not None and primitive.indices.dtype == np.uint16
    assert np.array_equal(world_triangles(scene), before)


def test_weld_keeps_uv_seams_and_drops_collapsed_triangles() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]], np.float32)
    uvs = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0], [1, 1], [0, 1], [0, 0]], np.float32)  # vertex 3 differs in UV
    primitive = grid_primitive()
    primitive.attributes = {"POSITION": positions, "TEXCOORD_0": uvs}
    primitive.indices = np.array([0, 1, 2, 3, 4, 5, 0, 6, 1], np.uint32)  # last triangle: 0 and 6 are equal
    Weld()(Scene("s", nodes=[Node("a", mesh=Mesh("m", [primitive]))]))
    assert primitive.vertex_count == 5  # 0≡6 and 2≡5 merge; the seam vertices 1 and 3 stay apart
    assert primitive.triangle_count == 2


def _normal(degrees: float) -> list[float]:
    return [float(np.sin(np.radians(degrees))), 0.0, float(np.cos(np.radians(degrees)))]


def test_weld_with_a_normal_angle_merges_near_copies_only_below_the_angle() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], np.float32)
    uvs = np.array([[0, 0], [1, 0], [0, 1], [0, 0], [0, 0], [0.5, 0]], np.float32)
    # Vertex 3 is vertex 0 with its normal 0.1° off; vertex 4 is 1° off; vertex 5 is 0.1° off with another UV.
    normals = np.array([_normal(0), _normal(0), _normal(0), _normal(0.1), _normal(1.0), _normal(0.1)], np.float32)

    def welded(weld: Weld) -> Primitive:
        primitive = grid_primitive()
        primitive.attributes = {"POSITION": positions.copy(), "NORMAL": normals.copy(), "TEXCOORD_0": uvs.copy()}
        primitive.indices = np.array([0, 1, 2, 3, 1, 2, 4, 1, 2, 5, 1, 2], np.uint32)
        weld(Scene("s", nodes=[Node("a", mesh=Mesh("m", [primitive]))]))
        return primitive

    exact = welded(Weld())
    assert exact.vertex_count == 6
    near = welded(Weld(normal_angle=0.5 / 127))  # half an int8 normal step, about 0.23°
    assert near.vertex_count == 5  # only 0 and 3 merge
    assert near.triangle_count == 4
    assert np.array_equal(np.unique(near.attributes["POSITION"], axis=0), np.unique(positions, axis=0))
    kept = {tuple(np.round(n, 6)) for n in near.attributes["NORMAL"]}
    assert tuple(np.round(np.float32(_normal(0.1)), 6)) in kept  # vertex 5 keeps its own (its UV differs)
    assert tuple(np.round(np.float32(_normal(1.0)), 6)) in kept


def test_presets_weld_near_normals_only_when_normals_are_quantized() -> None:
    first_weld = next(t for t in default_transforms() if isinstance(t, Weld))
    assert first_weld.normal_angle == 0.5 / 127
    unquantized = next(t for t in default_transforms(GeometryOptions(quantize=False)) if isinstance(t, Weld))
    assert unquantized.normal_angle == 0.0


def test_dedup_shares_equal_meshes_materials_and_textures() -> None:
    image = b"\x89PNG fake bytes"
    def material() -> Material:
        return Material("stone", base_color_texture=TextureRef(Texture("t", image, "image/png")))
    first = Mesh("a", [grid_primitive(material())])
    second = Mesh("b", [grid_primitive(material())])
    other = Mesh("c", [grid_primitive(material(), offset=1.0)])
    nodes = [Node("n1", mesh=first), Node("n2", mesh=second), Node("n3", mesh=other)]
    scene = Scene("s", nodes=nodes)
    Dedup()(scene)
    assert nodes[0].mesh is nodes[1].mesh
    assert nodes[2].mesh is not nodes[0].mesh
    materials = {id(p.material) for m in scene.meshes() for p in m.primitives}
    assert len(materials) == 1
    assert nodes[0].mesh is not None and nodes[2].mesh is not None
    shared = nodes[0].mesh.primitives[0]
    assert shared.attributes["NORMAL"] is nodes[2].mesh.primitives[0].attributes["NORMAL"]


def test_dedup_keeps_materials_that_differ() -> None:
    a = Mesh("a", [grid_primitive(Material("red", base_color_factor=(1, 0, 0, 1)))])
    b = Mesh("b", [grid_primitive(Material("red", base_color_factor=(0, 1, 0, 1)))])
    scene = Scene("s", nodes=[Node("1", mesh=a), Node("2", mesh=b)])
    Dedup()(scene)
    assert a.primitives[0].material is not b.primitives[0].material
    assert len(scene.meshes()) == 2


def test_weld_drops_a_degenerate_triangle_when_no_vertex_merges() -> None:
    # Every vertex distinct and used: nothing to weld, but a triangle with a corner twice still goes.
    primitive = grid_primitive(n=4)
    indices = np.asarray(primitive.indices).copy()
    indices[:3] = [indices[0], indices[1], indices[0]]
    primitive.indices = indices
    assert len(np.unique(indices)) == primitive.vertex_count
    scene = Scene("s", nodes=[Node("n", mesh=Mesh("m", [primitive]))])
    Weld()(scene)
    kept = np.asarray(scene.nodes[0].mesh.primitives[0].indices).reshape(-1, 3)  # type: ignore[union-attr]
    assert len(kept) == len(indices) // 3 - 1
    assert all(len(set(t)) == 3 for t in kept.tolist())


def test_weld_leaves_a_clean_mesh_as_it_is() -> None:
    primitive = grid_primitive(n=4)
    before = np.asarray(primitive.indices).copy()
    positions = primitive.attributes["POSITION"]
    Weld()(Scene("s", nodes=[Node("n", mesh=Mesh("m", [primitive]))]))
    assert np.array_equal(primitive.indices, before) and primitive.attributes["POSITION"] is positions
