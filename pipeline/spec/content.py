"""What the build will make, judged from model headers: placed sizes, orientation, annotations, files and triangles."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pipeline.spec.fields import format_number, quote
from pipeline.spec.files import resolve_asset
from pipeline.spec.measure import measure, references, sidecar_name, written_elsewhere
from pipeline.spec.model import UNIT_METRES, Artifact, Exhibit, Room

if TYPE_CHECKING:
    from pipeline.spec.rules import _Report

AXES = {"x": 0, "y": 1, "z": 2}
# How far (in metres, or as a share of the model's own size when that is larger) an annotation may sit outside its
# model before it is probably a typo, e.g. centimetres written as metres.
ANNOTATION_MARGIN = 0.1
ANNOTATION_MARGIN_SHARE = 0.25
# A model whose largest side is below this is almost certainly in the wrong units (a coin is 15 mm).
SMALLEST_PLAUSIBLE = 0.005
# Record dimensions and measured bounds disagree when one is this many times the other.
DIMENSIONS_TOLERANCE = 1.5
# A typical museum object, for choosing the most likely of several units that would all fit.
TYPICAL_SIZE = 0.5


@dataclass(frozen=True)
class PlacedModel:
    """A model's size in metres as the build will place it (after units, scale, height and up)."""

    width: float
    depth: float
    height: float
    units_size: tuple[float, float, float]
    """The same extent in the file's units and the spec's up axis, before units/scale/height."""
    triangles: int | None

    def format(self) -> str:
        return f"{_m(self.width)} × {_m(self.depth)} × {_m(self.height)} m"


def _m(value: float) -> str:
    return format_number(round(value, 2) if value >= 0.1 else round(value, 3))


def _spec_axes(extent: tuple[float, float, float], up: str) -> tuple[float, float, float]:
    """(width, depth, height) of a file-space extent once `up` is turned to y."""
    up_axis = AXES[up]
    horizontal = [axis for axis in range(3) if axis != up_axis]
    return extent[horizontal[0]], extent[horizontal[1]], extent[up_axis]


def placed_model(artifact: Artifact) -> PlacedModel | None:
    """The model's placed size, from its file's header or vertex block; None when the file does not say."""
    if artifact.model is None:
        return None
    measured = measure(artifact.model.path)
    extent = measured.extent
    if extent is None:
        return None
    width, depth, height = _spec_axes(extent, artifact.up)
    scale = artifact.metres_per_unit
    if artifact.height is not None and height > 0:
        scale = artifact.height / height
    return PlacedModel(width * scale, depth * scale, height * scale, (width, depth, height), measured.triangles)


def _likely_units(artifact: Artifact, placed: PlacedModel, fits: float) -> str:
    """'; with `units: mm` it would be 0.5 m tall', naming the unit that makes the model fit and look most like an
    object, or '' when the size is fixed by `height` or no unit would help."""
    if artifact.height is not None:
        return ""
    tallest = max(placed.units_size)
    if tallest <= 0:
        return ""
    factor = artifact.scale if artifact.scale is not None else 1.0
    candidates = []
    for unit, metres in UNIT_METRES.items():
        size = tallest * metres * factor
        if unit != (artifact.units or "m") and SMALLEST_PLAUSIBLE <= size <= fits:
            candidates.append((abs(math.log(size / TYPICAL_SIZE)), unit, placed.units_size[2] * metres * factor))
    if not candidates:
        return ""
    _, unit, height = min(candidates)
    return f"; with `units: {unit}` it would be {_m(height)} m tall"


def _declared_unit(artifact: Artifact) -> str:
    if artifact.height is not None:
        return f"height: {format_number(artifact.height)}"
    if artifact.scale is not None:
        return f"units: {artifact.units or 'm'}, scale: {format_number(artifact.scale)}"
    return f"units: {artifact.units or 'm'}"


def check_model_sizes(artifact: Artifact, room: Room, placed: PlacedModel, path: str, report: _Report) -> bool:
    """An error for a model taller or wider than its room (naming the likely unit), a warning for a speck.

    False when the size is implausible: checks that compare against the size would only repeat the problem."""
    width, depth, room_height = room.size
    place = artifact.placed
    # A model on a wall that merely hangs too high is a layout problem (pipeline.spec.layout words it); here only a
    # model that could not fit at any height, or stand on its plinth, is a size problem.
    base = 0.0 if place.wall else place.base_height
    top = base + placed.height
    turned = math.radians(place.rotate)
    spans = (abs(math.cos(turned)) * placed.width + abs(math.sin(turned)) * placed.depth,
             abs(math.sin(turned)) * placed.width + abs(math.cos(turned)) * placed.depth)
    stand = f" on a {format_number(place.base_height)} m stand" if place.base_height and not place.wall else ""
    declared = _declared_unit(artifact)
    if top > room_height + 1e-6:
        hint = _likely_units(artifact, placed, max(room_height - base, 0.0))
        report.error(f"{path}.model", f"the model is {_m(placed.height)} m tall ({declared}){stand}, taller than "
                                      f"room {quote(room.id)} ({format_number(room_height)} m){hint}")
        return False
    if not place.wall and (spans[0] > width + 1e-6 or spans[1] > depth + 1e-6):
        hint = _likely_units(artifact, placed, min(width, depth, room_height - base))
        report.error(f"{path}.model", f"the model is {placed.format()} ({declared}), larger than room "
                                      f"{quote(room.id)} ({format_number(width)} × {format_number(depth)} m){hint}")
        return False
    if max(placed.width, placed.depth, placed.height) < SMALLEST_PLAUSIBLE:
        hint = _likely_units(artifact, placed, room_height - base)
        report.warning(f"{path}.model", f"the model is only {placed.format()} ({declared}){hint}")
        return False
    return True


_DIMENSION = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mm|cm|m|in|inches|ft|毫米|厘米|米)?(?![a-zA-Z])")
# The spec's units, and the other names catalogue records write them with.
_DIMENSION_UNITS = {**UNIT_METRES, "毫米": UNIT_METRES["mm"], "厘米": UNIT_METRES["cm"], "米": UNIT_METRES["m"],
                    "inches": UNIT_METRES["in"]}
_HEIGHT_LABEL = re.compile(r"(?:\bH\b\.?|\bheight\b|高)\s*:?\s*(\d+(?:[.,]\d+)?)", re.IGNORECASE)


def record_dimensions(text: str) -> tuple[list[float], float | None] | None:
    """The sizes (metres) a record's dimensions text gives, and its height if labelled (H., height, 高); None when
    no unit is written (a bare number could be anything)."""
    found = _DIMENSION.findall(text)
    units = [unit for _, unit in found if unit]
    if not found or not units:
        return None
    # "30 x 20 x 10 cm": numbers without a unit take the next unit written after them.
    values: list[float] = []
    pending: list[float] = []
    for number, unit in found:
        pending.append(float(number.replace(",", ".")))
        if unit:
            values.extend(value * _DIMENSION_UNITS[unit] for value in pending)
            pending = []
    height_match = _HEIGHT_LABEL.search(text)
    height = None
    if height_match:
        after = text[height_match.end(1):]
        unit = next((u for _, u in _DIMENSION.findall(after) if u), units[-1])
        unit_here = re.match(r"\s*(mm|cm|m|in|inches|ft|毫米|厘米|米)(?![a-zA-Z])", after)
        height = float(height_match.group(1).replace(",", ".")) * _DIMENSION_UNITS[unit_here.group(1) if unit_here
                                                                                    else unit]
    return values, height


def check_dimensions(artifact: Artifact, placed: PlacedModel, path: str, languages: tuple[str, ...],
                     report: _Report) -> None:
    """Warn when the record's dimensions disagree with the model's size, or say it stands while it lies down."""
    text = next((artifact.record.dimensions[lang] for lang in languages if artifact.record.dimensions.get(lang)), "")
    parsed = record_dimensions(text) if text else None
    if parsed is None:
        return
    sizes, height = parsed
    largest_model = max(placed.width, placed.depth, placed.height)
    largest_record = max(sizes) if sizes else 0.0
    where = f"{path}.record.dimensions"
    if largest_record > 0 and not _agrees(largest_model, largest_record):
        report.warning(where, f"the record says {quote(text)}, but the model measures {placed.format()} "
                              f"(W × D × H, with {_declared_unit(artifact)}); check units, scale or height")
        return
    if height is None or _agrees(placed.height, height):
        return
    where_up = f"{path}.up" if report.given(f"{path}.up") else f"{path}.model"
    suggestion = _up_giving(artifact, placed, height)
    if suggestion is not None:
        axis, tall = suggestion
        report.warning(where_up, f"the model may be lying down: with up: {artifact.up} it stands {_m(placed.height)} m "
                                 f"tall, but the record says {quote(text)}; with `up: {axis}` it would stand "
                                 f"{_m(tall)} m tall")
    elif height >= 0.9 * largest_record and max(placed.width, placed.depth) > DIMENSIONS_TOLERANCE * placed.height:
        report.warning(where_up, f"the model may be lying down: it is {_m(placed.height)} m tall and "
                                 f"{_m(max(placed.width, placed.depth))} m along the floor, but the record says "
                                 f"{quote(text)}; check `up`")


def _agrees(measured: float, recorded: float) -> bool:
    return measured > 0 and recorded > 0 and max(measured / recorded, recorded / measured) <= DIMENSIONS_TOLERANCE


def _up_giving(artifact: Artifact, placed: PlacedModel, height: float) -> tuple[str, float] | None:
    """The other `up` axis under which the model would be as tall as the record says, and that height."""
    if artifact.model is None or artifact.height is not None:
        return None  # `height:` scales whichever axis is up to the given height: it cannot tell
    extent = measure(artifact.model.path).extent
    if extent is None:
        return None
    scale = artifact.metres_per_unit
    fits = [(abs(math.log(extent[AXES[axis]] * scale / height)), axis) for axis in AXES
            if axis != artifact.up and _agrees(extent[AXES[axis]] * scale, height)]
    if not fits:
        return None
    _, axis = min(fits)
    return axis, extent[AXES[axis]] * scale


def _outside(at: tuple[float, float, float], size: tuple[float, float, float]) -> float:
    """How far (metres) a point in the artifact's frame lies outside a model of (width, depth, height) standing on
    the centre of its base; 0 inside."""
    x, y, z = at
    width, depth, height = size
    return max(abs(x) - width / 2, -y, y - height, abs(z) - depth / 2, 0.0)


def _up_fitting_annotations(artifact: Artifact, placed: PlacedModel, margin: float) -> str:
    """'; with `up: z` every annotation would be on the model' when another up axis explains annotations that are
    off the model as it stands (the points were picked with the model the right way up), else ''."""
    if artifact.model is None or artifact.height is not None:
        return ""
    extent = measure(artifact.model.path).extent
    if extent is None:
        return ""
    scale = artifact.metres_per_unit
    for axis in AXES:
        if axis == artifact.up:
            continue
        width, depth, height = (value * scale for value in _spec_axes(extent, axis))
        if all(_outside(note.at, (width, depth, height)) <= margin for note in artifact.annotations):
            return f"; with `up: {axis}` every annotation would be on the model"
    return ""


def check_annotations(artifact: Artifact, room: Room, placed: PlacedModel, path: str, report: _Report) -> None:
    """Annotations are placed from the centre of the model's base: warn when one is off the model, and refuse one
    that is further away than the room is high (a unit typo, and a hotspot floating in the ceiling)."""
    size = (placed.width, placed.depth, placed.height)
    margin = max(ANNOTATION_MARGIN, ANNOTATION_MARGIN_SHARE * max(size))
    box = (f"the model spans x ±{_m(placed.width / 2)}, y 0 to {_m(placed.height)} and z ±{_m(placed.depth / 2)} m "
           "from the centre of its base")
    hint: str | None = None
    for index, annotation in enumerate(artifact.annotations):
        outside = _outside(annotation.at, size)
        if outside <= margin:
            continue
        where = f"{path}.annotations[{index}].at"
        if outside > room.size[2]:
            report.error(where, f"annotation {quote(annotation.id)} is {_m(outside)} m outside its model "
                                f"(further than room {quote(room.id)} is high): {box}; `at` is in metres")
            continue
        if hint is None:
            hint = _up_fitting_annotations(artifact, placed, margin)
        report.warning(where, f"annotation {quote(annotation.id)} is {_m(outside)} m outside its model: {box}{hint}")


def check_triangles(artifact: Artifact, placed: PlacedModel, path: str, targets: tuple[str, ...],
                    budgets: Mapping[str, int], report: _Report) -> None:
    """Warn, from the header's count alone, when a model has more triangles than a target device may draw."""
    if placed.triangles is None:
        return
    over = [(target, budgets[target]) for target in targets if target in budgets and placed.triangles > budgets[target]]
    if not over:
        return
    named = ", ".join(f"{budget:,} triangles on {target}" for target, budget in over)
    report.warning(f"{path}.model", f"the model has {placed.triangles:,} triangles, over the budget of {named}; "
                                    f"{' and '.join(t for t, _ in over)} will load a simplified level")


def check_model_files(artifact: Artifact, root: Path, path: str, report: _Report) -> bool:
    """Every file a model loads beside itself (glTF buffers and images, OBJ material libraries and their textures)
    exists inside the exhibit folder; problems are errors at the `model:` line. True when all are fine."""
    assert artifact.model is not None
    ok = True
    pending = [(artifact.model.path, artifact.model.written)]
    seen: set[Path] = set()
    while pending:
        file, written = pending.pop()
        if file in seen:
            continue
        seen.add(file)
        found = references(file)
        folder = PurePosixPath(written).parent
        for what, name in found:
            read = sidecar_name(file.parent, name)
            relative = (folder / read).as_posix()
            resolved, problem = resolve_asset(relative, root, "sidecar")
            if problem is not None and what == "material library" and " " in name:
                # `mtllib a.mtl b.mtl` names several libraries; a single name with spaces was tried first.
                for part in name.split():
                    part = sidecar_name(file.parent, part)
                    part_resolved, part_problem = resolve_asset((folder / part).as_posix(), root, "sidecar")
                    if part_problem is not None:
                        report.error(f"{path}.model", f"{quote(written)} refers to {what} {quote(part)}: "
                                                      f"{part_problem}")
                        ok = False
                    elif part_resolved is not None:
                        pending.append((part_resolved, (folder / part).as_posix()))
                continue
            if problem is not None and written_elsewhere(read):
                # Never looked for where it says: the file of its name beside the model is what would be read.
                beside = (folder / read.rsplit("/", 1)[-1]).as_posix()
                report.error(f"{path}.model", f"{quote(written)} refers to {what} {quote(name)}, a path on the "
                                              f"machine that wrote it; copy that file to {quote(beside)}")
                ok = False
            elif problem is not None:
                report.error(f"{path}.model", f"{quote(written)} refers to {what} {quote(name)}: {problem}")
                ok = False
            else:
                if read != name:
                    why = "a path on the machine that wrote it" if written_elsewhere(name) else "which is not there"
                    report.warning(f"{path}.model", f"{quote(written)} refers to {what} {quote(name)}, {why}; the "
                                                    f"build reads {quote(relative)}, the file of that name beside it")
                if resolved is not None and what == "material library":
                    pending.append((resolved, relative))
    return ok


def check_models(exhibit: Exhibit, budgets: Mapping[str, int], report: _Report) -> None:
    """Sizes, record dimensions, orientation, annotations and triangles of every model placed in a known room."""
    for index, artifact in enumerate(exhibit.artifacts):
        if artifact.model is None or artifact.place is None:  # not placed yet: no room to measure it against
            continue
        path = f"artifacts[{index}]"
        room = exhibit.room(artifact.place.room)
        placed = placed_model(artifact)
        if room is None or placed is None:
            continue
        if check_model_sizes(artifact, room, placed, path, report):
            check_dimensions(artifact, placed, path, exhibit.languages, report)
            check_annotations(artifact, room, placed, path, report)
        check_triangles(artifact, placed, path, exhibit.exhibit.targets, budgets, report)


def _image_files(exhibit: Exhibit, root: Path) -> list[tuple[str, Path]]:
    """(name as the designer knows it, path) of every picture, surface texture and texture file beside a model."""
    found: list[tuple[str, Path]] = []
    for room in exhibit.rooms:
        for surface in (room.walls, room.floor, room.ceiling):
            if surface.texture is not None:
                found.append((surface.texture.written, surface.texture.path))
    for artifact in exhibit.artifacts:
        if artifact.image is not None:
            found.append((artifact.image.written, artifact.image.path))
        if artifact.model is None:
            continue
        pending = [(artifact.model.path, PurePosixPath(artifact.model.written))]
        while pending:
            file, written = pending.pop()
            for what, name in references(file):
                relative = (written.parent / sidecar_name(file.parent, name)).as_posix()
                resolved, problem = resolve_asset(relative, root, "sidecar")
                if resolved is None or problem is not None:
                    continue
                if what == "material library":
                    pending.append((resolved, PurePosixPath(relative)))
                elif what in ("image", "texture"):
                    found.append((relative, resolved))
    unique: dict[Path, str] = {}
    for name, path in found:
        unique.setdefault(path, name)
    return [(name, path) for path, name in unique.items()]


def image_notes(exhibit: Exhibit, root: Path, texture_limits: Mapping[str, int],
                fit: Callable[[int, int, int], tuple[int, int]]) -> list[str]:
    """One plain note per image larger than a target device's texture limit: its size and the size the build gives
    each such device (`fit(width, height, limit)` is the build's own resizing rule). Sizes come from the file's
    header; nothing is decoded."""
    import warnings

    from pipeline import images

    targets = [t for t in exhibit.exhibit.targets if t in texture_limits]
    notes = []
    for name, path in _image_files(exhibit, root):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the size is said below
                width, height = images.file_pixel_size(path)
        except images.UNREADABLE:
            continue
        by_size: dict[tuple[int, int], list[str]] = {}
        for target in targets:
            if max(width, height) > texture_limits[target]:
                by_size.setdefault(fit(width, height, texture_limits[target]), []).append(target)
        if by_size:
            done = "; ".join(f"{' and '.join(names)} get{'s' if len(names) == 1 else ''} {w:,} × {h:,} px"
                             for (w, h), names in sorted(by_size.items(), reverse=True))
            notes.append(f"{name} is {width:,} × {height:,} px; the build makes it smaller for some devices: {done}")
    return notes
