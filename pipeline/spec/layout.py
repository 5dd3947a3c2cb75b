"""Cheap layout warnings: artifacts that overlap or stand outside their room, from estimated footprints."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.spec.content import placed_model
from pipeline.spec.fields import format_number, quote
from pipeline.spec.model import Artifact, Exhibit, Room

if TYPE_CHECKING:
    from pipeline.spec.rules import _Report

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


def model_size(artifact: Artifact) -> tuple[float, float, float] | None:
    """Estimated (width, depth, height) in metres of a model after units/scale/height and up, or None."""
    placed = placed_model(artifact)
    return (placed.width, placed.depth, placed.height) if placed is not None else None


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
    place = artifact.placed
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
    angle = math.radians(artifact.placed.rotate)
    half_x = (abs(math.cos(angle)) * width + abs(math.sin(angle)) * depth) / 2
    half_z = (abs(math.sin(angle)) * width + abs(math.cos(angle)) * depth) / 2
    x, z = artifact.placed.floor_at
    return Box((x - half_x, z - half_z), (x + half_x, z + half_z))


def wall_box(artifact: Artifact) -> Box:
    """What an artifact covers on its wall: (offset along the wall, height) of its corners, frame included."""
    size = model_size(artifact) if artifact.kind == "model" else None
    width, height = (size[0], size[2]) if size else image_size(artifact)
    if artifact.kind == "image" and artifact.frame is not None:
        border = 2 * (artifact.frame.width + artifact.frame.mat)
        width, height = width + border, height + border
    offset, centre = artifact.placed.wall_offset, artifact.placed.wall_height
    return Box((offset - width / 2, centre - height / 2), (offset + width / 2, centre + height / 2))


def _span(low: float, high: float) -> str:
    return f"{format_number(round(low, 2))} to {format_number(round(high, 2))}"


def check_layout(exhibit: Exhibit, report: _Report) -> None:
    """Warn about artifacts that overlap each other or a door, or that reach outside their room."""
    groups: dict[tuple[str, str], list[tuple[int, Artifact, Box]]] = {}
    openings = {room.id: room_openings(exhibit, room) for room in exhibit.rooms}
    for index, artifact in enumerate(exhibit.artifacts):
        if artifact.place is None:
            continue
        room = exhibit.room(artifact.place.room)
        if room is None:
            continue
        wall: str = artifact.placed.wall or "floor"
        box = wall_box(artifact) if artifact.placed.wall else floor_box(artifact)
        path = f"artifacts[{index}].place"
        _warn_outside(room, wall, box, path, report)
        if artifact.placed.wall:
            _warn_door(openings[room.id], artifact.placed.wall, box, path, report)
        else:
            _warn_near_door(openings[room.id], room, box, path, report)
            _warn_small_plinth(artifact, path, report)
        groups.setdefault((room.id, wall), []).append((index, artifact, box))
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
    """Partly outside is a warning; entirely outside, or a picture through the floor or ceiling, is an error:
    the build would ship an object floating in the void or cut by a surface."""
    from pipeline.spec.rules import wall_length

    width, depth, height = room.size
    if wall == "floor":
        low, high = (-width / 2, -depth / 2), (width / 2, depth / 2)
        if box.inside(low, high):
            return
        entirely = not box.overlaps(Box(low, high))
        spans = (f"its estimated footprint spans x {_span(box.low[0], box.high[0])} and z "
                 f"{_span(box.low[1], box.high[1])} m, the room x {_span(low[0], high[0])} and z "
                 f"{_span(low[1], high[1])} m")
        if entirely:
            report.error(path, f"stands entirely outside room {quote(room.id)}: {spans}")
        else:
            report.warning(path, f"stands partly outside room {quote(room.id)}: {spans}")
        return
    length = wall_length(room, wall)
    low, high = (-length / 2, 0.0), (length / 2, height)
    if box.inside(low, high):
        return
    spans = (f"it spans {_span(box.low[0], box.high[0])} m along the wall and {_span(box.low[1], box.high[1])} m "
             f"high, the wall {_span(low[0], high[0])} m and 0 to {format_number(height)} m")
    if not box.overlaps(Box(low, high)):
        report.error(path, f"hangs entirely off the {wall} wall of room {quote(room.id)}: {spans}")
    elif box.low[1] < -TOLERANCE:
        report.error(path, f"goes through the floor of room {quote(room.id)}: {spans}")
    elif box.high[1] > height + TOLERANCE:
        report.error(path, f"goes through the ceiling of room {quote(room.id)}: {spans}")
    else:
        report.warning(path, f"reaches beyond the {wall} wall of room {quote(room.id)}: {spans}")


@dataclass(frozen=True)
class Opening:
    """A door as seen from one room: its wall, its centre along the wall (as Door.at), width, height and where to."""

    wall: str
    at: float
    width: float
    height: float
    to: str


def room_openings(exhibit: Exhibit, room: Room) -> list[Opening]:
    """Every door in a room's walls: its own, and those other rooms declare into it (placed as compose places them)."""
    from pipeline.spec.rules import OPPOSITE, door_centre

    found = [Opening(door.wall, door.at, door.width, door.height, door.to) for door in room.doors]
    for other in exhibit.rooms:
        if other.id == room.id:
            continue
        for door in other.doors:
            back = OPPOSITE[door.wall]
            if door.to != room.id or any(o.to == other.id and o.wall == back for o in found):
                continue
            at = 0.0  # a room placed beside the door is centred on it
            if room.position is not None and other.position is not None:
                x, z = door_centre(other, door.wall, door.at)
                cx, cz = room.position
                at = {"north": x - cx, "south": cx - x, "east": z - cz, "west": cz - z}[back]
            found.append(Opening(back, at, door.width, door.height, other.id))
    return found


def door_floor_box(room: Room, opening: Opening) -> Box:
    """The door's gap in the wall as a (degenerate) box on the floor plan, in room-centred x and z."""
    width, depth, _ = room.size
    low, high = opening.at - opening.width / 2, opening.at + opening.width / 2
    if opening.wall == "north":
        return Box((low, -depth / 2), (high, -depth / 2))
    if opening.wall == "south":
        return Box((-high, depth / 2), (-low, depth / 2))
    if opening.wall == "east":
        return Box((width / 2, low), (width / 2, high))
    return Box((-width / 2, -high), (-width / 2, -low))


DOOR_CLEARANCE = 1.0  # metres kept free in front of a door so visitors can pass


def _warn_door(openings: list[Opening], wall: str, box: Box, path: str, report: _Report) -> None:
    for door in openings:
        if door.wall != wall:
            continue
        door_box = Box((door.at - door.width / 2, 0.0), (door.at + door.width / 2, door.height))
        if box.overlaps(door_box):
            report.warning(path, f"covers the door to {quote(door.to)} in the {wall} wall")


def _warn_near_door(openings: list[Opening], room: Room, box: Box, path: str, report: _Report) -> None:
    for door in openings:
        gap = door_floor_box(room, door)
        dx = max(gap.low[0] - box.high[0], box.low[0] - gap.high[0], 0.0)
        dz = max(gap.low[1] - box.high[1], box.low[1] - gap.high[1], 0.0)
        distance = math.hypot(dx, dz)
        if distance < DOOR_CLEARANCE - TOLERANCE:
            report.warning(path, f"stands {format_number(round(distance, 2))} m from the door to {quote(door.to)} "
                                 f"in the {door.wall} wall; leave {format_number(DOOR_CLEARANCE)} m free for "
                                 "visitors to pass")
            return


def _warn_small_plinth(artifact: Artifact, path: str, report: _Report) -> None:
    plinth = artifact.placed.plinth
    size = model_size(artifact)
    if plinth is None or size is None:
        return
    for axis, given, needed in (("width", plinth.width, size[0]), ("depth", plinth.depth, size[1])):
        if given is not None and given < needed - TOLERANCE:
            report.warning(f"{path}.plinth.{axis}", f"the plinth is {format_number(given)} m in {axis}, narrower "
                                                    f"than the model on it ({format_number(round(needed, 2))} m)")
