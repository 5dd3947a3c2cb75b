"""Read 3D assets (glTF, GLB, OBJ, PLY, STL; Draco input too) into the scene IR, failing loudly on bad input.

glTF and GLB are read by `pipeline.gltf.read_gltf` from their JSON and binary chunks directly rather than
through trimesh, because trimesh drops what an exhibit must keep: KHR_materials_* extensions,
KHR_texture_transform, animations, skins, morph targets, lights and the original encoded texture bytes (Draco
input included, through pipeline/gltf/extensions). OBJ, PLY and STL go through trimesh; their textures are read
from disk as the original bytes (never re-encoded), and PLY triangle strips, which trimesh reads as a point cloud,
are converted here.

Every IR attribute is float32 except JOINTS_n (integers, as glTF requires): normalized or quantized input is
dequantized on the way in, so that transforms start from one representation. Indices are uint32.

Units and up axis are normalized on the way in: the IR is glTF convention (+Y up, metres). For glTF input
the conversion is applied to the TRS of each root node (and to root animation channels), which keeps node
names, skins and animations intact; for OBJ, PLY and STL it is baked into positions and normals.
"""

from __future__ import annotations

import dataclasses
import io
import math
import multiprocessing
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import progress
from pipeline.asset_files import confine, make_texture
from pipeline.columns import column_range
from pipeline.errors import AssetError
from pipeline.gltf import read_gltf, strip_to_triangles
from pipeline.scene import (
    Material,
    Mesh,
    Node,
    Primitive,
    Scene,
    Texture,
    TextureRef,
    node_matrix,
    quaternion_matrix,
    texture_refs,
)
from pipeline.spec.model import UNIT_METRES

SUPPORTED_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")


# Quaternion (x, y, z, w) that turns the named up axis into +Y, right-handed.
_H = math.sqrt(0.5)
UP_ROTATIONS: dict[str, tuple[float, float, float, float]] = {
    "y": (0.0, 0.0, 0.0, 1.0),
    "-y": (1.0, 0.0, 0.0, 0.0),
    "z": (-_H, 0.0, 0.0, _H),
    "-z": (_H, 0.0, 0.0, _H),
    "x": (0.0, 0.0, _H, _H),
    "-x": (0.0, 0.0, -_H, _H),
}

# -- public API ------------------------------------------------------------------------------------------


def load_asset(path: Path, *, units: str | float = "m", up: str = "y", root: Path | None = None) -> Scene:
    """Read one asset file into a Scene in glTF convention (+Y up, metres).

    path: a .glb, .gltf, .obj, .ply or .stl file. Relative resources (buffers, images, MTL files and their
      textures) are resolved next to it; URL-encoded names and names with spaces both work.
    units: the unit of the file's coordinates, "m", "cm", "mm", "in" or "ft", or metres per unit as a number.
    up: the file's up axis, "y", "z" or "x", optionally negated ("-z").
    root: when given, every file the asset refers to (buffers, images, MTL libraries and their textures) must
      lie inside this folder, so an exhibit never reads outside its own folder; others are refused.

    Raises AssetError(path, cause) for anything unusable: unsupported or corrupt files, missing buffers or
    textures, and assets with no triangles at all. It never returns an empty scene.
    """
    path = Path(path)
    scale = unit_scale(path, units)
    rotation = up_rotation(path, up)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise AssetError(str(path), f"unsupported file type '{path.suffix or '(none)'}'; "
                                    f"Vitrina reads {', '.join(SUPPORTED_SUFFIXES)}")
    if not path.is_file():
        raise AssetError(str(path), "file not found")
    if suffix in (".glb", ".gltf"):
        scene = read_gltf(path, root)
        _convert_roots(scene, scale, rotation)
    else:
        scene = _read_with_trimesh(path, suffix, root)
        _bake(scene, scale, rotation)
    if not any(p.triangle_count for m in scene.meshes() for p in m.primitives):
        raise AssetError(str(path), "no triangles after loading (points or lines only, or an empty file)")
    plain: Material | None = None
    repaired = total = 0
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            repaired += _normalize_normals(primitive)
            total += len(primitive.attributes.get("NORMAL", ()))
            _check_texture_coordinates(path, mesh, primitive)
            if primitive.material is None:
                plain = plain or default_material()
                primitive.material = plain
    if repaired:
        scene.notes.append(f"{path.name}: {repaired:,} of {total:,} normals were zero-length or not numbers; "
                           "recomputed them from the faces around their vertices")
    return scene


def default_material() -> Material:
    """What a mesh without a material (a vertex-coloured PLY, an STL) is given: glTF's own default is fully
    metallic, which renders black without an environment map. A white dielectric shows vertex colours as they are."""
    return Material(name="vitrina-default", base_color_factor=(1.0, 1.0, 1.0, 1.0), metallic_factor=0.0,
                    roughness_factor=0.7)


def _check_texture_coordinates(path: Path, mesh: Mesh, primitive: Primitive) -> None:
    """A texture on a mesh without the UV set it samples cannot be drawn (and is invalid glTF)."""
    if primitive.material is None:
        return
    for ref in texture_refs(primitive.material):
        # KHR_texture_transform may switch the UV set.
        uv_set = int((ref.transform or {}).get("texCoord", ref.texcoord))
        if f"TEXCOORD_{uv_set}" not in primitive.attributes:
            raise AssetError(str(path), f"material '{primitive.material.name}' of mesh '{mesh.name}' uses texture "
                                        f"'{ref.texture.name}', but the mesh has no texture coordinates "
                                        f"(TEXCOORD_{uv_set}) to place it")


def _normalize_normals(primitive: Primitive) -> int:
    """Unit-length normals, as glTF requires; scans often store unnormalized ones. A normal that is zero-length or
    not a number is recomputed from the faces around its vertex (area-weighted), so a few bad ones never cost
    the whole attribute; returns how many were. Only when no normal is usable is the attribute dropped (the
    viewer then computes flat normals)."""
    normals = primitive.attributes.get("NORMAL")
    if normals is None or normals.dtype.kind != "f":
        return 0
    normals = np.asarray(normals, dtype=np.float32)
    # einsum rather than np.linalg.norm, whose reduction over three components per row took 0.11 s for 2M normals.
    with np.errstate(over="ignore", invalid="ignore"):
        lengths = np.sqrt(np.einsum("ij,ij->i", normals, normals))
    bad = ~np.isfinite(lengths) | (lengths < 1e-12)
    count = int(np.count_nonzero(bad))
    if count == len(normals):
        del primitive.attributes["NORMAL"]
        primitive.attributes.pop("TANGENT", None)
        return 0
    if not count and np.all(np.abs(lengths - 1.0) < 1e-4):
        return 0
    fixed = normals / np.where(bad, 1.0, lengths)[:, None]
    if count:
        fixed[bad] = _face_normals_at(primitive, bad)
    primitive.attributes["NORMAL"] = fixed.astype(np.float32)
    return count


def _face_normals_at(primitive: Primitive, wanted: np.ndarray) -> np.ndarray:
    """Unit area-weighted normals of the faces around each vertex where `wanted` is true ((0, 1, 0) where no
    face with an area touches it), computed from just those faces."""
    positions = primitive.attributes["POSITION"]
    indices = primitive.indices if primitive.indices is not None else np.arange(len(positions) - len(positions) % 3)
    triangles = np.asarray(indices).reshape(-1, 3) if primitive.mode == 4 else np.zeros((0, 3), np.uint32)
    # Only the faces at a wanted vertex, so a scan with two bad normals costs a mask, not float64 copies of it.
    around = triangles[wanted[triangles].any(axis=1)].astype(np.int64)
    corners = np.asarray(positions[around], dtype=np.float64)
    faces = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    vertices, local = np.unique(around.reshape(-1), return_inverse=True)
    sums = np.stack([np.bincount(local, weights=np.repeat(faces[:, axis], 3), minlength=len(vertices))
                     for axis in range(3)], axis=1) if len(vertices) else np.zeros((0, 3))
    targets = np.flatnonzero(wanted)
    slot = np.minimum(np.searchsorted(vertices, targets), max(len(vertices) - 1, 0))
    found = (slot < len(vertices)) & (vertices[slot] == targets) if len(vertices) else np.zeros(len(targets), bool)
    chosen = np.zeros((len(targets), 3))
    chosen[found] = sums[slot[found]]
    lengths = np.linalg.norm(chosen, axis=1, keepdims=True)
    return np.where(lengths > 0, chosen / np.where(lengths > 0, lengths, 1.0), [0.0, 1.0, 0.0])


@dataclass
class AssetStats:
    """What an asset holds, for reports: counts, world bounds (metres, +Y up) and texture sizes."""

    triangles: int = 0
    vertices: int = 0
    meshes: int = 0
    materials: int = 0
    nodes: int = 0
    animations: int = 0
    bounds_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bounds_max: tuple[float, float, float] = (0.0, 0.0, 0.0)
    textures: list[tuple[str, int, int, int]] = field(default_factory=list)  # name, width, height, bytes


def scene_stats(scene: Scene) -> AssetStats:
    """Counts, world-space bounds and texture sizes of a scene (instancing is counted once per mesh)."""
    stats = AssetStats(nodes=len(scene.all_nodes()), animations=len(scene.animations))
    materials: dict[int, Material] = {}
    textures: dict[int, Texture] = {}
    for mesh in scene.meshes():
        stats.meshes += 1
        for primitive in mesh.primitives:
            stats.triangles += primitive.triangle_count
            stats.vertices += primitive.vertex_count
            if primitive.material is not None:
                materials[id(primitive.material)] = primitive.material
    for material in materials.values():
        for ref in texture_refs(material):
            textures[id(ref.texture)] = ref.texture
    stats.materials = len(materials)
    stats.textures = [(t.name, t.width, t.height, len(t.data)) for t in textures.values()]
    low, high = scene_bounds(scene)
    stats.bounds_min, stats.bounds_max = low, high
    return stats


def probe_asset(path: Path, *, units: str | float = "m", up: str = "y") -> AssetStats:
    """Load an asset and summarize it (see scene_stats)."""
    return scene_stats(load_asset(path, units=units, up=up))


def scene_bounds(scene: Scene) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """World-space axis-aligned bounds of every mesh's POSITION, with node transforms applied."""
    low = np.full(3, np.inf)
    high = np.full(3, -np.inf)

    def visit(node: Node, parent: np.ndarray) -> None:
        nonlocal low, high
        world = parent @ node_matrix(node)
        if node.mesh is not None:
            for primitive in node.mesh.primitives:
                points = primitive.attributes["POSITION"]
                if len(points) == 0:
                    continue
                least, most = (bound.astype(np.float64) for bound in column_range(points))
                corners = np.array([[x, y, z, 1.0] for x in (least[0], most[0]) for y in (least[1], most[1])
                                    for z in (least[2], most[2])])
                placed = (world @ corners.T).T[:, :3]
                low = np.minimum(low, placed.min(axis=0))
                high = np.maximum(high, placed.max(axis=0))
        for child in node.children:
            visit(child, world)

    for root in scene.nodes:
        visit(root, np.eye(4))
    if not np.all(np.isfinite(low)):
        return (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    return (float(low[0]), float(low[1]), float(low[2])), (float(high[0]), float(high[1]), float(high[2]))


def unit_scale(path: Path, units: str | float) -> float:
    """Metres per unit for a unit name or number; AssetError for anything else."""
    if isinstance(units, int | float) and not isinstance(units, bool):
        if math.isfinite(units) and units > 0:
            return float(units)
        raise AssetError(str(path), f"units must be a positive number, not {units}")
    if isinstance(units, str) and units.lower() in UNIT_METRES:
        return UNIT_METRES[units.lower()]
    raise AssetError(str(path), f"unknown units '{units}'; use one of {', '.join(UNIT_METRES)} or a number")


def up_rotation(path: Path, up: str) -> tuple[float, float, float, float]:
    key = str(up).lower().lstrip("+")
    if key not in UP_ROTATIONS:
        raise AssetError(str(path), f"unknown up axis '{up}'; use y, z or x, optionally with a minus sign")
    return UP_ROTATIONS[key]


# -- small maths ---------------------------------------------------------------------------------------


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a*b for (…, 4) arrays in x, y, z, w order."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz], axis=-1)


# -- unit and axis conversion --------------------------------------------------------------------------


def _convert_roots(scene: Scene, scale: float, rotation: tuple[float, float, float, float]) -> None:
    """Apply C = scale·R to each root: a uniform scale commutes with rotations, so C·TRS stays a TRS."""
    if scale == 1.0 and rotation == UP_ROTATIONS["y"]:
        return
    r_matrix = quaternion_matrix(rotation)
    r_quat = np.asarray(rotation, dtype=np.float64)
    roots = {id(root) for root in scene.nodes}
    for root in scene.nodes:
        t = scale * (r_matrix @ np.asarray(root.translation, dtype=np.float64))
        q = quat_multiply(r_quat, np.asarray(root.rotation, dtype=np.float64))
        root.translation = (float(t[0]), float(t[1]), float(t[2]))
        root.rotation = (float(q[0]), float(q[1]), float(q[2]), float(q[3]))
        root.scale = (root.scale[0] * scale, root.scale[1] * scale, root.scale[2] * scale)
    converted: set[int] = set()
    for animation in scene.animations:
        for channel in animation.channels:
            sampler = channel.sampler
            if id(channel.node) not in roots or id(sampler) in converted:
                continue
            converted.add(id(sampler))
            out = np.asarray(sampler.output, dtype=np.float64)
            if channel.path == "translation":
                sampler.output = (scale * out @ r_matrix.T).astype(np.float32)
            elif channel.path == "rotation":
                sampler.output = quat_multiply(np.broadcast_to(r_quat, out.shape), out).astype(np.float32)
            elif channel.path == "scale":
                sampler.output = (out * scale).astype(np.float32)


def _bake(scene: Scene, scale: float, rotation: tuple[float, float, float, float]) -> None:
    if scale == 1.0 and rotation == UP_ROTATIONS["y"]:
        return
    r_matrix = quaternion_matrix(rotation)
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            attributes = primitive.attributes
            attributes["POSITION"] = (scale * attributes["POSITION"] @ r_matrix.T).astype(np.float32)
            if "NORMAL" in attributes:
                attributes["NORMAL"] = (attributes["NORMAL"] @ r_matrix.T).astype(np.float32)


# -- OBJ, PLY, STL through trimesh ----------------------------------------------------------------------


# What a trimesh-based reader returns per mesh: node name, trimesh geometry (or a Primitive its own array reader
# made), material, whether the file had normals.
_Part = tuple[str, Any, Material | None, bool]


def _read_with_trimesh(path: Path, suffix: str, root: Path | None) -> Scene:
    readers: dict[str, Callable[[Path], list[_Part]]] = {
        ".obj": lambda p: _read_obj(p, root), ".ply": lambda p: _read_ply(p, root), ".stl": _read_stl}
    try:
        parts = readers[suffix](path)
    except AssetError:
        raise
    except OSError as error:
        raise AssetError(str(path), f"cannot be read: {error.strerror or 'input/output error'}") from None
    except (ValueError, IndexError, KeyError, TypeError, struct.error, UnicodeDecodeError,
            AttributeError, EOFError) as error:
        raise AssetError(str(path), f"cannot read this {suffix[1:].upper()} file: {_describe(error)}") from None
    named = []
    for name, geometry, material, normals_given in parts:
        primitive = (geometry if isinstance(geometry, Primitive)
                     else _trimesh_primitive(geometry, material, normals_given))
        if primitive is not None:
            named.append((name, primitive))
    if not named:
        raise AssetError(str(path), "no triangles after loading (points or lines only, or an empty file)")
    if suffix == ".obj" and len(named) > 1:
        # An OBJ's materials (a scan's texture pages) are one surface: one mesh with a primitive each, as glTF
        # writes it, so the ladder simplifies them as one and their borders never open.
        return Scene(name=path.stem, nodes=[Node(name=path.stem, mesh=Mesh(name=path.stem,
                                                                             primitives=[p for _, p in named]))])
    return Scene(name=path.stem, nodes=[Node(name=name, mesh=Mesh(name=name, primitives=[primitive]))
                                        for name, primitive in named])


# Parser messages that say too little on their own, and what they mean for a user.
_PLAIN_CAUSES = {
    "PLY is unexpected length!": "the file is shorter or longer than its header says (truncated or corrupt)",
}


def _describe(error: BaseException) -> str:
    """A one-line cause for a parser's exception, never a Python repr."""
    if isinstance(error, struct.error | EOFError):
        return "the file ends early or its binary layout is corrupt"
    text = str(error).strip()
    if text in _PLAIN_CAUSES:
        return _PLAIN_CAUSES[text]
    if not text or text.startswith(("(", "[", "<", "{")) or "object" in text:
        return f"{type(error).__name__} while parsing (truncated or corrupt file?)"
    return text.splitlines()[0][:200]


def _trimesh_primitive(geometry: Any, material: Material | None, normals_given: bool) -> Primitive | None:
    import trimesh

    if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
        return None
    vertices = np.asarray(geometry.vertices, dtype=np.float32)
    if not np.all(np.isfinite(vertices)):
        raise ValueError("vertex positions contain NaN or infinity")
    attributes: dict[str, np.ndarray] = {"POSITION": vertices}
    # Normals only when the file had them: trimesh would otherwise compute them and silently smooth facets.
    if normals_given:
        attributes["NORMAL"] = np.asarray(geometry.vertex_normals, dtype=np.float32)
    visual: Any = geometry.visual
    uv = getattr(visual, "uv", None)
    if uv is not None and len(uv) == len(vertices):
        texcoord = np.asarray(uv, dtype=np.float32).copy()
        texcoord[:, 1] = 1.0 - texcoord[:, 1]  # OBJ and PLY put v=0 at the bottom; glTF at the top
        attributes["TEXCOORD_0"] = texcoord
    if getattr(visual, "kind", None) == "vertex":
        colors = np.asarray(visual.vertex_colors)
        if len(colors) == len(vertices) and not np.all(colors == colors[0]):
            attributes["COLOR_0"] = (colors.astype(np.float32) / 255.0)
            if np.all(colors[:, 3] == 255):
                attributes["COLOR_0"] = attributes["COLOR_0"][:, :3].copy()
    indices = np.asarray(geometry.faces, dtype=np.uint32).reshape(-1)
    return Primitive(attributes=attributes, indices=indices, material=material)


def _read_stl(path: Path) -> list[_Part]:
    import trimesh

    raw = path.read_bytes()
    if len(raw) >= 84 and raw[:5].lower() != b"solid":
        declared = struct.unpack_from("<I", raw, 80)[0]
        if 84 + declared * 50 > len(raw):
            raise AssetError(str(path), f"truncated binary STL: {declared} triangles declared, "
                                        f"{(len(raw) - 84) // 50} present")
    mesh = trimesh.load(path, file_type="stl", process=False, force="mesh")
    return [(path.stem, mesh, None, False)]  # STL normals are per facet: flat shading needs none


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_PLY_UV = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"))


def _ply_layout(path: Path) -> tuple[int, str, list[tuple[str, int, list[list[str]]]], str] | None:
    """(header bytes, byte order, [(element, count, property lines)], texture file named by a 'comment
    TextureFile' line or "") of a binary PLY, or None for ASCII ones and headers this does not understand (the
    general reader takes those)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return None
    newline = head.find(b"\n", end)
    if newline < 0:
        return None
    lines = head[:end].decode("latin-1").splitlines()
    order = texture = ""
    elements: list[tuple[str, int, list[list[str]]]] = []
    for line in lines[1:]:
        words = line.split()
        if len(words) >= 3 and words[0] == "comment" and words[1].lower() == "texturefile":
            texture = line.split(None, 2)[2].strip()  # RealityCapture, Metashape and MeshLab name it so
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) >= 2:
            order = {"binary_little_endian": "<", "binary_big_endian": ">"}.get(words[1], "")
        elif words[0] == "element" and len(words) == 3 and words[2].isdigit():
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property" and elements:
            elements[-1][2].append(words[1:])
        else:
            return None
    return (newline + 1, order, elements, texture) if order else None


def _read_ply_arrays(path: Path, root: Path | None = None) -> list[_Part] | None:
    """A binary PLY of vertices with scalar properties and triangle faces, read straight into numpy arrays
    (block by block into the final float32/uint32 arrays, no loop per vertex or face): what scanners write. None when the file is anything else
    (ASCII, polygons, strips, extra face properties), which the general reader then takes."""
    layout = _ply_layout(path)
    if layout is None:
        return None
    start, order, elements, texture_file = layout
    if [name for name, _, _ in elements] != ["vertex", "face"]:
        return None
    (_, vertex_count, vertex_props), (_, face_count, face_props) = elements
    if any(len(p) != 2 or p[0] not in _PLY_TYPES for p in vertex_props) or len(face_props) != 1:
        return None
    face = face_props[0]
    if len(face) != 4 or face[0] != "list" or face[1] not in _PLY_TYPES or face[2] not in _PLY_TYPES:
        return None
    vertex_type = np.dtype([(name, order + _PLY_TYPES[kind]) for kind, name in vertex_props])
    face_type = np.dtype([("count", order + _PLY_TYPES[face[1]]), ("index", order + _PLY_TYPES[face[2]], (3,))])
    expected = start + vertex_count * vertex_type.itemsize + face_count * face_type.itemsize
    if path.stat().st_size < expected:
        raise AssetError(str(path), _PLAIN_CAUSES["PLY is unexpected length!"])
    names = set(vertex_type.names or ())
    if not {"x", "y", "z"} <= names or not face_count:
        return None
    indices = np.empty(face_count * 3, dtype=np.uint32)
    lowest, highest = 0, -1
    for first, block in _ply_blocks(path, start + vertex_count * vertex_type.itemsize, face_type, face_count):
        if not np.all(block["count"] == 3):
            return None  # polygons: the general reader triangulates them
        if len(block):
            lowest = min(lowest, int(block["index"].min()))
            highest = max(highest, int(block["index"].max()))
        indices[3 * first: 3 * (first + len(block))] = block["index"].reshape(-1)
    if lowest < 0 or highest >= vertex_count:
        raise AssetError(str(path), "faces index vertices that do not exist (corrupt or truncated file?)")
    uv = next(((u, v) for u, v in _PLY_UV if {u, v} <= names), None)
    channels = (["red", "green", "blue", *(["alpha"] if "alpha" in names else [])]
                if {"red", "green", "blue"} <= names else [])
    # Every attribute is filled block by block into its final float32 array, so the file's vertex block is never
    # held whole beside them (the ladder gets these arrays as they are).
    columns: dict[str, tuple[str, ...]] = {"POSITION": ("x", "y", "z")}
    if {"nx", "ny", "nz"} <= names:
        columns["NORMAL"] = ("nx", "ny", "nz")
    if uv is not None:
        columns["TEXCOORD_0"] = uv
    attributes = {name: np.empty((vertex_count, len(keys)), dtype=np.float32) for name, keys in columns.items()}
    colours = (np.empty((vertex_count, len(channels)),
                        dtype=np.result_type(*(vertex_type[c] for c in channels)).newbyteorder("="))
               if channels else None)
    for first, block in _ply_blocks(path, start, vertex_type, vertex_count):
        rows = slice(first, first + len(block))
        for name, keys in columns.items():
            for axis, key in enumerate(keys):
                attributes[name][rows, axis] = block[key]
        if colours is not None:
            for axis, key in enumerate(channels):
                colours[rows, axis] = block[key]
    if not np.all(np.isfinite(attributes["POSITION"])):
        raise ValueError("vertex positions contain NaN or infinity")
    if "TEXCOORD_0" in attributes:
        texcoords = attributes["TEXCOORD_0"]
        np.subtract(np.float32(1.0), texcoords[:, 1], out=texcoords[:, 1])  # v up → down
    if colours is not None and len(colours) and not np.all(colours == colours[0]):
        scale = 255.0 if colours.dtype.kind in "iu" else 1.0
        if colours.shape[1] == 4 and np.all(colours[:, 3] == scale):
            colours = colours[:, :3]
        attributes["COLOR_0"] = colours.astype(np.float32) / np.float32(scale)
    del colours
    material = None
    if texture_file and "TEXCOORD_0" in attributes:
        name = texture_file.replace("\\", "/")
        target = path.parent / name
        confine(path, target, root, f"texture '{name}'")
        if not target.is_file():
            raise AssetError(str(path), f"the PLY names texture '{name}', which is missing (looked for {target})")
        texture = make_texture(path, target.read_bytes(), Path(name).stem, None, str(target))
        material = Material(name=path.stem, base_color_texture=TextureRef(texture=texture), metallic_factor=0.0)
    primitive = Primitive(attributes=attributes, indices=indices, material=material)
    return [(path.stem, primitive, material, "NORMAL" in attributes)]


# Vertices or faces read from a binary PLY at a time: a few MB of the file in memory, however big the scan.
PLY_BLOCK_ROWS = 1 << 18


def _ply_blocks(path: Path, offset: int, dtype: np.dtype[Any], count: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of a binary PLY element, PLY_BLOCK_ROWS at a time."""
    with path.open("rb") as handle:
        handle.seek(offset)
        for first in range(0, count, PLY_BLOCK_ROWS):
            rows = min(PLY_BLOCK_ROWS, count - first)
            block = np.fromfile(handle, dtype=dtype, count=rows)
            if len(block) != rows:
                raise ValueError("the file ends before its header says it does")
            yield first, block


def _read_ply(path: Path, root: Path | None = None) -> list[_Part]:
    fast = _read_ply_arrays(path, root)
    if fast is not None:
        return fast
    # Only for the general reader: importing trimesh took 0.46 s and ~50 MB that a scanner's PLY never needs.
    import trimesh
    from trimesh.exchange import ply

    with path.open("rb") as handle:
        try:
            elements, is_ascii, _ = ply._parse_header(handle)
        except (ValueError, KeyError, IndexError) as error:
            raise AssetError(str(path), f"corrupt PLY header ({_describe(error)})") from None
        if is_ascii:
            ply._ply_ascii(elements, handle)
        else:
            ply._ply_binary(elements, handle)
    strips = elements.get("tristrips")
    if strips is not None and "face" not in elements:
        # trimesh 5.2 reads tristrips as a point cloud; decode them ourselves (restart index -1).
        data = strips["data"]
        field_name = data.dtype.names[0] if data.dtype.names else None
        rows = data[field_name] if field_name else data
        chunks = []
        for row in np.atleast_1d(rows):
            values = row[1] if isinstance(row, np.void) and len(row.dtype.names or ()) == 2 else row
            chunks.append(np.asarray(values, dtype=np.int64).reshape(-1))
            chunks.append(np.array([-1], dtype=np.int64))
        faces = strip_to_triangles(np.concatenate(chunks) if chunks else np.zeros(0)).reshape(-1, 3)
        kwargs = ply._elements_to_kwargs(elements, fix_texture=False, image=None)
        vertices = kwargs["vertices"]
        if len(faces) and int(faces.max()) >= len(vertices):
            raise AssetError(str(path), "triangle strips index vertices that do not exist")
        mesh = trimesh.Trimesh(vertices=vertices, faces=faces, vertex_normals=kwargs.get("vertex_normals"),
                               vertex_colors=kwargs.get("vertex_colors"), process=False)
        return [(path.stem, mesh, None, kwargs.get("vertex_normals") is not None)]
    kwargs = ply._elements_to_kwargs(elements, fix_texture=True, image=None)
    if kwargs.get("faces") is None or len(kwargs["faces"]) == 0:
        raise AssetError(str(path), "no triangles after loading: the PLY has vertices but no faces or strips")
    if len(kwargs["faces"]) and int(np.max(kwargs["faces"])) >= len(kwargs["vertices"]):
        raise AssetError(str(path), "faces index vertices that do not exist (corrupt or truncated file?)")
    mesh = trimesh.Trimesh(**kwargs, process=False)
    return [(path.stem, mesh, None, kwargs.get("vertex_normals") is not None)]


# MTL texture statements we keep, and the Material slot each fills.
_MTL_MAPS = {"map_kd": "base_color_texture", "map_ke": "emissive_texture", "map_bump": "normal_texture",
             "bump": "normal_texture", "norm": "normal_texture"}


def _parse_mtl(path: Path, mtl: Path, root: Path | None) -> dict[str, Material]:
    """Materials by name from an MTL file, with textures read as their original bytes."""
    materials: dict[str, Material] = {}
    current: Material | None = None
    for line in mtl.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if not parts or parts[0].startswith("#"):
            continue
        key, rest = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
        if key == "newmtl":
            current = Material(name=rest)
            materials[rest] = current
        elif current is None:
            continue
        elif key == "kd":
            rgb = [float(v) for v in rest.split()[:3]]
            current.base_color_factor = (rgb[0], rgb[1], rgb[2], current.base_color_factor[3])
            current.metallic_factor = 0.0
        elif key == "d":
            alpha = float(rest.split()[0])
            current.base_color_factor = (*current.base_color_factor[:3], alpha)  # type: ignore[assignment]
            if alpha < 1.0:
                current.alpha_mode = "BLEND"
        elif key in _MTL_MAPS:
            name = _strip_map_options(rest).replace("\\", "/")  # exporters on Windows write backslashes
            target = mtl.parent / name
            confine(path, target, root, f"texture '{name}' of material '{current.name}'")
            if not target.is_file():
                raise AssetError(str(path), f"material '{current.name}' in {mtl.name} uses texture '{name}', "
                                            f"which is missing (looked for {target})")
            texture = make_texture(path, target.read_bytes(), Path(name).stem, None, str(target))
            setattr(current, _MTL_MAPS[key], TextureRef(texture=texture))
    return materials


def _strip_map_options(rest: str) -> str:
    """The file name of an MTL map statement: options such as '-bm 1.0' come first, the name (spaces allowed) last."""
    tokens = rest.split(" ")
    option_args = {"-bm": 1, "-blendu": 1, "-blendv": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1,
                   "-mm": 2, "-o": 3, "-s": 3, "-t": 3, "-texres": 1, "-type": 1}
    index = 0
    while index < len(tokens) and tokens[index] in option_args:
        index += 1 + option_args[tokens[index]]
    return " ".join(tokens[index:]).strip()


def _material_libraries(path: Path, rest: str, root: Path | None) -> list[Path]:
    """The MTL files of an 'mtllib' line: one name with spaces, or several names separated by spaces."""
    rest = rest.strip().replace("\\", "/")
    whole = path.parent / rest
    confine(path, whole, root, f"material library '{rest}'")
    if whole.is_file():
        return [whole]
    names = rest.split()
    found = [path.parent / name for name in names]
    for name, file in zip(names, found, strict=True):
        confine(path, file, root, f"material library '{name}'")
    missing = [name for name, file in zip(names, found, strict=True) if not file.is_file()]
    if missing or not names:
        name = rest if len(names) <= 1 else missing[0]
        raise AssetError(str(path), f"material library '{name}' is missing (looked for {path.parent / name})")
    return found


OBJ_BLOCK = 1 << 22  # bytes of OBJ text parsed at a time: the file is never held whole, and the scratch arrays
# of one block (a few bytes each per byte of text) stay near 50 MB
_V, _VT, _VN, _F, _USEMTL, _MTLLIB, _OTHER = range(1, 8)


def _obj_blocks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The file (or its bytes from `start` to `end`, both at line starts) in blocks of about OBJ_BLOCK bytes, each
    ending at a line end (one added at the very end)."""
    carry = b""
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start if end is not None else None
        while left is None or left > 0:
            chunk = handle.read(OBJ_BLOCK if left is None else min(OBJ_BLOCK, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield data[:cut]
    if carry.strip():
        yield carry + b"\n"


PROGRESS_BYTES = 64_000_000  # an OBJ this big takes seconds to read: say so while it does


def _reported_blocks(path: Path, start: int, end: int) -> Iterator[bytes]:
    """_obj_blocks, reporting how far through its bytes they are (for a big file, within a build)."""
    size = end - start
    with progress.task(f"reading {path.name} ({path.stat().st_size / 1e6:,.0f} MB)", size,
                       size >= PROGRESS_BYTES) as task:
        for block in _obj_blocks(path, start, end):
            yield block
            task.advance(len(block))


def _obj_lines(block: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A block of whole lines as (its bytes, each line's start, each line's newline, each line's kind)."""
    text = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(text == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return text, starts, ends, _obj_line_kinds(text, starts)


def _obj_line_kinds(text: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The kind of each line (v, vt, vn, f, usemtl, mtllib, other) from its first three bytes."""
    def at(offset: int) -> np.ndarray:
        return text[np.minimum(starts + offset, len(text) - 1)]

    first, second, third = at(0), at(1), at(2)
    blank_second, blank_third = (second == 32) | (second == 9), (third == 32) | (third == 9)
    kinds = np.full(len(starts), _OTHER, dtype=np.uint8)
    kinds[(first == ord("v")) & blank_second] = _V
    kinds[(first == ord("v")) & (second == ord("t")) & blank_third] = _VT
    kinds[(first == ord("v")) & (second == ord("n")) & blank_third] = _VN
    kinds[(first == ord("f")) & blank_second] = _F
    kinds[(first == ord("u")) & (second == ord("s"))] = _USEMTL
    kinds[(first == ord("m")) & (second == ord("t"))] = _MTLLIB
    return kinds


def _per_line_counts(text: np.ndarray, where: np.ndarray) -> np.ndarray:
    """How many of the bytes flagged by `where` each line of `text` (lines ending in newlines) holds."""
    line = np.cumsum(text == 10, dtype=np.int32) - (text == 10)  # a block is far under 2 GB
    return np.bincount(line[where], minlength=int(np.count_nonzero(text == 10)))


def _tokens_per_line(text: np.ndarray) -> np.ndarray:
    """How many whitespace-separated words each line of `text` (lines ending in newlines) has."""
    blank = text <= 32
    return _per_line_counts(text, ~blank & np.concatenate([[True], blank[:-1]]))


def obj_extent(path: Path) -> tuple[np.ndarray | None, int]:
    """(the vertex positions' per-axis minimum and maximum as a 2 × 3 array, None without any; the faces' triangles,
    k - 2 for a face of k corners), read a block at a time by line kind, as the reader reads: `check`'s measure of
    an OBJ. As regex matches, one Python object per line, a 1M-triangle scan's 100 MB took 1 s and 600 MB.
    Raises ValueError for a file it does not measure (the measure is then unknown)."""
    bounds: np.ndarray | None = None
    triangles = 0
    for block in _obj_blocks(path):
        text, starts, ends, kinds = _obj_lines(block)
        byte_kinds = np.repeat(kinds, ends - starts + 1)
        faces = text[byte_kinds == _F]
        if len(faces):
            triangles += int(np.maximum(_tokens_per_line(faces) - 3, 0).sum())  # the "f" and two corners
        lines = text[byte_kinds == _V]
        if len(lines):
            # "v x y z [w]" or "v x y z r g b". loadtxt splits a whole line into fields, and a hostile line of
            # millions of numbers would cost gigabytes: such a file is left to the reader, which explains it.
            if np.any(_tokens_per_line(lines) > 7):
                raise ValueError("a vertex line holds more than six numbers")
            points = np.loadtxt(io.BytesIO(lines.tobytes()), usecols=(1, 2, 3), dtype=np.float64, ndmin=2)
            extent = np.stack([points.min(axis=0), points.max(axis=0)])
            bounds = extent if bounds is None else np.stack([np.minimum(bounds[0], extent[0]),
                                                             np.maximum(bounds[1], extent[1])])
    return bounds, triangles


def _obj_face_layout(line: str) -> tuple[int, bool] | None:
    """(numbers per corner, whether they are v//vn) from the first face line, or None unless it is a triangle."""
    corners = line.split()[1:]
    if len(corners) != 3:
        return None
    parts = corners[0].split("/")
    if len(parts) == 3 and parts[1] == "":
        return 2, True
    return len(parts), False


# An OBJ this big is parsed in two halves at once, the second in a forked process: numpy's text parser holds the GIL,
# so threads would take turns, and reading the text is most of an OBJ scan's build (7 of 13 s at 4M triangles).
OBJ_SPLIT_BYTES = 32 << 20


@dataclass
class _ObjText:
    """What the lines of one stretch of an OBJ say, parsed: its v, vt and vn numbers, its faces' corners (indices
    into the whole file's tables), and which material each run of its faces uses."""

    numbers: dict[int, list[np.ndarray]]
    corners: list[np.ndarray]
    aligned: bool  # every corner has v = vt = vn, so corners hold one index each
    layout: tuple[int, bool] | None  # (numbers per corner, whether v//vn) of the first face, None without faces
    libraries: list[str]
    materials: list[str]  # usemtl names, numbered as this stretch first names them
    # Per run of faces with one material: (its first face, counted from this stretch's first, the material's number;
    # -1 for the faces before this stretch's first usemtl, which keep the material in use before it).
    runs: list[tuple[np.ndarray, np.ndarray]]
    faces: int
    last_material: int  # the number of this stretch's last usemtl, -1 without one


def _read_obj_arrays(path: Path, root: Path | None) -> list[_Part] | None:
    """An OBJ of triangles read a block at a time into numpy arrays: no Python loop per vertex or face, and never
    the whole text in memory (a big file's two halves are parsed at once, see OBJ_SPLIT_BYTES). One part per
    material, in the order the file first uses them, as the general reader groups them: RealityCapture and Metashape
    write a big scan's texture pages as one material each. None for anything else (polygons, faces before the first
    of several materials, relative indices, vertex colours), which the general reader then takes."""
    stretches = _parsed_halves(path)
    if stretches is None:
        return None
    layouts = {stretch.layout for stretch in stretches if stretch.layout is not None}
    if len(layouts) != 1:
        return None  # no faces, or corners written one way in one half and another in the other
    (layout,) = layouts
    per_corner, normals_only = layout
    aligned = all(stretch.aligned for stretch in stretches)
    material_ids: dict[str, int] = {}
    run_starts: list[np.ndarray] = []
    run_ids: list[np.ndarray] = []
    corners: list[np.ndarray] = []
    numbers: dict[int, list[np.ndarray]] = {_V: [], _VT: [], _VN: []}
    current, face_count = -1, 0  # the material in use (-1: none yet), and the faces before this stretch
    for stretch in stretches:
        # The stretch's own material numbers in the whole file's, and -1 (before its first usemtl) as `current`.
        ids = np.array([material_ids.setdefault(name, len(material_ids)) for name in stretch.materials] + [current],
                       dtype=np.int64)
        for first, numbered in stretch.runs:
            run_starts.append(first + face_count)
            run_ids.append(ids[numbered])
        face_count += stretch.faces
        if stretch.last_material >= 0:
            current = int(ids[stretch.last_material])
        for kind, arrays in stretch.numbers.items():
            numbers[kind].extend(arrays)
        corners.extend(c if aligned or c.ndim == 3 else np.repeat(c[:, :, None], per_corner, axis=2)
                       for c in stretch.corners)
        stretch.numbers, stretch.corners = {}, []
    if not corners:
        return None
    starts, ids = np.concatenate(run_starts), np.concatenate(run_ids)
    used_ids = np.unique(ids)
    if len(used_ids) > 1 and used_ids[0] == -1:
        return None  # faces before the first usemtl: a group of their own, which the general reader makes
    materials: dict[str, Material] = {}
    for rest in [library for stretch in stretches for library in stretch.libraries]:
        for mtl in _material_libraries(path, rest, root):
            materials.update(_parse_mtl(path, mtl, root))
    indices = np.concatenate(corners)
    del corners
    sources = [_V, *([_VN] if normals_only else [_VT, _VN][:per_corner - 1])]
    tables: dict[int, np.ndarray] = {}
    for kind in sources:
        # One table at a time, each block list dropped as soon as it is joined: never two copies of all of them.
        blocks = numbers.pop(kind)
        tables[kind] = np.concatenate(blocks) if blocks else np.zeros((0, 3), np.float32)
        del blocks
    index_columns = [indices] * per_corner if aligned else [indices[:, :, k] for k in range(per_corner)]
    for kind, column in zip(sources, index_columns, strict=True):
        if len(column) and int(column.max()) >= len(tables[kind]):
            raise AssetError(str(path), "faces refer to vertices, texture coordinates or normals that do not exist")
    names = {number: name for name, number in material_ids.items()}
    if len(used_ids) == 1:
        name = names.get(int(used_ids[0]))
        triangles, chosen = _obj_vertices(tables, sources, index_columns, aligned)
        attributes = _obj_attributes(path, tables, sources, chosen, aligned, consume=True)
        material = materials.get(name) if name is not None else None
        primitive = Primitive(attributes=attributes, indices=triangles.reshape(-1), material=material)
        return [(path.stem, primitive, material, "NORMAL" in attributes)]
    face_ids = np.repeat(ids.astype(np.int32), np.diff(np.r_[starts, len(indices)]))
    groups = []
    for number in sorted(used_ids, key=lambda n: starts[np.argmax(ids == n)]):  # as the file first uses them
        faces = np.flatnonzero(face_ids == number)
        groups.append((names[int(number)], *_obj_vertices(tables, sources, [c[faces] for c in index_columns],
                                                          aligned)))
    del face_ids, index_columns, indices
    # Every material's vertices in one block per attribute, a slice each: the ladder simplifies a mesh's primitives
    # as one surface (ladder._joined) and takes such a block as it is, not a copy of them end to end.
    bounds = np.cumsum([0] + [len(chosen[0]) for _, _, chosen in groups])
    shared = {kind: np.empty((int(bounds[-1]),) + tables[kind].shape[1:], tables[kind].dtype) for kind in sources}
    parts: list[_Part] = []
    for (name, triangles, chosen), first, last in zip(groups, bounds, bounds[1:], strict=False):
        attributes = _obj_attributes(path, tables, sources, chosen, aligned, consume=False,
                                     into={kind: block[first:last] for kind, block in shared.items()})
        material = materials.get(name)
        primitive = Primitive(attributes=attributes, indices=triangles.reshape(-1), material=material)
        parts.append((name, primitive, material, "NORMAL" in attributes))
    return parts


def _parsed_halves(path: Path) -> list[_ObjText] | None:
    """The file's lines parsed: a big file's first half here while a forked process parses its second half (one
    stretch unless the file is big, the machine has a core to spare and this is not already an asset worker).
    None if either half holds what only the general reader takes."""
    size = path.stat().st_size
    middle = _line_start_near(path, _half_the_work(path, size)) if size >= OBJ_SPLIT_BYTES and _spare_core() else size
    if middle >= size:
        return _none_or_list(_parse_obj_text(path, 0, size, report=True))
    context = multiprocessing.get_context("fork")  # the child runs only this module's numpy code on its half
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_parse_in_child, args=(path, middle, size, sending), daemon=True)
    child.start()
    sending.close()
    try:
        first = _parse_obj_text(path, 0, middle, report=True)
        if first is None:
            return None
        try:
            second = _received_obj_text(receiving)
        except EOFError:  # the child died (killed, out of memory): parse its half here
            second = _parse_obj_text(path, middle, size, report=False)
    finally:
        receiving.close()
        if child.is_alive():
            child.terminate()
        child.join()
    if isinstance(second, BaseException):
        raise second
    return None if second is None else [first, second]


def _none_or_list(stretch: _ObjText | None) -> list[_ObjText] | None:
    return None if stretch is None else [stretch]


def _spare_core() -> bool:
    return (os.cpu_count() or 1) > 1 and multiprocessing.parent_process() is None


# Parsing a byte of v, vt or vn lines takes about this many times as long as a byte of face lines (1M-triangle
# scans, f v/vt/vn and f v: 43 against 72 MB/s). Exporters write the numbers first and the faces last, so the
# file's middle byte would give the first half most of the work.
NUMBER_LINE_COST = 1.6
PROBES = 32  # places the split samples the file's lines at, PROBE_BYTES each
PROBE_BYTES = 1 << 16


def _half_the_work(path: Path, size: int) -> int:
    """The byte offset that splits the file's parsing work about in half, from the kinds of lines at PROBES
    evenly spread places (each standing for its share of the file)."""
    costs = []
    with path.open("rb") as handle:
        for probe in range(PROBES):
            handle.seek(size * probe // PROBES)
            sample = handle.read(PROBE_BYTES)
            sample = sample[sample.find(b"\n") + 1:sample.rfind(b"\n") + 1]
            if not sample:
                costs.append(1.0)
                continue
            text, starts, ends, kinds = _obj_lines(sample)
            numbers = int(((ends - starts + 1) * np.isin(kinds, (_V, _VT, _VN))).sum())
            costs.append((len(sample) + (NUMBER_LINE_COST - 1) * numbers) / len(sample))
    done = np.cumsum(costs) / sum(costs)
    probe = int(np.searchsorted(done, 0.5))
    before = done[probe - 1] if probe else 0.0
    within = (0.5 - before) / (done[probe] - before) if done[probe] > before else 0.0
    return int(size * (probe + within) / PROBES)


def _line_start_near(path: Path, offset: int) -> int:
    """The first line start at or after `offset` (the file's size if none)."""
    with path.open("rb") as handle:
        handle.seek(max(offset - 1, 0))
        while chunk := handle.read(1 << 16):
            newline = chunk.find(b"\n")
            if newline >= 0:
                return handle.tell() - len(chunk) + newline + 1
    return path.stat().st_size


def _parse_in_child(path: Path, start: int, end: int, sending: Any) -> None:
    """A forked process's half: its _ObjText without its arrays, their shapes, then each array's raw bytes (never a
    pickled copy of them), or the exception that stopped it. It leaves by os._exit: the parent's other threads (a
    live preview's HTTP threads) may have held a stream's lock at the fork, and an exit that flushed it would hang."""
    try:
        try:
            stretch = _parse_obj_text(path, start, end, report=False)
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            sending.send(error)
            return
        if stretch is None:
            sending.send(None)
            return
        arrays = [(kind, array) for kind in (_V, _VT, _VN) for array in stretch.numbers[kind]]
        arrays += [(_F, array) for array in stretch.corners]
        sending.send((dataclasses.replace(stretch, numbers={}, corners=[]),
                      [(kind, array.shape, array.dtype.str) for kind, array in arrays]))
        for _, array in arrays:
            sending.send_bytes(np.ascontiguousarray(array).data.cast("B"))
    finally:
        sending.close()
        os._exit(0)


def _received_obj_text(receiving: Any) -> _ObjText | BaseException | None:
    message = receiving.recv()
    if not isinstance(message, tuple):
        return message  # type: ignore[no-any-return]
    stretch, shapes = message
    stretch.numbers = {_V: [], _VT: [], _VN: []}
    for kind, shape, dtype in shapes:
        array = np.empty(shape, np.dtype(dtype))
        if array.nbytes:
            receiving.recv_bytes_into(array.data.cast("B"))
        else:
            receiving.recv_bytes()
        (stretch.corners if kind == _F else stretch.numbers[kind]).append(array)
    return stretch  # type: ignore[no-any-return]


def _parse_obj_text(path: Path, start: int, end: int, report: bool) -> _ObjText | None:
    """The lines from byte `start` to `end` (both line starts) parsed a block at a time, or None if they hold what
    only the general reader takes."""
    numbers: dict[int, list[np.ndarray]] = {_V: [], _VT: [], _VN: []}
    corners: list[np.ndarray] = []
    aligned = True
    layout: tuple[int, bool] | None = None
    libraries: list[str] = []
    material_ids: dict[str, int] = {}
    runs: list[tuple[np.ndarray, np.ndarray]] = []
    current, face_count = -1, 0
    for block in (_reported_blocks(path, start, end) if report else _obj_blocks(path, start, end)):
        text, starts, ends, kinds = _obj_lines(block)
        indented = (text[starts] == 32) | (text[starts] == 9)
        if np.any(indented) and np.any(indented & (_per_line_counts(text, text > 32) > 0)):
            return None  # indented statements: rare, left to the general reader
        switches, switch_ids = [], []
        for kind in (_USEMTL, _MTLLIB):
            for line_number in np.flatnonzero(kinds == kind):
                raw = bytes(block[starts[line_number]:ends[line_number]]).rstrip(b"\r")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    line = raw.decode("latin-1")
                keyword, _, rest = line.partition(" ")
                if keyword.lower() == "mtllib":
                    libraries.append(rest.strip())
                elif keyword.lower() == "usemtl":
                    switches.append(line_number)
                    switch_ids.append(material_ids.setdefault(rest.strip(), len(material_ids)))
        face_lines = np.flatnonzero(kinds == _F)
        if len(face_lines):
            # Each face takes the material of the last usemtl line before it, in this block or an earlier one.
            before = np.searchsorted(np.asarray(switches, dtype=np.int64), face_lines) - 1
            ids = np.where(before >= 0, np.asarray(switch_ids + [current], dtype=np.int64)[before], current)
            changes = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            runs.append((changes + face_count, ids[changes]))
            face_count += len(face_lines)
        if switch_ids:
            current = switch_ids[-1]
        byte_kinds = np.repeat(kinds, ends - starts + 1)
        for kind, wanted in ((_V, (1, 2, 3)), (_VT, (1, 2)), (_VN, (1, 2, 3))):
            lines = text[byte_kinds == kind]
            if len(lines):
                if kind == _V and np.any(_tokens_per_line(lines) > 5):
                    return None  # vertex colours: the general reader keeps them
                if kind != _V and np.any(_tokens_per_line(lines) > 4):
                    return None  # loadtxt splits whole lines: a line of millions of numbers would cost gigabytes
                numbers[kind].append(np.loadtxt(io.BytesIO(lines.tobytes()), usecols=wanted, dtype=np.float32,
                                                ndmin=2))
        faces = text[byte_kinds == _F].copy()
        if not len(faces):
            continue
        if layout is None:
            layout = _obj_face_layout(bytes(faces[:faces.tobytes().find(b"\n")]).decode("latin-1"))
            if layout is None:
                return None
        per_corner, normals_only = layout
        slashes = faces == ord("/")
        doubled = np.concatenate([slashes[:-1] & slashes[1:], [False]])
        faces[slashes] = 32
        if (np.any(_tokens_per_line(faces) != 1 + 3 * per_corner)
                or np.any(_per_line_counts(faces, doubled) != (3 if normals_only else 0))):
            return None  # polygons, or corners written in more than one way
        parsed = np.loadtxt(io.BytesIO(faces.tobytes()), usecols=range(1, 1 + 3 * per_corner), dtype=np.int64,
                            ndmin=2).reshape(-1, 3, per_corner)
        if np.any(parsed <= 0):
            return None  # relative (negative) indices, or broken ones the general reader explains
        if aligned and per_corner > 1 and not np.all(parsed == parsed[:, :, :1]):
            aligned = False
            corners = [c if c.ndim == 3 else np.repeat(c[:, :, None], per_corner, axis=2) for c in corners]
        corners.append((parsed[:, :, 0] if aligned else parsed).astype(np.uint32) - np.uint32(1))
    return _ObjText(numbers, corners, aligned, layout, libraries, list(material_ids), runs, face_count, current)


def _obj_vertices(tables: dict[int, np.ndarray], sources: list[int], index_columns: list[np.ndarray],
                  aligned: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """One material's faces as glTF has them: (their triangles over its own vertices, and per source table the row
    each vertex takes), from their corners' (v, vt, vn) indices into the whole file's tables."""
    if aligned:
        # One index per corner: keep the vertices the faces use, in file order, without sorting.
        indices = index_columns[0]
        used = np.zeros(len(tables[_V]), dtype=bool)
        used[indices] = True
        if np.all(used):  # a scan: every vertex is used, so the indices are already the triangles
            return indices, [np.arange(len(used))] * len(index_columns)
        return (np.cumsum(used, dtype=np.int64) - 1).astype(np.uint32)[indices], \
            [np.flatnonzero(used)] * len(index_columns)
    # Distinct (v, vt, vn) corners become vertices, as glTF has one index per vertex.
    key = index_columns[0].reshape(-1).astype(np.int64)
    for kind, column in zip(sources[1:], index_columns[1:], strict=True):
        dense = np.unique(key, return_inverse=True)[1].reshape(-1)  # < corners, so the product fits int64
        key = dense.astype(np.int64) * (len(tables[kind]) + 1) + column.reshape(-1)
    distinct, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    first = np.zeros(len(distinct), dtype=np.int64)
    first[inverse] = np.arange(len(inverse))
    return inverse.astype(np.uint32).reshape(-1, 3), [column.reshape(-1)[first] for column in index_columns]


def _obj_attributes(path: Path, tables: dict[int, np.ndarray], sources: list[int], chosen: list[np.ndarray],
                    aligned: bool, consume: bool, into: dict[int, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The vertices' attributes: each source table's chosen rows, written `into` the given arrays when there are
    some. With `consume`, each table is let go as soon as it is used (the file has one material, and a scan's table
    is then the attribute itself, uncopied)."""
    attributes: dict[str, np.ndarray] = {}
    for kind, picked in zip(sources, chosen, strict=True):
        table = tables.pop(kind) if consume else tables[kind]
        # A scan's faces use every vertex, in order: the table is then the attribute, with no copy picked from it.
        every = aligned and len(picked) == len(table) and (not len(picked) or int(picked[-1]) == len(picked) - 1)
        if into is not None:
            found = np.take(table, picked, axis=0, out=into[kind])
        else:
            found = table if every and consume else table[picked]
        del table
        if kind == _V:
            if not np.all(np.isfinite(found)):
                raise AssetError(str(path), "cannot read this OBJ file: vertex positions contain NaN or infinity")
            attributes["POSITION"] = found
        elif kind == _VT:
            found = np.ascontiguousarray(found[:, :2])
            np.subtract(np.float32(1.0), found[:, 1], out=found[:, 1])  # OBJ's v is up
            attributes["TEXCOORD_0"] = found
        else:
            attributes["NORMAL"] = found
    return attributes


def _read_obj(path: Path, root: Path | None = None) -> list[_Part]:
    try:
        fast = _read_obj_arrays(path, root)
    except ValueError:
        fast = None  # a line numpy's parser does not take (a stray word, a comment mid-line): the general reader
    if fast is not None:
        return fast
    import trimesh  # only for the general reader, as in _read_ply
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # trimesh would guess the encoding with charset_normalizer, which is not installed; Latin-1 never fails.
        text = raw.decode("latin-1")
    materials: dict[str, Material] = {}
    has_normals = False
    for line in text.splitlines():
        has_normals = has_normals or line.startswith("vn ")
        if line.lower().startswith("mtllib"):
            rest = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
            for mtl in _material_libraries(path, rest, root):
                materials.update(_parse_mtl(path, mtl, root))
    # trimesh only reads single-name MTL libraries with plain paths; the MTL files were parsed above, so trimesh
    # gets one stand-in library that names every material, which is all it needs to group faces by material.
    stand_in = "".join(f"newmtl {name}\nKd 1 1 1\n" for name in materials).encode("utf-8")
    obj_text = "\n".join("mtllib vitrina-materials.mtl" if line.lower().startswith("mtllib") else line
                         for line in text.splitlines())
    loaded = trimesh.load(io.BytesIO(obj_text.encode("utf-8")), file_type="obj", process=False,
                          maintain_order=False, group_material=True, skip_materials=False,
                          resolver={"vitrina-materials.mtl": stand_in})
    geometries = list(loaded.geometry.items()) if isinstance(loaded, trimesh.Scene) else [(path.stem, loaded)]
    parts = []
    for key, geometry in geometries:
        trimesh_material = getattr(getattr(geometry, "visual", None), "material", None)
        material_name = getattr(trimesh_material, "name", None)
        material = materials.get(material_name) if material_name else None
        name = path.stem if len(geometries) == 1 else str(key)
        parts.append((name, geometry, material, has_normals))
    return parts
