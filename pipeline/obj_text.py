"""Read an OBJ's text and its MTL materials into numpy arrays, a block at a time (a big file's two halves at once)."""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pipeline import progress
from pipeline.asset_files import confine, make_texture
from pipeline.colour import srgb_to_linear
from pipeline.errors import AssetError
from pipeline.forked_half import (
    ForkedHalf,
    line_start_near,
    receive_raw,
    received_whole,
    send_raw,
    send_whole,
    spare_core,
)
from pipeline.scene import Material, Primitive, TextureRef
from pipeline.spec.measure import sidecar_name

T = TypeVar("T")
# What read_arrays returns per material: node name, primitive, material, whether the file had normals (the shape
# of the other readers' parts in pipeline.ingest).
Part = tuple[str, Primitive, Material | None, bool]


# MTL texture statements we keep, and the Material slot each fills.
_MTL_MAPS = {"map_kd": "base_color_texture", "map_ke": "emissive_texture", "map_bump": "normal_texture",
             "bump": "normal_texture", "norm": "normal_texture"}


def parse_mtl(path: Path, mtl: Path, root: Path | None) -> dict[str, Material]:
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
            # Written as picked on screen (three.js's MTLLoader reads it as sRGB too); glTF's factor is linear.
            rgb = [round(v, 6) for v in srgb_to_linear([float(v) for v in rest.split()[:3]]).tolist()]
            current.base_color_factor = (rgb[0], rgb[1], rgb[2], current.base_color_factor[3])
            current.metallic_factor = 0.0
        elif key == "d":
            alpha = float(rest.split()[0])
            current.base_color_factor = (*current.base_color_factor[:3], alpha)  # type: ignore[assignment]
            if alpha < 1.0:
                current.alpha_mode = "BLEND"
        elif key in _MTL_MAPS:
            name = sidecar_name(mtl.parent, _strip_map_options(rest))
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


def material_libraries(path: Path, rest: str, root: Path | None) -> list[Path]:
    """The MTL files of an 'mtllib' line: one name with spaces, or several names separated by spaces."""
    rest = sidecar_name(path.parent, rest)
    whole = path.parent / rest
    confine(path, whole, root, f"material library '{rest}'")
    if whole.is_file():
        return [whole]
    names = [sidecar_name(path.parent, name) for name in rest.split()]
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
_RGB = 8  # not a kind of line: the colours of "v x y z r g b" lines, kept as a table of their own
_NUMBERS = (_V, _RGB, _VT, _VN)


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


def word_starts(text: np.ndarray, separators: np.ndarray | None = None) -> np.ndarray:
    """Where each whitespace-separated word of `text` starts (the bytes flagged by `separators` separate words too)."""
    blank = text <= 32 if separators is None else (text <= 32) | separators
    return ~blank & np.concatenate([[True], blank[:-1]])


def counts_per_line(where: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many of a block's bytes flagged by `where` each of its lines (starting at `starts`) holds: one sum per
    line, where a map from byte to line (a cumulative sum over the block for each count) was a third of an OBJ's
    parse."""
    return np.add.reduceat(where, starts, dtype=np.int32)


def obj_extent(path: Path) -> tuple[np.ndarray | None, int]:
    """(the vertex positions' per-axis minimum and maximum as a 2 × 3 array, None without any; the faces' triangles,
    k - 2 for a face of k corners), read a block at a time by line kind, as the reader reads (a big file's two
    halves at once): `check`'s measure of an OBJ. As regex matches, one Python object per line, a 1M-triangle
    scan's 100 MB took 1 s and 600 MB. Raises ValueError for a file it does not measure (the measure is then
    unknown)."""
    halves = _in_two_halves(path, functools.partial(_extent, path), send_whole, received_whole, MEASURE_COSTS)
    assert halves is not None  # a stretch always has an extent
    bounds = [b for b, _ in halves if b is not None]
    joined = np.stack([np.min([b[0] for b in bounds], axis=0), np.max([b[1] for b in bounds], axis=0)]) \
        if bounds else None
    return joined, sum(triangles for _, triangles in halves)


def _extent(path: Path, start: int, end: int, report: bool) -> tuple[np.ndarray | None, int]:
    """obj_extent of the lines from byte `start` to `end`."""
    bounds: np.ndarray | None = None
    triangles = 0
    for block in _obj_blocks(path, start, end):
        text, starts, ends, kinds = _obj_lines(block)
        byte_kinds = np.repeat(kinds, ends - starts + 1)
        words = counts_per_line(word_starts(text), starts)
        triangles += int(np.maximum(words[kinds == _F] - 3, 0).sum())  # the "f" and two corners
        lines = text[byte_kinds == _V]
        if len(lines):
            # "v x y z [w]" or "v x y z r g b". loadtxt splits a whole line into fields, and a hostile line of
            # millions of numbers would cost gigabytes: such a file is left to the reader, which explains it.
            if np.any(words[kinds == _V] > 7):
                raise ValueError("a vertex line holds more than six numbers")
            points = np.loadtxt(io.BytesIO(lines.tobytes()), usecols=(1, 2, 3), dtype=np.float64, ndmin=2)
            extent = np.stack([points.min(axis=0), points.max(axis=0)])
            bounds = extent if bounds is None else np.stack([np.minimum(bounds[0], extent[0]),
                                                             np.maximum(bounds[1], extent[1])])
    return bounds, triangles


def _obj_face_layout(line: str) -> tuple[int, bool] | None:
    """(numbers per corner, whether they are v//vn) from the first face line, or None if it has under three corners."""
    corners = line.split()[1:]
    if len(corners) < 3:
        return None
    parts = corners[0].split("/")
    if len(parts) == 3 and parts[1] == "":
        return 2, True
    return len(parts), False


MAX_POLYGON = 64  # sides: a face line with more is left to the general reader


def fan(sides: int) -> np.ndarray:
    """The corners of a polygon's triangles, (sides - 2, 3): the fan from its first corner, as the general reader
    (trimesh) and most tools cut one (a remeshed scan's quads are convex). Shared with the PLY reader."""
    return np.array([[0, corner + 1, corner + 2] for corner in range(sides - 2)])


def polygon_triangles(faces: np.ndarray, sides: np.ndarray, first: np.ndarray, per_corner: int) -> np.ndarray:
    """The face lines' corners (slashes made spaces) as triangles, (triangles, 3, numbers per corner), in file
    order: each polygon's `fan`, from its line's `first` triangle on."""
    if np.all(sides == 3):
        return np.loadtxt(io.BytesIO(faces.tobytes()), usecols=range(1, 1 + 3 * per_corner), dtype=np.int64,
                          ndmin=2).reshape(-1, 3, per_corner)
    triangles = np.empty((int((sides - 2).sum()), 3, per_corner), dtype=np.int64)
    line_of_byte = np.cumsum(faces == 10, dtype=np.int32) - (faces == 10)
    for side_count in np.unique(sides).tolist():  # a parse per kind of polygon, not per face
        lines = np.flatnonzero(sides == side_count)
        corners = np.loadtxt(io.BytesIO(faces[(sides == side_count)[line_of_byte]].tobytes()),
                             usecols=range(1, 1 + side_count * per_corner), dtype=np.int64,
                             ndmin=2).reshape(-1, side_count, per_corner)
        triangles[first[lines][:, None] + np.arange(side_count - 2)] = corners[:, fan(side_count)]
    return triangles


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


def read_arrays(path: Path, root: Path | None) -> list[Part] | None:
    """An OBJ read a block at a time into numpy arrays: no Python loop per vertex or face, and never the whole text
    in memory (a big file's two halves are parsed at once, see OBJ_SPLIT_BYTES). One part per material, in the order
    the file first uses them, as the general reader groups them: RealityCapture and Metashape write a big scan's
    texture pages as one material each; vertex colours ("v x y z r g b") become COLOR_0; polygons (a remeshed scan's
    quads) are cut into triangles; relative indices are made absolute (a file that has them after its first half
    is parsed again in one stretch). None for anything else (faces before the first of several materials, colours
    on some vertices only), which the general reader then takes."""
    parse = functools.partial(_parse_obj_text, path)
    try:
        stretches = _in_two_halves(path, parse, _send_obj_text, _received_obj_text, READ_COSTS)
    except _RelativeAfterTheStart:
        whole = parse(0, path.stat().st_size, True)
        stretches = None if whole is None else [whole]
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
    numbers: dict[int, list[np.ndarray]] = {kind: [] for kind in _NUMBERS}
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
        for mtl in material_libraries(path, rest, root):
            materials.update(parse_mtl(path, mtl, root))
    indices = np.concatenate(corners)
    del corners
    sources = [_V, *([_VN] if normals_only else [_VT, _VN][:per_corner - 1])]
    tables: dict[int, np.ndarray] = {}
    for kind in sources:
        # One table at a time, each block list dropped as soon as it is joined: never two copies of all of them.
        blocks = numbers.pop(kind)
        tables[kind] = np.concatenate(blocks) if blocks else np.zeros((0, 3), np.float32)
        del blocks
    if numbers[_RGB]:
        colours = _vertex_colours(numbers.pop(_RGB), len(tables[_V]))
        if colours is None:
            return None  # colours on some vertex lines only: the general reader explains what it makes of them
        if len(colours):
            tables[_RGB] = colours
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
    shared = {kind: np.empty((int(bounds[-1]),) + tables[kind].shape[1:], tables[kind].dtype)
              for kind in [*sources, *([_RGB] if _RGB in tables else [])]}
    parts: list[Part] = []
    for (name, triangles, chosen), first, last in zip(groups, bounds, bounds[1:], strict=False):
        attributes = _obj_attributes(path, tables, sources, chosen, aligned, consume=False,
                                     into={kind: block[first:last] for kind, block in shared.items()})
        material = materials.get(name)
        primitive = Primitive(attributes=attributes, indices=triangles.reshape(-1), material=material)
        parts.append((name, primitive, material, "NORMAL" in attributes))
    return parts


def _in_two_halves(path: Path, parse: Callable[[int, int, bool], T | None], send: Callable[[Any, T], None],
                   receive: Callable[[Any, Any], T], costs: dict[int, float]) -> list[T] | None:
    """parse(start, end, report) over the file's lines: a big file's first half here while a forked process parses
    its second half (forked_half), split where `costs` (per byte of a line kind, against 1 for the others) say the
    work halves; one stretch unless the file is big and a core is spare. None if either half returns None."""
    size = path.stat().st_size
    middle = size
    if size >= OBJ_SPLIT_BYTES and spare_core():
        middle = line_start_near(path, _half_the_work(path, size, costs))
    if middle >= size:
        whole = parse(0, size, True)
        return None if whole is None else [whole]
    with ForkedHalf(functools.partial(parse, middle, size, False), send, receive) as half:
        first = parse(0, middle, True)
        if first is None:
            return None
        second = half.result()
    return None if second is None else [first, second]


# What parsing a byte of each line kind costs against a byte of the others, for where a big file splits in two.
# Exporters write the numbers first and the faces last, so the file's middle byte would give the first half most of
# the work. Chosen so that the halves of the generator's scans (f v/vt/vn) take about as long: the reader parses
# v, vt and vn lines about 2.2 times as slowly as faces (4M triangles: 3.55 and 3.25 s; at 1.6, 4.15 and 2.75 s),
# and the measure parses v lines about 8 times as slowly as it counts the words of faces, and skips vt and vn
# lines (1M: 0.37 and 0.32 s; at 5, 0.52 and 0.24 s).
READ_COSTS = {_V: 2.2, _VT: 2.2, _VN: 2.2}
MEASURE_COSTS = {_V: 8.0, _VT: 0.3, _VN: 0.3}
PROBES = 32  # places the split samples the file's lines at, PROBE_BYTES each
PROBE_BYTES = 1 << 16


def _half_the_work(path: Path, size: int, costs: dict[int, float]) -> int:
    """The byte offset that splits the file's parsing work about in half, from the kinds of lines at PROBES
    evenly spread places (each standing for its share of the file)."""
    work = []
    with path.open("rb") as handle:
        for probe in range(PROBES):
            handle.seek(size * probe // PROBES)
            sample = handle.read(PROBE_BYTES)
            sample = sample[sample.find(b"\n") + 1:sample.rfind(b"\n") + 1]
            if not sample:
                work.append(1.0)
                continue
            _, starts, ends, kinds = _obj_lines(sample)
            lengths = ends - starts + 1
            extra = sum((cost - 1) * int(lengths[kinds == kind].sum()) for kind, cost in costs.items())
            work.append((len(sample) + extra) / len(sample))
    done = np.cumsum(work) / sum(work)
    probe = int(np.searchsorted(done, 0.5))
    before = done[probe - 1] if probe else 0.0
    within = (0.5 - before) / (done[probe] - before) if done[probe] > before else 0.0
    return int(size * (probe + within) / PROBES)


def _send_obj_text(sending: Any, stretch: _ObjText) -> None:
    """A stretch without its arrays and their shapes, then each array's raw bytes: never a pickled copy of them."""
    arrays = [(kind, array) for kind in _NUMBERS for array in stretch.numbers[kind]]
    arrays += [(_F, array) for array in stretch.corners]
    sending.send((dataclasses.replace(stretch, numbers={}, corners=[]),
                  [(kind, array.shape, array.dtype.str) for kind, array in arrays]))
    for _, array in arrays:
        send_raw(sending, array)


def _received_obj_text(message: tuple[_ObjText, list[tuple[int, tuple[int, ...], str]]], receiving: Any) -> _ObjText:
    """The stretch _send_obj_text sent, each array received straight into its own memory."""
    stretch, shapes = message
    stretch.numbers = {kind: [] for kind in _NUMBERS}
    for kind, shape, dtype in shapes:
        array = np.empty(shape, np.dtype(dtype))
        receive_raw(receiving, array)
        (stretch.corners if kind == _F else stretch.numbers[kind]).append(array)
    return stretch


def _parse_obj_text(path: Path, start: int, end: int, report: bool) -> _ObjText | None:
    """The lines from byte `start` to `end` (both line starts) parsed a block at a time, or None if they hold what
    only the general reader takes."""
    numbers: dict[int, list[np.ndarray]] = {kind: [] for kind in _NUMBERS}
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
        if np.any(indented) and np.any(indented & (counts_per_line(text > 32, starts) > 0)):
            return None  # indented statements: rare, left to the general reader
        before_block = {kind: sum(len(rows) for rows in numbers[kind]) for kind in (_V, _VT, _VN)}
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
        # Each face takes the material of the last usemtl line before it, in this block or an earlier one.
        before = np.searchsorted(np.asarray(switches, dtype=np.int64), face_lines) - 1
        ids = np.where(before >= 0, np.asarray(switch_ids + [current], dtype=np.int64)[before], current)
        if switch_ids:
            current = switch_ids[-1]
        byte_kinds = np.repeat(kinds, ends - starts + 1)
        words = counts_per_line(word_starts(text), starts)
        for kind, wanted in ((_V, (1, 2, 3)), (_VT, (1, 2)), (_VN, (1, 2, 3))):
            lines = text[byte_kinds == kind]
            if not len(lines):
                continue
            tokens = words[kinds == kind]
            if kind == _V and len(tokens) and np.all(tokens == 7):
                # "v x y z r g b", as MeshLab, CloudCompare and scanners write a vertex-coloured scan (the general
                # reader took 1.3 GB for a 1M-triangle one, and dropped the colours beside a texture).
                rows = np.loadtxt(io.BytesIO(lines.tobytes()), usecols=range(1, 7), dtype=np.float32, ndmin=2)
                numbers[_V].append(np.ascontiguousarray(rows[:, :3]))
                numbers[_RGB].append(np.ascontiguousarray(rows[:, 3:]))
                continue
            if np.any(tokens > (5 if kind == _V else 4)):
                # Colours on some vertices only, or more numbers than a line of its kind has: loadtxt splits whole
                # lines, and a line of millions of numbers would cost gigabytes. The general reader explains it.
                return None
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
        slashes_in_block = (text == ord("/")) & (byte_kinds == _F)
        doubled = np.concatenate([slashes_in_block[:-1] & slashes_in_block[1:], [False]])
        slashes = faces == ord("/")
        faces[slashes] = 32
        sides, odd = np.divmod(counts_per_line(word_starts(text, slashes_in_block), starts)[face_lines] - 1,
                               per_corner)
        if (np.any(odd) or np.any(sides < 3) or np.any(sides > MAX_POLYGON)
                or np.any(counts_per_line(slashes_in_block, starts)[face_lines]
                          != sides * (2 if normals_only else per_corner - 1))
                or np.any(counts_per_line(doubled, starts)[face_lines] != (sides if normals_only else 0))):
            return None  # corners written in more than one way, or a polygon of hundreds of sides
        # Each face's first triangle (a polygon of k sides is k - 2 of them): where it goes, and the material runs.
        first_triangle = np.cumsum(sides - 2) - (sides - 2)
        parsed = polygon_triangles(faces, sides, first_triangle, per_corner)
        changes = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        runs.append((first_triangle[changes] + face_count, ids[changes]))
        face_count += len(parsed)
        if np.any(parsed < 0):
            if start:  # where a relative index points depends on the lines before this stretch
                raise _RelativeAfterTheStart
            _make_absolute(parsed, layout, kinds, face_lines, sides, before_block)
        if np.any(parsed <= 0):  # 0, or relative to before the first line of its kind
            raise AssetError(str(path), "faces refer to vertices, texture coordinates or normals that do not exist")
        if aligned and per_corner > 1 and not np.all(parsed == parsed[:, :, :1]):
            aligned = False
            corners = [c if c.ndim == 3 else np.repeat(c[:, :, None], per_corner, axis=2) for c in corners]
        corners.append((parsed[:, :, 0] if aligned else parsed).astype(np.uint32) - np.uint32(1))
    return _ObjText(numbers, corners, aligned, layout, libraries, list(material_ids), runs, face_count, current)


class _RelativeAfterTheStart(Exception):
    """A stretch that does not start the file holds relative indices: the file is parsed again in one stretch."""


def _make_absolute(parsed: np.ndarray, layout: tuple[int, bool], kinds: np.ndarray, face_lines: np.ndarray,
                   sides: np.ndarray, before_block: dict[int, int]) -> None:
    """Relative (negative) indices made absolute in place: -1 is the last line of its kind before the face's line
    (some exporters write an object's faces so, to be copied as they are). `before_block`: lines of each kind in the
    blocks before this one; the stretch starts the file."""
    per_corner, normals_only = layout
    columns = {1: (_V,), 2: (_V, _VN) if normals_only else (_V, _VT), 3: (_V, _VT, _VN)}[per_corner]
    for column, kind in enumerate(columns):
        # Lines of the kind up to each face line (itself not one of them), for each of its triangles.
        seen = (np.cumsum(kinds == kind)[face_lines] + before_block[kind]).repeat(sides - 2)
        numbers = parsed[:, :, column]
        relative = numbers < 0
        numbers[relative] += np.broadcast_to(seen[:, None] + 1, numbers.shape)[relative]


def _vertex_colours(blocks: list[np.ndarray], vertices: int) -> np.ndarray | None:
    """The colours of "v x y z r g b" lines as 0-1 values, sRGB as written (a file of 0-255 numbers is scaled, as
    trimesh reads it; ingest makes them linear), empty when every vertex has the same one (a plain white scan), None
    unless every vertex line has one."""
    colours = np.concatenate(blocks)
    del blocks[:]
    if len(colours) != vertices:
        return None
    if not np.all(np.isfinite(colours)):
        return None
    if len(colours) and float(colours.max()) > 1.0:
        colours *= np.float32(1 / 255)
    np.clip(colours, 0.0, 1.0, out=colours)
    if not len(colours) or np.all(colours == colours[0]):
        return np.zeros((0, 3), np.float32)
    return colours


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

    def rows(kind: int, picked: np.ndarray) -> np.ndarray:
        table = tables.pop(kind) if consume else tables[kind]
        if into is not None:
            return np.take(table, picked, axis=0, out=into[kind])
        # A scan's faces use every vertex, in order: the table is then the attribute, with no copy picked from it.
        every = aligned and len(picked) == len(table) and (not len(picked) or int(picked[-1]) == len(picked) - 1)
        return table if every and consume else table[picked]

    for kind, picked in zip(sources, chosen, strict=True):
        found = rows(kind, picked)
        if kind == _V:
            if not np.all(np.isfinite(found)):
                raise AssetError(str(path), "cannot read this OBJ file: vertex positions contain NaN or infinity")
            attributes["POSITION"] = found
            if _RGB in tables:
                attributes["COLOR_0"] = rows(_RGB, picked)
        elif kind == _VT:
            found = np.ascontiguousarray(found[:, :2])
            np.subtract(np.float32(1.0), found[:, 1], out=found[:, 1])  # OBJ's v is up
            attributes["TEXCOORD_0"] = found
        else:
            attributes["NORMAL"] = found
    return attributes
