"""Edit the exhibit's YAML in place (the only ruamel.yaml importer): layout values for `serve --edit`, texts for `i18n import`, records for `vitrina import`; comments, order and style kept."""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from pipeline.errors import SpecError, VitrinaError
from pipeline.spec.loader import SPEC_NAME, find_spec_file

Target = Literal["artifact", "room"]

# What the editor may change, and the bounds a value must keep. Positions are metres from a room's centre, and no
# room is wider than 200 m (model.Room.size), so nothing sensible lies beyond 100 m.
MAX_OFFSET = 100.0
EDITABLE: dict[tuple[str, str], str] = {
    ("artifact", "place.at"): "position",
    ("artifact", "place.rotate"): "angle",
    ("artifact", "place.height"): "height",
    ("artifact", "place.plinth.height"): "plinth",
    # Another room or wall (or the floor): {room, wall (null: the floor), at, height (a wall's)} in one change.
    ("artifact", "place"): "placement",
    ("room", "start.at"): "position",
    ("room", "start.facing"): "angle",
}
REQUIRED_KEYS = {"place.at"}  # the others may be removed (value null), which restores their default
HEIGHT_RANGE = (0.0, 50.0)  # model.Place.height
PLINTH_RANGE = (0.05, 3.0)  # model.Plinth.height and model.Vitrine.plinth_height
WALLS = ("north", "south", "east", "west")
# Keys of a placement that only mean something on the floor, or only on a wall: a move between them drops them.
FLOOR_ONLY = ("rotate", "plinth", "vitrine", "case")
WALL_ONLY = ("wall", "height", "mount")
RESTORED = ("rotate", "plinth", "vitrine", "case", "mount")  # what undo of a move may give back
# The YAML indentation styles tried, most common first: the one that reproduces the file exactly is used to write it.
INDENT_STYLES = ((4, 2), (2, 0), (2, 2), (4, 4), (3, 1))


def round_trip_yaml(style: tuple[int, int] = INDENT_STYLES[0]) -> YAML:
    """A ruamel round-trip parser and writer: comments, key order, quotes and flow style survive a load and dump;
    `style` is (sequence indent, dash offset)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the designer wrote on one line
    yaml.indent(mapping=2, sequence=style[0], offset=style[1])
    return yaml


def load_text(text: str) -> Any:
    """A YAML document as round-trip data (CommentedMap / CommentedSeq), or None for an empty one."""
    return round_trip_yaml().load(text)


def load_file(path: Path) -> Any:
    return load_text(path.read_text(encoding="utf-8"))


def dump_text(data: Any) -> str:
    """Round-trip data back to YAML text."""
    out = io.StringIO()
    round_trip_yaml().dump(data, out)
    return out.getvalue()


def mapping(items: dict[str, Any] | None = None, flow: bool = False) -> CommentedMap:
    """A new mapping for round-trip data; `flow` writes it on one line ({a: 1, b: 2})."""
    made = CommentedMap(items or {})
    if flow:
        made.fa.set_flow_style()
    return made


class EditError(VitrinaError):
    """A layout change was refused: an unknown target or key, a value out of range, or a file that cannot be edited."""


@dataclass(frozen=True)
class Change:
    """One layout value to write: `key` (e.g. place.at) of the artifact or room with this id."""

    target: Target
    id: str
    key: str
    value: Any


@dataclass(frozen=True)
class Written:
    """What an edit did: the file (relative to the exhibit folder), the value before and after, lines changed."""

    file: str
    line: int
    before: Any
    after: Any
    changed_lines: int


def parse_change(data: Any) -> Change:
    """A Change from untrusted JSON ({target, id, key, value}), with every field checked."""
    if not isinstance(data, dict) or set(data) != {"target", "id", "key", "value"}:
        raise EditError("a change is {target, id, key, value}")
    target, ident, key = data["target"], data["id"], data["key"]
    if not all(isinstance(part, str) for part in (target, ident, key)):
        raise EditError("target, id and key are strings")
    kind = EDITABLE.get((target, key))
    if kind is None:
        raise EditError(f"{target} {key} cannot be edited here")
    if not ident or len(ident) > 200:
        raise EditError("the id is empty or too long")
    if data["value"] is None:
        # Undo of a change that added the key: remove it again, so the file is as it was and the default applies.
        if key in REQUIRED_KEYS:
            raise EditError(f"{key} cannot be removed")
        return Change(target, ident, key, None)
    return Change(target, ident, key, _checked_value(kind, key, data["value"]))


def _number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EditError(f"{what} must be a number")
    if not low <= value <= high:
        raise EditError(f"{what} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _checked_value(kind: str, key: str, value: Any) -> Any:
    if kind == "position":
        if isinstance(value, list):
            if len(value) != 2:
                raise EditError(f"{key} is [x, z]")
            return [_number(v, key, -MAX_OFFSET, MAX_OFFSET) for v in value]
        return _number(value, key, -MAX_OFFSET, MAX_OFFSET)  # an offset along a wall
    if kind == "angle":
        return _number(value, key, -360.0, 360.0)
    if kind == "placement":
        return _checked_placement(value)
    if kind == "height":
        return _number(value, key, *HEIGHT_RANGE)
    return _number(value, key, *PLINTH_RANGE)


STAND_KEYS = {"plinth": ("height", "width", "depth", "margin", "color"),
              "vitrine": ("plinth_height", "height", "margin", "color")}
MOUNTS = ("shelf", "bracket")


def _checked_stand(kind: str, value: Any) -> Any:
    """A plinth or vitrine as undo sends it back: true, or a mapping of its own keys to numbers (a colour string)."""
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, dict) or not set(value) <= set(STAND_KEYS[kind]):
        raise EditError(f"place.{kind} is true or {{{', '.join(STAND_KEYS[kind])}}}")
    return {key: (str(item)[:20] if key == "color" else _number(item, f"place.{kind}.{key}", 0.0, 20.0))
            for key, item in value.items()}


def _checked_placement(value: Any) -> dict[str, Any]:
    """{room, wall, at, height}, and, when undo puts a move back, the keys that move dropped."""
    if not isinstance(value, dict) or not {"room", "at"} <= set(value) <= {"room", "wall", "at", "height", *RESTORED}:
        raise EditError("place is {room, wall, at, height}")
    room, wall = value["room"], value.get("wall")
    if not isinstance(room, str) or not room or len(room) > 200:
        raise EditError("place.room is a room's id")
    if wall is not None and wall not in WALLS:
        raise EditError(f"place.wall is one of {', '.join(WALLS)} (or null for the floor)")
    at = _checked_value("position", "place.at", value["at"])
    if (wall is None) != isinstance(at, list):
        raise EditError("place.at is [x, z] on the floor and one offset along a wall")
    height = value.get("height")
    if height is not None and wall is None:
        raise EditError("place.height is a wall's; on the floor the plinth sets the height")
    placement = {"room": room, "wall": wall, "at": at}
    if height is not None:
        placement["height"] = _number(height, "place.height", *HEIGHT_RANGE)
    if value.get("rotate") is not None:
        placement["rotate"] = _number(value["rotate"], "place.rotate", -360.0, 360.0)
    for kind in STAND_KEYS:
        if value.get(kind) is not None:
            placement[kind] = _checked_stand(kind, value[kind])
    if value.get("case") is not None:
        if not isinstance(value["case"], str) or not 0 < len(value["case"]) <= 200:
            raise EditError("place.case is a case's id")
        placement["case"] = value["case"]
    if value.get("mount") is not None:
        if value["mount"] not in MOUNTS:
            raise EditError(f"place.mount is one of {', '.join(MOUNTS)}")
        placement["mount"] = value["mount"]
    return placement


def tidy(value: float, places: int) -> int | float:
    """Round for a readable YAML line: whole numbers are written without ".0"."""
    rounded = round(value, places)
    return int(rounded) if rounded == int(rounded) else rounded


class ExhibitFiles:
    """The YAML files of one exhibit (the main file and its includes), edited in place and never outside the folder."""

    def __init__(self, spec: Path) -> None:
        spec_file = find_spec_file(spec)
        self.root = spec_file.parent.resolve()
        self.spec_file = spec_file.resolve()
        if not self.inside(self.spec_file):
            raise EditError(f"{SPEC_NAME} leads outside the exhibit folder")
        self._parsed: dict[Path, tuple[str, Any]] = {}
        self._styles: dict[str, tuple[int, int]] = {}

    def files(self) -> list[Path]:
        """The main file, then the included files in the loader's order; includes leaving the folder are skipped."""
        files = [self.spec_file]
        main = self._read(self.spec_file)[0]
        patterns = main.get("include") if isinstance(main, dict) else None
        for pattern in patterns if isinstance(patterns, list) else []:
            parts = PurePosixPath(str(pattern)).parts
            if not isinstance(pattern, str) or pattern.startswith(("/", "\\")) or ".." in parts or not parts:
                continue
            for match in sorted(p for p in self.root.glob(pattern) if p.is_file()):
                resolved = match.resolve()
                if self.inside(resolved) and resolved not in files:
                    files.append(resolved)
        return files

    def inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.root) and path.suffix in (".yaml", ".yml")

    def find(self, target: Target, ident: str) -> tuple[Path, CommentedMap]:
        """The file and the mapping that declare the artifact or room with this id."""
        section = "artifacts" if target == "artifact" else "rooms"
        for path in self.files():
            data = self._read(path)[0]
            entries = data.get(section) if isinstance(data, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, CommentedMap) and entry.get("id") == ident:
                    return path, entry
        raise EditError(f"no {target} with id {ident!r} in {SPEC_NAME} or its includes")

    def layout(self) -> dict[str, Any]:
        """Where each artifact and room is declared and its editable values, for the editor in the page."""
        artifacts: dict[str, Any] = {}
        rooms: dict[str, Any] = {}
        for path in self.files():
            data = self._read(path)[0]
            if not isinstance(data, dict):
                continue
            shown = path.relative_to(self.root).as_posix()
            for entry in _entries(data, "artifacts"):
                place = entry.get("place")
                if not isinstance(place, dict):
                    continue
                stand = place.get("vitrine") or place.get("plinth")
                height_key = "plinth_height" if place.get("vitrine") else "height"
                artifacts[str(entry["id"])] = {
                    "file": shown, "line": entry.lc.line + 1, "room": place.get("room"), "wall": place.get("wall"),
                    "case": _plain(place.get("case")), "place": _plain(place),
                    "at": _plain(place.get("at")), "height": _plain(place.get("height")),
                    "rotate": _plain(place.get("rotate")),
                    # A stand without its height has the default (model.Plinth.height, model.Vitrine.plinth_height).
                    "plinth": _plain(stand.get(height_key, 0.9)) if isinstance(stand, dict)
                    else (0.9 if stand is True else None),
                }
            for entry in _entries(data, "rooms"):
                start = entry.get("start")
                rooms[str(entry["id"])] = {
                    "file": shown, "line": entry.lc.line + 1,
                    "start": _plain(start) if isinstance(start, dict) else None,
                }
        return {"artifacts": artifacts, "rooms": rooms}

    def ids_in_order(self, section: str) -> list[str]:
        """The ids of every item of `rooms` or `artifacts` in the loader's merge order, so "artifacts[3]" is found."""
        ids: list[str] = []
        for path in self.files():
            data = self._read(path)[0]
            items = data.get(section) if isinstance(data, dict) else None
            for item in items if isinstance(items, list) else []:
                ident = item.get("id") if isinstance(item, dict) else None
                ids.append(ident if isinstance(ident, str) else "")
        return ids

    def apply(self, change: Change) -> Written:
        """Write the change into the file that declares its target; refuse what does not fit the entry."""
        return self._change(change, dry_run=False)[0]

    def dry_run(self, change: Change) -> tuple[Written, dict[Path, str]]:
        """What apply would write, and the files' texts after it, with nothing written (for a live check)."""
        return self._change(change, dry_run=True)

    def _change(self, change: Change, dry_run: bool) -> tuple[Written, dict[Path, str]]:
        path, _ = self.find(change.target, change.id)
        data, text = self._load(path)
        entry = next(e for e in _entries(data, "artifacts" if change.target == "artifact" else "rooms")
                     if e.get("id") == change.id)
        before = current_value(entry, change.key)
        if change.key == "place" and change.value["room"] not in self.ids_in_order("rooms"):
            raise EditError(f"there is no room {change.value['room']!r}")
        _apply_to_entry(entry, change)
        after = current_value(entry, change.key)
        home = self.home_of_room(change.value["room"], change.id) if change.key == "place" else path
        if home is None or home == path:
            new_text = self.render(path, data, text)
            changed = self.save(path, data, text) if not dry_run else _lines_changed(text, new_text)
            written = Written(path.relative_to(self.root).as_posix(), entry.lc.line + 1, before, after, changed)
            return written, {path: new_text}
        # Into another room whose artifacts live in another file: the block (its comments too) moves, as the
        # designer wrote it, to the end of that file's list; only its place line differs.
        changed_text = self.render(path, data, text)
        home_text = self._text(home)
        source, target, line = _move_block(changed_text, self._parse(path, changed_text), home_text,
                                           self._parse(home, home_text), change.id)
        texts = {path: source, home: target}
        for where, new_text in texts.items():
            moved = self._parse(where, new_text)  # never write a file that no longer reads as YAML
            if (where == home) != any(e.get("id") == change.id for e in _entries(moved, "artifacts")):
                raise EditError(f"could not move {change.id!r} into {home.name}; move it by hand")
        if not dry_run:
            _write_atomically(path, source)
            _write_atomically(home, target)
        changed = _lines_changed(text, source) + _lines_changed(home_text, target)
        return Written(home.relative_to(self.root).as_posix(), line, before, after, changed), texts

    def home_of_room(self, room: str, moving: str) -> Path | None:
        """The file that lists most of a room's artifacts (the one moving aside), where one moved there belongs;
        None when no file lists any."""
        counts: dict[Path, int] = {}
        for path in self.files():
            for entry in _entries(self._read(path)[0], "artifacts"):
                place = entry.get("place")
                if entry.get("id") != moving and isinstance(place, dict) and place.get("room") == room:
                    counts[path] = counts.get(path, 0) + 1
        return max(counts, key=lambda path: counts[path]) if counts else None

    def documents(self) -> list[tuple[Path, Any, str]]:
        """Every file's round-trip data (mappings and lists that keep comments and style) and its text."""
        return [(path, *self._load(path)) for path in self.files()]

    def render(self, path: Path, data: Any, text: str) -> str:
        """The file's new text for changed data, in its own indentation style (nothing is written)."""
        if not self.inside(path):
            raise EditError(f"{path.name} is outside the exhibit folder")
        unchanged = self._read(path)[0] if self._text(path) == text else self._parse(path, text)
        style = self._style(unchanged, text)
        new_text = self._dump(data, style)
        base_text = self._dump(unchanged, style)
        if base_text != text:
            # ruamel cannot write this file back byte for byte (e.g. `[{id: c}]` becomes `[id: c]`): keep every
            # line the change did not touch as the designer wrote it.
            new_text = _patch_lines(text, base_text, new_text)
        return new_text

    def save(self, path: Path, data: Any, text: str) -> int:
        """Write changed data back in the file's own indentation style; returns how many lines changed."""
        new_text = self.render(path, data, text)
        if new_text == text:
            return 0
        _write_atomically(path, new_text)
        return _lines_changed(text, new_text)

    @staticmethod
    def _yaml(style: tuple[int, int]) -> YAML:
        return round_trip_yaml(style)

    def load(self, path: Path) -> tuple[Any, str]:
        """A fresh parse of any YAML file in the folder (ui-strings.yaml too, not only the spec's), safe to change."""
        return self._load(path)

    def write_file(self, path: Path, text: str) -> None:
        """Write a file of the exhibit that is not YAML data (a translated .vtt), never outside the folder."""
        resolved = path.resolve()  # a symbolic link that leads out resolves outside, and is refused
        if not resolved.is_relative_to(self.root) or not resolved.parent.is_dir():
            raise EditError(f"{path.name} would be written outside the exhibit folder")
        _write_atomically(resolved, text)

    def _load(self, path: Path) -> tuple[Any, str]:
        """A fresh parse of the file, safe to change."""
        text = self._text(path)
        return self._parse(path, text), text

    def _read(self, path: Path) -> tuple[Any, str]:
        """The file's parse for reading only: kept while the text is unchanged (ruamel reads ~100 KB/s)."""
        text = self._text(path)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != text:
            cached = (text, self._parse(path, text))
            self._parsed[path] = cached
        return cached[1], text

    def _text(self, path: Path) -> str:
        if not self.inside(path):
            raise EditError(f"{path.name} is outside the exhibit folder")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise EditError(f"cannot read {path.name}: {error}") from None

    def _parse(self, path: Path, text: str) -> Any:
        try:
            return self._yaml(INDENT_STYLES[0]).load(text)
        except YAMLError as error:
            raise EditError(f"{path.name} is not valid YAML; fix it first ({error.__class__.__name__})") from None

    def _style(self, data: Any, text: str) -> tuple[int, int]:
        """The first indentation style that writes the file back byte for byte (remembered per text)."""
        if text not in self._styles:
            found = next((style for style in INDENT_STYLES if self._dump(data, style) == text), None)
            # None: ruamel cannot reproduce the file; save() then keeps the lines a change does not touch.
            self._styles = {text: found or INDENT_STYLES[0]}
        return self._styles[text]

    def _dump(self, data: Any, style: tuple[int, int]) -> str:
        out = io.StringIO()
        self._yaml(style).dump(data, out)
        return out.getvalue()


def _entries(data: Any, section: str) -> Iterator[CommentedMap]:
    entries = data.get(section) if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, CommentedMap) and isinstance(entry.get("id"), str):
            yield entry


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalars as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value) if isinstance(value, float) else int(value)
    return str(value)


def current_value(entry: CommentedMap, key: str) -> Any:
    """The value at a dotted key of an artifact or room entry as plain JSON (None when absent)."""
    node: Any = entry
    if key == "place":  # all of it: undo of a move gives back the keys the move dropped
        place = entry.get("place")
        return {"wall": None, "height": None, **_plain(place)} if isinstance(place, dict) else None
    if key == "place.plinth.height" and isinstance(entry.get("place"), dict) and entry["place"].get("vitrine"):
        key = "place.vitrine.plinth_height"
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return _plain(node)


def literal(text: str) -> Any:
    """A multi-line string written as a YAML literal block (`|`), as designers write panel texts."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    return LiteralScalarString(text)


def flow_map(**values: Any) -> CommentedMap:
    """A new mapping written on one line, `{a: 1, b: 2}`."""
    mapping = CommentedMap(values)
    mapping.fa.set_flow_style()
    return mapping


def _flow_seq(values: Sequence[Any]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _set_pair(container: CommentedMap, key: str, pair: list[float]) -> None:
    """Write [x, z] into an existing sequence item by item, so its flow style and comments stay."""
    tidied = [tidy(v, 3) for v in pair]
    current = container.get(key)
    if isinstance(current, CommentedSeq) and len(current) == 2:
        current[0], current[1] = tidied
    else:
        container[key] = _flow_seq(tidied)


def _apply_to_entry(entry: CommentedMap, change: Change) -> None:
    """Change the entry in memory, refusing a key that does not fit how it is placed."""
    if change.target == "room":
        _apply_to_room(entry, change)
        return
    place = entry.get("place")
    if not isinstance(place, CommentedMap):
        raise EditError(f"artifact {change.id!r} has no place: mapping to edit")
    if change.key == "place":
        _move(place, change.value)
        return
    on_wall = place.get("wall") is not None
    if change.key == "place.at":
        if on_wall:
            if isinstance(change.value, list):
                raise EditError(f"{change.id!r} hangs on a wall: place.at is one offset along it")
            place["at"] = tidy(change.value, 3)
        else:
            if not isinstance(change.value, list):
                raise EditError(f"{change.id!r} stands on the floor: place.at is [x, z]")
            _set_pair(place, "at", change.value)
        return
    if change.key == "place.height":
        if not on_wall:
            raise EditError(f"{change.id!r} stands on the floor: raise its plinth instead of place.height")
        _set_or_remove(place, "height", change.value, 3)
        return
    if on_wall:
        raise EditError(f"{change.id!r} hangs on a wall: it has no {change.key.split('.')[-1]}")
    if change.key == "place.rotate":
        _set_or_remove(place, "rotate", change.value, 1)
        return
    if place.get("case") is not None:
        raise EditError(f"{change.id!r} stands in case {place['case']!r}: change the case's plinth_height instead")
    # place.plinth.height: the pedestal of a vitrine if there is one, else the plinth (created when absent).
    vitrine = place.get("vitrine")
    if vitrine is not None:
        if not isinstance(vitrine, CommentedMap):
            vitrine = place["vitrine"] = flow_map()
        _set_or_remove(vitrine, "plinth_height", change.value, 3)
        return
    if change.value is None:
        place.pop("plinth", None)  # undoing the change that gave the artifact its plinth
        return
    plinth = place.get("plinth")
    if not isinstance(plinth, CommentedMap):
        plinth = place["plinth"] = flow_map()
    plinth["height"] = tidy(change.value, 3)


def _move(place: CommentedMap, value: dict[str, Any]) -> None:
    """Another room, wall or the floor: the keys that say where are set in place (their order and the others kept),
    and the keys that mean nothing in the new kind of place are dropped."""
    place["room"] = value["room"]
    if value["wall"] is None:
        for key in WALL_ONLY:
            place.pop(key, None)
        _set_pair(place, "at", value["at"])
    else:
        for key in FLOOR_ONLY:
            place.pop(key, None)
        if "wall" in place:
            place["wall"] = value["wall"]
        else:
            place.insert(list(place).index("room") + 1, "wall", value["wall"])
        place["at"] = tidy(value["at"], 3)
        if value.get("height") is not None:
            place["height"] = tidy(value["height"], 3)
    # Undo of a move gives back what it dropped, as it was written (a stand on one line).
    for key in RESTORED:
        restored = value.get(key)
        if restored is None or place.get(key) == restored:
            continue
        if isinstance(restored, dict):
            place[key] = flow_map(**{k: tidy(v, 3) if isinstance(v, float) else v for k, v in restored.items()})
        else:
            place[key] = tidy(restored, 1) if isinstance(restored, float) else restored


def _apply_to_room(entry: CommentedMap, change: Change) -> None:
    start = entry.get("start")
    if change.value is None:
        if isinstance(start, CommentedMap):
            start.pop(change.key.split(".")[1], None)
            if not start:
                entry.pop("start")
        return
    if not isinstance(start, CommentedMap):
        start = flow_map(at=_flow_seq([0, 0]), facing=0)
        entry["start"] = start
    if change.key == "start.at":
        if not isinstance(change.value, list):
            raise EditError("a room's start.at is [x, z]")
        _set_pair(start, "at", change.value)
    else:
        start["facing"] = tidy(change.value % 360, 1)


def _set_or_remove(mapping: CommentedMap, key: str, value: float | None, places: int) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = tidy(value, places)


def _block(lines: list[str], items: CommentedSeq, index: int) -> tuple[int, int]:
    """Lines [start, end) of a list item with the comments right above it, without the blank lines after it."""
    start = items.lc.item(index)[0]
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    if index + 1 < len(items):
        end = items.lc.item(index + 1)[0]
        while end > start and lines[end - 1].strip().startswith("#"):
            end -= 1
    else:
        dash = _indent(lines[items.lc.item(index)[0]])
        end = next((number for number in range(items.lc.item(index)[0] + 1, len(lines))
                    if lines[number].strip() and not lines[number].lstrip().startswith("#")
                    and _indent(lines[number]) <= dash and not lines[number].lstrip().startswith("-")), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _move_block(source: str, source_data: Any, target: str, target_data: Any, ident: str) -> tuple[str, str, int]:
    """Move the artifact's block of lines from the source text's `artifacts` list to the end of the target's;
    returns both new texts and the block's first line (1-based) in the target."""
    lines, home = source.splitlines(keepends=True), target.splitlines(keepends=True)
    items, theirs = source_data["artifacts"], target_data["artifacts"]
    index = next(i for i, item in enumerate(items) if isinstance(item, dict) and item.get("id") == ident)
    start, end = _block(lines, items, index)
    block = lines[start:end]
    block[-1] = block[-1] if block[-1].endswith("\n") else block[-1] + "\n"
    # The blank lines that separated the block from its neighbours go with it: those after it, or, for the last
    # item of the list, those before it.
    after = end
    while after < len(lines) and not lines[after].strip():
        after += 1
    before = start
    while before > 0 and not lines[before - 1].strip():
        before -= 1
    remaining = lines[:start] + lines[after:] if index + 1 < len(items) else lines[:before] + lines[end:]
    last_start, last_end = _block(home, theirs, len(theirs) - 1)
    shift = _indent(home[theirs.lc.item(len(theirs) - 1)[0]]) - _indent(lines[items.lc.item(index)[0]])
    moved = [(" " * shift + row if shift > 0 else row[min(-shift, _indent(row)):]) if row.strip() else row
             for row in block]
    separated = last_start > 0 and not home[last_start - 1].strip()
    if not home[last_end - 1].endswith("\n"):
        home[last_end - 1] += "\n"
    inserted = (["\n"] if separated else []) + moved
    new_home = home[:last_end] + inserted + home[last_end:]
    return "".join(remaining), "".join(new_home), last_end + len(inserted) - len(moved) + 1 + \
        next(i for i, row in enumerate(moved) if row.lstrip().startswith("-"))


def _lines_changed(old: str, new: str) -> int:
    """How many lines a diff shows changed: a line rewritten counts once, a line added or removed once."""
    import difflib

    removed = added = 0
    for row in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if row.startswith("-") and not row.startswith("---"):
            removed += 1
        elif row.startswith("+") and not row.startswith("+++"):
            added += 1
    return max(removed, added)


def _patch_lines(original: str, base: str, changed: str) -> str:
    """`original` with the lines where `changed` differs from `base` (both ruamel's dumps) replaced.

    Only when the three are line-aligned; otherwise (a change that added lines) ruamel's whole dump is used.
    """
    lines = [text.splitlines(keepends=True) for text in (original, base, changed)]
    if not len(lines[0]) == len(lines[1]) == len(lines[2]):
        return changed
    return "".join(new if old_dump != new else kept for kept, old_dump, new in zip(*lines, strict=True))


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step, so the watcher never builds half a file; its permissions are kept."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_INDEXED = re.compile(r"^(artifacts|rooms)\[(\d+)\]")


class LayoutEditor:
    """What `vitrina serve --edit` writes through: the layout with `check`'s warnings per artifact and room."""

    def __init__(self, spec: Path) -> None:
        self.spec = spec
        self.files = ExhibitFiles(spec)

    def layout(self) -> dict[str, Any]:
        return {**self.files.layout(), "problems": self.problems()}

    def apply(self, data: Any) -> dict[str, Any]:
        written = self.files.apply(parse_change(data))
        return {"file": written.file, "line": written.line, "before": written.before, "after": written.after,
                "changed_lines": written.changed_lines, "problems": self.problems()}

    def check(self, data: Any) -> dict[str, Any]:
        """A dry run of a change: `check`'s problems as they would be after it, without writing anything."""
        change = parse_change(data)
        written, texts = self.files.dry_run(change)
        return {"target": f"{change.target}:{change.id}", "key": change.key, "after": written.after,
                "changed_lines": written.changed_lines, "problems": self.problems(texts)}

    def problems(self, unsaved: dict[Path, str] | None = None) -> dict[str, list[dict[str, str]]]:
        """`check`'s problems keyed "artifact:<id>" or "room:<id>", so the page can show them on the object."""
        from pipeline.spec.loader import load

        try:
            found = list(load(self.spec, unsaved=unsaved).warnings)
        except SpecError as error:
            found = list(error.problems)
        ids = {"artifacts": self.files.ids_in_order("artifacts"), "rooms": self.files.ids_in_order("rooms")}
        keyed: dict[str, list[dict[str, str]]] = {}
        for problem in found:
            match = _INDEXED.match(problem.path)
            if not match:
                continue
            section, index = match.group(1), int(match.group(2))
            if index < len(ids[section]) and ids[section][index]:
                key = f"{section.removesuffix('s')}:{ids[section][index]}"
                keyed.setdefault(key, []).append({"severity": problem.severity, "message": problem.message,
                                                  "where": f"{problem.file}:{problem.line}"})
        return keyed
