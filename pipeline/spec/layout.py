"""Cheap layout warnings: artifacts that overlap or stand outside their room, a start view with nothing in it."""

from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.spec.fields import format_number, quote
from pipeline.spec.model import Artifact, Exhibit, Room

if TYPE_CHECKING:
    from pipeline.spec.rules import _Report

# Estimates read only headers and vertex positions, never whole meshes or textures, and give up on big files:
# this runs on every `vitrina check`, and a wrong guess only costs a warning.
MAX_ESTIMATE_BYTES = 64 << 20
DEFAULT_FOOTPRINT = (0.5, 0.5)
DEFAULT_PANEL = (1.0, 0.7)
PANEL_THICKNESS = 0.05
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: on the floor (x, z) or on a wall (offset, height)."""

    low: tuple[float, float]
    high: tuple[float, float]

    def overlaps(self, other: Box) -> bool:
        return all(self.low[i] < other.high[i] - TOLERANCE and other.low[i] < self.high[i] - TOLERANCE
                   for i in range(2))

    def inside(self, low: tuple[float, float], high: tuple[float, float]) -> bool:
        return all(self.low[i] >= low[i] - TOLERANCE and self.high[i] <= high[i] + TOLERANCE for i in range(2))


def _gltf_bounds(path: Path) -> np.ndarray | None:
    """Min/max corners of every POSITION accessor in a glTF/GLB (from the JSON header: no buffers read)."""
    with open(path, "rb") as handle:
        if path.suffix.lower() == ".glb":
            header = handle.read(20)
            if len(header) < 20 or header[:4] != b"glTF":
                return None
            chunk_length = struct.unpack_from("<I", header, 12)[0]
            if chunk_length > MAX_ESTIMATE_BYTES:
                return None
            document = json.loads(handle.read(chunk_length))
        else:
            document = json.loads(handle.read(MAX_ESTIMATE_BYTES))
    accessors = document.get("accessors", [])
    corners = []
    for mesh in document.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            index = primitive.get("attributes", {}).get("POSITION")
            if isinstance(index, int) and 0 <= index < len(accessors):
                accessor = accessors[index]
                if len(accessor.get("min", [])) == 3 and len(accessor.get("max", [])) == 3:
                    corners.append(accessor["min"])
                    corners.append(accessor["max"])
    return np.array(corners, dtype=float) if corners else None


def _stl_bounds(path: Path) -> np.ndarray | None:
    data = path.read_bytes()
    if len(data) >= 84 and len(data) == 84 + 50 * int.from_bytes(data[80:84], "little"):
        records = np.frombuffer(data, dtype=np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)),
                                                      ("attribute", "<u2")]), offset=84)
        return records["vertices"].reshape(-1, 3).astype(float) if len(records) else None
    rows = [line.split()[1:4] for line in data.decode("ascii", "replace").splitlines()
            if line.strip().startswith("vertex")]
    return np.array(rows, dtype=float) if rows else None


_PLY_TYPES = {"char": "i1", "uchar": "u1", "short": "i2", "ushort": "u2", "int": "i4", "uint": "u4",
              "float": "f4", "double": "f8", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
              "int32": "i4", "uint32": "u4", "float32": "f4", "float64": "f8"}


def _ply_bounds(path: Path) -> np.ndarray | None:
    data = path.read_bytes()
    end = data.find(b"end_header")
    if end < 0:
        return None
    header = data[:end].decode("ascii", "replace").splitlines()
    body = data[data.index(b"\n", end) + 1:]
    fmt = next((line.split()[1] for line in header if line.startswith("format")), "")
    count, properties, in_vertex = 0, [], False
    for line in header:
        words = line.split()
        if words[:1] == ["element"] and len(words) >= 3:
            if in_vertex or words[1] != "vertex":
                break  # positions are only read when the vertex element comes first
            in_vertex, count = True, int(words[2])
        elif words[:1] == ["property"] and in_vertex and len(words) >= 3:
            if words[1] == "list":
                return None
            properties.append((words[2], _PLY_TYPES.get(words[1], "f4")))
    names = [name for name, _ in properties]
    if not count or not {"x", "y", "z"} <= set(names):
        return None
    if fmt == "ascii":
        rows = body.decode("ascii", "replace").splitlines()[:count]
        table = np.array([row.split()[: len(names)] for row in rows], dtype=float)
        return table[:, [names.index(axis) for axis in "xyz"]]
    order = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, order + code) for name, code in properties])
    vertices = np.frombuffer(body, dtype=dtype, count=count)
    return np.stack([vertices[axis].astype(float) for axis in "xyz"], axis=1)


def _obj_bounds(path: Path) -> np.ndarray | None:
    rows = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("v "):
                rows.append(line.split()[1:4])
    return np.array(rows, dtype=float) if rows else None


@functools.lru_cache(maxsize=256)
def _file_extent(path: Path, size: int, mtime_ns: int) -> np.ndarray | None:
    """The bounding-box extent of a model file in its own units; cached by size and time (re-checks are common)."""
    readers = {".glb": _gltf_bounds, ".gltf": _gltf_bounds, ".stl": _stl_bounds, ".ply": _ply_bounds,
               ".obj": _obj_bounds}
    reader = readers.get(path.suffix.lower())
    if reader is None or size > MAX_ESTIMATE_BYTES:
        return None
    try:
        points = reader(path)
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, struct.error, UnicodeError):
        return None  # the compiler reads the file properly and reports what is wrong with it
    if points is None or not len(points) or not np.all(np.isfinite(points)):
        return None
    extent = points.max(axis=0) - points.min(axis=0)
    extent.setflags(write=False)
    return extent


def model_size(artifact: Artifact) -> tuple[float, float, float] | None:
    """Estimated (width, depth, height) in metres of a model after units/scale/height and up, or None."""
    if artifact.model is None:
        return None
    path = artifact.model.path
    try:
        stat = path.stat()
    except OSError:
        return None
    extent = _file_extent(path, stat.st_size, stat.st_mtime_ns)
    if extent is None:
        return None
    up = {"x": 0, "y": 1, "z": 2}[artifact.up]
    horizontal = [axis for axis in range(3) if axis != up]
    width, depth, height = float(extent[horizontal[0]]), float(extent[horizontal[1]]), float(extent[up])
    scale = artifact.metres_per_unit
    if artifact.height is not None and height > 0:
        scale = artifact.height / height
    return width * scale, depth * scale, height * scale


def image_size(artifact: Artifact) -> tuple[float, float]:
    """Physical (width, height) of an image or panel in metres, as the compiler will make it (frame excluded)."""
    if artifact.size is not None:
        return artifact.size
    if artifact.image is not None:
        from pipeline import images

        try:
            pixels_wide, pixels_high = images.file_pixel_size(artifact.image.path)
        except images.UNREADABLE:
            return 1.0, 1.0
        return 1.0, pixels_high / pixels_wide if pixels_wide else 1.0
    return DEFAULT_PANEL


def floor_footprint(artifact: Artifact) -> tuple[float, float]:
    """Estimated (width, depth) in metres that an artifact standing on the floor covers, before rotation."""
    place = artifact.place
    if artifact.kind == "panel":
        return image_size(artifact)[0], PANEL_THICKNESS
    size = model_size(artifact)
    width, depth = (size[0], size[1]) if size else DEFAULT_FOOTPRINT
    if place.vitrine is not None:
        return width + 2 * place.vitrine.margin, depth + 2 * place.vitrine.margin
    if place.plinth is not None:
        return (place.plinth.width or width + 2 * place.plinth.margin,
                place.plinth.depth or depth + 2 * place.plinth.margin)
    return width, depth


def floor_box(artifact: Artifact) -> Box:
    width, depth = floor_footprint(artifact)
    angle = math.radians(artifact.place.rotate)
    half_x = (abs(math.cos(angle)) * width + abs(math.sin(angle)) * depth) / 2
    half_z = (abs(math.sin(angle)) * width + abs(math.cos(angle)) * depth) / 2
    x, z = artifact.place.floor_at
    return Box((x - half_x, z - half_z), (x + half_x, z + half_z))


def wall_box(artifact: Artifact) -> Box:
    width, height = image_size(artifact)
    if artifact.kind == "image" and artifact.frame is not None:
        border = 2 * (artifact.frame.width + artifact.frame.mat)
        width, height = width + border, height + border
    offset, centre = artifact.place.wall_offset, artifact.place.wall_height
    return Box((offset - width / 2, centre - height / 2), (offset + width / 2, centre + height / 2))


def _span(low: float, high: float) -> str:
    return f"{format_number(round(low, 2))} to {format_number(round(high, 2))}"


def check_layout(exhibit: Exhibit, report: _Report) -> None:
    """Warn about artifacts that overlap each other or a door, or that reach outside their room."""
    groups: dict[tuple[str, str], list[tuple[int, Artifact, Box]]] = {}
    for index, artifact in enumerate(exhibit.artifacts):
        room = exhibit.room(artifact.place.room)
        if room is None:
            continue
        wall: str = artifact.place.wall or "floor"
        box = wall_box(artifact) if artifact.place.wall else floor_box(artifact)
        path = f"artifacts[{index}].place"
        _warn_outside(room, wall, box, path, report)
        if artifact.place.wall:
            _warn_door(room, artifact.place.wall, box, path, report)
        groups.setdefault((room.id, wall), []).append((index, artifact, box))
    check_start_view(exhibit, report)
    for (room_id, wall), placed in groups.items():
        where = "on the floor" if wall == "floor" else f"on the {wall} wall"
        for index, other_index, other in _first_overlaps(placed):
            report.warning(f"artifacts[{index}].place", f"overlaps {quote(other.id)} (artifacts[{other_index}]) "
                                                        f"{where} of room {quote(room_id)}, judging by their "
                                                        "estimated sizes")


def _first_overlaps(placed: list[tuple[int, Artifact, Box]]) -> list[tuple[int, int, Artifact]]:
    """For each artifact that overlaps an earlier one (in spec order), the first such: (index, other index, other).

    Sweeps along the first axis so that a room with thousands of artifacts stays fast.
    """
    by_start = sorted(placed, key=lambda item: item[2].low[0])
    first: dict[int, tuple[int, Artifact]] = {}
    active: list[tuple[int, Artifact, Box]] = []
    for index, artifact, box in by_start:
        active = [item for item in active if item[2].high[0] > box.low[0] + TOLERANCE]
        for other_index, other, other_box in active:
            if box.overlaps(other_box):
                later, earlier, earlier_artifact = ((index, other_index, other) if other_index < index
                                                    else (other_index, index, artifact))
                if later not in first or earlier < first[later][0]:
                    first[later] = (earlier, earlier_artifact)
        active.append((index, artifact, box))
    return [(index, other_index, other) for index, (other_index, other) in sorted(first.items())]


def _warn_outside(room: Room, wall: str, box: Box, path: str, report: _Report) -> None:
    from pipeline.spec.rules import wall_length

    width, depth, height = room.size
    if wall == "floor":
        low, high = (-width / 2, -depth / 2), (width / 2, depth / 2)
        if not box.inside(low, high):
            report.warning(path, f"stands partly outside room {quote(room.id)}: its estimated footprint spans "
                                 f"x {_span(box.low[0], box.high[0])} and z {_span(box.low[1], box.high[1])} m, "
                                 f"the room x {_span(low[0], high[0])} and z {_span(low[1], high[1])} m")
        return
    length = wall_length(room, wall)
    low, high = (-length / 2, 0.0), (length / 2, height)
    if not box.inside(low, high):
        report.warning(path, f"reaches beyond the {wall} wall of room {quote(room.id)}: it spans "
                             f"{_span(box.low[0], box.high[0])} m along the wall and {_span(box.low[1], box.high[1])} m "
                             f"high, the wall {_span(low[0], high[0])} m and 0 to {format_number(height)} m")


def _warn_door(room: Room, wall: str, box: Box, path: str, report: _Report) -> None:
    for door in room.doors:
        if door.wall != wall:
            continue
        door_box = Box((door.at - door.width / 2, 0.0), (door.at + door.width / 2, door.height))
        if box.overlaps(door_box):
            report.warning(path, f"covers the door to {quote(door.to)} in the {wall} wall")


# Half the horizontal field of view of the viewer's first frame (60° vertical on a 3:2 screen is about 82° across).
START_HALF_VIEW = 40.0


def room_position(room: Room, artifact: Artifact) -> tuple[float, float]:
    """Where an artifact is on the floor plan, [x, z] from the room's centre (a wall artifact: on its wall)."""
    place = artifact.place
    if place.wall is None:
        return (float(place.floor_at[0]), float(place.floor_at[1]))
    half_w, half_d, offset = room.size[0] / 2, room.size[1] / 2, place.wall_offset
    return {"north": (offset, -half_d), "east": (half_w, offset), "south": (-offset, half_d),
            "west": (-half_w, -offset)}[place.wall]


def _bearing(dx: float, dz: float) -> float:
    """Degrees clockwise from north (-z) of a floor-plan direction."""
    return math.degrees(math.atan2(dx, -dz)) % 360


def check_start_view(exhibit: Exhibit, report: _Report) -> None:
    """Warn when the first view (start position and facing, or the facing compose would choose) shows no artifact."""
    if not exhibit.rooms:
        return
    room = exhibit.start_room
    index = exhibit.rooms.index(room)
    at = room.start.at if room.start is not None else (0.0, 0.0)
    path = f"rooms[{index}].start" if room.start is not None else f"rooms[{index}]"
    in_room = [a for a in exhibit.artifacts if a.place.room == room.id]
    if not in_room:
        return  # an empty first room (a foyer) is the designer's choice; there is nothing to turn towards
    facing = room.start.facing if room.start is not None else None
    if facing is None:
        featured = exhibit.featured_artifact(room.id)
        assert featured is not None  # the room has artifacts
        x, z = room_position(room, featured)
        if math.hypot(x - at[0], z - at[1]) <= 0.3:
            return  # compose then faces the long axis; the featured artifact is underfoot, not out of sight
        facing = _bearing(x - at[0], z - at[1])
    for artifact in in_room:
        x, z = room_position(room, artifact)
        turn = (_bearing(x - at[0], z - at[1]) - facing + 180) % 360 - 180
        if abs(turn) <= START_HALF_VIEW:
            return
    report.warning(path, f"the first view (facing {format_number(round(facing, 1))}° from north) shows none of "
                         f"room {quote(room.id)}'s artifacts; face one, or leave out `facing` to face "
                         f"{quote(exhibit.featured_artifact(room.id).id)}")  # type: ignore[union-attr]
