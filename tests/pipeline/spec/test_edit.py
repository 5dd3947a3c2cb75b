"""Layout edits written back into YAML: one changed line, comments and style kept, every value and file checked."""

from __future__ import annotations

import difflib
import math
import shutil
from pathlib import Path

import pytest

from pipeline.spec import load_exhibit
from pipeline.spec.edit import EditError, ExhibitFiles, parse_change

REPO = Path(__file__).resolve().parents[3]


def _diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _edit(folder: Path, target: str, ident: str, key: str, value: object):
    return ExhibitFiles(folder).apply(parse_change({"target": target, "id": ident, "key": key, "value": value}))


def test_moving_an_artifact_in_an_included_file_changes_one_line_and_keeps_comments(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    main_before, hall_before = (bronze / "exhibit.yaml").read_text(), hall.read_text()
    written = _edit(bronze, "artifact", "bell", "place.at", [2.5, -1.25])
    assert (written.file, written.before, written.after, written.changed_lines) == \
        ("artifacts/hall.yaml", [3, -1.5], [2.5, -1.25], 1)
    assert _diff(hall_before, hall.read_text()) == [
        "-    place: {room: hall, at: [3, -1.5], rotate: -20, plinth: {height: 0.9}}",
        "+    place: {room: hall, at: [2.5, -1.25], rotate: -20, plinth: {height: 0.9}}",
    ]
    assert (bronze / "exhibit.yaml").read_text() == main_before
    assert hall.read_text().startswith("# yaml-language-server: $schema=../../../docs/exhibit.schema.json\n# The hall:")
    bell = load_exhibit(bronze).exhibit.artifact("bell")
    assert bell is not None and bell.place.floor_at == (2.5, -1.25)


def test_undo_is_the_same_edit_with_the_value_before_and_restores_the_file_byte_for_byte(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    original = hall.read_text()
    written = _edit(bronze, "artifact", "gu", "place.rotate", 47.26)
    assert written.after == 47.3, "angles are written to a tenth of a degree"
    assert _edit(bronze, "artifact", "gu", "place.rotate", written.before).changed_lines == 1
    assert hall.read_text() == original


def test_wall_picture_slides_along_and_up_its_wall(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    before = hall.read_text()
    _edit(bronze, "artifact", "landscape", "place.at", -1.0)
    _edit(bronze, "artifact", "landscape", "place.height", 1.55)
    assert _diff(before, hall.read_text()) == [
        "-    place: {room: hall, wall: north, at: -1.5, height: 1.7}",
        "+    place: {room: hall, wall: north, at: -1, height: 1.55}",
    ]


def test_plinth_height_edits_the_plinth_or_the_vitrine_pedestal(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    before = hall.read_text()
    assert _edit(bronze, "artifact", "ding", "place.plinth.height", 1.1).before == 0.8
    assert _edit(bronze, "artifact", "gu", "place.plinth.height", 0.7).before == 0.9
    assert _diff(before, hall.read_text()) == [
        "-    place: {room: hall, at: [0, 0], rotate: 0, plinth: {height: 0.8, width: 0.7, depth: 0.7}}",
        "+    place: {room: hall, at: [0, 0], rotate: 0, plinth: {height: 1.1, width: 0.7, depth: 0.7}}",
        "-    place: {room: hall, at: [-3, -1.5], rotate: 20, vitrine: {plinth_height: 0.9, margin: 0.12}}",
        "+    place: {room: hall, at: [-3, -1.5], rotate: 20, vitrine: {plinth_height: 0.7, margin: 0.12}}",
    ]


def test_missing_keys_are_added_in_the_entry_s_own_flow_style(tmp_path: Path) -> None:
    folder = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    spec = folder / "exhibit.yaml"
    before = spec.read_text()
    _edit(folder, "artifact", "vase", "place.rotate", 90)
    _edit(folder, "room", "room", "start.at", [-1, 1.5])
    _edit(folder, "room", "room", "start.facing", -90)
    assert _diff(before, spec.read_text()) == [
        "-    start: {at: [0, 2], facing: 0}",
        "+    start: {at: [-1, 1.5], facing: 270}",
        "-    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}}",
        "+    place: {room: room, at: [0.5, -0.5], plinth: {height: 0.9}, rotate: 90}",
    ]
    spec.write_text(before.replace("    start: {at: [0, 2], facing: 0}\n", ""))
    _edit(folder, "room", "room", "start.facing", 180)
    assert "    start: {at: [0, 0], facing: 180}\n" in spec.read_text()
    assert load_exhibit(folder).exhibit.rooms[0].start is not None


def test_undoing_an_added_key_removes_it_and_the_file_is_as_before(tmp_path: Path) -> None:
    folder = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    spec = folder / "exhibit.yaml"
    original = spec.read_text()
    assert ExhibitFiles(folder).layout()["artifacts"]["vase"]["rotate"] is None
    _edit(folder, "artifact", "vase", "place.rotate", 15)
    _edit(folder, "artifact", "vase", "place.rotate", None)
    assert spec.read_text() == original
    spec.write_text(original.replace(", plinth: {height: 0.9}", ""))
    without_plinth = spec.read_text()
    _edit(folder, "artifact", "vase", "place.plinth.height", 0.95)
    assert "at: [0.5, -0.5], plinth: {height: 0.95}}" in spec.read_text()
    _edit(folder, "artifact", "vase", "place.plinth.height", None)
    assert spec.read_text() == without_plinth
    spec.write_text(original.replace("    start: {at: [0, 2], facing: 0}\n", ""))
    without_start = spec.read_text()
    _edit(folder, "room", "room", "start.at", [1, 1])
    _edit(folder, "room", "room", "start.at", None)
    _edit(folder, "room", "room", "start.facing", None)
    assert spec.read_text() == without_start
    with pytest.raises(EditError, match="place.at cannot be removed"):
        parse_change({"target": "artifact", "id": "vase", "key": "place.at", "value": None})


@pytest.mark.parametrize("change, message", [
    ({"target": "artifact", "id": "bell", "key": "place.room", "value": "gallery"}, "cannot be edited"),
    ({"target": "artifact", "id": "bell", "key": "model", "value": "x.glb"}, "cannot be edited"),
    ({"target": "exhibit", "id": "bell", "key": "place.at", "value": [0, 0]}, "cannot be edited"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [0, math.nan]}, "must be a number"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [0, True]}, "must be a number"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [0, "1"]}, "must be a number"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [0, 0, 0]}, "is [x, z]"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [100.001, 0]}, "between -100 and 100"),
    ({"target": "artifact", "id": "bell", "key": "place.rotate", "value": 360.5}, "between -360 and 360"),
    ({"target": "artifact", "id": "bell", "key": "place.plinth.height", "value": 0.049}, "between 0.05 and 3"),
    ({"target": "artifact", "id": "bell", "key": "place.plinth.height", "value": 3.01}, "between 0.05 and 3"),
    ({"target": "artifact", "id": "bell", "key": "place.at"}, "{target, id, key, value}"),
    ({"target": "artifact", "id": "bell", "key": "place.at", "value": [0, 0], "file": "/etc/passwd"},
     "{target, id, key, value}"),
    ([1, 2], "{target, id, key, value}"),
])
def test_untrusted_changes_are_refused_with_a_reason(change: object, message: str) -> None:
    with pytest.raises(EditError, match=message.replace("[", r"\[").replace("{", r"\{")):
        parse_change(change)


def test_limits_are_inclusive() -> None:
    assert parse_change({"target": "artifact", "id": "a", "key": "place.at", "value": [100, -100]}).value == [100, -100]
    assert parse_change({"target": "artifact", "id": "a", "key": "place.plinth.height", "value": 0.05}).value == 0.05


@pytest.mark.parametrize("ident, key, value, message", [
    ("bell", "place.at", 1.0, "stands on the floor"),
    ("landscape", "place.at", [1, 1], "hangs on a wall"),
    ("landscape", "place.rotate", 10, "hangs on a wall"),
    ("bell", "place.height", 1.0, "stands on the floor"),
    ("no-such-thing", "place.at", [0, 0], "no artifact with id 'no-such-thing'"),
])
def test_a_change_that_does_not_fit_the_entry_is_refused_and_nothing_is_written(
        bronze: Path, ident: str, key: str, value: object, message: str) -> None:
    before = {path: path.read_text() for path in bronze.rglob("*.yaml")}
    with pytest.raises(EditError, match=message):
        _edit(bronze, "artifact", ident, key, value)
    assert {path: path.read_text() for path in bronze.rglob("*.yaml")} == before


def test_an_object_in_a_case_has_no_plinth_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text("exhibit: {id: show, title: Show}\nrooms: [{id: hall, cases: [{id: c}]}]\n"
                                         "artifacts:\n  - id: cup\n    place: {room: hall, case: c, at: [0, 0]}\n")
    assert ExhibitFiles(folder).layout()["artifacts"]["cup"]["case"] == "c"
    with pytest.raises(EditError, match="stands in case 'c'"):
        _edit(folder, "artifact", "cup", "place.plinth.height", 1.0)
    assert _edit(folder, "artifact", "cup", "place.at", [0.1, 0]).changed_lines == 1
    # ruamel alone would rewrite `[{id: c}]` as `[id: c]`: lines the change does not touch stay as written.
    assert "rooms: [{id: hall, cases: [{id: c}]}]\n" in (folder / "exhibit.yaml").read_text()


def test_an_include_that_leads_outside_the_folder_is_never_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("artifacts:\n  - id: stray\n    place: {room: hall, at: [0, 0]}\n")
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text("exhibit: {id: show, title: Show}\ninclude: [more/*.yaml, ../outside.yaml]\n"
                                         "rooms: [{id: hall}]\n")
    (folder / "more").mkdir()
    (folder / "more" / "linked.yaml").symlink_to(outside)
    with pytest.raises(EditError, match="no artifact with id 'stray'"):
        _edit(folder, "artifact", "stray", "place.at", [1, 1])
    assert "at: [0, 0]" in outside.read_text()


def test_layout_lists_where_each_entry_is_declared(bronze: Path) -> None:
    layout = ExhibitFiles(bronze).layout()
    assert layout["artifacts"]["landscape"] == {
        "file": "artifacts/hall.yaml", "line": 132, "room": "hall", "wall": "north", "case": None, "at": -1.5, "height": 1.7,
        "rotate": None, "plinth": None, "place": {"room": "hall", "wall": "north", "at": -1.5, "height": 1.7}}
    assert layout["artifacts"]["gu"]["plinth"] == 0.9
    assert layout["rooms"]["hall"]["file"] == "exhibit.yaml"


def test_a_file_that_is_not_valid_yaml_is_reported_not_overwritten(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    broken = hall.read_text().replace("  - id: bell", "  - id: bell\n   oops: [", 1)
    hall.write_text(broken)
    with pytest.raises(EditError, match="hall.yaml is not valid YAML"):
        _edit(bronze, "artifact", "bell", "place.at", [0, 0])
    assert hall.read_text() == broken


def test_into_another_room_the_block_moves_to_that_room_s_file_with_its_comments(bronze: Path) -> None:
    hall, gallery = bronze / "artifacts" / "hall.yaml", bronze / "artifacts" / "gallery.yaml"
    text = hall.read_text().replace("  - id: gu\n", "  # on loan until 2027\n  - id: gu\n", 1)
    hall.write_text(text)
    gallery_before = gallery.read_text()
    written = _edit(bronze, "artifact", "gu", "place", {"room": "gallery", "at": [1.5, 1]})
    assert written.file == "artifacts/gallery.yaml" and written.after["room"] == "gallery"
    removed = [line[1:] for line in _diff(text, hall.read_text())]
    added = [line[1:] for line in _diff(gallery_before, gallery.read_text())]
    assert all(line.startswith("-") for line in _diff(text, hall.read_text())), "the hall only loses lines"
    assert removed[0] == "" and removed[1] == "  # on loan until 2027" and removed[2] == "  - id: gu"
    assert added == removed[:1] + [line.replace("room: hall, at: [-3, -1.5]", "room: gallery, at: [1.5, 1]")
                                   for line in removed[1:]], "the same block, only its place line differs"
    assert gallery.read_text().splitlines()[written.line - 1] == "  - id: gu"
    gu = load_exhibit(bronze).exhibit.artifact("gu")
    assert gu is not None and gu.place.room == "gallery" and gu.place.floor_at == (1.5, 1)
    assert gu.place.vitrine is not None and gu.place.rotate == 20, "the rest of the placement stays"


def test_onto_another_wall_of_the_same_room_is_one_line_and_floor_keys_go(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    before = hall.read_text()
    written = _edit(bronze, "artifact", "intro", "place", {"room": "hall", "wall": "south", "at": 1, "height": 1.4})
    assert written.changed_lines == 1
    assert _diff(before, hall.read_text()) == ["-    place: {room: hall, wall: north, at: -4.5, height: 1.5}",
                                               "+    place: {room: hall, wall: south, at: 1, height: 1.4}"]
    _edit(bronze, "artifact", "bell", "place", {"room": "hall", "wall": "west", "at": 0.5, "height": 1.2})
    assert "    place: {room: hall, wall: west, at: 0.5, height: 1.2}\n" in hall.read_text(), \
        "a wall has no rotate or plinth"
    _edit(bronze, "artifact", "bell", "place", {"room": "hall", "wall": None, "at": [3, -1.5]})
    assert "    place: {room: hall, at: [3, -1.5]}\n" in hall.read_text(), "back on the floor: no wall or height"


@pytest.mark.parametrize("value, message", [
    ({"room": "attic", "at": [0, 0]}, "no room 'attic'"),
    ({"room": "hall", "wall": "up", "at": 0}, "one of north"),
    ({"room": "hall", "wall": "north", "at": [0, 0]}, "one offset along a wall"),
    ({"room": "hall", "at": [0, 0], "height": 1}, "a wall's"),
    ({"room": "hall", "at": [0, 0], "extra": 1}, "{room, wall, at, height}"),
])
def test_a_move_that_does_not_fit_is_refused_and_nothing_is_written(bronze: Path, value, message) -> None:
    before = {path: path.read_text() for path in bronze.rglob("*.yaml")}
    with pytest.raises(EditError, match=message):
        _edit(bronze, "artifact", "gu", "place", value)
    assert {path: path.read_text() for path in bronze.rglob("*.yaml")} == before


def test_undo_of_a_move_gives_back_what_it_dropped_byte_for_byte(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    original = hall.read_text()
    written = _edit(bronze, "artifact", "gu", "place", {"room": "hall", "wall": "west", "at": 0.5, "height": 1.2})
    assert "    place: {room: hall, wall: west, at: 0.5, height: 1.2}\n" in hall.read_text()
    assert written.before["rotate"] == 20 and written.before["vitrine"] == {"plinth_height": 0.9, "margin": 0.12}
    _edit(bronze, "artifact", "gu", "place", written.before)
    assert hall.read_text() == original


@pytest.mark.parametrize("extra, message", [
    ({"plinth": {"height": "tall"}}, "must be a number"),
    ({"plinth": {"colour": 1}}, "place.plinth is true or"),
    ({"mount": "nail"}, "one of shelf, bracket"),
    ({"case": ""}, "a case's id"),
])
def test_what_undo_gives_back_is_checked_too(bronze: Path, extra, message) -> None:
    with pytest.raises(EditError, match=message):
        _edit(bronze, "artifact", "gu", "place", {"room": "hall", "at": [0, 0], **extra})
