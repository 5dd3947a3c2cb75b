"""Measure model files without ingesting them: bounds, triangle counts and the files they refer to, from headers."""

from __future__ import annotations

import functools
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

import numpy as np

from pipeline.gltf import container
from pipeline.scene import local_matrix
from pipeline.source_facts import remembered_fact, stat_key

# Bounds and counts come from headers (glTF accessors, PLY and STL headers) or from one vectorised pass over the
# vertex block, never from a full ingest: this runs on every `vitrina check`. Text formats (OBJ, ASCII PLY and
# STL) are scanned with regular expressions only up to this size; a wrong or missing estimate only costs a warning.
MAX_TEXT_SCAN_BYTES = 256 << 20
MAX_JSON_BYTES = 64 << 20

# glTF primitive modes that draw triangles: TRIANGLES, TRIANGLE_STRIP, TRIANGLE_FAN.
_TRIANGLE_MODES = {4, 5, 6}


@dataclass(frozen=True)
class Measure:
    """What a model file says about itself, in its own units and axes."""

    low: tuple[float, float, float] | None
    """The minimum corner of every position, or None when the file does not say."""
    high: tuple[float, float, float] | None
    triangles: int | None
    """Triangles drawn (instances counted), or None when the header does not say."""

    @property
    def extent(self) -> tuple[float, float, float] | None:
        if self.low is None or self.high is None:
            return None
        return (self.high[0] - self.low[0], self.high[1] - self.low[1], self.high[2] - self.low[2])


def _corners(points: np.ndarray | None) -> tuple[tuple[float, float, float] | None, tuple[float, float, float] | None]:
    if points is None or not len(points):
        return None, None
    low, high = points.min(axis=0), points.max(axis=0)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return None, None
    return (float(low[0]), float(low[1]), float(low[2])), (float(high[0]), float(high[1]), float(high[2]))


# ---- glTF / GLB --------------------------------------------------------------------------------------------


def gltf_document(path: Path) -> dict[str, Any] | None:
    """The JSON of a .gltf, or a .glb's JSON chunk (its binary chunk is never read); None when it is not one."""
    with open(path, "rb") as handle:
        if path.suffix.lower() == ".glb":
            length = container.json_chunk_length(handle.read(container.HEADER_BYTES))
            if length is None or length > MAX_JSON_BYTES:
                return None
            text = handle.read(length)
        else:
            text = handle.read(MAX_JSON_BYTES + 1)
            if len(text) > MAX_JSON_BYTES:
                return None
    document = json.loads(text)
    return document if isinstance(document, dict) else None


def _node_matrix(node: dict[str, Any]) -> np.ndarray:
    if isinstance(node.get("matrix"), list) and len(node["matrix"]) == 16:
        return np.array(node["matrix"], dtype=float).reshape(4, 4).T
    return local_matrix(node.get("translation", (0.0, 0.0, 0.0)), node.get("rotation", (0.0, 0.0, 0.0, 1.0)),
                        node.get("scale", (1.0, 1.0, 1.0)))


def _primitive_triangles(primitive: dict[str, Any], accessors: list[Any]) -> int:
    mode = primitive.get("mode", 4)
    if mode not in _TRIANGLE_MODES:
        return 0
    index = primitive.get("indices", primitive.get("attributes", {}).get("POSITION"))
    if not isinstance(index, int) or not 0 <= index < len(accessors):
        return 0
    count = int(accessors[index].get("count", 0))
    return count // 3 if mode == 4 else max(count - 2, 0)


def _mesh_box(mesh: dict[str, Any], accessors: list[Any]) -> np.ndarray | None:
    corners = []
    for primitive in mesh.get("primitives", []):
        index = primitive.get("attributes", {}).get("POSITION")
        if isinstance(index, int) and 0 <= index < len(accessors):
            accessor = accessors[index]
            low, high = accessor.get("min", []), accessor.get("max", [])
            if len(low) == 3 and len(high) == 3:
                corners.append([low, high])
    if not corners:
        return None
    stacked = np.array(corners, dtype=float)
    low, high = stacked[:, 0].min(axis=0), stacked[:, 1].max(axis=0)
    # All eight corners, so that a rotated node's box is bounded correctly.
    return np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])


def _gltf_measure(path: Path) -> Measure:
    """Bounds and triangles of the default scene, walking nodes (transforms and GPU instancing) over the JSON only."""
    document = gltf_document(path)
    if document is None:
        return Measure(None, None, None)
    accessors, meshes, nodes = (document.get(key, []) for key in ("accessors", "meshes", "nodes"))
    scenes = document.get("scenes", [])
    scene_index = document.get("scene", 0)
    roots = (scenes[scene_index].get("nodes", []) if isinstance(scene_index, int) and 0 <= scene_index < len(scenes)
             else list(range(len(nodes))))
    points: list[np.ndarray] = []
    triangles = 0
    stack: list[tuple[int, np.ndarray, int]] = [(root, np.eye(4), 0) for root in roots if isinstance(root, int)]
    while stack:
        index, parent, depth = stack.pop()
        if not 0 <= index < len(nodes) or depth > 64:
            continue  # a malformed or cyclic node graph: the compiler reports it properly
        node = nodes[index]
        matrix = parent @ _node_matrix(node)
        mesh_index = node.get("mesh")
        if isinstance(mesh_index, int) and 0 <= mesh_index < len(meshes):
            mesh = meshes[mesh_index]
            instances = node.get("extensions", {}).get("EXT_mesh_gpu_instancing", {}).get("attributes", {})
            translation = instances.get("TRANSLATION")
            copies = (int(accessors[translation].get("count", 1))
                      if isinstance(translation, int) and 0 <= translation < len(accessors) else 1)
            triangles += copies * sum(_primitive_triangles(p, accessors) for p in mesh.get("primitives", []))
            box = _mesh_box(mesh, accessors)
            if box is not None:
                placed = np.c_[box, np.ones(len(box))] @ matrix.T
                points.append(placed[:, :3])
        stack.extend((child, matrix, depth + 1) for child in node.get("children", []) if isinstance(child, int))
    low, high = _corners(np.concatenate(points) if points else None)
    return Measure(low, high, triangles)


# ---- STL ----------------------------------------------------------------------------------------------------

_STL_RECORD = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


def _stl_measure(path: Path) -> Measure:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(84)
    if len(head) == 84 and size == 84 + 50 * int.from_bytes(head[80:84], "little"):
        count = int.from_bytes(head[80:84], "little")
        if not count:
            return Measure(None, None, 0)
        records = np.memmap(path, dtype=_STL_RECORD, mode="r", offset=84, shape=(count,))
        vertices = records["vertices"].reshape(-1, 3)
        low, high = _corners(np.stack([vertices.min(axis=0), vertices.max(axis=0)]).astype(float))
        return Measure(low, high, count)
    if size > MAX_TEXT_SCAN_BYTES:
        return Measure(None, None, None)
    from pipeline.ingest import ascii_stl_corners  # the reader's block parsing: a regex held every number

    corners = ascii_stl_corners(path)
    if corners is None:
        return Measure(None, None, None)
    low, high = _corners(corners if len(corners) else None)
    return Measure(low, high, len(corners) // 3)


# ---- PLY ----------------------------------------------------------------------------------------------------

_PLY_TYPES = {"char": "i1", "uchar": "u1", "short": "i2", "ushort": "u2", "int": "i4", "uint": "u4",
              "float": "f4", "double": "f8", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
              "int32": "i4", "uint32": "u4", "float32": "f4", "float64": "f8"}
MAX_PLY_HEADER = 64 << 10


def _ply_measure(path: Path) -> Measure:
    """Triangles from the header's face count (each face cut as the first is: a quad is two); bounds from the vertex
    block when it comes first."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_PLY_HEADER)
    end = head.find(b"end_header")
    if end < 0:
        return Measure(None, None, None)
    body_start = head.index(b"\n", end) + 1 if b"\n" in head[end:] else len(head)
    lines = head[:end].decode("ascii", "replace").splitlines()
    fmt = next((line.split()[1] for line in lines if line.startswith("format") and len(line.split()) > 1), "")
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for line in lines:
        words = line.split()
        if words[:1] == ["element"] and len(words) >= 3:
            elements.append((words[1], int(words[2]), []))
        elif words[:1] == ["property"] and elements and len(words) >= 3:
            elements[-1][2].append((words[-1], "list" if words[1] == "list" else _PLY_TYPES.get(words[1], "f4")))
    faces = next((count for name, count, _ in elements if name == "face"), None)
    strips = next((count for name, count, _ in elements if name == "tristrips"), None)
    triangles = faces if faces is not None else (None if strips else 0)
    # An ASCII file's first face is found by counting its vertex lines: only within the text-scan limit.
    if faces and (fmt != "ascii" or path.stat().st_size <= MAX_TEXT_SCAN_BYTES):
        from pipeline.ingest import ply_triangles

        counted = ply_triangles(path)  # the reader's own count, from the first face and the faces' length
        triangles = counted if counted is not None else triangles
    if not elements or elements[0][0] != "vertex":
        return Measure(None, None, triangles)
    _, count, properties = elements[0]
    names = [name for name, _ in properties]
    if not count or not {"x", "y", "z"} <= set(names) or any(kind == "list" for _, kind in properties):
        return Measure(None, None, triangles)
    if fmt == "ascii":
        if path.stat().st_size > MAX_TEXT_SCAN_BYTES:
            return Measure(None, None, triangles)
        from pipeline.ingest import ply_text_rows_in_two  # the reader's block parsing, big files in halves

        ends: list[list[float]] = []  # each block's lowest and highest x, y, z
        try:
            for _, block in ply_text_rows_in_two(path, body_start, np.dtype(list(properties)), count,
                                                 only=("x", "y", "z")):
                ends += [[float(block[axis].min()) for axis in "xyz"], [float(block[axis].max()) for axis in "xyz"]]
        except ValueError:  # rows the header does not describe: the reader says what they are
            return Measure(None, None, triangles)
        low, high = _corners(np.array(ends, dtype=np.float64))
        return Measure(low, high, triangles)
    order = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, order + kind) for name, kind in properties])
    vertices = np.memmap(path, dtype=dtype, mode="r", offset=body_start, shape=(count,))
    extremes = np.array([[float(vertices[axis].min()), float(vertices[axis].max())] for axis in "xyz"])
    low, high = _corners(extremes.T)
    return Measure(low, high, triangles)


# ---- OBJ ----------------------------------------------------------------------------------------------------

def _obj_measure(path: Path) -> Measure:
    if path.stat().st_size > MAX_TEXT_SCAN_BYTES:
        return Measure(None, None, None)
    from pipeline.obj_text import obj_extent  # the OBJ reader's own block scanning

    bounds, triangles = obj_extent(path)
    low, high = _corners(bounds)
    return Measure(low, high, triangles)


_READERS = {".glb": _gltf_measure, ".gltf": _gltf_measure, ".stl": _stl_measure, ".ply": _ply_measure,
            ".obj": _obj_measure}
# Readers that take milliseconds (a glTF's JSON): the others read a vertex block or a whole text file, so what they
# find is remembered by the file's content (source_facts.remembered_fact) and a warm `check` or build reads none of it.
_HEADER_READERS = {".glb", ".gltf"}


def _measure_json(measured: Measure) -> dict[str, Any]:
    return {"low": measured.low, "high": measured.high, "triangles": measured.triangles}


def _corner(value: Any) -> tuple[float, float, float] | None:
    if value is None:
        return None
    x, y, z = (float(v) for v in value)
    return x, y, z


def _measure_from_json(stored: Any) -> Measure:
    """A remembered measure; anything not shaped like one raises, and is measured again."""
    triangles = stored["triangles"]
    if triangles is not None and (not isinstance(triangles, int) or isinstance(triangles, bool) or triangles < 0):
        raise ValueError(f"not a triangle count: {triangles!r}")
    return Measure(_corner(stored["low"]), _corner(stored["high"]), triangles)


@functools.lru_cache(maxsize=256)
def _cached_measure(path: Path, version: tuple[int, ...]) -> Measure:
    """measure() for one version of a file (`version` is its source_facts.stat_key, size first)."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        return Measure(None, None, None)
    try:
        if suffix in _HEADER_READERS or (suffix == ".obj" and version[0] > MAX_TEXT_SCAN_BYTES):
            return reader(path)  # quick (an OBJ this big is not scanned): not worth hashing the file for
        return remembered_fact(path, f"measure{suffix}", lambda: _measure_json(reader(path)), _measure_from_json)
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, struct.error, UnicodeError):
        return Measure(None, None, None)  # the compiler reads the file properly and reports what is wrong with it


def measure(path: Path) -> Measure:
    """Bounds and triangle count of a model file, remembered in this process by its stat and across processes by
    its content (a designer re-checks often, and a live reload re-loads the spec after every edit)."""
    try:
        stat = path.stat()
    except OSError:
        return Measure(None, None, None)
    return _cached_measure(path, tuple(stat_key(stat)))


# ---- Files a model refers to --------------------------------------------------------------------------------

_MTLLIB = re.compile(rb"^[ \t]*mtllib[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_MTL_MAP = re.compile(rb"^[ \t]*(?:map_\w+|bump|disp|decal|refl|norm)[ \t]+(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE)


# MTL map options and how many values each takes (the file name, spaces allowed, comes after them).
_MAP_OPTION_VALUES = {"-bm": 1, "-blendu": 1, "-blendv": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1,
                      "-mm": 2, "-o": 3, "-s": 3, "-t": 3, "-texres": 1, "-type": 1}


SCAN_BLOCK = 1 << 22  # bytes of a model's text searched at a time: a scan's OBJ is never held whole


def _mtllib_lines(path: Path) -> list[bytes]:
    """The `mtllib` statements of an OBJ. Its blocks are searched as read (bytes.find jumps between mentions of the
    word, where a regex or a split into lines would visit every one of a scan's millions of v/f lines: 0.3 s for a
    4M-triangle scan's 430 MB, against 0.74 s cutting it into whole lines); the lines around what it finds are
    read again."""
    word = b"mtllib"
    mentions: list[int] = []
    with path.open("rb") as handle:
        start, before = 0, b""
        while block := handle.read(SCAN_BLOCK):
            seam = before + block[:len(word) - 1]  # a mention across two blocks
            found = seam.find(word)
            if found >= 0:
                mentions.append(start - len(before) + found)
            found = block.find(word)
            while found >= 0:
                mentions.append(start + found)
                found = block.find(word, found + 1)
            start, before = start + len(block), block[-(len(word) - 1):]
        lines: list[bytes] = []
        line_starts: set[int] = set()
        for mention in mentions:
            begin, line = _line_around(handle, mention)
            if begin not in line_starts:
                line_starts.add(begin)
                lines.extend(_MTLLIB.findall(line))
    return lines


def _line_around(handle: BinaryIO, offset: int) -> tuple[int, bytes]:
    """(where it starts, the line) holding the byte at `offset` of a file open for reading."""
    begin = offset
    while begin > 0:
        step = min(begin, 4096)
        handle.seek(begin - step)
        cut = handle.read(step).rfind(b"\n")
        if cut >= 0:
            begin = begin - step + cut + 1
            break
        begin -= step
    handle.seek(begin)
    line = b""
    while chunk := handle.read(4096):
        end = chunk.find(b"\n")
        if end >= 0:
            return begin, line + chunk[:end]
        line += chunk
    return begin, line


def _map_file(arguments: str) -> str:
    """The file name at the end of an MTL map statement, after options such as `-s 1 1 1` or `-clamp on`."""
    words = arguments.split()
    index = 0
    while index < len(words) and words[index] in _MAP_OPTION_VALUES:
        index += 1 + _MAP_OPTION_VALUES[words[index]]
    return " ".join(words[index:])


_PLY_UV = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"))


def sidecar_name(folder: Path, written: str) -> str:
    """The name, relative to `folder` (where the file that names it lies), under which a model's sidecar is read.

    As written, with '\\' read as '/' (exporters on Windows write backslashes). A path on the machine that wrote
    the file (see `written_elsewhere`), or a relative one that names nothing here, is read by its file name alone
    when a file of that name lies in `folder`: 3ds Max and other exporters write where a texture was on their own
    disk, and it is then copied beside the model (Blender's and Sketchfab's importers find it so). Only `folder`
    is looked in: a path that leaves it is returned as written, for the caller to refuse."""
    name = written.strip().replace("\\", "/")
    alone = name.rsplit("/", 1)[-1]
    if not alone or alone == name or alone in (".", ".."):
        return name
    elsewhere = written_elsewhere(name)
    if not elsewhere and (".." in name.split("/") or (folder / name).exists()):
        return name
    return alone if (folder / alone).is_file() else name


def written_elsewhere(name: str) -> bool:
    """Whether a sidecar's name (with '/') is a path on the machine that wrote the file: '/…', '//server/…' or
    'C:/…'. It is never looked for where it says."""
    return name.startswith("/") or (len(name) > 1 and name[1] == ":")


def texture_file_named(line: str) -> str | None:
    """The file a PLY header line names if it is a 'comment TextureFile' line (RealityCapture, Metashape and MeshLab
    name each texture page so), else None."""
    words = line.split()
    if len(words) >= 3 and words[0] == "comment" and words[1].lower() == "texturefile":
        return line.split(None, 2)[2].strip()
    return None


def _ply_textures(path: Path) -> list[str]:
    """The textures a PLY names in 'comment TextureFile' lines (RealityCapture, Metashape, MeshLab; one per texture
    page), when its vertices or its faces' corners carry texture coordinates to use them with (as the reader
    requires); else none."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_PLY_HEADER)
    end = head.find(b"end_header")
    if end < 0:
        return []
    textures, properties = [], set()
    for line in head[:end].decode("latin-1").splitlines():
        words = line.split()
        if (named := texture_file_named(line)) is not None:
            textures.append(named)
        elif len(words) >= 3 and words[0] == "property":
            properties.add(words[-1])
    return textures if "texcoord" in properties or any({u, v} <= properties for u, v in _PLY_UV) else []


def references(path: Path) -> list[tuple[str, str]]:
    """(what, file name as written) for each file a model loads beside itself: glTF buffers and images, OBJ
    material libraries, MTL and PLY textures. Data URIs and GLB-embedded data are not files and are left out;
    a file that cannot be read as its format refers to nothing here (the compiler words what is wrong with it)."""
    try:
        return list(_references_of(path, tuple(stat_key(path.stat()))))
    except (OSError, ValueError, UnicodeError, struct.error):
        return []


@functools.lru_cache(maxsize=256)
def _references_of(path: Path, version: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """`_references` remembered by the file's stat in this process (an exhibit that shows one OBJ 19 times reads it
    once) and, for an OBJ, whose every line must be scanned for mtllib statements, by its content across builds."""
    if path.suffix.lower() != ".obj":
        return tuple(_references(path))
    return remembered_fact(path, "references.obj", lambda: _references(path), _references_from_json)


def _references_from_json(stored: Any) -> tuple[tuple[str, str], ...]:
    found = tuple((what, name) for what, name in stored)
    if not all(isinstance(what, str) and isinstance(name, str) for what, name in found):
        raise TypeError("remembered references are not (what, name) strings")
    return found


def _references(path: Path) -> list[tuple[str, str]]:
    suffix = path.suffix.lower()
    found: list[tuple[str, str]] = []
    if suffix in (".gltf", ".glb"):
        document = gltf_document(path) or {}
        for kind, what in (("buffers", "buffer"), ("images", "image")):
            items = document.get(kind, [])
            for item in items if isinstance(items, list) else []:
                uri = item.get("uri") if isinstance(item, dict) else None
                if isinstance(uri, str) and not uri.startswith("data:"):
                    found.append((what, unquote(uri)))
    elif suffix == ".obj":
        for line in _mtllib_lines(path):
            # Exporters on Windows write backslashes; the reader takes them as folder separators too.
            found.append(("material library", line.decode("utf-8", "replace").replace("\\", "/")))
    elif suffix == ".ply":
        for texture in _ply_textures(path):
            found.append(("texture", texture.replace("\\", "/")))
    elif suffix == ".mtl":
        for line in _MTL_MAP.findall(path.read_bytes()):
            found.append(("texture", _map_file(line.decode("utf-8", "replace")).replace("\\", "/")))
    return found
