"""Read 3D assets (glTF, GLB, OBJ, PLY, STL; Draco input too) into the scene IR, failing loudly on bad input.

glTF and GLB are read by `pipeline.gltf.read_gltf` from their JSON and binary chunks directly rather than
through trimesh, because trimesh drops what an exhibit must keep: KHR_materials_* extensions,
KHR_texture_transform, animations, skins, morph targets, lights and the original encoded texture bytes (Draco
input included, through pipeline/gltf/extensions). OBJ files of triangles (pipeline.obj_text) and binary PLY
stream into arrays; other layouts, and STL, go through trimesh. Their textures are read from disk as the original
bytes (never re-encoded), and PLY triangle strips, which trimesh reads as a point cloud, are converted here.

Every IR attribute is float32 except JOINTS_n (integers, as glTF requires): normalized or quantized input is
dequantized on the way in, so that transforms start from one representation. Indices are uint32.

Units and up axis are normalized on the way in: the IR is glTF convention (+Y up, metres). For glTF input
the conversion is applied to the TRS of each root node (and to root animation channels), which keeps node
names, skins and animations intact; for OBJ, PLY and STL it is baked into positions and normals.
"""

from __future__ import annotations

import functools
import io
import math
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from pipeline import obj_text
from pipeline.asset_files import confine, make_texture
from pipeline.colour import srgb_to_linear
from pipeline.errors import AssetError
from pipeline.forked_half import ForkedHalf, line_start_near, received_array, send_array, spare_core
from pipeline.gltf import read_gltf, strip_to_triangles
from pipeline.scene import (
    Material,
    Mesh,
    Node,
    Primitive,
    Scene,
    TextureRef,
    quaternion_matrix,
    texture_refs,
)
from pipeline.source_facts import stat_key
from pipeline.spec.measure import sidecar_name, texture_file_named
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
    if suffix == ".ply" and not any(p.material is not None and p.material.base_color_texture is not None
                                    for m in scene.meshes() for p in m.primitives):
        named = _ply_texture_comments(path)
        if named:
            scene.notes.append(f"{path.name}: names the texture {', '.join(repr(n) for n in named)}, but has no "
                               "texture coordinates Vitrina reads (per vertex, or per corner in a binary PLY); "
                               "built without it")
    plain: Material | None = None
    repaired = total = 0
    tinted = coloured_only = False
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            if suffix not in (".glb", ".gltf") and "COLOR_0" in primitive.attributes:
                _linear_vertex_colours(primitive)
            repaired += _normalize_normals(primitive)
            total += len(primitive.attributes.get("NORMAL", ()))
            _check_texture_coordinates(path, mesh, primitive)
            if primitive.material is None:
                plain = plain or default_material()
                primitive.material = plain
            coloured = "COLOR_0" in primitive.attributes
            tinted |= coloured and primitive.material.base_color_texture is not None
            coloured_only |= coloured and primitive.material.base_color_texture is None
    if repaired:
        scene.notes.append(f"{path.name}: {repaired:,} of {total:,} normals were zero-length or not numbers; "
                           "recomputed them from the faces around their vertices")
    if tinted and suffix in (".obj", ".ply"):
        # A glTF that holds both means it; a scan exporter often writes both, each a copy of the surface's colour.
        scene.notes.append(f"{path.name}: has vertex colours and a texture, which glTF shows multiplied (darker than "
                           "either); export it without vertex colours if the texture alone should show")
    if coloured_only:
        # UsdPreviewSurface, the material AR Quick Look renders, takes no colour per vertex, and iOS ignores a
        # mesh's displayColor (as model-viewer's and Mol*'s USDZ exports found): only a texture colours it there.
        scene.notes.append(f"{path.name}: is coloured per vertex, which AR Quick Look (iPhone, iPad) cannot show: its "
                           "AR package shows the model in its material's plain colour; export it with a texture "
                           "for AR")
    return scene


def _linear_vertex_colours(primitive: Primitive) -> None:
    """A PLY's or OBJ's vertex colours, which scanners and MeshLab write as the camera saw them (sRGB), made linear,
    as glTF's COLOR_0 holds them: kept as written, they showed paler than the same scan's texture. Alpha stays."""
    colours = np.array(primitive.attributes["COLOR_0"], dtype=np.float32)
    colours[:, :3] = srgb_to_linear(colours[:, :3])
    primitive.attributes["COLOR_0"] = colours


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
    if suffix in (".obj", ".ply") and len(named) > 1:
        # An OBJ's materials or a PLY's texture pages (a scan's) are one surface: one mesh with a primitive each,
        # as glTF writes it, so the ladder simplifies them as one and their borders never open.
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


# A binary STL's record per triangle: its facet normal, its three corners, and an attribute word.
_STL_TRIANGLE = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])


def _read_stl(path: Path) -> list[_Part]:
    with path.open("rb") as handle:
        head = handle.read(84)
    size = path.stat().st_size
    declared = struct.unpack_from("<I", head, 80)[0] if len(head) == 84 else None
    # Binary unless it starts as ASCII does and is not exactly a binary one's length (some binary exporters start
    # their header with "solid" too).
    if declared is not None and (head[:5].lower() != b"solid" or size == 84 + declared * _STL_TRIANGLE.itemsize):
        if 84 + declared * _STL_TRIANGLE.itemsize > size:
            raise AssetError(str(path), f"truncated binary STL: {declared} triangles declared, "
                                        f"{(size - 84) // _STL_TRIANGLE.itemsize} present")
        return [(path.stem, _binary_stl(path, declared), None, False)]  # facet normals: flat shading needs none
    text = _ascii_stl(path)
    if text is not None:
        return [(path.stem, text, None, False)]
    import trimesh  # an ASCII STL whose lines are not facets of three vertices each: the general reader

    mesh = trimesh.load(path, file_type="stl", process=False, force="mesh")
    return [(path.stem, mesh, None, False)]


STL_TEXT_BLOCK = 1 << 22  # bytes of an ASCII STL's lines parsed at a time
STL_SPLIT_BYTES = 32 << 20  # an ASCII STL this big is parsed in two halves at once
_FACET, _VERTEX = 1, 2


def _ascii_stl(path: Path) -> Primitive | None:
    """An ASCII STL's facets as one corner array (three vertices each, as `_binary_stl` reads a binary one; Weld
    joins the shared ones). None when its lines are not facets of three vertices each: the general reader then reads
    or explains them (it read the file whole, as Python strings)."""
    corners = ascii_stl_corners(path)
    if corners is None:
        return None
    positions = corners.copy()  # the kept corners stay as read
    if not np.all(np.isfinite(positions)):
        raise ValueError("vertex positions contain NaN or infinity")
    return Primitive(attributes={"POSITION": positions}, indices=np.arange(len(positions), dtype=np.uint32))


def ascii_stl_corners(path: Path) -> np.ndarray | None:
    """The corners of an ASCII STL's facets, three a facet, read a block of lines at a time (a big file's second
    half in a forked process); None when its lines are not facets of three vertices each. `check` measures an
    ASCII STL by them too, and the last file's are kept (read-only), so that a cold build reads the file once for
    its measure and its ladder: the second read was 2 s of a 1M-triangle one's 6.9."""
    stat = path.stat()
    return _ascii_stl_corners(path, tuple(stat_key(stat)))


@functools.lru_cache(maxsize=1)
def _ascii_stl_corners(path: Path, version: tuple[int, ...]) -> np.ndarray | None:
    """ascii_stl_corners of one version of a file (`version` is its source_facts.stat_key, size first)."""
    size = version[0]
    middle = line_start_near(path, size // 2) if size >= STL_SPLIT_BYTES and spare_core() else size
    if middle >= size:
        halves = [_ascii_stl_lines(path, 0, size)]
    else:
        with ForkedHalf(functools.partial(_ascii_stl_lines, path, middle, size), _send_pair,
                        _received_pair) as second:
            halves = [_ascii_stl_lines(path, 0, middle), second.result()]
    if any(half is None for half in halves):
        return None
    kinds = np.concatenate([half[1] for half in halves if half is not None])
    if not len(kinds) or len(kinds) % 4 or not np.all(kinds.reshape(-1, 4) == [_FACET, _VERTEX, _VERTEX, _VERTEX]):
        return None  # not facets of three vertices each
    corners = np.concatenate([half[0] for half in halves if half is not None])
    corners.flags.writeable = False
    return corners


def _ascii_stl_lines(path: Path, start: int, end: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(the vertex lines' x, y, z, the kind of each facet and vertex line in turn) from byte `start` to `end` (line
    starts), or None for a line no STL has (longer than PLY_TEXT_ROW)."""
    corners: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    with path.open("rb") as handle:
        handle.seek(start)
        carry, left = b"", end - start
        while left > 0 or carry:
            chunk = handle.read(min(STL_TEXT_BLOCK, left)) if left > 0 else b""
            left = left - len(chunk) if chunk else 0  # (a file cut short meanwhile ends here too)
            data = carry + chunk if chunk else carry + b"\n"
            cut = data.rfind(b"\n") + 1
            block, carry = data[:cut], data[cut:]
            if len(carry) > PLY_TEXT_ROW:
                return None
            if not block:
                continue
            text = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(text == 10)
            starts = np.concatenate([[0], ends[:-1] + 1])
            line_kinds = _stl_line_kinds(text, starts, ends)
            kinds.append(line_kinds[line_kinds > 0])
            lines = text[np.repeat(line_kinds, ends - starts + 1) == _VERTEX]
            if len(lines):
                try:
                    corners.append(np.loadtxt(io.BytesIO(lines.tobytes()), usecols=(1, 2, 3), dtype=np.float32,
                                              ndmin=2, comments=None))
                except ValueError as error:
                    word = re.match(r"could not convert string '(.*)' to", str(error))
                    raise ValueError(f"'{word[1]}' is not a number" if word
                                     else "a vertex line holds fewer than three numbers") from None
    return (np.concatenate(corners) if corners else np.zeros((0, 3), np.float32),
            np.concatenate(kinds) if kinds else np.zeros(0, np.uint8))


def _stl_line_kinds(text: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each line's kind by its first word, `facet` or `vertex` in any case (0 for the others)."""
    words = np.flatnonzero(obj_text.word_starts(text))  # a few a line: a short search
    kinds = np.zeros(len(starts), dtype=np.uint8)
    if not len(words):
        return kinds
    at = np.searchsorted(words, starts)
    first = words[np.minimum(at, len(words) - 1)]
    present = (at < len(words)) & (first < ends)
    for kind, word in ((_FACET, b"facet"), (_VERTEX, b"vertex")):
        match = present.copy()
        for offset, letter in enumerate(word):
            match &= (text[np.minimum(first + offset, len(text) - 1)] | 32) == letter
        match &= text[np.minimum(first + len(word), len(text) - 1)] <= 32
        kinds[match] = kind
    return kinds


def _send_pair(sending: Any, arrays: tuple[np.ndarray, np.ndarray]) -> None:
    send_array(sending, arrays[0])
    send_array(sending, arrays[1])


def _received_pair(message: Any, receiving: Any) -> tuple[np.ndarray, np.ndarray]:
    return received_array(message, receiving), received_array(receiving.recv(), receiving)


def _binary_stl(path: Path, count: int) -> Primitive:
    """A binary STL's triangles read a block of records at a time into one corner array (three vertices each, as
    the file has them: Weld joins the shared ones), never the file whole (trimesh took 617 bytes a triangle)."""
    positions = np.empty((3 * count, 3), dtype=np.float32)
    for first, block in _record_blocks(path, 84, _STL_TRIANGLE, count):
        positions[3 * first: 3 * (first + len(block))] = block["corners"].reshape(-1, 3)
    if not np.all(np.isfinite(positions)):
        raise ValueError("vertex positions contain NaN or infinity")
    return Primitive(attributes={"POSITION": positions}, indices=np.arange(3 * count, dtype=np.uint32))


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_PLY_UV = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"))


def _ply_layout(path: Path) -> tuple[int, str, list[tuple[str, int, list[list[str]]]], list[str]] | None:
    """(header bytes, byte order: "<", ">", or "=" for an ASCII PLY, [(element, count, property lines)], the texture
    files named by 'comment TextureFile' lines, in order) of a PLY, or None for headers this does not understand
    (the general reader takes those)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return None
    newline = head.find(b"\n", end)
    if newline < 0:
        return None
    lines = head[:end].decode("latin-1").splitlines()
    order = ""
    textures: list[str] = []
    elements: list[tuple[str, int, list[list[str]]]] = []
    for line in lines[1:]:
        words = line.split()
        if (named := texture_file_named(line)) is not None:
            textures.append(named)
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format" and len(words) >= 2:
            order = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": TEXT_ORDER}.get(words[1], "")
        elif words[0] == "element" and len(words) == 3 and words[2].isdigit():
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property" and elements:
            elements[-1][2].append(words[1:])
        else:
            return None
    return (newline + 1, order, elements, textures) if order else None


def _ply_face_fields(face_props: list[list[str]], order: str, sides: int = 3) -> list[tuple[Any, ...]] | None:
    """The face element's record as numpy fields, when every face is a list of `sides` ("count", "index") with, as
    Metashape and MeshLab write textured scans, texture coordinates per corner ("uv_count", "uv": a `texcoord` list
    of six) and a texture page per face ("page": `texnumber`); other single values per face (MeshLab's flags,
    quality or colour, which glTF has no place for) are read past. None for other lists."""
    fields: list[tuple[Any, ...]] = []
    for number, prop in enumerate(face_props):
        if len(prop) == 4 and prop[0] == "list" and prop[1] in _PLY_TYPES and prop[2] in _PLY_TYPES:
            count, item = order + _PLY_TYPES[prop[1]], order + _PLY_TYPES[prop[2]]
            if prop[3] == "texcoord" and item[-2] == "f" and not any(f[0] == "uv" for f in fields):
                fields += [("uv_count", count), ("uv", item, (6,))]
            elif not any(f[0] == "index" for f in fields) and item[-2] in "iu":
                fields += [("count", count), ("index", item, (sides,))]
            else:
                return None
        elif len(prop) == 2 and prop[1] == "texnumber" and _PLY_TYPES.get(prop[0], "f")[0] in "iu":
            fields.append(("page", order + _PLY_TYPES[prop[0]]))
        elif len(prop) == 2 and prop[0] in _PLY_TYPES:
            fields.append((f"unused{number}", order + _PLY_TYPES[prop[0]]))
        else:
            return None
    return fields if any(f[0] == "index" for f in fields) else None


def _ply_texture_comments(path: Path) -> list[str]:
    """The files a PLY's header names in 'comment TextureFile' lines, ASCII or binary."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    end = head.find(b"end_header")
    lines = head[:end if end >= 0 else len(head)].decode("latin-1").splitlines()
    return [named for line in lines if (named := texture_file_named(line)) is not None]


def _read_ply_arrays(path: Path, root: Path | None = None) -> list[_Part] | None:
    """A PLY of vertices with scalar properties and faces (triangles, or a remeshed scan's quads and n-gons, cut
    into fans, of one size or several), binary or ASCII, read straight into numpy arrays (block by
    block into the final float32/uint32 arrays, no loop per vertex or face): what scanners write. Texture
    coordinates per vertex, or per corner with a texture page per face (Metashape, MeshLab): corners that share a
    vertex but not its coordinates or page get a vertex of their own, and each page becomes a primitive of one
    mesh, as an OBJ's materials do. None when the file is anything else (strips, other face properties, ASCII faces
    of several sizes with coordinates per corner, blank rows), which the general reader then takes."""
    try:
        return _ply_arrays(path, root)
    except _NotAsTheHeaderSays:
        return None


class _NotAsTheHeaderSays(ValueError):
    """ASCII PLY rows of another length than the header's (polygons, or blank lines)."""


@dataclass(frozen=True)
class _PlyPlan:
    """How the array reader reads a PLY of vertices and faces of one size: its records and where they are."""

    start: int  # the vertices' first byte
    text: bool  # ASCII rows, not binary records
    texture_files: list[str]
    vertex_count: int
    vertex_type: np.dtype[Any]
    face_count: int
    face_type: np.dtype[Any]  # for faces of `sides` corners
    faces_at: int
    sides: int  # every face's, as the first face's


def _ply_plan(path: Path) -> _PlyPlan | None:
    """The array reader's plan for a PLY, or None for what it leaves to the general reader: faces read as records
    of the first face's size (Blender writes a remeshed scan's quads as they are). Where they are of several sizes,
    they are found by `_polygon_records` in a binary file and by `_text_polygons` in an ASCII one (with texture
    coordinates per corner, a binary file is refused and an ASCII one left to the general reader, when read). Raises ValueError for an ASCII file shorter than its
    vertex count."""
    layout = _ply_layout(path)
    if layout is None:
        return None
    start, order, elements, texture_files = layout
    if [name for name, _, _ in elements] != ["vertex", "face"]:
        return None
    (_, vertex_count, vertex_props), (_, face_count, face_props) = elements
    if any(len(p) != 2 or p[0] not in _PLY_TYPES for p in vertex_props):
        return None
    face_fields = _ply_face_fields(face_props, order)
    if face_fields is None:
        return None
    vertex_type = np.dtype([(name, order + _PLY_TYPES[kind]) for kind, name in vertex_props])
    if not {"x", "y", "z"} <= set(vertex_type.names or ()) or not face_count:
        return None
    text = order == TEXT_ORDER
    faces_at = _after_lines(path, start, vertex_count) if text else start + vertex_count * vertex_type.itemsize
    sides = _first_face_sides(path, faces_at, np.dtype(face_fields), text)
    if sides is None or sides < 3 or sides > obj_text.MAX_POLYGON or (sides != 3 and any(
            field[0] == "uv" for field in face_fields)):
        return None
    return _PlyPlan(start, text, texture_files, vertex_count, vertex_type, face_count,
                    np.dtype(_ply_face_fields(face_props, order, sides) or []), faces_at, sides)


def _ply_arrays(path: Path, root: Path | None) -> list[_Part] | None:
    plan = _ply_plan(path)
    if plan is None:
        return None
    start, vertex_count, vertex_type, texture_files = plan.start, plan.vertex_count, plan.vertex_type, plan.texture_files
    text, faces_at, face_count, face_type, sides = plan.text, plan.faces_at, plan.face_count, plan.face_type, plan.sides
    wedges, paged = "uv" in (face_type.names or ()), "page" in (face_type.names or ())
    names = set(vertex_type.names or ())
    blocks: Callable[[Path, int, np.dtype[Any], int], Iterator[tuple[int, np.ndarray]]]
    blocks = ply_text_rows_in_two if text else _record_blocks
    # Faces of several sizes (Blender writes a mesh's triangles, quads and n-gons as they are), with no per-corner
    # coordinates or pages: found by `_polygon_records`, or by `_text_polygons` as text. With two lists per face,
    # neither can find its records.
    polygons = not wedges and not paged and cast(Any, face_type.fields)["count"][0].kind in "iu"
    one_size_length = faces_at + face_count * face_type.itemsize
    if not text and not polygons and path.stat().st_size < one_size_length:
        raise AssetError(str(path), _PLAIN_CAUSES["PLY is unexpected length!"] if sides == 3 else _MIXED_FACES)
    # A binary file not as long as faces of the first's size would make is read as faces of several sizes at once,
    # rather than as records of one size until the first that is not.
    one_size = text or not polygons or path.stat().st_size == one_size_length
    if text and path.stat().st_size - faces_at < face_count * len("3 0 1 2\n"):  # the shortest face row
        raise ValueError("the file ends before its header says it does")  # before arrays for a made-up count
    cut = sides - 2  # triangles per face, the fan from its first corner
    fan = obj_text.fan(sides)
    face_pages = np.empty(face_count * cut, dtype=np.int32) if paged else None
    indices = np.empty(face_count * 3 * cut if one_size else 0, dtype=np.uint32)
    lowest, highest = 0, -1
    try:
        for first, block in (blocks(path, faces_at, face_type, face_count) if one_size else ()):
            if not np.all(block["count"] == sides) or (wedges and not np.all(block["uv_count"] == 6)):
                if polygons:
                    one_size = False
                    break
                if not text:  # the general reader cannot read them either, and would call the file cut short
                    raise AssetError(str(path), _MIXED_FACES)
                return None  # faces of several sizes with two lists each: the general reader explains them
            if len(block):
                lowest = min(lowest, int(block["index"].min()))
                highest = max(highest, int(block["index"].max()))
            indices[3 * cut * first: 3 * cut * (first + len(block))] = (
                block["index"] if cut == 1 else block["index"][:, fan]).reshape(-1)
            if face_pages is not None:
                face_pages[cut * first: cut * (first + len(block))] = np.repeat(block["page"], cut)
    except _NotAsTheHeaderSays:
        if not (text and polygons):
            raise
        one_size = False  # rows of another length: faces of several sizes, as Blender writes them as text too
    if not one_size:
        del indices
        if text:
            polygon_text = _text_polygons(path, faces_at, face_count, face_type)
            if polygon_text is None:
                return None  # not rows of a count and its corners: the general reader reads them one by one
            indices, lowest, highest = polygon_text
        else:
            indices, lowest, highest = _polygon_records(path, faces_at, face_count, face_type)
    if lowest < 0 or highest >= vertex_count:
        raise AssetError(str(path), "faces index vertices that do not exist (corrupt or truncated file?)")
    uv = None if wedges else next(((u, v) for u, v in _PLY_UV if {u, v} <= names), None)
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
    for first, block in blocks(path, start, vertex_type, vertex_count):
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
    pages = 1  # a texnumber without texture files to go with it leaves one surface, untextured
    if wedges:
        if face_pages is not None and texture_files:
            pages = len(texture_files)
            outside = face_pages[(face_pages < 0) | (face_pages >= pages)]
            if len(outside):
                raise AssetError(str(path), f"a face uses texture page {int(outside[0])} (texnumber), but the "
                                            f"header names {pages} texture file(s) (TextureFile comments)")
        # The corners' coordinates are read again, a block at a time, rather than held (24 bytes a triangle).
        corner_blocks = ((3 * first, block["uv"].reshape(-1, 2).astype(np.float32)) for first, block in
                         blocks(path, faces_at, face_type, face_count))
        indices, source, uvs, bounds = _split_wedges(indices, corner_blocks, face_pages if pages > 1 else None,
                                                     vertex_count, pages)
        if source is not None:
            attributes = {name: values[source] for name, values in attributes.items()}
        np.subtract(np.float32(1.0), uvs[:, 1], out=uvs[:, 1])  # v up → down
        attributes["TEXCOORD_0"] = uvs
    else:
        bounds = np.array([0, vertex_count])
    material_names = [path.stem] if pages == 1 else [f"{path.stem}-{page}" for page in range(pages)]
    materials = [_ply_material(path, file, root, name) if "TEXCOORD_0" in attributes else None
                 for file, name in zip(texture_files[:pages], material_names, strict=False)] or [None]
    if pages == 1:
        primitive = Primitive(attributes=attributes, indices=indices, material=materials[0])
        return [(path.stem, primitive, materials[0], "NORMAL" in attributes)]
    assert face_pages is not None
    parts: list[_Part] = []
    for page, material in enumerate(materials):
        # Each page's vertices are a slice of one block per attribute (ladder._joined takes them as they are).
        first, last = int(bounds[page]), int(bounds[page + 1])
        faces = np.flatnonzero(face_pages == page)
        if not len(faces):
            continue
        own = indices.reshape(-1, 3)[faces].reshape(-1) - np.uint32(first)
        primitive = Primitive(attributes={name: values[first:last] for name, values in attributes.items()},
                              indices=own, material=material)
        parts.append((material_names[page], primitive, material, "NORMAL" in attributes))
    return parts


def _text_polygons(path: Path, offset: int, face_count: int,
                   face_type: np.dtype[Any]) -> tuple[np.ndarray, int, int] | None:
    """(the triangles of ASCII PLY faces of several sizes, each face's fan from its first corner, as uint32 corner
    indices; the lowest and highest index written), a block of rows at a time: each row's size from its count of
    words, and one parse per size of face, as an OBJ's polygons are read, with no loop per face. None unless every
    row is a face's count, that many corners and then the face's single values (MeshLab's flags) if it has any (the
    general reader then reads the rows)."""
    names = tuple(face_type.names or ())
    if names[:2] != ("count", "index") or not all(name.startswith("unused") for name in names[2:]):
        return None
    after = len(names) - 2  # single values after the corners
    pieces: list[np.ndarray] = []
    lowest, highest = 0, -1
    try:
        for _, rows, ends in _text_row_blocks(path, offset, face_count):
            text = np.frombuffer(rows, dtype=np.uint8)
            starts = np.concatenate([[0], ends[:-1] + 1])
            sides = obj_text.counts_per_line(obj_text.word_starts(text), starts) - 1 - after
            if np.any(sides < 3) or np.any(sides > obj_text.MAX_POLYGON):
                return None  # blank rows, points or lines, or faces of more corners than Vitrina reads
            try:
                counts = np.loadtxt(io.BytesIO(rows), usecols=0, dtype=np.int64, ndmin=1, comments=None)
                first_triangle = np.cumsum(sides - 2) - (sides - 2)
                triangles = obj_text.polygon_triangles(text, sides, first_triangle, 1).reshape(-1, 3)
            except ValueError:
                return None  # a word that is not a whole number: the general reader names it
            if not np.array_equal(counts, sides):
                return None
            if len(triangles):
                lowest, highest = min(lowest, int(triangles.min())), max(highest, int(triangles.max()))
            pieces.append(triangles.reshape(-1).astype(np.uint32))
    except _NotAsTheHeaderSays:
        return None  # a row longer than any face's
    return (np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)), lowest, highest


POLYGON_CHUNK = 1 << 18  # bytes of faces of several sizes whose records are found at a time


def _polygon_records(path: Path, offset: int, face_count: int,
                     face_type: np.dtype[Any]) -> tuple[np.ndarray, int, int]:
    """(the triangles of binary PLY faces of several sizes, each face's fan from its first corner, as uint32 corner
    indices; the lowest and highest index written, 0 and -1 for none), read POLYGON_CHUNK bytes at a time.

    A face's size says where the next one starts, so its records cannot be found by a stride. Within a chunk,
    every byte where a whole face could start is taken as one, and where the record after it would start is known
    from the count there; following those links by pointer doubling (each round follows twice as many) finds the
    real records from the chunk's first in log2(faces in a chunk) passes, with no loop per face."""
    fields: Any = face_type.fields
    count_type, count_at = fields["count"][0], fields["count"][1]
    corner_type, corners_at = fields["index"][0].base, fields["index"][1]
    fixed, _ = _face_record_sizes(face_type)
    pieces: list[np.ndarray] = []
    lowest, highest, done, carry = 0, -1, 0, b""
    with path.open("rb") as handle:
        handle.seek(offset)
        while done < face_count:
            read = handle.read(POLYGON_CHUNK)
            data = carry + read
            chunk = np.frombuffer(data, dtype=np.uint8)
            starts, counts, stop = _record_starts(chunk, count_type, count_at, fixed, corner_type.itemsize)
            starts, counts = starts[:face_count - done], counts[:face_count - done]
            if (stop is not None and len(starts) < face_count - done
                    and stop + count_at + count_type.itemsize <= len(data)):  # the next face's count is here
                sides = int(np.frombuffer(data, count_type, count=1, offset=stop + count_at)[0])
                if not 3 <= sides <= obj_text.MAX_POLYGON:
                    raise AssetError(str(path), f"face {done + len(starts)} has {sides} corners, where Vitrina reads "
                                                f"3 to {obj_text.MAX_POLYGON} (a corrupt file, or points and lines)")
            if not read and len(starts) < face_count - done:
                raise AssetError(str(path), _PLAIN_CAUSES["PLY is unexpected length!"])
            first_triangle = np.cumsum(counts - 2) - (counts - 2)
            triangles = np.empty((int((counts - 2).sum()), 3), dtype=corner_type)
            for sides in np.unique(counts).tolist():  # one gather per size of face, not per face
                these = counts == sides
                at = starts[these, None] + corners_at + np.arange(sides * corner_type.itemsize)
                corners = chunk[at].view(corner_type).reshape(-1, sides)
                triangles[first_triangle[these][:, None] + np.arange(sides - 2)] = corners[:, obj_text.fan(sides)]
            if len(triangles):
                lowest, highest = min(lowest, int(triangles.min())), max(highest, int(triangles.max()))
            pieces.append(triangles.reshape(-1).astype(np.uint32, copy=False))
            done += len(starts)
            used = int(starts[-1]) + fixed + int(counts[-1]) * corner_type.itemsize if len(starts) else 0
            carry = data[used:]
    # Negative indices become huge ones here, but `lowest` has seen them and the caller refuses the file.
    return (np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)), lowest, highest


def _face_record_sizes(face_type: np.dtype[Any]) -> tuple[int, int]:
    """(a face record's bytes besides its corners, a corner index's bytes): a face of n corners takes the first
    plus n times the second, whatever its other fields."""
    corners: Any = cast(Any, face_type.fields)["index"][0]
    return face_type.itemsize - corners.itemsize, corners.base.itemsize


def _record_starts(chunk: np.ndarray, count_type: np.dtype[Any], count_at: int, fixed: int,
                   corner_size: int) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(the starts of the whole records in `chunk` from its first byte on, their corner counts, where the bytes
    after the last of them start, None if the records end with the chunk)."""
    size = len(chunk)
    readable = size - count_at - count_type.itemsize + 1
    none = np.zeros(0, dtype=np.int64)
    if readable <= 0:
        return none, none, 0 if size else None
    # Every byte where a whole face could start: a count of 3 to MAX_POLYGON there, and its record within the chunk.
    counts = np.ndarray((readable,), dtype=count_type, buffer=chunk, offset=count_at, strides=(1,))
    ends = np.arange(readable, dtype=np.int64) + fixed + counts.astype(np.int64) * corner_size
    candidates = np.flatnonzero((counts >= 3) & (counts <= obj_text.MAX_POLYGON) & (ends <= size))
    if not len(candidates) or candidates[0] != 0:
        return none, none, 0
    # Each candidate leads to the candidate where the next record would start: followed by doubling, over the
    # candidates only (a byte of a corner index is seldom one), and to `last` (absorbing) from anywhere else.
    last = len(candidates)
    number = np.full(size + 1, last, dtype=np.int32)
    number[candidates] = np.arange(last, dtype=np.int32)
    jump = np.append(number[ends[candidates]], np.int32(last))
    path = np.zeros(1, dtype=np.int32)
    while path[-1] < last:
        path = np.concatenate([path, jump[path]])
        jump = jump[jump]
    whole = candidates[path[path < last]]
    after = int(ends[whole[-1]])
    return whole, counts[whole].astype(np.int64), after if after < size else None


def ply_triangles(path: Path) -> int | None:
    """How many triangles the array reader makes of the PLY's faces (each the fan from its first corner), None
    where it would not read them: what `check` counts, from the header and the first face. Binary faces of several
    sizes are counted from the bytes they take (each its fixed fields, then an index per corner), unread."""
    try:
        plan = _ply_plan(path)
    except ValueError:
        return None
    if plan is None:
        return None
    as_the_first = plan.face_count * (plan.sides - 2)
    names = plan.face_type.names or ()
    if plan.text:
        counted = _text_face_triangles(path, plan) if names[:1] == ("count",) else None
        return counted if counted is not None else as_the_first
    if "uv" in names or "page" in names:
        return as_the_first
    fixed, corner = _face_record_sizes(plan.face_type)
    corners, left = divmod(path.stat().st_size - plan.faces_at - plan.face_count * fixed, corner)
    counted = corners - 2 * plan.face_count
    fits = left == 0 and plan.face_count <= counted <= plan.face_count * (obj_text.MAX_POLYGON - 2)
    return counted if fits else as_the_first


def _text_face_triangles(path: Path, plan: _PlyPlan) -> int | None:
    """The triangles of an ASCII PLY's faces, each row's corner count read from its first word, or None where a row
    does not start with one digit from 3 to 9 and a blank (indented rows, n-gons of ten corners or more: the count
    from the first face stands). The bytes at each row's start only, a block of rows at a time: no number is
    parsed, so a scan's faces are counted in a fraction of the time its vertices are measured."""
    total = 0
    try:
        for _, rows, ends in _text_row_blocks(path, plan.faces_at, plan.face_count):
            text = np.frombuffer(rows, dtype=np.uint8)
            starts = np.concatenate([[0], ends[:-1] + 1])
            first, after = text[starts], text[np.minimum(starts + 1, len(text) - 1)]
            if np.any((first < ord("3")) | (first > ord("9"))) or np.any((after != ord(" ")) & (after != ord("\t"))):
                return None
            total += int(first.sum(dtype=np.int64)) - len(first) * (ord("0") + 2)
    except ValueError:  # cut short, or a row too long (_NotAsTheHeaderSays): the reader says what is wrong
        return None
    return total


_MIXED_FACES = ("its faces have several numbers of corners (triangles and quads) and texture coordinates per corner, "
                "or it is corrupt: Vitrina reads such a binary PLY only when all its faces have as many corners as "
                "the first; export it triangulated (Blender: Triangulate Faces; MeshLab saves triangles)")


def _first_face_sides(path: Path, offset: int, face_type: np.dtype[Any], text: bool) -> int | None:
    """The corner count of the PLY's first face (None if there is none to read): the record's "count" field, at
    its place among the fields before it, which have one size whatever the faces' sides."""
    with path.open("rb") as handle:
        handle.seek(offset)
        head = handle.readline(PLY_TEXT_ROW) if text else handle.read(face_type.itemsize)
    fields: Any = face_type.fields or {}
    if text:
        column = sum(int(np.prod(fields[name][0].shape or (1,))) for name in face_type.names or ()
                     if fields[name][1] < fields["count"][1])
        words = head.split()
        return int(words[column]) if len(words) > column and words[column].isdigit() else None
    count_type, at = fields["count"][:2]
    if len(head) < at + count_type.itemsize:
        return None
    return int(np.frombuffer(head, dtype=count_type, count=1, offset=at)[0])


def _ply_material(path: Path, texture_file: str, root: Path | None, name: str) -> Material:
    """A textured material for a PLY's 'comment TextureFile' (inside the exhibit folder, and present)."""
    file = sidecar_name(path.parent, texture_file)
    target = path.parent / file
    confine(path, target, root, f"texture '{file}'")
    if not target.is_file():
        raise AssetError(str(path), f"the PLY names texture '{file}', which is missing (looked for {target})")
    texture = make_texture(path, target.read_bytes(), Path(file).stem, None, str(target))
    return Material(name=name, base_color_texture=TextureRef(texture=texture), metallic_factor=0.0)


def _split_wedges(indices: np.ndarray, corner_blocks: Iterator[tuple[int, np.ndarray]],
                  face_pages: np.ndarray | None, vertex_count: int,
                  pages: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Texture coordinates (and pages) given per corner made per vertex, as glTF has them: each vertex takes those
    of the first corner that uses it, and corners that differ (a UV seam, a page border) share a new vertex per
    distinct (vertex, page, coordinates). `corner_blocks` gives (first corner, its block of coordinates) in order.
    Returns (the new indices, for each new vertex the file's vertex it copies or None when they are the file's own
    in order, their coordinates, and where each page's vertices start and end: vertices are grouped by page, in
    file order within each, unused ones left out)."""
    corners = len(indices)
    first = np.full(vertex_count, corners, dtype=np.int64)
    for start in range(0, corners, PLY_BLOCK_ROWS):
        stop = min(corners, start + PLY_BLOCK_ROWS)
        np.minimum.at(first, indices[start:stop], np.arange(start, stop))
    used = first < corners
    uvs = np.zeros((vertex_count, 2), dtype=np.float32)
    uv_bits = uvs.view(np.uint32)  # compared as bits: NaN equals NaN
    page_of = np.zeros(vertex_count, dtype=np.int32) if face_pages is not None else None
    misfit_parts: list[np.ndarray] = []
    key_parts: list[np.ndarray] = []
    for start, block_uvs in corner_blocks:
        stop = start + len(block_uvs)
        block = indices[start:stop]
        block_pages = np.repeat(face_pages[start // 3: stop // 3], 3) if face_pages is not None else None
        # Vertices first used in this block take their corner's coordinates (and page), then every corner is
        # compared with its vertex's.
        homes = np.flatnonzero(first[block] == np.arange(start, stop))
        uvs[block[homes]] = block_uvs[homes]
        if page_of is not None and block_pages is not None:
            page_of[block[homes]] = block_pages[homes]
        corner_bits = block_uvs.view(np.uint32)
        same = np.all(corner_bits == uv_bits[block], axis=1)
        if page_of is not None and block_pages is not None:
            same &= block_pages == page_of[block]
        odd = np.flatnonzero(~same)
        if len(odd):
            misfit_parts.append(start + odd)
            page_column = (block_pages[odd].astype(np.uint32) if block_pages is not None
                           else np.zeros(len(odd), np.uint32))
            key_parts.append(np.stack([block[odd], page_column, corner_bits[odd, 0], corner_bits[odd, 1]], axis=1))
    del first
    source: np.ndarray | None = None
    if misfit_parts:
        misfit, keys = np.concatenate(misfit_parts), np.concatenate(key_parts)
        order = np.lexsort(keys.T[::-1])
        ordered = keys[order]
        distinct = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)]
        group = np.empty(len(misfit), dtype=np.int64)
        group[order] = np.cumsum(distinct) - 1
        extra = ordered[distinct]
        indices[misfit] = np.uint32(vertex_count) + group.astype(np.uint32)
        source = np.concatenate([np.arange(vertex_count), extra[:, 0].astype(np.int64)])
        uvs = np.concatenate([uvs, np.ascontiguousarray(extra[:, 2:4]).view(np.float32)])
        used = np.concatenate([used, np.ones(len(extra), dtype=bool)])
        if page_of is not None:
            page_of = np.concatenate([page_of, extra[:, 1].astype(page_of.dtype)])
    keep = np.flatnonzero(used)
    if page_of is not None:
        keep = keep[np.argsort(page_of[keep], kind="stable")]
        bounds = np.searchsorted(page_of[keep], np.arange(pages + 1))
    else:
        bounds = np.array([0, len(keep)])
    if len(keep) == vertex_count and source is None and np.array_equal(keep, np.arange(vertex_count)):
        return indices, None, uvs, bounds
    remap = np.zeros(len(used), dtype=np.uint32)
    remap[keep] = np.arange(len(keep), dtype=np.uint32)
    indices = remap[indices]
    source = keep if source is None else source[keep]
    return indices, source, uvs[keep], bounds


# Vertices or faces read from a PLY (or triangles from a binary STL) at a time: a few MB of the file in memory,
# however big the scan.
PLY_BLOCK_ROWS = 1 << 18
PLY_TEXT_BLOCK = 1 << 22  # bytes of an ASCII PLY's rows parsed at a time
PLY_TEXT_ROW = 1 << 16  # longer than any ASCII PLY row of scalars (a few dozen numbers)
TEXT_ORDER = "="  # an ASCII PLY's "byte order": numpy parses its numbers into the machine's own


def _after_lines(path: Path, offset: int, lines: int) -> int:
    """The byte offset after `lines` more lines from `offset`: where an ASCII PLY's next element starts."""
    with path.open("rb") as handle:
        handle.seek(offset)
        while lines > 0:
            chunk = handle.read(PLY_TEXT_BLOCK)
            if not chunk:
                raise ValueError("the file ends before its header says it does")
            found = chunk.count(b"\n")
            if found >= lines:
                return offset + int(np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)[lines - 1]) + 1
            lines -= found
            offset += len(chunk)
    return offset


def ply_text_rows(path: Path, offset: int, dtype: np.dtype[Any], count: int, only: tuple[str, ...] = ()
                  ) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of an ASCII PLY element from `offset`, parsed by numpy as records of `dtype` a block of
    lines at a time (at most PLY_TEXT_BLOCK bytes and PLY_BLOCK_ROWS rows); with `only`, records of those properties
    alone, the others' words skipped unconverted (`check`'s measure: 2.4 times as fast for x, y, z of a scan's
    eight; the words are still counted, so that rows of another length are found). Raises ValueError:
    _NotAsTheHeaderSays for rows of another length (polygons), else naming a word that is not a number of its
    property's type."""
    names = list(dtype.names or ())
    columns = [names.index(name) for name in only] or None
    for first, rows, ends in _text_row_blocks(path, offset, count):
        try:
            block = np.loadtxt(io.BytesIO(rows), dtype=_only(dtype, only), ndmin=1, comments=None, usecols=columns)
        except ValueError as error:
            word = re.match(r"could not convert string '(.*)' to (\w+)", str(error))
            if word is None:
                raise _NotAsTheHeaderSays from None  # rows of another length: polygons, for the general reader
            raise ValueError(f"'{word[1]}' is not a number of the type its header gives ({word[2]})") from None
        if len(block) != len(ends):  # blank lines, which numpy skips
            raise _NotAsTheHeaderSays
        if columns is not None and _words(rows) != len(ends) * len(names):  # numpy saw only some words a row
            raise _NotAsTheHeaderSays
        yield first, block


def _text_row_blocks(path: Path, offset: int, count: int) -> Iterator[tuple[int, bytes, np.ndarray]]:
    """(first row, the bytes of whole rows, where each ends) of `count` rows of an ASCII PLY from `offset`, at most
    PLY_TEXT_BLOCK bytes and PLY_BLOCK_ROWS rows at a time. Raises ValueError for a file that ends first, and
    _NotAsTheHeaderSays for a row longer than PLY_TEXT_ROW (no PLY row is; numpy would split all of it)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        carry, first = b"", 0
        while first < count:
            chunk = handle.read(PLY_TEXT_BLOCK)
            data = carry + chunk if chunk else carry + b"\n"
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            rows = min(len(ends), count - first, PLY_BLOCK_ROWS)
            if not chunk and not data.strip():
                raise ValueError("the file ends before its header says it does")
            if not rows:
                if len(data) > PLY_TEXT_ROW:
                    raise _NotAsTheHeaderSays
                carry = data
                continue
            cut = int(ends[rows - 1]) + 1
            carry = data[cut:]
            yield first, data[:cut], ends[:rows]
            first += rows


def _only(dtype: np.dtype[Any], only: tuple[str, ...]) -> np.dtype[Any]:
    """The records of `only`'s properties of `dtype`, or `dtype` itself when `only` is empty."""
    return np.dtype([(name, dtype[name]) for name in only]) if only else dtype


PLY_SPLIT_ROWS = 1 << 18  # an ASCII PLY element of more rows is parsed in two halves at once


def _words(text: bytes) -> int:
    """How many words the text holds: starts of a run of anything but spaces, tabs, carriage returns and newlines."""
    return int(np.count_nonzero(obj_text.word_starts(np.frombuffer(text, dtype=np.uint8))))


def ply_text_rows_in_two(path: Path, offset: int, dtype: np.dtype[Any], count: int, only: tuple[str, ...] = ()
                         ) -> Iterator[tuple[int, np.ndarray]]:
    """ply_text_rows, with the element's second half of rows parsed in a forked process while this one parses and
    yields the first (forked_half: numpy's text parser holds the GIL); the second half's rows then come as blocks
    too. One process for an element of fewer than PLY_SPLIT_ROWS rows, or without a spare core. A problem in
    either half is raised where one pass would raise it."""
    if count < PLY_SPLIT_ROWS or not spare_core():
        yield from ply_text_rows(path, offset, dtype, count, only)
        return
    half = count // 2
    middle = _after_lines(path, offset, half)
    with ForkedHalf(functools.partial(_text_rows_whole, path, middle, dtype, count - half, only), send_array,
                    received_array) as second:
        yield from ply_text_rows(path, offset, dtype, half, only)
        rows = second.result()
    assert rows is not None
    for first in range(0, len(rows), PLY_BLOCK_ROWS):
        yield half + first, rows[first:first + PLY_BLOCK_ROWS]


def _text_rows_whole(path: Path, offset: int, dtype: np.dtype[Any], count: int, only: tuple[str, ...]) -> np.ndarray:
    """ply_text_rows gathered into one array of `count` records (a forked half's answer)."""
    rows = np.empty(count, dtype=_only(dtype, only))
    for first, block in ply_text_rows(path, offset, dtype, count, only):
        rows[first:first + len(block)] = block
    return rows


def _record_blocks(path: Path, offset: int, dtype: np.dtype[Any], count: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of fixed-size binary records from `offset` (a PLY element, an STL), PLY_BLOCK_ROWS at a
    time."""
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
        if is_ascii and "texcoord" in elements.get("face", {}).get("properties", {}):
            # trimesh's ASCII reader fails on a second list per face with a TypeError that names nothing.
            raise AssetError(str(path), "an ASCII PLY with texture coordinates per corner (texcoord) is not read; "
                                        "export it as binary PLY, as Metashape and MeshLab do by default")
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


def _read_obj(path: Path, root: Path | None = None) -> list[_Part]:
    try:
        fast = obj_text.read_arrays(path, root)
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
            for mtl in obj_text.material_libraries(path, rest, root):
                materials.update(obj_text.parse_mtl(path, mtl, root))
    # trimesh only reads single-name MTL libraries with plain paths; the MTL files were parsed above, so trimesh
    # gets one stand-in library that names every material, which is all it needs to group faces by material.
    stand_in = "".join(f"newmtl {name}\nKd 1 1 1\n" for name in materials).encode("utf-8")
    pointed = "\n".join("mtllib vitrina-materials.mtl" if line.lower().startswith("mtllib") else line
                        for line in text.splitlines())
    loaded = trimesh.load(io.BytesIO(pointed.encode("utf-8")), file_type="obj", process=False,
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
