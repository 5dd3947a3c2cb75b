"""Checks across the whole exhibit once it is typed: ids, cross-references, kinds, and the designer warnings."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import Problem
from pipeline.spec import model
from pipeline.spec.fields import Suggestions, format_number, quote
from pipeline.spec.model import Artifact, Exhibit, Room

Locations = Mapping[str, tuple[str, int, int]]

MODEL_ONLY = ("units", "scale", "height", "up")
IMAGE_ONLY = ("frame",)
PANEL_ONLY = ("color", "background")


class _Report:
    """Adds problems located by spec path (falling back to the nearest located parent)."""

    def __init__(self, locations: Locations, declared: Mapping[str, set[str]], spec_file: str,
                 problems: list[Problem]) -> None:
        self.locations = locations
        self.declared = declared
        self.suggest_room: Suggestions | None = None
        self.spec_file = spec_file
        self.problems = problems

    def where(self, path: str) -> tuple[str, int, int]:
        probe = path
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.spec_file, 0, 0

    def given(self, path: str) -> bool:
        return path in self.locations

    def error(self, path: str, message: str) -> None:
        file, line, col = self.where(path)
        self.problems.append(Problem(file, line, col, path, message))

    def warning(self, path: str, message: str) -> None:
        file, line, col = self.where(path)
        self.problems.append(Problem(file, line, col, path, message, "warning"))


def check_exhibit(exhibit: Exhibit, locations: Locations, declared: Mapping[str, set[str]], spec_file: str,
                  problems: list[Problem], rooms_fit: bool = False, root: Path | None = None,
                  triangle_budgets: Mapping[str, int] | None = None) -> None:
    """Record every cross-reference error and every warning of a typed exhibit into `problems`.

    `declared` holds the ids written in the YAML per kind, including items already reported as invalid
    (and so missing from `exhibit`): a reference to those is not reported again. `rooms_fit` also checks that
    rooms with explicit positions fit together (see _check_room_positions). With the exhibit folder `root`, the
    files inside models are checked and models are measured from their headers (pipeline.spec.content);
    `triangle_budgets` (target → triangles) adds a warning per model over a target's budget.
    """
    from pipeline.spec.content import check_model_files, check_models
    from pipeline.spec.layout import check_layout

    report = _Report(locations, declared, spec_file, problems)
    if not exhibit.rooms and not declared["room"]:
        report.error("rooms", "an exhibit needs at least one room")
    _check_exhibit_block(exhibit, report)
    _check_unique(exhibit, report)
    for index, room in enumerate(exhibit.rooms):
        _check_room(exhibit, room, f"rooms[{index}]", report)
    if rooms_fit:
        _check_room_positions(exhibit, report)
    for index, artifact in enumerate(exhibit.artifacts):
        _check_artifact(exhibit, artifact, f"artifacts[{index}]", report)
    _check_tours(exhibit, report)
    _check_circulation(exhibit, report)
    if root is not None:
        files_ok = all([check_model_files(artifact, root, f"artifacts[{index}]", report)
                        for index, artifact in enumerate(exhibit.artifacts) if artifact.model is not None])
        if files_ok and not any(p.severity == "error" for p in problems):
            check_models(exhibit, triangle_budgets or {}, report)
    if not any(p.severity == "error" for p in problems):
        check_layout(exhibit, report)
    _warn_missing_languages(exhibit, report)
    _warn_accessibility(exhibit, report)


def _check_exhibit_block(exhibit: Exhibit, report: _Report) -> None:
    info = exhibit.exhibit
    for name, values in (("languages", info.languages), ("targets", info.targets)):
        seen: set[str] = set()
        for index, value in enumerate(values):
            if value in seen:
                report.error(f"exhibit.{name}[{index}]", f"{quote(value)} is listed twice")
            seen.add(value)


def _duplicates(ids: list[str], path: str, what: str, report: _Report) -> None:
    first: dict[str, int] = {}
    for index, item_id in enumerate(ids):
        if item_id in first:
            file, line, _ = report.where(f"{path}[{first[item_id]}].id")
            here, _, _ = report.where(f"{path}[{index}].id")
            at = f"line {line}" if file == here else f"{file}:{line}"
            report.error(f"{path}[{index}].id", f"duplicate {what} id {quote(item_id)} (first used at {at})")
        else:
            first[item_id] = index


def _check_unique(exhibit: Exhibit, report: _Report) -> None:
    _duplicates([r.id for r in exhibit.rooms], "rooms", "room", report)
    _duplicates([a.id for a in exhibit.artifacts], "artifacts", "artifact", report)
    _duplicates([t.id for t in exhibit.tours], "tours", "tour", report)
    for index, artifact in enumerate(exhibit.artifacts):
        _duplicates([a.id for a in artifact.annotations], f"artifacts[{index}].annotations", "annotation", report)


def _room_ref(exhibit: Exhibit, room_id: str, path: str, report: _Report) -> Room | None:
    room = exhibit.room(room_id)
    if room is None and room_id not in report.declared["room"]:
        if report.suggest_room is None:
            report.suggest_room = Suggestions(r.id for r in exhibit.rooms)
        report.error(path, f"unknown room {quote(room_id)}{report.suggest_room(room_id)}")
    return room


def wall_length(room: Room, wall: str) -> float:
    """Length of a wall: north and south walls run along the width, east and west along the depth."""
    return room.size[0] if wall in ("north", "south") else room.size[1]


def _check_room(exhibit: Exhibit, room: Room, path: str, report: _Report) -> None:
    width, depth, height = room.size
    for index, door in enumerate(room.doors):
        where = f"{path}.doors[{index}]"
        if door.to == room.id:
            report.error(f"{where}.to", "a door cannot lead to its own room")
        else:
            _room_ref(exhibit, door.to, f"{where}.to", report)
        length = wall_length(room, door.wall)
        if abs(door.at) + door.width / 2 > length / 2 + 1e-9:
            report.error(where, f"the door ({format_number(door.width)} m wide at {format_number(door.at)} m) does not "
                                f"fit in the {door.wall} wall ({format_number(length)} m long)")
        if door.height > height:
            report.error(f"{where}.height", f"the door is taller ({format_number(door.height)} m) than the room "
                                            f"({format_number(height)} m)")
    if room.start is not None:
        x, z = room.start.at
        if abs(x) > width / 2 or abs(z) > depth / 2:
            report.error(f"{path}.start.at", f"the start [{format_number(x)}, {format_number(z)}] is outside the room "
                                             f"(x within ±{format_number(width / 2)}, z within ±{format_number(depth / 2)})")


OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


def door_centre(room: Room, wall: str, at: float) -> tuple[float, float]:
    """World [x, z] of the middle of a door in a placed room (`at` is positive to the right, seen from inside)."""
    assert room.position is not None
    x, z = room.position
    width, depth, _ = room.size
    return {"north": (x + at, z - depth / 2), "south": (x - at, z + depth / 2),
            "east": (x + width / 2, z + at), "west": (x - width / 2, z - at)}[wall]


def _check_room_positions(exhibit: Exhibit, report: _Report) -> None:
    """Rooms whose positions are both given must not overlap, and a door between them must meet a wall.

    Rooms without a position are placed by the compiler beside their door, which always lines up. The
    compiler enforces this too (a BuildError from compose, which owns the room layout); `vitrina check` runs
    it here as well so that the designer gets the line and column before building.
    """
    placed = [(index, room) for index, room in enumerate(exhibit.rooms) if room.position is not None]
    for later, (index, room) in enumerate(placed):
        assert room.position is not None
        for other_index, other in placed[:later]:
            assert other.position is not None
            overlap_x = (room.size[0] + other.size[0]) / 2 - abs(room.position[0] - other.position[0])
            overlap_z = (room.size[1] + other.size[1]) / 2 - abs(room.position[1] - other.position[1])
            if overlap_x > 1e-3 and overlap_z > 1e-3:
                report.error(f"rooms[{index}].position", f"room {quote(room.id)} overlaps room {quote(other.id)} "
                                                         f"(rooms[{other_index}]) by {format_number(round(overlap_x, 2))}"
                                                         f" × {format_number(round(overlap_z, 2))} m")
    positions = {room.id: room for _, room in placed}
    for index, room in placed:
        for door_index, door in enumerate(room.doors):
            target = positions.get(door.to)
            if target is None or target.id == room.id:
                continue
            x, z = door_centre(room, door.wall, door.at)
            back = OPPOSITE[door.wall]
            tx, tz = door_centre(target, back, 0.0)  # the middle of the wall the door should open onto
            across, along, half = ((x - tx, z - tz, target.size[1] / 2) if door.wall in ("east", "west")
                                   else (z - tz, x - tx, target.size[0] / 2))
            across_axis, along_axis = ("x", "z") if door.wall in ("east", "west") else ("z", "x")
            door_across, wall_across = (x, tx) if across_axis == "x" else (z, tz)
            hint = f"; fix the positions, or leave out the position of {quote(target.id)} to place it beside the door"
            if abs(across) > 1e-3:
                report.error(f"rooms[{index}].doors[{door_index}]",
                             f"the door leads to {quote(target.id)}, but the {back} wall of {quote(target.id)} is at "
                             f"{across_axis} = {_metres(wall_across)}, not at {across_axis} = {_metres(door_across)} "
                             f"where the door is{hint}")
            elif abs(along) + door.width / 2 > half + 1e-3:
                door_mid, wall_mid = (x, tx) if along_axis == "x" else (z, tz)
                report.error(f"rooms[{index}].doors[{door_index}]",
                             f"the door ({along_axis} {_metres(door_mid - door.width / 2)} to "
                             f"{_metres(door_mid + door.width / 2)}) reaches past the {back} wall of "
                             f"{quote(target.id)} ({along_axis} {_metres(wall_mid - half)} to "
                             f"{_metres(wall_mid + half)}){hint}")


def _metres(value: float) -> str:
    return format_number(round(value, 3) + 0.0)


def _check_artifact(exhibit: Exhibit, artifact: Artifact, path: str, report: _Report) -> None:
    # Judged by the keys written, so that an artifact whose file is missing is still known as a model.
    kinds = [name for name in ("model", "image", "text") if report.given(f"{path}.{name}")]
    if not kinds and artifact.place is not None:  # a record not placed yet may wait for its model or image
        report.error(path, "an artifact needs one of model (a 3D file), image (a picture) or text (a panel)")
    elif len(kinds) > 1:
        report.error(f"{path}.{kinds[1]}", f"an artifact is one thing: it has both {kinds[0]} and {kinds[1]}; "
                                           "split it into two artifacts")
    kind = {"model": "model", "image": "image", "text": "panel"}[kinds[0]] if kinds else artifact.kind
    misplaced = {"model": IMAGE_ONLY + PANEL_ONLY, "image": MODEL_ONLY + PANEL_ONLY, "panel": MODEL_ONLY + IMAGE_ONLY}
    owner = {**{k: "models" for k in MODEL_ONLY}, **{k: "images" for k in IMAGE_ONLY},
             **{k: "panels" for k in PANEL_ONLY}}
    if len(kinds) == 1:
        for key in misplaced[kind]:
            if report.given(f"{path}.{key}"):
                report.error(f"{path}.{key}", f"{quote(key)} applies to {owner[key]} only, and this is "
                                              f"{'an image' if kind == 'image' else 'a ' + kind}")
        if kind == "model" and report.given(f"{path}.size"):
            report.error(f"{path}.size", "'size' applies to images and panels; give a model its size with "
                                         "units, scale or height")
    _warn_record_dimensions(artifact, path, report)
    place = artifact.place
    where = f"{path}.place"
    if place is None:
        if report.given(where):
            return  # given but invalid: already reported as an error
        report.warning(path, f"{quote(artifact.id)} is not placed yet: it is listed in the catalogue but stands "
                             "in no room (give it place: {room, at} to show it)")
        return
    _room_ref(exhibit, place.room, f"{where}.room", report)
    if place.wall is not None:
        if isinstance(place.at, tuple) and report.given(f"{where}.at"):
            report.error(f"{where}.at", "on a wall, at is one number: the offset along the wall in metres")
        for extra in ("plinth", "vitrine", "rotate"):
            if report.given(f"{where}.{extra}"):
                report.error(f"{where}.{extra}", f"{quote(extra)} applies to artifacts on the floor, and this one "
                                                 "hangs on a wall")
    else:
        if not isinstance(place.at, tuple):
            report.error(f"{where}.at", "on the floor, at is [x, z] in metres from the room's centre "
                                        "(or give wall: to hang it)")
        if report.given(f"{where}.height"):
            report.error(f"{where}.height", "'height' applies to artifacts on a wall (it is the height of their "
                                            "centre); on the floor use a plinth")
        if kind == "image":
            report.error(f"{where}", "an image hangs on a wall: add wall: north, south, east or west")
        if place.plinth is not None and place.vitrine is not None:
            report.error(f"{where}.vitrine", "give a plinth or a vitrine, not both (a vitrine has its own pedestal)")
    _check_mount_and_case(exhibit, artifact, kind, where, report)


def _warn_record_dimensions(artifact: Artifact, path: str, report: _Report) -> None:
    """A picture's record dimensions against its `size`, typed in centimetres where metres were meant (a model's
    record is checked against its measured bounds in pipeline.spec.content)."""
    if artifact.image is None or artifact.place is None or not artifact.record.dimensions:
        return
    from pipeline.spec.content import DIMENSIONS_TOLERANCE, record_dimensions
    from pipeline.spec.layout import image_size

    text = next((value for value in artifact.record.dimensions.values() if value), "")
    parsed = record_dimensions(text)
    if parsed is None or not parsed[0]:
        return
    width, height = image_size(artifact)
    ratio = max(width, height) / max(parsed[0])
    if 1 / DIMENSIONS_TOLERANCE <= ratio <= DIMENSIONS_TOLERANCE:
        return
    agreeing = ", ".join(format_number(round(value / ratio, 3)) for value in (width, height))
    report.warning(f"{path}.record.dimensions",
                   f"the record says {quote(text)} but the picture ({artifact.image.written}) is "
                   f"{format_number(round(width, 3))} × {format_number(round(height, 3))} m; size is in metres, "
                   f"so size: [{agreeing}] would agree")


def _check_tours(exhibit: Exhibit, report: _Report) -> None:
    artifact_ids = {a.id for a in exhibit.artifacts}
    annotation_keys = {f"{a.id}/{n.id}" for a in exhibit.artifacts for n in a.annotations}
    suggest_artifact, suggest_annotation = Suggestions(artifact_ids), Suggestions(annotation_keys)
    unplaced = {a.id for a in exhibit.artifacts if a.place is None}
    for tour_index, tour in enumerate(exhibit.tours):
        for stop_index, stop in enumerate(tour.stops):
            where = f"tours[{tour_index}].stops[{stop_index}]"
            if stop.artifact and stop.annotation:
                report.error(where, "a stop visits an artifact or an annotation, not both")
            elif not stop.artifact and not stop.annotation:
                report.error(where, "a stop needs an artifact or an annotation to visit")
            if stop.artifact_id in unplaced:
                report.error(where, f"{quote(stop.artifact_id)} is not placed yet, so a tour cannot visit it")
            elif stop.artifact:
                if stop.artifact not in artifact_ids and stop.artifact not in report.declared["artifact"]:
                    report.error(f"{where}.artifact", f"unknown artifact {quote(stop.artifact)}"
                                                      f"{suggest_artifact(stop.artifact)}")
            elif stop.annotation:
                if "/" not in stop.annotation:
                    report.error(f"{where}.annotation", f"{quote(stop.annotation)} should be written "
                                                        "artifact/annotation, e.g. ding/taotie")
                elif stop.annotation not in annotation_keys and stop.annotation not in report.declared["annotation"]:
                    report.error(f"{where}.annotation", f"{quote(stop.annotation)} does not exist"
                                                        f"{suggest_annotation(stop.annotation)}")


def start_room(exhibit: Exhibit) -> Room | None:
    """Where visitors appear: the first room with a `start`, else the first room."""
    return next((room for room in exhibit.rooms if room.start is not None), exhibit.rooms[0] if exhibit.rooms else None)


def reachable_rooms(exhibit: Exhibit, start: Room) -> set[str]:
    """Ids of the rooms a visitor can walk to from `start` through doors (declared on either side)."""
    links: dict[str, set[str]] = {room.id: set() for room in exhibit.rooms}
    for room in exhibit.rooms:
        for door in room.doors:
            if door.to in links:
                links[room.id].add(door.to)
                links[door.to].add(room.id)
    seen, pending = {start.id}, [start.id]
    while pending:
        for other in links[pending.pop()]:
            if other not in seen:
                seen.add(other)
                pending.append(other)
    return seen


def _check_circulation(exhibit: Exhibit, report: _Report) -> None:
    """A tour stop in a room no door leads to from the start is an error: the guide could not walk there. Such a
    room without tour stops is a warning."""
    start = start_room(exhibit)
    room_ids = {room.id for room in exhibit.rooms}
    if start is None or any(door.to not in room_ids for room in exhibit.rooms for door in room.doors):
        return  # a door to an unknown room is reported already; what it would connect is anyone's guess
    reachable = reachable_rooms(exhibit, start)
    artifacts = {artifact.id: artifact for artifact in exhibit.artifacts}
    visited = {artifacts[stop.artifact_id].placed.room for tour in exhibit.tours for stop in tour.stops
               if stop.artifact_id in artifacts and artifacts[stop.artifact_id].place is not None}
    for index, room in enumerate(exhibit.rooms):
        if room.id not in reachable and room.id not in visited:
            report.warning(f"rooms[{index}]", f"no door leads to room {quote(room.id)} from room {quote(start.id)} "
                                              "where visitors start; they can reach it only from the object list")
    for tour_index, tour in enumerate(exhibit.tours):
        for stop_index, stop in enumerate(tour.stops):
            artifact_id = stop.artifact or (stop.annotation or "").split("/")[0]
            artifact = artifacts.get(artifact_id)
            if artifact is None or artifact.place is None or exhibit.room(artifact.place.room) is None \
                    or artifact.place.room in reachable:
                continue  # unknown, not placed yet (both reported already), or reachable
            key = "artifact" if stop.artifact else "annotation"
            report.error(f"tours[{tour_index}].stops[{stop_index}].{key}",
                         f"{quote(artifact_id)} is in room {quote(artifact.place.room)}, which no door connects to "
                         f"room {quote(start.id)} where visitors start; add a door on the way")


def _texts(value: Any, hint: Any, path: str) -> Iterator[tuple[str, Mapping[str, str]]]:
    """Every multilingual text in the model, with its spec path."""
    origin = typing.get_origin(hint)
    if origin is Mapping and typing.get_args(hint) == (str, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = typing.get_type_hints(type(value), vars(model))
        for spec_field in dataclasses.fields(value):
            child = getattr(value, spec_field.name)
            yield from _texts(child, hints[spec_field.name], f"{path}.{spec_field.name}" if path else spec_field.name)
    elif origin is tuple and isinstance(value, tuple):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            for index, item in enumerate(value):
                yield from _texts(item, args[0], f"{path}[{index}]")
    elif origin in (typing.Union, types.UnionType) and value is not None:
        for option in typing.get_args(hint):
            if isinstance(option, type) and dataclasses.is_dataclass(option) and isinstance(value, option):
                yield from _texts(value, option, path)


def _warn_missing_languages(exhibit: Exhibit, report: _Report) -> None:
    languages = exhibit.languages
    if len(languages) < 2:
        return
    for path, text in _texts(exhibit, Exhibit, ""):
        if not text:
            continue
        missing = [lang for lang in languages if not text.get(lang, "").strip()]
        if missing:
            report.warning(path, f"no {' or '.join(missing)} text (the exhibit's languages are {', '.join(languages)})")


def _warn_accessibility(exhibit: Exhibit, report: _Report) -> None:
    def audio_without_captions(audio: Mapping[str, model.AudioTrack], path: str) -> None:
        for language, track in audio.items():
            if track.captions is None:
                report.warning(f"{path}.{language}", f"audio without captions for {quote(language)}: add "
                                                     f"captions: {{{language}: a .vtt file}}")

    for index, artifact in enumerate(exhibit.artifacts):
        path = f"artifacts[{index}]"
        audio_without_captions(artifact.audio, f"{path}.audio")
        if artifact.kind == "image" and not any(v.strip() for v in artifact.alt.values()):
            report.warning(path, "image without alt text: add alt: describing it for visitors who cannot see it")
    for tour_index, tour in enumerate(exhibit.tours):
        for stop_index, stop in enumerate(tour.stops):
            audio_without_captions(stop.audio, f"tours[{tour_index}].stops[{stop_index}].audio")


def _check_mount_and_case(exhibit: Exhibit, artifact: Artifact, kind: str, where: str, report: _Report) -> None:
    """place.mount holds a model on a wall; place.case names a case of the artifact's room and stands inside it."""
    place = artifact.place
    if place is None:
        return
    if place.mount is not None and (place.wall is None or kind != "model"):
        report.error(f"{where}.mount", "a mount (shelf or bracket) holds a model on a wall: give wall: too"
                     if kind == "model" else f"a mount holds models, and this is {'an image' if kind == 'image' else 'a panel'}")
    if place.case is None:
        return
    room = exhibit.room(place.room)
    if room is None:
        return  # the unknown room is reported already
    if kind != "model":
        report.error(f"{where}.case", "a case holds models; hang images and panels on a wall")
        return
    if place.wall is not None or place.plinth is not None or place.vitrine is not None:
        report.error(f"{where}.case", "an artifact in a case stands on the case's pedestal: leave out "
                                      "wall, plinth and vitrine")
        return
    case = next((c for c in room.cases if c.id == place.case), None)
    if case is None:
        hint = Suggestions(c.id for c in room.cases)(place.case)
        report.error(f"{where}.case", f"room {quote(room.id)} has no case {quote(place.case)}{hint}")
        return
    x, z = place.floor_at
    dx, dz = x - case.at[0], z - case.at[1]
    turn = math.radians(case.rotate)  # into the case's own frame
    along, across = dx * math.cos(turn) + dz * math.sin(turn), -dx * math.sin(turn) + dz * math.cos(turn)
    if abs(along) > case.size[0] / 2 or abs(across) > case.size[1] / 2:
        report.error(f"{where}.at", f"stands outside case {quote(case.id)}, whose glass spans "
                                    f"{format_number(case.size[0])} x {format_number(case.size[1])} m "
                                    f"around [{format_number(case.at[0])}, {format_number(case.at[1])}]")
