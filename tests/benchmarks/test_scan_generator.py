"""The synthetic scans: the asked triangle count, seams, noise and a texture, the same mesh in GLB, PLY and OBJ."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.ingest import load_asset
from tests.benchmarks.scan_generator import ISLANDS, generate, grid_shape, radius_profile, scan_arrays


def test_a_scan_has_the_asked_triangles_seams_and_a_texture_in_every_format(tmp_path: Path) -> None:
    paths = generate(tmp_path, 10_000, 64)
    loaded = {kind: load_asset(path, root=path.parent) for kind, path in paths.items()}
    primitives = {kind: scene.meshes()[0].primitives[0] for kind, scene in loaded.items()}
    assert {p.triangle_count for p in primitives.values()} == {10_000}
    glb = primitives["glb"]
    for kind in ("ply", "obj"):
        other = primitives[kind]
        assert other.material is not None and other.material.base_color_texture is not None
        for name in ("POSITION", "NORMAL", "TEXCOORD_0"):
            np.testing.assert_allclose(other.attributes[name], glb.attributes[name], atol=2e-4, err_msg=kind + name)
        assert other.indices is not None and glb.indices is not None
        assert np.array_equal(other.indices, glb.indices)
    # Seams: where two UV islands meet, 51 rows of vertices are written twice, with other UVs.
    positions, uvs = glb.attributes["POSITION"], glb.attributes["TEXCOORD_0"]
    assert len(positions) - len(np.unique(positions, axis=0)) == ISLANDS * 51
    assert len(np.unique(np.concatenate([positions, uvs], axis=1), axis=0)) == len(positions)
    assert np.all(np.abs(np.linalg.norm(glb.attributes["NORMAL"], axis=1) - 1) < 1e-3)
    assert grid_shape(10_000) == (50, 100) and grid_shape(1_000_000) == (500, 1000)


def test_scans_are_seeded() -> None:
    profile = radius_profile(None)  # the lumpy sphere, when the corpus is absent
    first, again = scan_arrays(2000, profile), scan_arrays(2000, profile)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["POSITION"], scan_arrays(2008, profile)["POSITION"][:len(first["POSITION"])])


def test_a_scan_in_texture_pages_is_the_same_surface_with_a_material_and_a_texture_per_island(tmp_path: Path) -> None:
    paths = generate(tmp_path, 10_000, 64, ("glb", "obj-pages"))
    whole = load_asset(paths["glb"]).meshes()[0].primitives[0]
    (mesh,) = load_asset(paths["obj-pages"], root=tmp_path).meshes()
    pages = [(primitive.material.name, primitive) for primitive in mesh.primitives]
    assert [name for name, _ in pages] == [f"page{n}" for n in range(ISLANDS)]
    assert sum(p.triangle_count for _, p in pages) == whole.triangle_count
    textures = set()
    for _, primitive in pages:
        assert primitive.material is not None
        textures.add(primitive.material.base_color_texture.texture.data)
        uvs = primitive.attributes["TEXCOORD_0"]
        assert uvs[:, 0].min() < 0.05 and uvs[:, 0].max() > 0.95  # each island spreads over its whole page
    assert len(textures) == ISLANDS
    # The same surface: every page's vertices are the one-texture scan's (written as text with six decimals).
    points = whole.attributes["POSITION"]
    for _, primitive in pages:
        nearest = [np.min(np.linalg.norm(points - vertex, axis=1)) for vertex in primitive.attributes["POSITION"]]
        assert max(nearest) < 1e-5


def test_a_ply_in_texture_pages_reads_as_the_obj_in_pages(tmp_path: Path) -> None:
    # Metashape's PLY: each position once, texture coordinates per corner and a page per face. Read, it is the same
    # surface in the same pages as the OBJ, its seams' vertices split again where their corners differ.
    paths = generate(tmp_path, 10_000, 64, ("obj-pages", "ply-pages"))
    header = paths["ply-pages"].read_bytes()[:2000]
    assert b"property list uchar float texcoord" in header and b"property int texnumber" in header
    (obj,) = load_asset(paths["obj-pages"], root=tmp_path).meshes()
    (ply,) = load_asset(paths["ply-pages"], root=tmp_path).meshes()
    assert len(ply.primitives) == len(obj.primitives) == ISLANDS
    for from_obj, from_ply in zip(obj.primitives, ply.primitives, strict=True):
        assert from_ply.material.base_color_texture.texture.data == from_obj.material.base_color_texture.texture.data
        assert from_ply.vertex_count == from_obj.vertex_count
        for name in ("POSITION", "TEXCOORD_0"):
            np.testing.assert_allclose(from_ply.attributes[name][from_ply.indices],
                                       from_obj.attributes[name][from_obj.indices], atol=2e-5, err_msg=name)


def test_a_scan_coloured_per_vertex_is_the_same_surface_coloured_as_its_texture(tmp_path: Path) -> None:
    # MeshLab's and CloudCompare's OBJ: v x y z r g b and no texture. Read, it is the scan's surface, each vertex
    # in the colour of the texture under it.
    from PIL import Image

    from pipeline.colour import srgb_to_linear

    paths = generate(tmp_path, 10_000, 64, ("glb", "obj-colours"))
    assert b"mtllib" not in paths["obj-colours"].read_bytes()[:200]
    whole = load_asset(paths["glb"]).meshes()[0].primitives[0]
    coloured = load_asset(paths["obj-colours"], root=tmp_path).meshes()[0].primitives[0]
    assert "TEXCOORD_0" not in coloured.attributes and coloured.material.base_color_texture is None
    np.testing.assert_allclose(coloured.attributes["POSITION"][coloured.indices],
                               whole.attributes["POSITION"][whole.indices], atol=1e-5)
    texture = np.asarray(Image.open(tmp_path / "scan-10000" / "texture.jpg").convert("RGB"), dtype=np.float32) / 255
    uvs = whole.attributes["TEXCOORD_0"][whole.indices]
    under = texture[np.minimum((uvs[:, 1] * 64).astype(int), 63), np.minimum((uvs[:, 0] * 64).astype(int), 63)]
    # The texture's bytes are sRGB; COLOR_0 holds the same colours linear, as glTF has them.
    assert np.abs(coloured.attributes["COLOR_0"][coloured.indices] - srgb_to_linear(under)).max() < 0.01


def test_the_ascii_ply_is_the_binary_ply_as_text(tmp_path: Path) -> None:
    paths = generate(tmp_path, 10_000, 64, ("ply", "ply-ascii"))
    assert paths["ply-ascii"].read_bytes().startswith(b"ply\nformat ascii 1.0\n")
    binary = load_asset(paths["ply"], root=tmp_path).meshes()[0].primitives[0]
    text = load_asset(paths["ply-ascii"], root=tmp_path).meshes()[0].primitives[0]
    assert sorted(text.attributes) == sorted(binary.attributes) == ["NORMAL", "POSITION", "TEXCOORD_0"]
    assert np.array_equal(text.indices, binary.indices)
    for name, values in binary.attributes.items():
        np.testing.assert_allclose(text.attributes[name], values, atol=6e-7, err_msg=name)
    assert text.material.base_color_texture is not None


def test_the_scan_in_quads_is_the_same_surface_cut_along_the_other_diagonals(tmp_path: Path) -> None:
    paths = generate(tmp_path, 10_000, 64, ("obj", "obj-quads"))
    faces = [line for line in paths["obj-quads"].read_text().splitlines() if line.startswith("f ")]
    assert len(faces) == 5_000 and all(len(line.split()) == 5 for line in faces)
    triangles = load_asset(paths["obj"], root=tmp_path).meshes()[0].primitives[0]
    quads = load_asset(paths["obj-quads"], root=tmp_path).meshes()[0].primitives[0]
    assert quads.triangle_count == triangles.triangle_count
    assert np.array_equal(quads.attributes["POSITION"], triangles.attributes["POSITION"])
    # Each cell's two triangles face the way its vertices' normals do, as the scan's own triangles do.
    corners = quads.attributes["POSITION"][quads.indices.reshape(-1, 3)]
    facing = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = quads.attributes["NORMAL"][quads.indices.reshape(-1, 3)[:, 0]]
    assert np.mean(np.einsum("ij,ij->i", facing, normals) > 0) > 0.99


def test_the_stl_is_the_scans_surface_without_its_texture(tmp_path: Path) -> None:
    paths = generate(tmp_path, 10_000, 64, ("glb", "stl"))
    assert paths["stl"].stat().st_size == 84 + 50 * 10_000
    whole = load_asset(paths["glb"]).meshes()[0].primitives[0]
    stl = load_asset(paths["stl"]).meshes()[0].primitives[0]
    assert sorted(stl.attributes) == ["POSITION"] and stl.triangle_count == whole.triangle_count
    np.testing.assert_array_equal(stl.attributes["POSITION"][stl.indices],
                                  whole.attributes["POSITION"][whole.indices])


def test_the_ascii_stl_is_the_binary_one_as_text(tmp_path: Path) -> None:
    from pipeline import ingest

    paths = generate(tmp_path, 10_000, 64, ("stl", "stl-ascii"))
    text = paths["stl-ascii"].read_bytes()
    assert text.startswith(b"solid scan\n facet normal ") and text.endswith(b"endsolid scan\n")
    assert text.count(b"   vertex ") == 3 * 10_000 and text.count(b"endfacet\n") == 10_000
    (_, binary, _, _), = ingest._read_stl(paths["stl"])
    (_, ascii_read, _, _), = ingest._read_stl(paths["stl-ascii"])
    # Six significant digits: within a float32's rounding of the binary file's corners.
    np.testing.assert_allclose(ascii_read.attributes["POSITION"], binary.attributes["POSITION"], rtol=1e-5, atol=1e-7)


def test_the_ply_of_quads_and_triangles_as_binary_or_text_is_the_scans_surface(tmp_path: Path) -> None:
    from pipeline.spec.measure import measure
    from tests.benchmarks.scan_generator import MIXED_TRIANGLES, SEED

    paths = generate(tmp_path, 10_000, 64, ("ply", "ply-mixed", "ply-mixed-ascii"))
    whole = load_asset(paths["ply"], root=tmp_path).meshes()[0].primitives[0]
    mixed = load_asset(paths["ply-mixed"], root=tmp_path).meshes()[0].primitives[0]
    text = load_asset(paths["ply-mixed-ascii"], root=tmp_path).meshes()[0].primitives[0]
    cells = whole.indices.reshape(-1, 6)
    split = np.random.default_rng(SEED).random(len(cells)) < MIXED_TRIANGLES  # as the generator chose
    assert 0.07 < split.mean() < 0.13
    header = paths["ply-mixed"].read_bytes()[:1000]
    assert f"element face {len(cells) + int(split.sum())}\n".encode() in header
    for name, values in whole.attributes.items():
        assert np.array_equal(mixed.attributes[name], values), name
    # A split cell is the scan's two triangles; a quad (corner, up, up + 1, right) is cut from its first corner.
    expected = np.where(split[:, None], cells, cells[:, [0, 1, 5, 0, 5, 2]]).reshape(-1, 3)
    assert np.array_equal(mixed.indices.reshape(-1, 3), expected)
    assert measure(paths["ply-mixed"]).triangles == mixed.triangle_count == whole.triangle_count
    # As text: the same faces, row by row, and check counts them all (not every face as the first, a quad, is).
    assert f"element face {len(cells) + int(split.sum())}\n".encode() in paths["ply-mixed-ascii"].read_bytes()[:1000]
    assert np.array_equal(text.indices.reshape(-1, 3), expected)
    for name, values in whole.attributes.items():
        np.testing.assert_allclose(text.attributes[name], values, atol=1e-6, err_msg=name)
    assert measure(paths["ply-mixed-ascii"]).triangles == whole.triangle_count
