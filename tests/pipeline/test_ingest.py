"""Asset reading: every format into the IR, units and up axis normalized, and broken input named with its cause."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline.colour import srgb_to_linear
from pipeline.compose import nodes_bounds
from pipeline.errors import AssetError
from pipeline.ingest import load_asset, strip_to_triangles
from pipeline.scene import Primitive, Scene
from tests.helpers import image_bytes

# -- fixture builders ----------------------------------------------------------------------------------------



def _triangles(scene: Scene) -> int:
    return sum(primitive.triangle_count for mesh in scene.meshes() for primitive in mesh.primitives)


def _bounds(scene: Scene) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """World bounds of the scene's meshes (metres, +Y up), as compose places it."""
    bounds = nodes_bounds(scene.nodes)
    assert bounds is not None
    return tuple(map(float, bounds[0])), tuple(map(float, bounds[1]))

def png_bytes(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    return image_bytes((8, 4), color)


class GltfBuilder:
    """Builds small glTF documents by hand, so the reader is tested against JSON it did not write itself."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.doc: dict[str, Any] = {"asset": {"version": "2.0"}, "accessors": [], "bufferViews": []}

    def view(self, data: bytes, stride: int | None = None) -> int:
        self.blob += b"\x00" * (-len(self.blob) % 4)
        entry: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if stride:
            entry["byteStride"] = stride
        self.blob += data
        self.doc["bufferViews"].append(entry)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, kind: str, *, normalized: bool = False, view: int | None = None,
                 offset: int = 0, count: int | None = None, min_max: bool = False) -> int:
        component = {np.dtype(np.float32): 5126, np.dtype(np.uint16): 5123, np.dtype(np.uint32): 5125,
                     np.dtype(np.uint8): 5121, np.dtype(np.int16): 5122, np.dtype(np.int8): 5120}[array.dtype]
        if view is None:
            view = self.view(np.ascontiguousarray(array).tobytes())
        entry: dict[str, Any] = {"bufferView": view, "byteOffset": offset, "componentType": component,
                                 "count": int(count if count is not None else len(array)), "type": kind}
        if normalized:
            entry["normalized"] = True
        if min_max:
            entry["min"] = [float(v) for v in array.reshape(len(array), -1).min(axis=0)]
            entry["max"] = [float(v) for v in array.reshape(len(array), -1).max(axis=0)]
        self.doc["accessors"].append(entry)
        return len(self.doc["accessors"]) - 1

    def glb(self) -> bytes:
        doc = dict(self.doc)
        blob = bytes(self.blob) + b"\x00" * (-len(self.blob) % 4)
        doc["buffers"] = [{"byteLength": len(blob)}]
        text = json.dumps(doc).encode()
        text += b" " * (-len(text) % 4)
        body = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(blob), b"BIN\x00") + blob
        return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body

    def gltf(self, folder: Path, name: str, bin_name: str = "data.bin", data_uri: bool = False) -> Path:
        doc = dict(self.doc)
        blob = bytes(self.blob)
        if data_uri:
            doc["buffers"] = [{"byteLength": len(blob),
                               "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}]
        else:
            (folder / bin_name).write_bytes(blob)
            doc["buffers"] = [{"byteLength": len(blob), "uri": bin_name.replace(" ", "%20")}]
        path = folder / name
        path.write_text(json.dumps(doc))
        return path


QUAD = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float32)
QUAD_INDICES = np.array([0, 1, 2, 2, 1, 3], np.uint16)


def rich_builder() -> GltfBuilder:
    """An interleaved quad with normalized uint8 UVs, a sparse accessor, a matrix node, a textured material with
    KHR extensions and a texture transform, an animation, a morph target, a light and a skin."""
    b = GltfBuilder()
    normals = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    interleaved = np.concatenate([QUAD, normals], axis=1).astype(np.float32)  # 24-byte stride
    shared = b.view(interleaved.tobytes(), stride=24)
    position = b.accessor(QUAD, "VEC3", view=shared, offset=0, min_max=True)
    normal = b.accessor(normals, "VEC3", view=shared, offset=12)
    uv = b.accessor(np.array([[0, 0], [255, 0], [0, 255], [255, 255]], np.uint8), "VEC2", normalized=True)
    b.doc["accessors"][uv]["byteOffset"] = 0
    indices = b.accessor(QUAD_INDICES, "SCALAR")
    # A morph target given as a sparse accessor: only vertex 3 moves.
    target = b.accessor(np.zeros((4, 3), np.float32), "VEC3")
    del b.doc["accessors"][target]["bufferView"]
    b.doc["accessors"][target]["sparse"] = {
        "count": 1,
        "indices": {"bufferView": b.view(np.array([3], np.uint16).tobytes()), "componentType": 5123},
        "values": {"bufferView": b.view(np.array([0, 0, 0.5], np.float32).tobytes())},
    }
    image = b.view(png_bytes())
    b.doc["images"] = [{"bufferView": image, "mimeType": "image/png", "name": "swatch"}]
    b.doc["samplers"] = [{"magFilter": 9729, "wrapS": 33071}]
    b.doc["textures"] = [{"source": 0, "sampler": 0}]
    transform = {"offset": [0.25, 0.5], "rotation": 0.1, "scale": [2.0, 2.0]}
    b.doc["materials"] = [{
        "name": "bronze",
        "pbrMetallicRoughness": {"baseColorTexture": {"index": 0, "extensions": {"KHR_texture_transform": transform}},
                                 "metallicFactor": 0.8},
        "extensions": {"KHR_materials_clearcoat": {"clearcoatFactor": 0.4, "clearcoatTexture": {"index": 0}},
                       "KHR_materials_ior": {"ior": 1.7}},
    }, {"name": "flat", "extensions": {"KHR_materials_unlit": {}}}]
    b.doc["meshes"] = [{"name": "quad", "weights": [0.0], "primitives": [{
        "attributes": {"POSITION": position, "NORMAL": normal, "TEXCOORD_0": uv},
        "indices": indices, "material": 0, "targets": [{"POSITION": target}]}]}]
    times = b.accessor(np.array([0.0, 1.0], np.float32), "SCALAR", min_max=True)
    moves = b.accessor(np.array([[0, 0, 0], [0, 2, 0]], np.float32), "VEC3")
    weights = b.accessor(np.array([0.0, 1.0], np.float32), "SCALAR")
    b.doc["animations"] = [{"name": "rise", "samplers": [
        {"input": times, "output": moves}, {"input": times, "output": weights}],
        "channels": [{"sampler": 0, "target": {"node": 1, "path": "translation"}},
                     {"sampler": 1, "target": {"node": 1, "path": "weights"}}]}]
    joints = b.accessor(np.array([[0, 0, 0, 0]] * 4, np.uint8), "VEC4")
    weights0 = b.accessor(np.array([[1, 0, 0, 0]] * 4, np.float32), "VEC4")
    bind = np.eye(4, dtype=np.float32)
    bind[3, :3] = (0, -1, 0)  # column-major: the last four floats hold the translation column
    ibm = b.accessor(bind.reshape(1, 16), "MAT4")
    b.doc["meshes"].append({"name": "skinned", "primitives": [{
        "attributes": {"POSITION": b.accessor(QUAD, "VEC3", min_max=True), "JOINTS_0": joints,
                       "WEIGHTS_0": weights0}, "indices": indices, "material": 1}]})
    b.doc["skins"] = [{"joints": [3], "inverseBindMatrices": ibm}]
    b.doc["extensionsUsed"] = ["KHR_texture_transform", "KHR_materials_clearcoat", "KHR_materials_ior",
                               "KHR_materials_unlit", "KHR_lights_punctual"]
    b.doc["extensions"] = {"KHR_lights_punctual": {"lights": [{"type": "point", "intensity": 3.0}]}}
    matrix = [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 5, 6, 7, 1]  # column-major: scale 2, then move to (5, 6, 7)
    b.doc["nodes"] = [
        {"name": "root", "children": [1, 2, 3, 4], "matrix": matrix},
        {"name": "panel", "mesh": 0, "extras": {"accession": "1987.12.3"}},
        {"name": "lamp", "extensions": {"KHR_lights_punctual": {"light": 0}}},
        {"name": "bone", "translation": [0, 1, 0]},
        {"name": "figure", "mesh": 1, "skin": 0},
    ]
    b.doc["scenes"] = [{"name": "room", "nodes": [0]}]
    b.doc["scene"] = 0
    return b


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def binary_stl(triangles: np.ndarray) -> bytes:
    body = b"".join(struct.pack("<12fH", 0, 0, 0, *tri.reshape(-1), 0) for tri in triangles)
    return b"\x00" * 80 + struct.pack("<I", len(triangles)) + body


def strip_ply(vertices: np.ndarray, strip: list[int]) -> bytes:
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              f"element tristrips 1\nproperty list int int vertex_indices\nend_header\n").encode()
    return (header + vertices.astype("<f4").tobytes() + struct.pack("<i", len(strip))
            + np.array(strip, "<i4").tobytes())


def grid(n: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32))
    return np.stack([xs.reshape(-1), ys.reshape(-1), np.zeros(n * n, np.float32)], axis=1)


def the_primitive(path: Path, **kwargs: Any) -> Any:
    meshes = load_asset(path, **kwargs).meshes()
    assert len(meshes) == 1 and len(meshes[0].primitives) == 1
    return meshes[0].primitives[0]


def directed_edge_repeats(triangles: np.ndarray) -> int:
    """How many directed edges occur more than once: 0 when neighbouring triangles wind consistently."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts > 1).sum())


# -- glTF and GLB --------------------------------------------------------------------------------------------


def test_glb_reads_interleaved_normalized_and_sparse_data(tmp_path: Path) -> None:
    scene = load_asset(write(tmp_path / "rich.glb", rich_builder().glb()))
    panel = next(n for n in scene.all_nodes() if n.name == "panel")
    assert panel.mesh is not None
    primitive = panel.mesh.primitives[0]
    np.testing.assert_array_equal(primitive.attributes["POSITION"], QUAD)
    np.testing.assert_array_equal(primitive.attributes["NORMAL"], np.tile([0, 0, 1], (4, 1)))
    np.testing.assert_allclose(primitive.attributes["TEXCOORD_0"], [[0, 0], [1, 0], [0, 1], [1, 1]])
    assert primitive.attributes["TEXCOORD_0"].dtype == np.float32
    np.testing.assert_array_equal(primitive.indices, QUAD_INDICES)
    np.testing.assert_array_equal(primitive.targets[0]["POSITION"], [[0, 0, 0]] * 3 + [[0, 0, 0.5]])
    assert panel.extras == {"accession": "1987.12.3"}


def test_glb_keeps_materials_extensions_transform_lights_skins_and_animations(tmp_path: Path) -> None:
    scene = load_asset(write(tmp_path / "rich.glb", rich_builder().glb()))
    nodes = {n.name: n for n in scene.all_nodes()}
    assert [n.name for n in scene.nodes] == ["root"]
    root = nodes["root"]
    assert root.translation == (5.0, 6.0, 7.0) and root.scale == pytest.approx((2.0, 2.0, 2.0))
    assert nodes["panel"].mesh is not None
    material = nodes["panel"].mesh.primitives[0].material
    assert material is not None and material.name == "bronze"
    assert material.base_color_texture is not None
    assert material.base_color_texture.transform == {"offset": [0.25, 0.5], "rotation": 0.1, "scale": [2.0, 2.0]}
    texture = material.base_color_texture.texture
    assert (texture.mime_type, texture.width, texture.height) == ("image/png", 8, 4)
    assert texture.data == png_bytes() and texture.wrap_s == 33071 and texture.mag_filter == 9729
    assert material.extensions["KHR_materials_ior"] == {"ior": 1.7}
    clearcoat = material.extensions["KHR_materials_clearcoat"]
    assert clearcoat["clearcoatFactor"] == 0.4 and clearcoat["clearcoatTexture"].texture is texture
    figure = nodes["figure"]
    assert figure.mesh is not None and figure.mesh.primitives[0].material is not None
    assert figure.mesh.primitives[0].material.unlit
    assert figure.mesh.primitives[0].attributes["JOINTS_0"].dtype == np.uint8
    assert figure.skin is not None and figure.skin.joints == [nodes["bone"]]
    assert figure.skin.inverse_bind_matrices is not None
    np.testing.assert_array_equal(figure.skin.inverse_bind_matrices[0][:3, 3], [0, -1, 0])  # maths order
    assert nodes["lamp"].light is not None and nodes["lamp"].light.intensity == 3.0
    (animation,) = scene.animations
    assert animation.name == "rise"
    assert [(c.node.name, c.path) for c in animation.channels] == [("panel", "translation"), ("panel", "weights")]
    np.testing.assert_array_equal(animation.channels[0].sampler.output, [[0, 0, 0], [0, 2, 0]])


def test_gltf_with_external_buffer_whose_name_has_a_space(tmp_path: Path) -> None:
    path = rich_builder().gltf(tmp_path, "rich.gltf", bin_name="my data.bin")
    assert _triangles(load_asset(path)) == 4


def test_gltf_with_data_uri_buffer(tmp_path: Path) -> None:
    path = rich_builder().gltf(tmp_path, "inline.gltf", data_uri=True)
    assert _triangles(load_asset(path)) == 4


def test_gltf_with_external_image_by_url_encoded_name(tmp_path: Path) -> None:
    b = rich_builder()
    (tmp_path / "wall paint.png").write_bytes(png_bytes((1, 2, 3)))
    b.doc["images"] = [{"uri": "wall%20paint.png"}]
    scene = load_asset(b.gltf(tmp_path, "ext.gltf"))
    material = scene.meshes()[0].primitives[0].material
    assert material is not None and material.base_color_texture is not None
    assert material.base_color_texture.texture.data == png_bytes((1, 2, 3))


def test_triangle_strips_in_gltf_become_triangle_lists(tmp_path: Path) -> None:
    b = GltfBuilder()
    position = b.accessor(QUAD, "VEC3", min_max=True)
    b.doc["meshes"] = [{"primitives": [{"attributes": {"POSITION": position}, "mode": 5}]}]
    b.doc["nodes"] = [{"mesh": 0}]
    primitive = the_primitive(write(tmp_path / "strip.glb", b.glb()))
    assert primitive.mode == 4
    np.testing.assert_array_equal(primitive.indices, [0, 1, 2, 2, 1, 3])


# -- strips ---------------------------------------------------------------------------------------------------


def test_strip_conversion_alternates_winding_and_honours_restart() -> None:
    triangles = strip_to_triangles(np.array([0, 1, 2, 3, 4, -1, 5, 6, 7])).reshape(-1, 3)
    np.testing.assert_array_equal(triangles, [[0, 1, 2], [2, 1, 3], [2, 3, 4], [5, 6, 7]])


def test_strip_conversion_drops_degenerate_joins() -> None:
    # Two strips joined by repeating 3 and 4, the classic way to avoid a restart index.
    triangles = strip_to_triangles(np.array([0, 1, 2, 3, 3, 4, 4, 5, 6])).reshape(-1, 3)
    assert all(len(set(t)) == 3 for t in triangles.tolist())
    assert len(triangles) == 3


def test_strip_ply_is_a_mesh_with_consistent_winding(tmp_path: Path) -> None:
    n = 6
    vertices = grid(n)
    strip: list[int] = []
    for row in range(n - 1):  # one strip per row of cells, separated by the restart index
        for col in range(n):
            strip += [row * n + col, (row + 1) * n + col]
        strip.append(-1)
    primitive = the_primitive(write(tmp_path / "strips.ply", strip_ply(vertices, strip)))
    triangles = primitive.indices.reshape(-1, 3)
    assert len(triangles) == 2 * (n - 1) ** 2
    assert directed_edge_repeats(triangles) == 0
    corners = primitive.attributes["POSITION"][triangles]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert np.all(normals[:, 2] < 0) or np.all(normals[:, 2] > 0)


# -- OBJ, PLY, STL ------------------------------------------------------------------------------------------


def obj_with_texture(folder: Path, texture_name: str = "my texture.png") -> Path:
    (folder / texture_name).write_bytes(png_bytes((10, 200, 10)))
    write(folder / "box.mtl", f"newmtl paint\nKd 0.8 0.7 0.6\nmap_Kd {texture_name}\n")
    return write(folder / "box.obj", "mtllib box.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n"
                                     "vt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\nusemtl paint\nf 1/1 2/2 3/3\nf 3/3 2/2 4/4\n")


def test_obj_with_mtl_and_a_texture_name_with_spaces(tmp_path: Path) -> None:
    primitive = the_primitive(obj_with_texture(tmp_path))
    assert primitive.triangle_count == 2
    material = primitive.material
    assert material is not None and material.name == "paint"
    # MTL colours are written as picked on screen (sRGB), as three.js's MTLLoader reads them; glTF's are linear.
    assert material.base_color_factor[:3] == pytest.approx(tuple(srgb_to_linear([0.8, 0.7, 0.6]).tolist()), abs=1e-6)
    assert material.base_color_texture is not None
    assert material.base_color_texture.texture.data == (tmp_path / "my texture.png").read_bytes()
    # OBJ's v=0 is the bottom of the image, glTF's is the top.
    uv_of = {tuple(p): tuple(t) for p, t in zip(primitive.attributes["POSITION"].tolist(),
                                                 primitive.attributes["TEXCOORD_0"].tolist(), strict=True)}
    assert uv_of[(0.0, 0.0, 0.0)] == (0.0, 1.0)


def _tiff(image: Any, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", **options)
    return buffer.getvalue()


def test_an_obj_textured_with_a_tiff_reads_it_as_a_png_of_the_same_pixels(tmp_path: Path) -> None:
    """Metashape and RealityCapture offer TIFF for a scan's texture: glTF and browsers take none, so it becomes an
    8-bit PNG as it is read (it was refused), losslessly for 8 bits a channel, 16-bit grey scaled, CMYK made RGB."""
    rng = np.random.default_rng(5)
    colour = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    grey16 = np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)
    cases = {
        "scan_u1.tif": (_tiff(Image.fromarray(colour), compression="tiff_lzw"), colour),
        "grey.TIFF": (_tiff(Image.fromarray(grey16)), np.rint(grey16 / 257).astype(np.uint8)),
        "print.tif": (_tiff(Image.new("CMYK", (32, 24), (0, 0, 0, 0))), np.full((24, 32, 3), 255, np.uint8)),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        write(tmp_path / "box.mtl", f"newmtl paint\nmap_Kd {name}\n")
        write(tmp_path / "box.obj", "mtllib box.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\n"
                                    "usemtl paint\nf 1/1 2/2 3/3\n")
        material = the_primitive(tmp_path / "box.obj").material
        assert material is not None and material.base_color_texture is not None
        texture = material.base_color_texture.texture
        assert texture.mime_type == "image/png" and texture.data.startswith(b"\x89PNG")
        assert (texture.width, texture.height) == (32, 24)
        with Image.open(io.BytesIO(texture.data)) as image:
            np.testing.assert_array_equal(np.asarray(image), expected, err_msg=name)
    (tmp_path / "cut.tif").write_bytes(cases["scan_u1.tif"][0][:40])
    write(tmp_path / "box.mtl", "newmtl paint\nmap_Kd cut.tif\n")
    expect_asset_error(tmp_path / "box.obj", "texture")
    cut = expect_asset_error(tmp_path / "box.obj", "is not a readable TIFF image")
    assert "cut.tif" in cut.cause


def test_ascii_ply_with_vertex_colours(tmp_path: Path) -> None:
    path = write(tmp_path / "tri.ply", "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                 "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
                 "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
                 "0 0 0 255 0 0\n1 0 0 0 255 0\n0 1 0 0 0 255\n3 0 1 2\n")
    primitive = the_primitive(path)
    assert primitive.triangle_count == 1
    np.testing.assert_allclose(primitive.attributes["COLOR_0"], np.eye(3))


def binary_ply(positions: np.ndarray, normals: np.ndarray, triangles: np.ndarray) -> bytes:
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(positions)}\n"
              + "".join(f"property float {n}\n" for n in ("x", "y", "z", "nx", "ny", "nz"))
              + f"element face {len(triangles)}\nproperty list uchar int vertex_indices\nend_header\n").encode()
    faces = np.empty(len(triangles), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"], faces["i"] = 3, triangles
    return header + np.concatenate([positions, normals], axis=1).astype("<f4").tobytes() + faces.tobytes()


def test_two_bad_normals_among_many_are_recomputed_and_reported(tmp_path: Path) -> None:
    # A dome z = (x² + y²) / 40 over a 20 × 20 grid, with unnormalized normals (length 3), one zero and one NaN.
    n = 20
    positions = grid(n)
    positions[:, 2] = (np.square(positions[:, 0] - 9.5) + np.square(positions[:, 1] - 9.5)) / 40
    exact = np.stack([-(positions[:, 0] - 9.5) / 20, -(positions[:, 1] - 9.5) / 20, np.ones(n * n)], axis=1)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    normals = exact * 3
    zero, nan = 5 * n + 7, 12 * n + 13
    normals[zero] = 0.0
    normals[nan] = [np.nan, 0.0, 1.0]
    corner = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).reshape(-1)
    triangles = np.concatenate([np.stack([corner, corner + 1, corner + n], axis=1),
                                np.stack([corner + 1, corner + n + 1, corner + n], axis=1)])
    path = write(tmp_path / "dome.ply", binary_ply(positions, normals, triangles))
    scene = load_asset(path)
    loaded = scene.meshes()[0].primitives[0].attributes["NORMAL"]
    assert loaded.dtype == np.float32 and loaded.shape == (n * n, 3)
    good = np.ones(n * n, bool)
    good[[zero, nan]] = False
    np.testing.assert_allclose(loaded[good], exact[good], atol=1e-6)  # renormalized, not recomputed
    np.testing.assert_allclose(np.linalg.norm(loaded, axis=1), 1.0, atol=1e-6)
    # The two bad ones come from the faces around them: within a degree of the dome's own normal there.
    assert np.all(np.einsum("ij,ij->i", loaded[[zero, nan]], exact[[zero, nan]]) > np.cos(np.radians(1)))
    assert scene.notes == [f"dome.ply: 2 of {n * n} normals were zero-length or not numbers; recomputed them from "
                           "the faces around their vertices"]


def test_normals_that_are_all_zero_are_dropped_without_a_note(tmp_path: Path) -> None:
    triangles = np.array([[0, 1, 2], [1, 3, 2]])
    path = write(tmp_path / "flat.ply", binary_ply(grid(2), np.zeros((4, 3)), triangles))
    scene = load_asset(path)
    assert "NORMAL" not in scene.meshes()[0].primitives[0].attributes and scene.notes == []


@pytest.mark.parametrize("kind", ["ascii", "binary"])
def test_stl(tmp_path: Path, kind: str) -> None:
    triangles = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0], [0, 1, 0], [0, 0, 1]]], np.float32)
    if kind == "binary":
        data: bytes | str = binary_stl(triangles)
    else:
        facets = "".join("facet normal 0 0 0\nouter loop\n" + "".join(f"vertex {x} {y} {z}\n" for x, y, z in tri)
                         + "endloop\nendfacet\n" for tri in triangles)
        data = f"solid test\n{facets}endsolid test\n"
    primitive = the_primitive(write(tmp_path / f"{kind}.stl", data))
    assert primitive.triangle_count == 2
    assert set(map(tuple, primitive.attributes["POSITION"].tolist())) == {
        (0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)}


def test_a_binary_stl_is_read_a_block_of_records_at_a_time_as_trimesh_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Structured-light scanners export STL: trimesh read the file whole and held 617 bytes a triangle at 1M.
    from pipeline import ingest
    from tests.helpers import traced_peak

    rng = np.random.default_rng(8)
    count = 20_000
    corners = rng.uniform(-1, 1, (count, 3, 3)).astype(np.float32)
    records = np.zeros(count, dtype=ingest._STL_TRIANGLE)
    records["corners"], records["attribute"] = corners, 7
    path = write(tmp_path / "scan.stl", b"solid but binary, as some exporters write".ljust(80)
                 + struct.pack("<I", count) + records.tobytes())
    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", 4096)  # blocks that divide the count unevenly
    parts, peak = traced_peak(lambda: ingest._read_stl(path))
    (_, primitive, _, _), = parts
    assert np.array_equal(primitive.attributes["POSITION"], corners.reshape(-1, 3))
    assert np.array_equal(primitive.indices, np.arange(3 * count))
    assert peak < 60 * count, peak  # the two arrays (48 bytes a triangle) and a block
    import trimesh

    general = trimesh.load(path, file_type="stl", process=False, force="mesh")
    assert np.array_equal(np.asarray(general.vertices, np.float32)[np.asarray(general.faces).reshape(-1)],
                          corners.reshape(-1, 3))
    # The same through load_asset: the shared corners welded, as before.
    assert the_primitive(path).triangle_count == count


@pytest.mark.parametrize("split", [False, True], ids=["one-pass", "halves"])
def test_an_ascii_stl_is_read_a_block_of_lines_at_a_time_as_its_binary_twin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, split: bool) -> None:
    # trimesh read an ASCII STL whole, as Python strings; the lines are parsed a block at a time now, a big file's
    # second half in a forked process, into the corner array a binary STL gives.
    from pipeline import forked_half, ingest

    rng = np.random.default_rng(9)
    count = 3_000
    corners = np.round(rng.uniform(-1, 1, (count, 3, 3)), 4).astype(np.float32)
    records = np.zeros(count, dtype=ingest._STL_TRIANGLE)
    records["corners"] = corners
    binary = write(tmp_path / "binary.stl", b"binary".ljust(80) + struct.pack("<I", count) + records.tobytes())
    facets = "".join(f"{'  ' * (k % 2)}facet normal 0 0 {k % 2}\n outer loop\n"
                     + "".join(f"  {'VERTEX' if k % 3 == 0 else 'vertex'}\t{x:.4f} {y:.4f}  {z:.4f}\r\n"
                               for x, y, z in triangle) + " endloop\nendfacet\n"
                     for k, triangle in enumerate(corners))
    text = write(tmp_path / "text.stl", f"solid scan\n{facets}endsolid scan")  # no newline at its very end
    monkeypatch.setattr(ingest, "STL_TEXT_BLOCK", 1000)  # blocks that cut lines and facets
    mark = tmp_path / "child.pid"
    if split:
        real_child = forked_half._in_child
        monkeypatch.setattr(ingest, "STL_SPLIT_BYTES", 0)
        monkeypatch.setattr(forked_half, "_in_child", lambda *args: (mark.write_text(str(os.getpid())),
                                                                     real_child(*args)))
    (_, read, _, _), = ingest._read_stl(text)
    (_, twin, _, _), = ingest._read_stl(binary)
    assert isinstance(read, Primitive)
    assert np.array_equal(read.attributes["POSITION"], twin.attributes["POSITION"])
    assert np.array_equal(read.indices, twin.indices)
    assert mark.exists() == split and (not split or int(mark.read_text()) != os.getpid())
    # check's measure and the reader read the file once between them (a cold build does both, in that order);
    # the reader's corners are its own, and a new version of the file is read again.
    from pipeline.spec.measure import _stl_measure

    parses = []
    real_lines = ingest._ascii_stl_lines
    monkeypatch.setattr(ingest, "_ascii_stl_lines", lambda *args: (parses.append(args[1:]), real_lines(*args))[1])
    ingest._ascii_stl_corners.cache_clear()
    measured = _stl_measure(text)
    assert measured.triangles == count and measured.low == pytest.approx(corners.reshape(-1, 3).min(axis=0))
    read_parses = len(parses)
    (_, again, _, _), = ingest._read_stl(text)
    assert len(parses) == read_parses == 1  # (in halves, the other is the child's, and counted there)
    again.attributes["POSITION"][0] = 99
    assert ingest.ascii_stl_corners(text)[0, 0] != 99
    text.write_text(text.read_text() + "\n")
    ingest._read_stl(text)
    assert len(parses) == 2 * read_parses
    # A facet of four vertices is not an STL's: the general reader takes the file, and says what it makes of it.
    odd = write(tmp_path / "odd.stl", "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
                "vertex 0 1 0\nvertex 1 1 0\nendloop\nendfacet\nendsolid t\n")
    assert ingest._ascii_stl(odd) is None
    # A word that is not a number, named.
    expect_asset_error(write(tmp_path / "word.stl", "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\n"
                             "vertex 1 zero 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n"),
                       "'zero' is not a number")


# -- units and up axis ----------------------------------------------------------------------------------------


def test_units_and_z_up_are_baked_into_mesh_formats(tmp_path: Path) -> None:
    # A 100 x 200 x 300 mm box standing on z.
    corners = np.array([[x, y, z] for x in (0, 100) for y in (0, 200) for z in (0, 300)], np.float32)
    triangles = corners[[[0, 1, 3], [0, 3, 2], [4, 5, 7], [4, 7, 6], [0, 4, 6], [0, 6, 2]]]
    path = write(tmp_path / "box.stl", binary_stl(triangles))
    low, high = _bounds(load_asset(path, units="mm", up="z"))
    assert low == pytest.approx((0.0, 0.0, -0.2))
    assert high == pytest.approx((0.1, 0.3, 0.0))
    low, high = _bounds(load_asset(path, units=0.01, up="-x"))
    assert np.subtract(high, low) == pytest.approx((2.0, 1.0, 3.0))


@pytest.mark.parametrize(("up", "expected"), [("y", (1, 1, 0)), ("z", (1, 0, 1)), ("x", (1, 1, 0)),
                                               ("-z", (1, 0, 1))])
def test_up_axis_of_gltf_is_applied_to_root_nodes(tmp_path: Path, up: str, expected: tuple[int, ...]) -> None:
    b = GltfBuilder()
    b.doc["meshes"] = [{"primitives": [{"attributes": {"POSITION": b.accessor(QUAD, "VEC3", min_max=True)},
                                        "indices": b.accessor(QUAD_INDICES, "SCALAR")}]}]
    b.doc["nodes"] = [{"name": "kept", "mesh": 0, "translation": [0, 0, 10]}]
    scene = load_asset(write(tmp_path / "q.glb", b.glb()), units="cm", up=up)
    assert scene.nodes[0].name == "kept"
    low, high = _bounds(scene)
    assert np.round(np.subtract(high, low), 6) == pytest.approx(np.multiply(expected, 0.01))
    # The +Z offset of 10 cm lands on +Y when z is up, and on -Y when -z is up.
    centre_y = (low[1] + high[1]) / 2
    assert centre_y == pytest.approx({"z": 0.1, "-z": -0.1}.get(up, centre_y))


def test_root_animation_follows_the_unit_conversion(tmp_path: Path) -> None:
    b = rich_builder()
    b.doc["animations"][0]["channels"][0]["target"]["node"] = 0  # animate the root
    scene = load_asset(write(tmp_path / "rich.glb", b.glb()), units="cm")
    np.testing.assert_allclose(scene.animations[0].channels[0].sampler.output, [[0, 0, 0], [0, 0.02, 0]])


def test_bad_units_and_axes_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "box.stl", binary_stl(np.zeros((1, 3, 3), np.float32) + np.eye(3, dtype=np.float32)))
    with pytest.raises(AssetError, match="unknown units 'furlong'"):
        load_asset(path, units="furlong")
    with pytest.raises(AssetError, match="unknown up axis 'w'"):
        load_asset(path, up="w")
    with pytest.raises(AssetError, match="positive number"):
        load_asset(path, units=-1.0)


# -- broken input ---------------------------------------------------------------------------------------------


def expect_asset_error(path: Path, cause: str) -> AssetError:
    with pytest.raises(AssetError) as caught:
        load_asset(path)
    error = caught.value
    assert error.path == str(path)
    assert cause in error.cause, error.cause
    assert str(error).startswith(str(path))
    assert "Traceback" not in str(error) and "<" not in error.cause
    return error


def test_truncated_glb(tmp_path: Path) -> None:
    data = rich_builder().glb()
    expect_asset_error(write(tmp_path / "cut.glb", data[: len(data) // 2]), "truncated GLB")
    expect_asset_error(write(tmp_path / "tiny.glb", data[:10]), "truncated GLB")


def test_garbled_glb_json(tmp_path: Path) -> None:
    data = bytearray(rich_builder().glb())
    data[20:40] = b"#" * 20
    expect_asset_error(write(tmp_path / "garbled.glb", bytes(data)), "not valid JSON")


def test_garbled_gltf_json_names_the_line(tmp_path: Path) -> None:
    expect_asset_error(write(tmp_path / "bad.gltf", '{\n  "asset": {"version": "2.0"},\n  oops\n}'), "line 3")


def test_not_a_glb(tmp_path: Path) -> None:
    expect_asset_error(write(tmp_path / "photo.glb", png_bytes()), "not a GLB file")


def test_gltf_whose_buffer_is_missing(tmp_path: Path) -> None:
    path = rich_builder().gltf(tmp_path, "lonely.gltf", bin_name="gone.bin")
    (tmp_path / "gone.bin").unlink()
    expect_asset_error(path, "buffer 0 'gone.bin' is missing")


def test_gltf_whose_buffer_is_truncated(tmp_path: Path) -> None:
    path = rich_builder().gltf(tmp_path, "short.gltf", bin_name="short.bin")
    (tmp_path / "short.bin").write_bytes((tmp_path / "short.bin").read_bytes()[:40])
    expect_asset_error(path, "buffer 0 is truncated")


def test_gltf_whose_image_is_missing(tmp_path: Path) -> None:
    b = rich_builder()
    b.doc["images"] = [{"uri": "lost%20image.png"}]
    expect_asset_error(b.gltf(tmp_path, "img.gltf"), "image 0 'lost image.png' is missing")


def test_corrupt_embedded_image(tmp_path: Path) -> None:
    b = rich_builder()
    b.doc["images"] = [{"bufferView": b.view(png_bytes()[:30]), "mimeType": "image/png"}]
    expect_asset_error(write(tmp_path / "img.glb", b.glb()), "corrupt or truncated")


def test_unsupported_required_extension(tmp_path: Path) -> None:
    b = rich_builder()
    b.doc["extensionsRequired"] = ["EXT_fancy_geometry"]
    expect_asset_error(write(tmp_path / "fancy.glb", b.glb()), "EXT_fancy_geometry")


def test_obj_whose_texture_is_missing(tmp_path: Path) -> None:
    path = obj_with_texture(tmp_path, "gone texture.png")
    (tmp_path / "gone texture.png").unlink()
    expect_asset_error(path, "uses texture 'gone texture.png', which is missing")


def test_obj_whose_mtl_is_missing(tmp_path: Path) -> None:
    path = obj_with_texture(tmp_path)
    (tmp_path / "box.mtl").unlink()
    expect_asset_error(path, "material library 'box.mtl' is missing")


def test_zero_triangles(tmp_path: Path) -> None:
    expect_asset_error(write(tmp_path / "points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n"), "no triangles")
    expect_asset_error(write(tmp_path / "empty.obj", ""), "no triangles")
    cloud = ("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\n"
             "end_header\n0 0 0\n1 1 1\n")
    expect_asset_error(write(tmp_path / "cloud.ply", cloud), "no faces or strips")
    b = GltfBuilder()
    b.doc["meshes"] = [{"primitives": [{"attributes": {"POSITION": b.accessor(QUAD, "VEC3")}, "mode": 0}]}]
    b.doc["nodes"] = [{"mesh": 0}]
    expect_asset_error(write(tmp_path / "points.glb", b.glb()), "no triangles")


def test_truncated_binary_stl(tmp_path: Path) -> None:
    data = binary_stl(np.tile(np.eye(3, dtype=np.float32), (10, 1, 1)))
    expect_asset_error(write(tmp_path / "cut.stl", data[:-70]), "truncated binary STL")


def test_truncated_binary_ply(tmp_path: Path) -> None:
    data = strip_ply(grid(4), [0, 4, 1, 5, 2, 6, 3, 7])
    expect_asset_error(write(tmp_path / "cut.ply", data[:-20]), "cannot read this PLY file")


def test_strip_indices_out_of_range(tmp_path: Path) -> None:
    expect_asset_error(write(tmp_path / "wild.ply", strip_ply(grid(2), [0, 1, 2, 99])), "do not exist")


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    expect_asset_error(write(tmp_path / "model.fbx", b"Kaydara FBX Binary"), "unsupported file type '.fbx'")
    expect_asset_error(tmp_path / "nowhere.glb", "file not found")


# -- the corpus ------------------------------------------------------------------------------------------------


def test_draco_compressed_smithsonian_scan_is_decoded(corpus: Path) -> None:
    primitive = the_primitive(corpus / "SmithsonianSeaTurtle" / "sea_turtle-150k-2048-medium.glb")
    assert primitive.triangle_count == 150_000
    assert primitive.vertex_count == 83_111
    assert {"POSITION", "NORMAL", "TEXCOORD_0"} <= set(primitive.attributes)
    np.testing.assert_allclose(primitive.attributes["POSITION"].min(axis=0), [-0.30706, -0.205217, 0.060747],
                               atol=1e-5)  # the accessor's declared min
    assert primitive.material is not None and primitive.material.base_color_texture is not None


def test_igea_triangle_strip_ply_is_a_closed_consistent_mesh(corpus: Path) -> None:
    primitive = the_primitive(corpus / "Igea" / "igea.ply")
    triangles = primitive.indices.reshape(-1, 3)
    # A closed surface of genus 0 has F = 2V - 4 triangles; the scan is nearly closed.
    assert 1.9 * primitive.vertex_count < len(triangles) <= 2 * primitive.vertex_count
    assert directed_edge_repeats(triangles) < len(triangles) * 0.001


def test_fuze_texture_with_a_space_in_its_name(corpus: Path) -> None:
    primitive = the_primitive(corpus / "Fuze" / "fuze.obj")
    assert primitive.triangle_count == 1000
    assert primitive.material is not None and primitive.material.base_color_texture is not None
    assert primitive.material.base_color_texture.texture.data == (corpus / "Fuze" / "fuze uv.jpg").read_bytes()


def test_gargoyle_ply_keeps_vertex_colours(corpus: Path) -> None:
    primitive = the_primitive(corpus / "Gargoyle" / "gargo.ply")
    assert primitive.triangle_count == 50_000
    colors = primitive.attributes["COLOR_0"]
    assert colors.shape[0] == 25_002 and len(np.unique(colors, axis=0)) > 100


def test_gltf_corpus_extensions_and_animation(corpus: Path) -> None:
    sofa = load_asset(corpus / "GlamVelvetSofa" / "GlamVelvetSofa.glb")
    names = {name for mesh in sofa.meshes() for p in mesh.primitives if p.material
             for name in p.material.extensions}
    assert {"KHR_materials_sheen", "KHR_materials_specular"} <= names
    assert sofa.variants == ["Champagne", "Navy", "Gray", "Black", "Pale Pink"]
    assert any(set(p.variants) == set(sofa.variants) for mesh in sofa.meshes() for p in mesh.primitives)
    transforms = [ref.transform for mesh in sofa.meshes() for p in mesh.primitives if p.material
                  for ref in (p.material.base_color_texture, p.material.normal_texture) if ref and ref.transform]
    assert transforms
    city = load_asset(corpus / "VC" / "VC.glb")
    assert len(city.animations) == 1 and city.animations[0].channels
    avocado = load_asset(corpus / "Avocado" / "Avocado.gltf")
    textures = {id(ref.texture): ref.texture for mesh in avocado.meshes() for p in mesh.primitives if p.material
                for ref in (p.material.base_color_texture, p.material.normal_texture,
                            p.material.metallic_roughness_texture) if ref}
    assert _triangles(avocado) == 682 and sorted(t.width for t in textures.values()) == [2048, 2048, 2048]


def mangled_copies(data: bytes, seed: int, count: int = 8) -> list[bytes]:
    """Truncated and byte-garbled variants of a file, reproducibly."""
    rng = np.random.default_rng(seed)
    out = []
    for trial in range(count):
        if trial % 2 == 0:
            out.append(data[: int(rng.integers(0, len(data)))])
        else:
            garbled = bytearray(data)
            for where in rng.integers(0, len(data), 12):
                garbled[int(where)] = int(rng.integers(0, 256))
            out.append(bytes(garbled))
    return out


@pytest.mark.parametrize("kind", ["glb", "obj", "ply", "stl"])
def test_mangled_files_load_or_fail_with_an_asset_error(tmp_path: Path, kind: str) -> None:
    if kind == "glb":
        name, data = "m.glb", rich_builder().glb()
    elif kind == "obj":
        obj_with_texture(tmp_path)
        name, data = "box.obj", (tmp_path / "box.obj").read_bytes()
    elif kind == "ply":
        name, data = "m.ply", strip_ply(grid(5), [0, 5, 1, 6, 2, 7, 3, 8, 4, 9])
    else:
        name, data = "m.stl", binary_stl(np.tile(np.eye(3, dtype=np.float32), (6, 1, 1)))
    outcomes = set()
    for index, variant in enumerate(mangled_copies(data, seed=len(kind))):
        path = write(tmp_path / f"{index}-{name}", variant)
        try:
            load_asset(path)
            outcomes.add("loaded")
        except AssetError as error:
            assert error.path == str(path) and error.cause
            outcomes.add("refused")
    assert "refused" in outcomes  # truncation at least must be caught


def test_obj_that_is_not_utf8_is_still_read(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.obj", "# Caf\xe9 mod\xe8le\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".encode("latin-1"))
    assert the_primitive(path).triangle_count == 1


def test_obj_with_two_material_libraries_and_a_windows_texture_path(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "stone.png").write_bytes(png_bytes((90, 90, 90)))
    write(tmp_path / "a.mtl", "newmtl stone\nmap_Kd -s 1 1 1 maps\\stone.png\n")
    write(tmp_path / "b.mtl", "newmtl gold\nKd 1 0.8 0\n")
    path = write(tmp_path / "two.obj", "mtllib a.mtl b.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\n"
                                       "vt 0 1\nusemtl stone\nf 1/1 2/2 3/3\nusemtl gold\nf 3 2 4\n")
    materials = {p.material.name: p.material for m in load_asset(path).meshes() for p in m.primitives if p.material}
    assert set(materials) == {"stone", "gold"}
    assert materials["stone"].base_color_texture is not None
    assert materials["stone"].base_color_texture.texture.data == (tmp_path / "maps" / "stone.png").read_bytes()
    assert materials["gold"].base_color_factor[:3] == pytest.approx((1.0, 0.603827, 0.0), abs=1e-6)  # linear


def test_truncated_ply_with_faces_says_so(tmp_path: Path) -> None:
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
              b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n")
    body = np.eye(3, dtype="<f4").tobytes() + struct.pack("<B3i", 3, 0, 1, 2)
    write(tmp_path / "whole.ply", header + body)
    assert the_primitive(tmp_path / "whole.ply").triangle_count == 1
    expect_asset_error(write(tmp_path / "cut.ply", header + body[:-6]), "shorter or longer than its header says")


def test_obj_keeps_uvs_and_normals_when_vertices_are_shared_differently(tmp_path: Path) -> None:
    # One position used with two UVs (a seam), and an unused vertex: trimesh's order-keeping mode loses UVs here.
    (tmp_path / "t.png").write_bytes(png_bytes())
    write(tmp_path / "s.mtl", "newmtl m\nmap_Kd t.png\n")
    path = write(tmp_path / "seam.obj", "mtllib s.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 5 5 5\nvt 0 0\nvt 1 0\nvt 0 1\n"
                                        "vt 1 1\nvn 0 0 1\nusemtl m\nf 1/1/1 2/2/1 3/3/1\nf 3/4/1 2/2/1 1/4/1\n")
    primitive = the_primitive(path)
    assert {"POSITION", "NORMAL", "TEXCOORD_0"} <= set(primitive.attributes)
    corners = primitive.attributes["POSITION"][primitive.indices.reshape(-1, 3)]
    uvs = primitive.attributes["TEXCOORD_0"][primitive.indices.reshape(-1, 3)]
    seen = {(tuple(p), tuple(t)) for tri_p, tri_t in zip(corners.tolist(), uvs.tolist(), strict=True)
            for p, t in zip(tri_p, tri_t, strict=True)}
    assert ((0.0, 0.0, 0.0), (0.0, 1.0)) in seen and ((0.0, 0.0, 0.0), (1.0, 0.0)) in seen


def test_texture_without_texture_coordinates(tmp_path: Path) -> None:
    (tmp_path / "t.png").write_bytes(png_bytes())
    write(tmp_path / "n.mtl", "newmtl painted\nmap_Kd t.png\n")
    path = write(tmp_path / "nouv.obj", "mtllib n.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl painted\nf 1 2 3\n")
    expect_asset_error(path, "material 'painted' of mesh 'nouv' uses texture 't', but the mesh has no texture "
                             "coordinates (TEXCOORD_0)")


def test_gltfpack_output_with_meshopt_quantization_and_filters_reads_back(
        tmp_path: Path, corpus: Path, node_modules: Path) -> None:
    """gltfpack -cc writes EXT_meshopt_compression with filters and KHR_mesh_quantization: decode it faithfully."""
    import subprocess

    source = corpus / "DamagedHelmet" / "DamagedHelmet.glb"
    packed = tmp_path / "packed.glb"
    subprocess.run(["node", str(node_modules / "gltfpack" / "cli.js"), "-i", str(source), "-o", str(packed), "-cc"],
                   check=True, capture_output=True, timeout=120)
    original, decoded = load_asset(source), load_asset(packed)
    assert _triangles(decoded) == _triangles(original)
    low, high = _bounds(original)
    diagonal = float(np.linalg.norm(np.subtract(high, low)))
    for mine, theirs in zip(_bounds(decoded), (low, high), strict=True):
        np.testing.assert_allclose(mine, theirs, atol=diagonal * 1e-3)
    normals = decoded.meshes()[0].primitives[0].attributes["NORMAL"]
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize(("damage", "cause"), [
    (lambda doc: doc["nodes"][4].update(skin=7), "malformed glTF: an index points at nothing"),
    (lambda doc: doc["animations"][0]["channels"][0].update(sampler=9), "malformed glTF: an index points at nothing"),
    (lambda doc: doc["meshes"][0]["primitives"][0].pop("attributes"), "mesh 0 has a primitive without POSITION"),
    (lambda doc: doc["bufferViews"][0].pop("byteLength"), "the required property 'byteLength' is missing"),
    (lambda doc: doc["nodes"][0].update(children="all"), "has a child that does not exist"),
    (lambda doc: doc["accessors"][0].update(count="many"), "accessor 0 is missing or malformed"),
])
def test_structurally_broken_gltf(tmp_path: Path, damage: Any, cause: str) -> None:
    b = rich_builder()
    damage(b.doc)
    expect_asset_error(write(tmp_path / "broken.glb", b.glb()), cause)


def test_references_outside_the_root_are_refused(tmp_path: Path) -> None:
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    (tmp_path / "secret.png").write_bytes(png_bytes())
    b = rich_builder()
    b.doc["images"] = [{"uri": "../secret.png"}]
    path = b.gltf(exhibit, "sneaky.gltf")
    assert load_asset(path).nodes  # without a root the reference is followed
    with pytest.raises(AssetError, match=r"image 0 '../secret.png' lies outside .*exhibit and will not be read"):
        load_asset(path, root=exhibit)
    write(tmp_path / "outside.mtl", "newmtl m\nKd 1 1 1\n")
    obj = write(exhibit / "o.obj", "mtllib ../outside.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(AssetError, match="material library '../outside.mtl' lies outside"):
        load_asset(obj, root=exhibit)
    assert the_primitive(obj_with_texture(exhibit), root=exhibit).material is not None


def test_urls_are_never_fetched(tmp_path: Path) -> None:
    b = rich_builder()
    b.doc["images"] = [{"uri": "https://example.org/texture.png"}]
    expect_asset_error(b.gltf(tmp_path, "remote.gltf"), "never URLs")


@pytest.mark.parametrize("order", ["binary_little_endian", "binary_big_endian"])
def test_binary_ply_read_as_arrays_matches_the_general_reader(tmp_path: Path, order: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import ingest

    rng = np.random.default_rng(3)
    n = 30
    end = "<" if order == "binary_little_endian" else ">"
    vertex = np.zeros(n, dtype=[(k, end + "f4") for k in ("x", "y", "z", "nx", "ny", "nz", "s", "t")]
                      + [(k, "u1") for k in ("red", "green", "blue", "alpha")])
    for k in ("x", "y", "z", "s", "t"):
        vertex[k] = rng.uniform(0, 1, n)
    vertex["nz"] = rng.uniform(0.5, 2, n)  # unnormalized, as scanners write them
    for k in ("red", "green", "blue"):
        vertex[k] = rng.integers(0, 256, n)
    vertex["alpha"] = 255
    faces = np.zeros(20, dtype=[("n", "u1"), ("i", end + "u4", (3,))])
    faces["n"], faces["i"] = 3, np.concatenate([np.arange(n), rng.integers(0, n, 30)]).reshape(20, 3)  # all used
    header = (f"ply\nformat {order} 1.0\ncomment made by a test\nelement vertex {n}\n"
              + "".join(f"property {'float' if vertex.dtype[k].kind == 'f' else 'uchar'} {k}\n"
                        for k in vertex.dtype.names or ())
              + "element face 20\nproperty list uchar uint vertex_indices\nend_header\n")
    path = write(tmp_path / "scan.ply", header.encode() + vertex.tobytes() + faces.tobytes())
    fast = the_primitive(path)
    monkeypatch.setattr(ingest, "_read_ply_arrays", lambda path, root=None: None)
    general = the_primitive(path)
    # trimesh drops vertex colours when there are UVs too; the array reader keeps both.
    assert sorted(general.attributes) == ["NORMAL", "POSITION", "TEXCOORD_0"]
    assert sorted(fast.attributes) == ["COLOR_0", "NORMAL", "POSITION", "TEXCOORD_0"]
    # The bytes are sRGB, as a camera saw them; glTF's COLOR_0 is linear.
    expected_colours = srgb_to_linear(np.stack([vertex[k] for k in ("red", "green", "blue")], axis=1) / 255.0)
    np.testing.assert_allclose(fast.attributes["COLOR_0"], expected_colours, atol=1e-6)
    for name, values in general.attributes.items():
        np.testing.assert_allclose(fast.attributes[name], values, atol=1e-6, err_msg=name)
    assert np.array_equal(fast.indices, general.indices)
    # Cut short: the general reader's complaint, in plain words.
    cut = write(tmp_path / "cut.ply", path.read_bytes()[:-7])
    monkeypatch.undo()
    expect_asset_error(cut, "shorter or longer than its header says")



def test_binary_ply_read_in_blocks_is_the_same_mesh_and_checks_every_block(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # A scan is read a block of rows at a time, so that its vertex block is never held whole beside the arrays.
    from pipeline import ingest

    rng = np.random.default_rng(5)
    n, count = 30, 20
    vertex = np.zeros(n, dtype=[(k, "<f8") for k in ("x", "y", "z", "nx", "ny", "nz", "u", "v")])
    for k in vertex.dtype.names or ():
        vertex[k] = rng.uniform(-1, 1, n)
    faces = np.zeros(count, dtype=[("n", "u1"), ("i", "<i4", (3,))])
    faces["n"], faces["i"] = 3, rng.integers(0, n, (count, 3))
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {n}\n"
              + "".join(f"property double {k}\n" for k in vertex.dtype.names or ())
              + f"element face {count}\nproperty list uchar int vertex_indices\nend_header\n").encode()
    path = write(tmp_path / "scan.ply", header + vertex.tobytes() + faces.tobytes())
    whole = the_primitive(path)
    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", 7)  # blocks that divide neither count
    blocks = the_primitive(path)
    assert sorted(blocks.attributes) == sorted(whole.attributes) == ["NORMAL", "POSITION", "TEXCOORD_0"]
    for name, values in whole.attributes.items():
        assert values.dtype == np.float32 and np.array_equal(blocks.attributes[name], values), name
    assert blocks.indices.dtype == np.uint32 and np.array_equal(blocks.indices, faces["i"].reshape(-1))
    np.testing.assert_allclose(blocks.attributes["POSITION"], np.stack([vertex[k] for k in "xyz"], 1), atol=1e-6)
    np.testing.assert_allclose(blocks.attributes["TEXCOORD_0"][:, 1], 1 - vertex["v"], atol=1e-6)
    for bad in (n, -1):  # only the last block's last face is wrong
        faces["i"][-1, 2] = bad
        write(path, header + vertex.tobytes() + faces.tobytes())
        expect_asset_error(path, "faces index vertices that do not exist")
    faces["i"][-1, 2] = 0
    faces["n"][-1] = 4  # a quad without its fourth corner, in the last block: the faces run past the file's end
    expect_asset_error(write(path, header + vertex.tobytes() + faces.tobytes()), "shorter or longer than its header")


def test_an_obj_keeps_only_the_vertices_its_faces_use_in_file_order(tmp_path: Path) -> None:
    from pipeline import obj_text

    text = "v 0 0 0\nv 9 9 9\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 3 4\nf 4 3 5\n"  # vertex 2 is used by no face
    read = obj_text.read_arrays(write(tmp_path / "m.obj", text), None)
    assert read is not None
    primitive = read[0][1]
    assert primitive.attributes["POSITION"].tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]
    assert primitive.indices.tolist() == [0, 1, 2, 2, 1, 3]
    every = obj_text.read_arrays(write(tmp_path / "all.obj", text.replace("v 9 9 9\n", "").replace(
        "f 1 3 4\nf 4 3 5", "f 1 2 3\nf 3 2 4")), None)
    assert every is not None
    assert every[0][1].attributes["POSITION"].tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]
    assert every[0][1].indices.tolist() == [0, 1, 2, 2, 1, 3]

def corner_soup(primitive: Any) -> list[tuple[float, ...]]:
    """Every triangle corner's attributes (sorted names), in a canonical order: equal for equal meshes."""
    triangles = np.asarray(primitive.indices, dtype=np.int64).reshape(-1, 3)
    names = sorted(primitive.attributes)
    corners = np.concatenate([np.asarray(primitive.attributes[n], np.float64)[triangles].reshape(-1, 3, 1)
                              if primitive.attributes[n].ndim == 1 else
                              np.asarray(primitive.attributes[n], np.float64)[triangles] for n in names], axis=2)
    return sorted(tuple(np.round(row, 6).tolist()) for row in corners.reshape(len(triangles), -1))


SCAN_OBJ_CORNERS = {
    "v/vt/vn aligned": ("f 1/1/1 2/2/2 3/3/3\nf 3/3/3 2/2/2 4/4/4\n", True, True),
    "v/vt/vn seam": ("f 1/1/1 2/2/2 3/3/3\nf 3/4/3 2/2/1 4/4/4\n", True, True),
    "v/vt": ("f 1/1 2/2 3/3\nf 3/3 2/4 4/4\n", True, False),
    "v//vn": ("f 1//1 2//2 3//3\nf 3//3 2//2 4//1\n", False, True),
    "v": ("f 1 2 3\nf 3 2 4\n", False, False),
}


@pytest.mark.parametrize("layout", list(SCAN_OBJ_CORNERS))
def test_obj_read_as_arrays_matches_the_general_reader(tmp_path: Path, layout: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import obj_text

    faces, uvs, normals = SCAN_OBJ_CORNERS[layout]
    (tmp_path / "t.png").write_bytes(png_bytes())
    write(tmp_path / "s.mtl", "newmtl skin\nmap_Kd t.png\n" if uvs else "newmtl skin\nKd 0.5 0.5 0.5\n")
    text = ("# a scan\r\nmtllib s.mtl\r\no scan\nv 0 0 0\nv 1 0 0\nv 0 1 0.5\nv 1 1 0.25\nv 9 9 9\n"
            "vt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\nvn 0 0 1\nvn 0 0.6 0.8\nvn 0.6 0 0.8\nvn 0 0 1\n"
            "usemtl skin\ns 1\n" + faces)
    path = write(tmp_path / "scan.obj", text)
    obj_text.OBJ_BLOCK, saved = 16, obj_text.OBJ_BLOCK  # many blocks, one line or two each
    try:
        fast_parts = obj_text.read_arrays(path, None)
    finally:
        obj_text.OBJ_BLOCK = saved
    assert fast_parts is not None  # this layout is one the array reader takes
    fast = the_primitive(path)
    monkeypatch.setattr(obj_text, "read_arrays", lambda path, root: None)
    general = the_primitive(path)
    if not normals:
        # The file has vn lines its faces never use: trimesh then makes up smooth normals; the array reader
        # keeps to what the faces say.
        del general.attributes["NORMAL"]
    assert sorted(fast.attributes) == sorted(general.attributes)
    assert ("TEXCOORD_0" in fast.attributes, "NORMAL" in fast.attributes) == (uvs, normals)
    assert corner_soup(fast) == corner_soup(general)
    assert fast.material is not None and fast.material.name == "skin"
    # One vertex per distinct corner the faces write; the unused fifth vertex is dropped.
    assert len(fast.attributes["POSITION"]) == len(set(faces.split()) - {"f"})


@pytest.mark.parametrize("layout", list(SCAN_OBJ_CORNERS))
def test_an_obj_with_a_material_per_texture_page_is_read_as_arrays_like_the_general_reader(
        tmp_path: Path, layout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # RealityCapture and Metashape write a big scan's texture pages as one material each: such a file must stream
    # as arrays too (the general reader took 12 s and 1.8 GB for a 2M-triangle scan in four 8k pages).
    from pipeline import obj_text

    faces, uvs, _ = SCAN_OBJ_CORNERS[layout]
    first, second = faces.splitlines()
    for page in ("a", "b"):
        (tmp_path / f"{page}.png").write_bytes(png_bytes())
    colour = {"a": "map_Kd a.png" if uvs else "Kd 1 0 0", "b": "map_Kd b.png" if uvs else "Kd 0 0 1"}
    write(tmp_path / "s.mtl", f"newmtl page b\n{colour['b']}\nnewmtl page a\n{colour['a']}\nnewmtl unused\n")
    # Page b is used first, then a, then b again: a material's faces gather in one part wherever they are.
    text = ("mtllib s.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0.5\nv 1 1 0.25\nv 9 9 9\nvt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\n"
            "vn 0 0 1\nvn 0 0.6 0.8\nvn 0.6 0 0.8\nvn 0 0 1\nusemtl page b\n" + first + "\nusemtl unused\n"
            "usemtl page a\n" + second + "\n" + first + "\nusemtl page b\n" + second + "\n")
    path = write(tmp_path / "pages.obj", text)
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 16)  # many blocks: a page's faces and its usemtl fall in different ones
    fast = obj_text.read_arrays(path, None)
    assert fast is not None
    assert [(name, material.name) for name, _, material, _ in fast] == [("page b", "page b"), ("page a", "page a")]
    # One mesh with a primitive per material, whichever reader reads it.
    (fast_mesh,) = load_asset(path).meshes()
    fast_pages = {p.material.name: p for p in fast_mesh.primitives}
    assert list(fast_pages) == ["page b", "page a"]
    monkeypatch.setattr(obj_text, "read_arrays", lambda path, root: None)
    (general_mesh,) = load_asset(path).meshes()
    general_pages = {p.material.name: p for p in general_mesh.primitives}
    assert sorted(general_pages) == ["page a", "page b"]
    for name, primitive in fast_pages.items():
        general = general_pages[name]
        if "NORMAL" not in fast[0][1].attributes:
            general.attributes.pop("NORMAL", None)  # made-up smooth normals, as in the test above
        assert corner_soup(primitive) == corner_soup(general), name
        assert primitive.triangle_count == 2
        assert primitive.material.name == name
        if uvs:
            texture = primitive.material.base_color_texture.texture
            assert texture.data == (tmp_path / f"{name[-1]}.png").read_bytes()
        else:
            assert primitive.material.base_color_factor[:3] == ((1.0, 0.0, 0.0) if name == "page a" else (0.0, 0.0, 1.0))
        # Each page keeps only the vertices its own faces use.
        assert len(primitive.attributes["POSITION"]) == len(set(" ".join([first, second]).split()) - {"f"})


@pytest.mark.parametrize("layout", list(SCAN_OBJ_CORNERS))
def test_a_vertex_coloured_obj_is_read_as_arrays_with_its_colours(tmp_path: Path, layout: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # MeshLab, CloudCompare and scanners write "v x y z r g b". The general reader took 11.5 s and 1.3 GB for a
    # 1M-triangle scan written so, and dropped its colours beside a texture: the array reader keeps them as COLOR_0.
    from pipeline import obj_text

    faces, uvs, normals = SCAN_OBJ_CORNERS[layout]
    (tmp_path / "t.png").write_bytes(png_bytes())
    write(tmp_path / "s.mtl", "newmtl skin\nmap_Kd t.png\nnewmtl bone\nmap_Kd t.png\n" if uvs
          else "newmtl skin\nKd 0.5 0.5 0.5\nnewmtl bone\nKd 1 1 1\n")
    # Multiples of 0.2 are multiples of 1/255 too, so trimesh's bytes and the file's numbers compare exactly.
    colours = {1: "0.2 0.4 0.6", 2: "1 0 0.8", 3: "0 0.2 1", 4: "0.6 0.6 0.6", 5: "1 1 1"}
    first, second = faces.splitlines()
    text = ("mtllib s.mtl\n" + "".join(f"v {x} {y} {z} {colours[n]}\n" for n, (x, y, z) in enumerate(
        [(0, 0, 0), (1, 0, 0), (0, 1, 0.5), (1, 1, 0.25), (9, 9, 9)], start=1))
            + "vt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\nvn 0 0 1\nvn 0 0.6 0.8\nvn 0.6 0 0.8\nvn 0 0 1\n")
    path = write(tmp_path / "scan.obj", text + "usemtl skin\n" + faces)
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 16)  # many blocks, a line or two each
    fast_parts = obj_text.read_arrays(path, None)
    assert fast_parts is not None
    (_, read, _, _), = fast_parts
    fast = the_primitive(path)
    assert sorted(fast.attributes) == sorted(["POSITION", "COLOR_0", *(["TEXCOORD_0"] if uvs else []),
                                              *(["NORMAL"] if normals else [])])
    # Each vertex keeps its own line's colour, whichever corners share it.
    wanted = {tuple(map(float, colours[n].split())) for n in range(1, 5)}
    by_position = {tuple(p): tuple(np.round(c, 6)) for p, c in zip(read.attributes["POSITION"].tolist(),
                                                                   read.attributes["COLOR_0"].tolist(), strict=True)}
    assert set(by_position.values()) == wanted
    assert by_position[(1.0, 0.0, 0.0)] == (1.0, 0.0, 0.8)
    # Loaded, they are linear, as glTF's COLOR_0 is (the file's are sRGB, as the camera saw them).
    np.testing.assert_allclose(fast.attributes["COLOR_0"], srgb_to_linear(read.attributes["COLOR_0"]), atol=1e-6)
    assert fast.attributes["COLOR_0"][1].tolist() == pytest.approx([1.0, 0.0, 0.603827], abs=1e-6)
    read_colours = fast.attributes["COLOR_0"].copy()
    monkeypatch.setattr(obj_text, "read_arrays", lambda path, root: None)
    general = the_primitive(path)
    if not normals:
        del general.attributes["NORMAL"]  # made up by trimesh, as in the tests above
    assert "COLOR_0" not in general.attributes  # trimesh drops vertex colours where faces have a material
    del fast.attributes["COLOR_0"]
    assert corner_soup(fast) == corner_soup(general)
    monkeypatch.undo()

    # Two materials: each part's colours are picked into one shared block, as its positions are.
    two = obj_text.read_arrays(write(tmp_path / "two.obj", text + f"usemtl skin\n{first}\nusemtl bone\n{second}\n"),
                               None)
    assert two is not None and [name for name, *_ in two] == ["skin", "bone"]
    for _, primitive, _, _ in two:
        for position, colour in zip(primitive.attributes["POSITION"].tolist(),
                                    primitive.attributes["COLOR_0"].tolist(), strict=True):
            assert tuple(np.round(colour, 6)) == by_position[tuple(position)]
    # 0-255 numbers are scaled as trimesh scales them; one colour for every vertex is no colour at all.
    bytes_text = text
    for colour in colours.values():
        bytes_text = bytes_text.replace(colour, " ".join(str(round(float(c) * 255)) for c in colour.split()))
    scaled = the_primitive(write(tmp_path / "bytes.obj", bytes_text + "usemtl skin\n" + faces))
    assert np.allclose(scaled.attributes["COLOR_0"], read_colours, atol=1e-6)
    white = "".join(line.rsplit(" ", 3)[0] + " 1 1 1\n" if line.startswith("v ") else line + "\n"
                    for line in text.splitlines())
    assert "COLOR_0" not in the_primitive(write(tmp_path / "white.obj", white + "usemtl skin\n" + faces)).attributes


def test_a_scan_with_vertex_colours_and_a_texture_says_they_multiply(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import obj_text

    (tmp_path / "t.png").write_bytes(png_bytes())
    write(tmp_path / "s.mtl", "newmtl skin\nmap_Kd t.png\n")
    corners = "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nvt 0 0\nvt 1 0\nvt 0 1\n"
    both = load_asset(write(tmp_path / "both.obj", "mtllib s.mtl\n" + corners + "usemtl skin\nf 1/1 2/2 3/3\n"))
    assert any("has vertex colours and a texture" in note for note in both.notes)
    plain_path = write(tmp_path / "plain.obj", corners + "f 1 2 3\n")
    plain = load_asset(plain_path)
    # Coloured only per vertex: nothing multiplies, but AR Quick Look shows no vertex colours, and the note says so.
    assert plain.notes == ["plain.obj: is coloured per vertex, which AR Quick Look (iPhone, iPad) cannot show: its AR "
                           "package shows the model in its material's plain colour; export it with a texture for AR"]
    assert not [note for note in both.notes if "AR Quick Look" in note]  # textured: AR shows the texture
    # Without a material, trimesh keeps the colours too: the same ones.
    monkeypatch.setattr(obj_text, "read_arrays", lambda path, root: None)
    general = load_asset(plain_path)
    assert corner_soup(plain.meshes()[0].primitives[0]) == corner_soup(general.meshes()[0].primitives[0])
    assert np.array_equal(plain.meshes()[0].primitives[0].attributes["COLOR_0"], np.eye(3, dtype=np.float32))


def grid_obj(columns: int, corner: str, coloured: bool = False) -> str:
    """An OBJ of a flat grid strip: v, vt and vn lines first, then faces over three materials, switching back and
    forth as texture pages do; `corner` formats one corner from its (v, vt, vn) numbers; `coloured` gives each vertex
    a colour of its own."""
    lines = ["mtllib s.mtl"]
    lines += [f"v {x} {y} {0.01 * x * y}" + (f" {x / columns} {y} 0.5" if coloured else "")
              for x in range(columns + 1) for y in (0, 1)]
    lines += [f"vt {x / columns} {y}" for x in range(columns + 1) for y in (0, 1)]
    lines += [f"vn 0 {0.1 * y} 1" for _ in range(columns + 1) for y in (0, 1)]
    for x in range(columns):
        if x % 3 == 0:
            lines.append(f"usemtl {('page a', 'page b', 'page c', 'page b')[(x // 3) % 4]}")
        a, b, c, d = 2 * x + 1, 2 * x + 2, 2 * x + 3, 2 * x + 4
        for triangle in ((a, c, b), (b, c, d)):
            # A seam on every other triangle: a corner whose vt is not its v (the unaligned reading).
            lines.append("f " + " ".join(corner.format(v=v, t=v if x % 2 or v != c else 1, n=v) for v in triangle))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("corner", ["{v}/{t}/{n}", "{v}/{v}/{v}", "{v}//{n}", "{v}"])
@pytest.mark.parametrize("split_at", ["f ", "vt ", "usemtl page c", "v 20"])
def test_a_big_obj_parsed_in_two_halves_at_once_reads_as_in_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corner: str, split_at: str) -> None:
    # The second half is parsed in a forked process (numpy's text parser holds the GIL): the halves must join into
    # exactly what one pass reads, wherever the split falls: among the numbers, at the first face, or among faces
    # whose material was named in the first half.
    from pipeline import forked_half, obj_text

    write(tmp_path / "s.mtl", "newmtl page a\nKd 1 0 0\nnewmtl page b\nKd 0 1 0\nnewmtl page c\nKd 0 0 1\n")
    coloured = split_at == "v 20"  # vertex colours, split among the v lines: both halves' colours join up
    text = grid_obj(40, corner, coloured)
    path = write(tmp_path / "grid.obj", text)
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 64)
    whole = obj_text.read_arrays(path, None)
    assert whole is not None and [name for name, *_ in whole] == ["page a", "page b", "page c"]
    # Split a few lines past the first such line, so the second half begins mid-way through a run.
    offset = text.index(split_at) + len(split_at) + 40
    monkeypatch.setattr(obj_text, "OBJ_SPLIT_BYTES", 0)
    monkeypatch.setattr(obj_text, "_half_the_work", lambda path, size, costs: offset)
    real_child, mark = forked_half._in_child, tmp_path / "child.pid"
    monkeypatch.setattr(forked_half, "_in_child", lambda *args: (mark.write_text(str(os.getpid())),
                                                                    real_child(*args)))
    halves = obj_text.read_arrays(path, None)
    assert halves is not None
    assert int(mark.read_text()) != os.getpid()  # the second half was parsed in a process of its own
    assert [(n, m.name) for n, _, m, _ in halves] == [(n, m.name) for n, _, m, _ in whole]
    assert all(("COLOR_0" in part.attributes) == coloured for _, part, _, _ in whole)
    for (_, split, _, _), (name, one, _, _) in zip(halves, whole, strict=True):
        assert split.attributes.keys() == one.attributes.keys(), name
        assert np.array_equal(split.indices, one.indices), name
        for key, values in one.attributes.items():
            assert np.array_equal(split.attributes[key], values), (name, key)


def test_a_big_obj_whose_second_half_fails_reads_as_the_general_reader_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import forked_half, obj_text

    write(tmp_path / "s.mtl", "newmtl page a\nKd 1 0 0\nnewmtl page b\nKd 0 1 0\nnewmtl page c\nKd 0 0 1\n")
    text = grid_obj(12, "{v}")
    monkeypatch.setattr(obj_text, "OBJ_SPLIT_BYTES", 0)
    middle = text.index("f ") + 10
    monkeypatch.setattr(obj_text, "_half_the_work", lambda path, size, costs: middle)
    # Relative indices in the second half, where what they point at depends on the first: the file is parsed
    # again in one stretch, and reads as its absolute twin.
    relative = write(tmp_path / "relative.obj", text + "f -1 -2 -3\n")
    vertices = text.count("\nv ") + text.startswith("v ")
    twin = write(tmp_path / "twin.obj", text + f"f {vertices} {vertices - 1} {vertices - 2}\n")
    read, absolute = obj_text.read_arrays(relative, None), obj_text.read_arrays(twin, None)
    assert read is not None and absolute is not None
    assert [corner_soup(p) for _, p, _, _ in read] == [corner_soup(p) for _, p, _, _ in absolute]
    assert sum(p.triangle_count for _, p, _, _ in read) == 2 * 12 + 1
    # A word numpy cannot read in the second half: the child's error reaches the parent, and the general reader
    # takes the file, as after one pass (here it explains what it cannot read).
    stray = write(tmp_path / "stray.obj", text + "v 1 2 three\n")
    with pytest.raises(ValueError):
        obj_text.read_arrays(stray, None)
    with pytest.raises(AssetError) as split:
        load_asset(stray)
    with monkeypatch.context() as one_pass:
        one_pass.setattr(obj_text, "OBJ_SPLIT_BYTES", 1 << 40)
        with pytest.raises(AssetError) as whole:
            load_asset(stray)
    assert str(split.value) == str(whole.value)
    # A child that dies before it answers: its half is parsed here instead.
    monkeypatch.setattr(forked_half, "_in_child", lambda *args: os._exit(3))
    died = obj_text.read_arrays(write(tmp_path / "grid.obj", text), None)
    monkeypatch.setattr(obj_text, "OBJ_SPLIT_BYTES", 1 << 40)
    whole = obj_text.read_arrays(tmp_path / "grid.obj", None)
    assert died is not None and whole is not None
    assert [corner_soup(p) for _, p, _, _ in died] == [corner_soup(p) for _, p, _, _ in whole]


def triangle_set(primitive: Any) -> list[tuple[tuple[float, ...], ...]]:
    """Each triangle as its corners' attributes (sorted names), turned to start at its least corner, sorted: equal
    for meshes with the same triangles facing the same way, wherever each starts."""
    names = sorted(primitive.attributes)
    rows = np.concatenate([np.asarray(primitive.attributes[n], np.float64).reshape(primitive.vertex_count, -1)
                           for n in names], axis=1).round(6)
    found = []
    for triangle in np.asarray(primitive.indices, dtype=np.int64).reshape(-1, 3):
        corners = [tuple(rows[i].tolist()) for i in triangle]
        turn = corners.index(min(corners))
        found.append(tuple(corners[turn:] + corners[:turn]))
    return sorted(found)


@pytest.mark.parametrize("corner", ["{v}", "{v}/{v}", "{v}//{v}", "{v}/{v}/{v}", "{v}/{t}/{v}"])
def test_an_obj_of_quads_and_polygons_is_read_as_arrays_cut_as_the_general_reader_cuts_them(
        tmp_path: Path, corner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A voxel-remeshed scan is quads (Blender's remesh, ZBrush): the general reader took ~1.3 GB per million faces.
    # Quads, a pentagon and triangles, over two materials that switch among them (runs are counted in triangles).
    from pipeline import obj_text
    from pipeline.spec.measure import measure

    write(tmp_path / "s.mtl", "newmtl skin\nKd 1 0 0\nnewmtl bone\nKd 0 0 1\n")
    columns = 9
    lines = ["mtllib s.mtl"]
    lines += [f"v {x} {y} {0.01 * x * x + 0.1 * y}" for x in range(columns + 1) for y in (0, 1, 2)]
    lines += [f"vt {x / columns} {y / 2}" for x in range(columns + 1) for y in (0, 1, 2)]
    lines += [f"vn 0 {0.1 * y} 1" for _ in range(columns + 1) for y in (0, 1, 2)]
    lines.append("vt 0.5 0.5")  # a seam corner's own coordinates, for {t}

    def face(*numbers: int) -> str:
        last = 3 * (columns + 1) + 1
        return "f " + " ".join(corner.format(v=n, t=last if n == numbers[0] and len(numbers) == 5 else n)
                               for n in numbers)

    for x in range(columns):
        if x % 3 == 0:
            lines.append(f"usemtl {('skin', 'bone')[(x // 3) % 2]}")
        a, b, c, d, e, f = 3 * x + 1, 3 * x + 2, 3 * x + 3, 3 * x + 4, 3 * x + 5, 3 * x + 6
        if x % 3 == 2:  # a pentagon and a triangle
            lines += [face(a, d, e, f, c), face(b, a, c)]
        else:  # two quads
            lines += [face(a, d, e, b), face(b, e, f, c)]
    path = write(tmp_path / "quads.obj", "\n".join(lines) + "\n")
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 64)  # a usemtl and its faces in different blocks
    fast = obj_text.read_arrays(path, None)
    assert fast is not None and [name for name, *_ in fast] == ["skin", "bone"]
    # The halves of a big file, parsed at once, join into the same.
    with monkeypatch.context() as split:
        split.setattr(obj_text, "OBJ_SPLIT_BYTES", 0)
        split.setattr(obj_text, "_half_the_work", lambda path, size, costs: path.read_text().index("usemtl bone"))
        halves = obj_text.read_arrays(path, None)
    assert halves is not None
    for (_, one, _, _), (_, other, _, _) in zip(fast, halves, strict=True):
        assert np.array_equal(one.indices, other.indices)
    fast_meshes = [load_asset(path).meshes()[0]]  # blocks of a line or two
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 1 << 22)
    fast_meshes.append(load_asset(path).meshes()[0])  # one block: material switches among its polygons
    monkeypatch.setattr(obj_text, "read_arrays", lambda path, root: None)
    general_mesh, = load_asset(path).meshes()
    general = {p.material.name: p for p in general_mesh.primitives}
    for fast_mesh in fast_meshes:
        triangles = 0
        for primitive in fast_mesh.primitives:
            twin = general[primitive.material.name]
            if "NORMAL" not in primitive.attributes:
                twin.attributes.pop("NORMAL", None)  # made up by trimesh, as in the tests above
            assert sorted(primitive.attributes) == sorted(twin.attributes)
            assert triangle_set(primitive) == triangle_set(twin), primitive.material.name
            triangles += primitive.triangle_count
        assert triangles == 6 * 2 * 2 + 3 * (3 + 1)  # six columns of two quads, three of a pentagon and a triangle
    assert measure(path).triangles == 36


@pytest.mark.parametrize("text", ["f " + "1 2 3 4 " * 17 + "\n", "f 1 2 3\nf 1/1 2/1 3/1 4/1\n",
                                  "f 1 2 3\nf 1/1 3/1 4/1\n", "v 0 0 1 1 0 0\nf 1 2 3\n", " v 2 2 2\nf 1 2 3\n",
                                  "f 1 2 3\nusemtl a\nf 1 3 4\n", "vt 0 1 " + "2 " * 40 + "\nf 1/1 2/1 3/1\n"])
def test_obj_the_array_reader_leaves_to_the_general_reader(tmp_path: Path, text: str) -> None:
    from pipeline import obj_text

    path = write(tmp_path / "odd.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\n" + text)
    assert obj_text.read_arrays(path, None) is None
    assert load_asset(path).meshes()  # and that one reads it


def test_obj_faces_past_the_last_vertex_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "wild.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n")
    expect_asset_error(path, "faces refer to vertices, texture coordinates or normals that do not exist")
    # Before the first: a zero, or a relative index further back than the file goes (the general reader said
    # "index -9 is out of bounds for axis 0 with size 3").
    for face in ("f 0 1 2", "f -9 -2 -1", "f -1 -2 -3\nv 1 1 0\nf -1 -2 -5"):
        path = write(tmp_path / "wild.obj", f"v 0 0 0\nv 1 0 0\nv 0 1 0\n{face}\n")
        expect_asset_error(path, "faces refer to vertices, texture coordinates or normals that do not exist")


@pytest.mark.parametrize("corner", ["{v}", "{v}/{t}", "{v}//{n}", "{v}/{t}/{n}"])
def test_an_obj_of_relative_indices_reads_as_its_absolute_twin(tmp_path: Path, corner: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # -1 is the last line of its kind before the face (some exporters write each object so); the general reader
    # took them, at its 1.3 GB for a 1M-triangle scan. Vertices, coordinates and normals interleave with the faces
    # here, so that each kind counts back from a different place; a block boundary falls among them.
    from pipeline import obj_text

    absolute, relative, seen = [], [], {"v": 0, "vt": 0, "vn": 0}
    rng = np.random.default_rng(5)
    for row in range(8):
        for column in range(8):
            for kind, values in (("v", (column, row, rng.uniform())), ("vt", (column / 8, row / 8)),
                                 ("vn", (0, 0, 1))):
                if kind != "vn" or column % 3 == 0:
                    line = f"{kind} " + " ".join(f"{value:.4f}" for value in values)
                    absolute.append(line)
                    relative.append(line)
                    seen[kind] += 1
            if not (row and column):
                continue
            quad = [(row - 1) * 8 + column - 1, (row - 1) * 8 + column, row * 8 + column, row * 8 + column - 1]
            faces = [quad[:3], [quad[0], quad[2], quad[3]]] if column % 2 else [quad]  # triangles, or the quad
            for face in faces:
                absolute.append("f " + " ".join(corner.format(v=i + 1, t=i + 1, n=seen["vn"]) for i in face))
                relative.append("f " + " ".join(corner.format(v=i - seen["v"], t=i - seen["vt"], n=-1)
                                                for i in face))
    one = write(tmp_path / "absolute.obj", "\n".join(absolute) + "\n")
    other = write(tmp_path / "relative.obj", "\n".join(relative) + "\n")
    monkeypatch.setattr(obj_text, "OBJ_BLOCK", 256)
    parts, twins = obj_text.read_arrays(other, None), obj_text.read_arrays(one, None)
    assert parts is not None and twins is not None
    ((_, primitive, _, _),), ((_, twin, _, _),) = parts, twins
    assert primitive.triangle_count == twin.triangle_count == 7 * 7 * 2
    assert any(" -" in line and line.startswith("f ") for line in relative)
    assert np.array_equal(primitive.indices, twin.indices)
    assert primitive.attributes.keys() == twin.attributes.keys()
    for name, values in twin.attributes.items():
        assert np.array_equal(primitive.attributes[name], values), name


def test_a_ply_scan_keeps_the_texture_its_header_names(tmp_path: Path) -> None:
    # RealityCapture, Metashape and MeshLab name a PLY's texture in a 'comment TextureFile' header line.
    Image.new("RGB", (8, 8), (120, 90, 60)).save(tmp_path / "scan skin.jpg", "JPEG")
    vertex = np.zeros(3, dtype=[(k, "<f4") for k in ("x", "y", "z", "s", "t")])
    vertex["x"], vertex["y"], vertex["s"], vertex["t"] = [0, 1, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]
    header = ("ply\nformat binary_little_endian 1.0\ncomment TextureFile scan skin.jpg\nelement vertex 3\n"
              + "".join(f"property float {k}\n" for k in ("x", "y", "z", "s", "t"))
              + "element face 1\nproperty list uchar int vertex_indices\nend_header\n").encode()
    path = write(tmp_path / "scan.ply", header + vertex.tobytes() + struct.pack("<B3i", 3, 0, 1, 2))
    primitive = the_primitive(path, root=tmp_path)
    assert primitive.material is not None and primitive.material.base_color_texture is not None
    assert primitive.material.base_color_texture.texture.data == (tmp_path / "scan skin.jpg").read_bytes()
    np.testing.assert_allclose(primitive.attributes["TEXCOORD_0"], [[0, 1], [1, 1], [0, 0]])  # v flipped
    (tmp_path / "scan skin.jpg").unlink()
    expect_asset_error(path, "the PLY names texture 'scan skin.jpg', which is missing")
    (tmp_path / "inner").mkdir()
    outside = write(tmp_path / "inner" / "scan.ply", header.replace(b"scan skin.jpg", b"../scan skin.jpg")
                    + vertex.tobytes() + struct.pack("<B3i", 3, 0, 1, 2))
    with pytest.raises(AssetError, match="lies outside"):
        load_asset(outside, root=tmp_path / "inner")
    # Named where it was on the disk of the machine that wrote it: the file of that name beside the PLY is read.
    Image.new("RGB", (8, 8), (20, 90, 160)).save(tmp_path / "inner" / "scan skin.jpg", "JPEG")
    foreign = write(tmp_path / "inner" / "foreign.ply", header.replace(b"scan skin.jpg", b"D:\\RC\\scan skin.jpg")
                    + vertex.tobytes() + struct.pack("<B3i", 3, 0, 1, 2))
    primitive = the_primitive(foreign, root=tmp_path / "inner")
    assert primitive.material is not None and primitive.material.base_color_texture is not None
    assert primitive.material.base_color_texture.texture.data == (tmp_path / "inner" / "scan skin.jpg").read_bytes()


def _wedge_ply(folder: Path, positions: np.ndarray, triangles: np.ndarray, corner_uvs: np.ndarray,
               pages: np.ndarray | None = None, textures: tuple[str, ...] = ("skin.jpg",),
               flags: bool = False) -> Path:
    """A binary PLY as Metashape and MeshLab write a textured scan: texture coordinates per corner (a `texcoord`
    list of six on each face) and, with pages, a `texnumber` per face and a TextureFile comment per page."""
    for number, name in enumerate(textures):
        Image.new("RGB", (8, 8), (40 * number, 90, 60)).save(folder / name, "JPEG")
    vertex = np.zeros(len(positions), dtype=[(k, "<f4") for k in ("x", "y", "z", "nx", "ny", "nz")])
    for axis, k in enumerate("xyz"):
        vertex[k] = positions[:, axis]
    vertex["nz"] = 1
    fields = [("n", "u1"), ("i", "<i4", (3,))] + ([("flags", "<i4")] if flags else []) + \
        [("m", "u1"), ("uv", "<f4", (6,))] + ([("quality", "<f8")] if flags else [])
    face = np.zeros(len(triangles), dtype=fields + ([("page", "<i4")] if pages is not None else []))
    if flags:  # MeshLab's optional face values, which glTF has no place for
        face["flags"], face["quality"] = 7, 0.25
    face["n"], face["i"], face["m"], face["uv"] = 3, triangles, 6, corner_uvs.reshape(-1, 6)
    if pages is not None:
        face["page"] = pages
    header = ("ply\nformat binary_little_endian 1.0\n" + "".join(f"comment TextureFile {t}\n" for t in textures)
              + f"element vertex {len(positions)}\n" + "".join(f"property float {k}\n" for k in vertex.dtype.names or ())
              + f"element face {len(triangles)}\nproperty list uchar int vertex_indices\n"
              + ("property int flags\n" if flags else "") + "property list uchar float texcoord\n"
              + ("property double quality\n" if flags else "")
              + ("property int texnumber\n" if pages is not None else "")
              + "end_header\n")
    return write(folder / "scan.ply", header.encode() + vertex.tobytes() + face.tobytes())


def _corners(primitive: Any) -> np.ndarray:
    """Each corner of each triangle as (x, y, z, u, v), in order."""
    corners = primitive.indices.reshape(-1)
    return np.concatenate([primitive.attributes["POSITION"][corners], primitive.attributes["TEXCOORD_0"][corners]],
                          axis=1)


@pytest.mark.parametrize("block_rows", [1 << 18, 2])
def test_a_metashape_ply_with_texture_coordinates_per_corner_keeps_its_texture(
        tmp_path: Path, block_rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Metashape's and MeshLab's textured PLY give each face's corners their own coordinates; the reader took only
    # coordinates per vertex, and such a scan was built untextured, without a word.
    from pipeline import ingest
    from pipeline.spec.measure import references

    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", block_rows)
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [5, 5, 5]], np.float32)  # the last unused
    triangles = np.array([[0, 1, 2], [2, 1, 3], [3, 1, 0]])
    # Vertex 1 is on a UV seam: its corner in the last face has other coordinates; vertex 3 has them twice.
    uvs = np.array([[[0, 0], [.5, 0], [0, .5]], [[0, .5], [.5, 0], [.5, .5]], [[.5, .5], [.9, .1], [0, 0]]],
                   np.float32)
    path = _wedge_ply(tmp_path, positions, triangles, uvs)
    primitive = the_primitive(path, root=tmp_path)
    assert primitive.material is not None and primitive.material.base_color_texture is not None
    assert primitive.material.base_color_texture.texture.data == (tmp_path / "skin.jpg").read_bytes()
    expected = [(*positions[v], u, 1 - w) for v, (u, w) in zip(triangles.reshape(-1), uvs.reshape(-1, 2),
                                                                strict=True)]
    np.testing.assert_allclose(_corners(primitive), expected, atol=1e-6)
    assert primitive.vertex_count == 5  # four used, and one more for the seam
    assert "NORMAL" in primitive.attributes and "COLOR_0" not in primitive.attributes
    assert references(path) == [("texture", "skin.jpg")]  # so the cache knows the texture


def test_a_ply_with_texture_pages_becomes_one_mesh_with_a_textured_primitive_per_page(tmp_path: Path) -> None:
    from pipeline import ladder
    from pipeline.spec.measure import references

    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 0, 0]], np.float32)
    triangles = np.array([[0, 1, 2], [2, 1, 3], [1, 4, 3]])
    uvs = np.array([[[0, 0], [1, 0], [0, 1]], [[0, 1], [1, 0], [1, 1]], [[0, 0], [1, 0], [0, 1]]], np.float32)
    pages = np.array([1, 1, 0])  # vertices 1 and 3 border both pages
    path = _wedge_ply(tmp_path, positions, triangles, uvs, pages, ("page0.jpg", "page1.jpg"))
    (mesh,) = load_asset(path, root=tmp_path).meshes()
    first, second = mesh.primitives
    # In the order of the header's pages, each with its own texture and the corners of its own faces.
    assert [p.material.base_color_texture.texture.data for p in mesh.primitives] == \
        [(tmp_path / "page0.jpg").read_bytes(), (tmp_path / "page1.jpg").read_bytes()]
    corners = [(*positions[v], u, 1 - w) for v, (u, w) in zip(triangles.reshape(-1), uvs.reshape(-1, 2),
                                                               strict=True)]
    np.testing.assert_allclose(_corners(first), corners[6:], atol=1e-6)
    np.testing.assert_allclose(_corners(second), corners[:6], atol=1e-6)
    assert (first.vertex_count, second.vertex_count) == (3, 4)
    # The pages' vertices lie end to end, so the ladder joins them as one surface without a copy.
    joined = ladder._end_to_end([first.attributes["POSITION"], second.attributes["POSITION"]])
    assert np.shares_memory(joined, first.attributes["POSITION"])
    assert np.shares_memory(joined, second.attributes["POSITION"])
    assert references(path) == [("texture", "page0.jpg"), ("texture", "page1.jpg")]
    _wedge_ply(tmp_path, positions, triangles, uvs, np.array([1, 2, 0]), ("page0.jpg", "page1.jpg"))
    expect_asset_error(path, "a face uses texture page 2 (texnumber), but the header names 2 texture file(s)")


def test_a_ply_in_pages_is_read_with_a_few_blocks_of_its_corners_at_a_time(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Texture coordinates per corner are 24 bytes a triangle, and their pages as int64 corners another 24: they are
    # read again a block at a time, never held whole (a 10M-triangle scan in pages: 1.23 -> 1.08 GB at peak).
    from pipeline import ingest
    from pipeline.spec.measure import measure
    from tests.benchmarks.scan_generator import generate
    from tests.helpers import traced_peak

    path = generate(tmp_path, 200_000, 64, ("ply-pages",))["ply-pages"]
    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", 8192)
    triangles = measure(path).triangles
    assert triangles is not None
    parts, peak = traced_peak(lambda: ingest._read_ply_arrays(path, tmp_path))
    assert parts is not None and len(parts) == 4
    assert sum(part[1].triangle_count for part in parts) == triangles
    assert peak < 90 * triangles  # 68 bytes a triangle, the mesh read included; 121 with the corners held whole


def test_a_meshlab_ply_with_flags_and_quality_per_face_is_read_with_its_texture(tmp_path: Path) -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    uvs = np.array([[[0, 0], [1, 0], [0, 1]]], np.float32)
    path = _wedge_ply(tmp_path, positions, np.array([[0, 1, 2]]), uvs, pages=np.array([0]), flags=True)
    primitive = the_primitive(path, root=tmp_path)
    assert primitive.material is not None and primitive.material.base_color_texture is not None
    np.testing.assert_allclose(_corners(primitive), [[0, 0, 0, 0, 1], [1, 0, 0, 1, 1], [0, 1, 0, 0, 0]], atol=1e-6)


def test_a_ply_whose_texture_coordinates_cannot_be_read_says_it_is_built_without_its_texture(tmp_path: Path) -> None:
    # A PLY naming a texture but without coordinates to use it with (or with them in a layout no reader takes) was
    # built untextured without a word.
    Image.new("RGB", (8, 8), (120, 90, 60)).save(tmp_path / "skin.jpg", "JPEG")
    vertex = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0)], dtype=[(k, "<f4") for k in "xyz"])
    header = (b"ply\nformat binary_little_endian 1.0\ncomment TextureFile skin.jpg\nelement vertex 3\n"
              b"property float x\nproperty float y\nproperty float z\nelement face 1\n"
              b"property list uchar int vertex_indices\nend_header\n")
    scene = load_asset(write(tmp_path / "scan.ply", header + vertex.tobytes() + struct.pack("<B3i", 3, 0, 1, 2)),
                       root=tmp_path)
    assert any("names the texture 'skin.jpg', but has no texture coordinates Vitrina reads" in note
               for note in scene.notes)
    textured = _wedge_ply(tmp_path, np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32), np.array([[0, 1, 2]]),
                          np.array([[[0, 0], [1, 0], [0, 1]]], np.float32))
    assert load_asset(textured, root=tmp_path).notes == []


def ascii_twin(binary: Path, sides: int = 3) -> Path:
    """The same PLY written as ASCII (beside it, "ascii-" before its name), every number exactly as stored; its
    faces of `sides` corners each."""
    data = binary.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode()
    types = {"uchar": "u1", "char": "i1", "ushort": "u2", "short": "i2", "uint": "u4", "int": "i4", "float": "f4",
             "double": "f8"}
    elements: list[tuple[int, list[tuple[Any, ...]]]] = []
    for line in header.splitlines():
        words = line.split()
        if words[0] == "element":
            elements.append((int(words[2]), []))
        elif words[0] == "property" and words[1] == "list":
            count = 6 if words[4] == "texcoord" else sides
            elements[-1][1].extend([(f"n{len(elements[-1][1])}", "<" + types[words[2]]),
                                    (words[4], "<" + types[words[3]], (count,))])
        elif words[0] == "property":
            elements[-1][1].append((words[2], "<" + types[words[1]]))
    rows, at = [], end
    for count, fields in elements:
        records = np.frombuffer(data, dtype=np.dtype(fields), count=count, offset=at)
        at += records.nbytes
        for record in records:
            rows.append(" ".join(format(value, ".17g") for field in record
                                 for value in np.atleast_1d(field).tolist()))
    text = header.replace("binary_little_endian", "ascii") + "\n".join(rows) + "\n"
    return write(binary.with_name("ascii-" + binary.name), text)


def split_ascii_ply_rows(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Make every ASCII PLY element of two rows or more parse its second half in a forked process, which writes its
    pid to the file returned (ingest.ply_text_rows_in_two)."""
    from pipeline import forked_half, ingest

    real_child, mark = forked_half._in_child, folder / "child.pid"
    monkeypatch.setattr(ingest, "PLY_SPLIT_ROWS", 2)
    monkeypatch.setattr(forked_half, "_in_child", lambda *args: (mark.write_text(str(os.getpid())),
                                                                 real_child(*args)))
    return mark


@pytest.mark.parametrize("split", [False, True], ids=["one-pass", "halves"])
@pytest.mark.parametrize("kind", ["normals", "colours", "pages"])
def test_an_ascii_ply_reads_as_arrays_as_its_binary_twin_does(tmp_path: Path, kind: str, split: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Scanners and MeshLab also write ASCII PLY: trimesh's reader took 8.7 s and 0.84 GB to build a 1M-triangle
    # one (the binary one: 2.6 s, 0.23 GB). The array reader parses its rows a block at a time as numpy records,
    # a big element's second half in a forked process (numpy's text parser holds the GIL).
    from pipeline import ingest

    rng = np.random.default_rng(11)
    positions = rng.uniform(-1, 1, (12, 3)).astype(np.float32)
    triangles = np.array([[0, 1, 2], [2, 1, 3], [4, 5, 6], [6, 5, 7], [8, 9, 10], [10, 9, 11], [0, 4, 8]])
    if kind == "pages":  # Metashape's: coordinates per corner, a page per face, and MeshLab's values per face
        binary = _wedge_ply(tmp_path, positions, triangles, rng.uniform(0, 1, (7, 3, 2)).astype(np.float32),
                            np.array([0, 1, 0, 1, 1, 0, 0]), ("page0.jpg", "page1.jpg"), flags=True)
    elif kind == "colours":
        vertex = np.zeros(12, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"),
                                     ("blue", "u1"), ("s", "<f4"), ("t", "<f4")])
        for axis, k in enumerate("xyz"):
            vertex[k] = positions[:, axis]
        for k in ("red", "green", "blue", "s", "t"):
            vertex[k] = rng.integers(0, 256, 12) if k in ("red", "green", "blue") else rng.uniform(0, 1, 12)
        faces = np.zeros(7, dtype=[("n", "u1"), ("i", "<u4", (3,))])
        faces["n"], faces["i"] = 3, triangles
        header = ("ply\nformat binary_little_endian 1.0\nelement vertex 12\n"
                  + "".join(f"property {'uchar' if vertex.dtype[k].kind == 'u' else 'float'} {k}\n"
                            for k in vertex.dtype.names or ())
                  + "element face 7\nproperty list uchar uint vertex_indices\nend_header\n")
        binary = write(tmp_path / "scan.ply", header.encode() + vertex.tobytes() + faces.tobytes())
    else:
        binary = write(tmp_path / "scan.ply", binary_ply(positions, rng.uniform(-1, 1, (12, 3)), triangles))
    text = ascii_twin(binary)
    assert b"format ascii 1.0" in text.read_bytes()[:40]
    monkeypatch.setattr(ingest, "PLY_TEXT_BLOCK", 48)  # a few lines a block, a row across two reads
    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", 5)
    from_binary = ingest._read_ply_arrays(binary, tmp_path)
    mark = split_ascii_ply_rows(monkeypatch, tmp_path) if split else None
    from_text = ingest._read_ply_arrays(text, tmp_path)
    assert from_text is not None and from_binary is not None
    if mark is not None:
        assert int(mark.read_text()) != os.getpid()  # a half was parsed in a process of its own
    assert len(from_text) == len(from_binary) == (2 if kind == "pages" else 1)
    for (_, read, material, _), (_, twin, twin_material, _) in zip(from_text, from_binary, strict=True):
        assert sorted(read.attributes) == sorted(twin.attributes)
        assert np.array_equal(read.indices, twin.indices)
        for name, values in twin.attributes.items():
            assert np.array_equal(read.attributes[name], values), name
        assert (material is None) == (twin_material is None)


@pytest.mark.parametrize("sides", [4, 5])
def test_a_ply_of_quads_or_polygons_is_read_as_arrays_in_the_fan_of_each(tmp_path: Path, sides: int,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Blender writes a remeshed scan's quads as they are; the general reader took ~1 GB per million triangles.
    from pipeline import ingest
    from pipeline.spec.measure import measure

    rng = np.random.default_rng(3)
    positions = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
    polygons = np.array([rng.permutation(10)[:sides] for _ in range(6)])
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nproperty float y\n"
              "property float z\nelement face 6\nproperty list uchar int vertex_indices\nproperty uchar flags\n"
              "end_header\n")
    faces = np.zeros(6, dtype=[("n", "u1"), ("i", "<i4", (sides,)), ("flags", "u1")])
    faces["n"], faces["i"], faces["flags"] = sides, polygons, 9
    binary = write(tmp_path / "quads.ply", header.encode() + positions.tobytes() + faces.tobytes())
    fan = [[0, k + 1, k + 2] for k in range(sides - 2)]
    expected = polygons[:, fan].reshape(-1, 3)
    monkeypatch.setattr(ingest, "PLY_BLOCK_ROWS", 4)
    monkeypatch.setattr(ingest, "PLY_TEXT_BLOCK", 40)
    for path in (binary, ascii_twin(binary, sides)):
        read = ingest._read_ply_arrays(path)
        assert read is not None, path.name
        (_, primitive, _, _), = read
        assert np.array_equal(primitive.indices.reshape(-1, 3), expected), path.name
        assert np.array_equal(primitive.attributes["POSITION"], positions)
        # check counts what the build will have: each face cut as the first is, not one triangle a face.
        assert measure(path).triangles == 6 * (sides - 2), path.name
    if sides == 4:  # trimesh cuts quads along the same diagonals
        fast = the_primitive(binary)
        with monkeypatch.context() as general:
            general.setattr(ingest, "_read_ply_arrays", lambda path, root=None: None)
            assert triangle_set(the_primitive(binary)) == triangle_set(fast)
    # Faces of several sizes: binary, a run of faces of one size at a time (Blender writes them so; trimesh cannot
    # read them and called the file cut short); as text, the general reader reads them row by row.
    triangle = np.zeros(1, dtype=[("n", "u1"), ("i", "<i4", (3,)), ("flags", "u1")])
    triangle["n"], triangle["i"] = 3, [[0, 1, 2]]
    for name, first, then in (("mixed", faces, triangle), ("mixed-other-way", triangle, faces)):
        mixed = write(tmp_path / f"{name}.ply", header.replace("face 6", "face 7").encode() + positions.tobytes()
                      + first.tobytes() + then.tobytes())
        (_, primitive, _, _), = ingest._read_ply_arrays(mixed) or [None]
        fans = [expected if part is faces else np.array([[0, 1, 2]]) for part in (first, then)]
        assert np.array_equal(primitive.indices.reshape(-1, 3), np.concatenate(fans)), name
    rows = "".join(" ".join(map(repr, point)) + "\n" for point in positions.tolist())
    rows += "".join(f"{sides} " + " ".join(map(str, polygon)) + " 9\n" for polygon in polygons) + "3 0 1 2 9\n"
    text = write(tmp_path / "mixed-text.ply", header.replace("binary_little_endian", "ascii").replace("face 6", "face 7")
                 + rows)
    read = ingest._read_ply_arrays(text)  # as Blender writes a mesh of both as text (and MeshLab its flags)
    assert read is not None
    (_, primitive, _, _), = read
    assert np.array_equal(primitive.indices.reshape(-1, 3), np.concatenate([expected, [[0, 1, 2]]]))
    assert the_primitive(text).triangle_count == 6 * (sides - 2) + 1
    assert measure(text).triangles == 6 * (sides - 2) + 1  # each row by its own count, not by the first's
    indented = write(tmp_path / "indented.ply", text.read_text().replace("\n3 0 1 2 9", "\n 3 0 1 2 9"))
    assert measure(indented).triangles == 7 * (sides - 2)  # unread rows: counted as the first face is


def test_a_binary_ply_of_faces_of_several_sizes_is_read_with_no_loop_per_face(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blender writes a mesh's triangles, quads and n-gons as they are. Each face's size says where the next one
    starts; here runs of every length, cut across reads of every size."""
    from pipeline import ingest
    from pipeline.spec.measure import measure

    rng = np.random.default_rng(11)
    positions = rng.uniform(-1, 1, (40, 3)).astype("<f4")
    sizes = np.repeat(rng.integers(3, 7, 60), rng.integers(1, 9, 60))  # runs of 1 to 8 faces of 3 to 6 corners
    polygons = [rng.permutation(40)[:size] for size in sizes.tolist()]
    body = b"".join(struct.pack(f"<B{len(p)}iB", len(p), *p.tolist(), 7) for p in polygons)
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex 40\nproperty float x\nproperty float y\n"
              f"property float z\nelement face {len(polygons)}\nproperty list uchar int vertex_indices\n"
              "property uchar flags\nend_header\n").encode()
    path = write(tmp_path / "blender.ply", header + positions.tobytes() + body)
    expected = np.array([[p[0], p[k + 1], p[k + 2]] for p in polygons for k in range(len(p) - 2)])
    for chunk in (1 << 18, 33, 7):  # reads smaller than a record: records cut across reads, reads with none whole
        monkeypatch.setattr(ingest, "POLYGON_CHUNK", chunk)
        (_, primitive, _, _), = ingest._read_ply_arrays(path) or [None]
        assert primitive.indices.dtype == np.uint32
        assert np.array_equal(primitive.indices.reshape(-1, 3), expected), chunk
        assert np.array_equal(primitive.attributes["POSITION"], positions)
    assert measure(path).triangles == len(expected)  # check counts them from the faces' length, unread
    # The same faces written as text, read in blocks that cut rows: each row's size from its words, no loop a face.
    text_rows = "".join(" ".join(format(v, ".9g") for v in point) + "\n" for point in positions.tolist())
    text_rows += "".join(f"{len(p)} " + " ".join(map(str, p.tolist())) + " 7\n" for p in polygons)
    text = write(tmp_path / "blender-text.ply", header.decode().replace("binary_little_endian", "ascii") + text_rows)
    for block in (1 << 22, 50, 13):
        monkeypatch.setattr(ingest, "PLY_TEXT_BLOCK", block)
        (_, primitive, _, _), = ingest._read_ply_arrays(text) or [None]
        assert np.array_equal(primitive.indices.reshape(-1, 3), expected), block
        assert np.array_equal(primitive.attributes["POSITION"], positions)
    expect_asset_error(write(tmp_path / "cut.ply", header + positions.tobytes() + body[:-3]),
                       "shorter or longer than its header says")
    broken = bytearray(body)
    broken[len(body) - (4 * len(polygons[-1]) + 2)] = 2  # the last face says it has two corners
    expect_asset_error(write(tmp_path / "two.ply", header + positions.tobytes() + bytes(broken)),
                       f"face {len(polygons) - 1} has 2 corners")
    outside = b"".join(struct.pack(f"<B{len(p)}iB", len(p), *(p if i else p + 40).tolist(), 7)
                       for i, p in enumerate(polygons))
    expect_asset_error(write(tmp_path / "outside.ply", header + positions.tobytes() + outside),
                       "faces index vertices that do not exist")
    # A count written as a float: taken as the first face's size, or refused, never a crash.
    floating = b"".join(struct.pack(f"<f{len(p)}iB", len(p), *p.tolist(), 7) for p in polygons)
    expect_asset_error(write(tmp_path / "float.ply", header.replace(b"list uchar int", b"list float int")
                             + positions.tobytes() + floating), "several numbers of corners")
    # Texture coordinates per corner as a second list: its records cannot be found so, and the error says how to
    # export the file.
    wedged = header.replace(b"property uchar flags\n", b"property list uchar float texcoord\n")
    corners = b"".join(struct.pack(f"<B{len(p)}iB{2 * len(p)}f", len(p), *p.tolist(), 2 * len(p), *[0.5] * 2 * len(p))
                       for p in polygons)
    expect_asset_error(write(tmp_path / "wedged.ply", wedged + positions.tobytes() + corners),
                       "several numbers of corners")


@pytest.mark.parametrize("split", [False, True], ids=["one-pass", "halves"])
def test_an_ascii_ply_that_is_not_as_its_header_says(tmp_path: Path, split: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # In halves, the second half's problems (the word in the last face, the rows cut short) are found in the forked
    # process and said as one pass says them.
    head = ("ply\nformat ascii 1.0\ncomment TextureFile skin.jpg\nelement vertex 4\nproperty float x\n"
            "property float y\nproperty float z\nelement face 2\nproperty list uchar int vertex_indices\n")
    rows = "0 0 0\n1 0 0\n0 1 0\n1 1 0\n"
    from pipeline import ingest

    mark = split_ascii_ply_rows(monkeypatch, tmp_path) if split else None

    # A quad beside a triangle, as Blender writes a mesh of both as text: read as arrays, in the fan of each.
    quad = write(tmp_path / "quad.ply", head + "end_header\n" + rows + "4 0 1 3 2\n3 0 1 2\n")
    read = ingest._read_ply_arrays(quad)
    assert read is not None and read[0][1].indices.tolist() == [0, 1, 3, 0, 3, 2, 0, 1, 2]
    assert the_primitive(quad).triangle_count == 3
    # A blank row among them, or a count that is not the row's: the general reader reads the rows one by one.
    for odd in ("4 0 1 3 2\n\n3 0 1 2\n", "4 0 1 3 2\n4 0 1 2\n", "4 0 1 3 2 7\n3 0 1 2\n"):
        assert ingest._read_ply_arrays(write(tmp_path / "odd.ply", head + "end_header\n" + rows + odd)) is None
    # A quad beside texture coordinates per corner, which trimesh's ASCII reader cannot read: said in plain words.
    wedges = write(tmp_path / "wedges.ply", head + "property list uchar float texcoord\nend_header\n" + rows
                   + "4 0 1 3 2 8 0 0 1 0 1 1 0 1\n3 0 1 2 6 0 0 1 0 0 1\n")
    expect_asset_error(wedges, "export it as binary PLY")
    # Cut short, whether within the vertices or the faces.
    for cut in (rows + "3 0 1 2\n", "0 0 0\n1 0 0\n"):
        expect_asset_error(write(tmp_path / "cut.ply", head + "end_header\n" + cut),
                           "the file ends before its header says it does")
    # A header that claims a trillion faces is refused before any array is made for them.
    claims = write(tmp_path / "claims.ply", head.replace("element face 2", "element face 1000000000000")
                   + "end_header\n" + rows + "3 0 1 2\n")
    expect_asset_error(claims, "the file ends before its header says it does")
    # A word that is not a number of its property's type, named (the general reader said "string or file could
    # not be read to its end due to unmatched data").
    expect_asset_error(write(tmp_path / "word.ply", head + "end_header\n" + rows + "3 0 1 2\n3 0 1.5 2\n"),
                       "'1.5' is not a number of the type its header gives (int32)")
    if mark is not None:
        assert int(mark.read_text()) != os.getpid()
        # A forked half that dies before it answers (killed, out of memory) is parsed here instead.
        from pipeline import forked_half

        monkeypatch.setattr(forked_half, "_in_child", lambda *args: os._exit(3))
        whole = write(tmp_path / "whole.ply", head + "end_header\n" + rows + "3 0 1 2\n3 2 1 3\n")
        read = ingest._read_ply_arrays(whole)
        assert read is not None
        assert read[0][1].indices.tolist() == [0, 1, 2, 2, 1, 3]
        np.testing.assert_array_equal(read[0][1].attributes["POSITION"], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])


@pytest.mark.parametrize("name", ["tri.ply", "tri.stl"])
def test_a_mesh_without_a_material_gets_a_white_dielectric(tmp_path: Path, name: str) -> None:
    """glTF's default material is fully metallic and renders black; vertex colours must show as they are."""
    if name.endswith(".ply"):
        data: bytes | str = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                             "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
                             "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
                             "0 0 0 255 0 0\n1 0 0 0 255 0\n0 1 0 0 0 255\n3 0 1 2\n")
    else:
        data = binary_stl(np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], np.float32))
    material = the_primitive(write(tmp_path / name, data)).material
    assert material is not None
    assert material.metallic_factor == 0.0
    assert material.base_color_factor == (1.0, 1.0, 1.0, 1.0)
    assert material.base_color_texture is None


def test_a_scanners_ply_binary_or_ascii_a_binary_stl_and_a_plain_obj_are_read_without_importing_trimesh(
        tmp_path: Path) -> None:
    # The array readers take them; trimesh (0.46 s and ~50 MB with what it pulls in) is for the general reader only.
    import subprocess
    import sys

    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float32)
    normals = np.tile(np.array([[0, 0, 1]], dtype=np.float32), (4, 1))
    (tmp_path / "scan.ply").write_bytes(binary_ply(positions, normals, np.array([[0, 1, 2], [1, 3, 2]])))
    ascii_twin(tmp_path / "scan.ply")
    (tmp_path / "scan.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n")
    (tmp_path / "scan.stl").write_bytes(binary_stl(positions[[[0, 1, 2], [1, 3, 2]]]))
    script = ("import sys\nfrom pathlib import Path\nfrom pipeline.ingest import load_asset\n"
              "for name in sys.argv[1:]:\n"
              "    assert load_asset(Path(name)).meshes()[0].primitives[0].triangle_count == 2\n"
              "print('trimesh' in sys.modules)\n")
    shown = subprocess.run([sys.executable, "-c", script, str(tmp_path / "scan.ply"), str(tmp_path / "ascii-scan.ply"),
                            str(tmp_path / "scan.obj"), str(tmp_path / "scan.stl")],
                           capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert shown.stdout.strip() == "False"
