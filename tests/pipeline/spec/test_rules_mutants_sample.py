"""Rules, layout, suggestions and measuring that the sampled mutation run (docs/benchmarks.md, mutants) still found
no test for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.errors import SpecError
from pipeline.spec import load_exhibit
from pipeline.spec.fields import MAX_SUGGESTION_POOL, Suggestions
from pipeline.spec.layout import Box, Opening, door_floor_box
from pipeline.spec.measure import measure

REPO = Path(__file__).resolve().parents[3]

TWO_ROOMS = """\
exhibit: {id: show, title: Show, languages: [en]}
rooms:
  - {id: hall, name: Hall, size: [6, 5, 3], position: [0, 0]}
  - {id: annex, name: Annex, size: [6, 5, 3], position: [2, 1]}
"""


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    folder = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    return folder


def _edit(folder: Path, old: str, new: str) -> None:
    spec = folder / "exhibit.yaml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new), encoding="utf-8")


def _messages(folder: Path, rooms_fit: bool = False) -> list[str]:
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder, rooms_fit=rooms_fit)
    return [problem.message for problem in raised.value.problems]


def test_overlapping_rooms_are_checked_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text(TWO_ROOMS, encoding="utf-8")
    assert load_exhibit(tmp_path).exhibit.rooms[1].id == "annex", "the compiler checks room layout itself"
    assert any("room 'annex' overlaps room 'hall'" in message for message in _messages(tmp_path, rooms_fit=True))


def test_a_panel_in_a_case_is_refused(minimal: Path) -> None:
    _edit(minimal, "place: {room: room, wall: north, at: -1.5, height: 1.5}", "place: {room: room, case: glass}")
    assert "a case holds models; hang images and panels on a wall" in _messages(minimal)


def test_a_model_in_a_case_the_room_lacks_is_refused(minimal: Path) -> None:
    _edit(minimal, "plinth: {height: 0.9}", "case: glass")
    assert "room 'room' has no case 'glass'" in _messages(minimal)


def test_a_panel_through_the_ceiling_names_its_room(minimal: Path) -> None:
    _edit(minimal, "at: -1.5, height: 1.5", "at: -1.5, height: 2.9")
    [message] = [m for m in _messages(minimal) if "ceiling" in m]
    assert message.startswith("goes through the ceiling of room 'room': ")


def test_a_door_gap_lies_on_its_own_wall(minimal: Path) -> None:
    room = load_exhibit(minimal).exhibit.rooms[0]  # 6 wide (x), 5 deep (z)
    gaps = {wall: door_floor_box(room, Opening(wall, 1.0, 2.0, 2.5, "next")) for wall in ("north", "south",
                                                                                           "east", "west")}
    assert gaps == {"north": Box((0.0, -2.5), (2.0, -2.5)), "south": Box((-2.0, 2.5), (0.0, 2.5)),
                    "east": Box((3.0, 0.0), (3.0, 2.0)), "west": Box((-3.0, -2.0), (-3.0, 0.0))}


def test_a_model_over_two_budgets_names_both_targets(minimal: Path) -> None:
    loaded = load_exhibit(minimal, triangle_budgets={"quest2": 10, "phone": 10})
    [warning] = [w.message for w in loaded.warnings if "over the budget" in w.message]
    assert warning.endswith("; quest2 and phone will load a simplified level")


def test_a_hundred_choices_are_all_compared() -> None:
    choices = [f"z{index:03}" for index in range(MAX_SUGGESTION_POOL - 1)] + ["gallery-north"]
    # "gallery" is too much shorter for the index of bigger sets, which only compares words of about its length.
    assert Suggestions(choices)("gallery") == " (did you mean 'gallery-north'?)"
    assert Suggestions([*choices, "z999"])("gallery") == ""


def test_an_ascii_ply_is_measured_from_its_vertex_rows(tmp_path: Path) -> None:
    ply = tmp_path / "tri.ply"
    ply.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                    b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
                    b"0 0 0\n2 0 1\n0 3 -1\n3 0 1 2\n")
    found = measure(ply)
    assert (found.low, found.high, found.triangles) == ((0.0, 0.0, -1.0), (2.0, 3.0, 1.0), 1)
