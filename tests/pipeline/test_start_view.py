"""The first view frames something: compose's default facing, and `check`'s warning when the start sees nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import compose
from pipeline.spec import load_exhibit

FRAME = compose.RoomFrame(id="r", origin=(-6.0, -4.0), size=(12.0, 8.0, 4.0))  # centred on the origin

PANELS_YAML = """exhibit:
  id: show
  title: Show
  languages: [en]
rooms:
  - id: hall
    size: [12, 8, 4]
    {start}
artifacts:
  - id: intro
    text: Welcome
    place: {{room: hall, wall: north, at: 0, height: 1.5}}
  - id: label
    text: Second
    place: {{room: hall, wall: east, at: 0, height: 1.5}}
tours:
  - id: t
    title: Tour
    stops: [{{artifact: label}}]
"""


def test_start_faces_the_target_it_is_given() -> None:
    box = ((3.9, 0.0, -0.1), (4.1, 1.0, 0.1))  # due east of the start
    assert compose.start_facing(FRAME, (0.0, 0.0, 0.0), box) == pytest.approx(90.0)
    assert compose.start_facing(FRAME, (0.0, 0.0, 0.0), ((-0.1, 0.0, 2.9), (0.1, 1.0, 3.1))) == pytest.approx(180.0)


def test_without_a_target_the_start_looks_down_the_long_axis_towards_the_farther_wall() -> None:
    assert compose.start_facing(FRAME, (-4.0, 0.0, 0.0), None) == 90.0  # west end of a room wider than deep
    assert compose.start_facing(FRAME, (4.0, 0.0, 0.0), None) == 270.0
    deep = compose.RoomFrame(id="d", origin=(-2.0, -5.0), size=(4.0, 10.0, 3.0))
    assert compose.start_facing(deep, (0.0, 0.0, 3.0), None) == 0.0


def test_a_target_underfoot_falls_back_to_the_long_axis() -> None:
    assert compose.start_facing(FRAME, (-4.0, 0.0, 0.0), ((-4.1, 0, -0.1), (-3.9, 1, 0.1))) == 90.0


def _load(folder: Path, start: str):  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exhibit.yaml").write_text(PANELS_YAML.format(start=start), encoding="utf-8")
    return load_exhibit(folder)


def _start_warnings(loaded) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.message for p in loaded.warnings if p.path.startswith("rooms[0]")]


def test_check_warns_when_the_start_faces_away_from_every_artifact(tmp_path: Path) -> None:
    loaded = _load(tmp_path / "away", "start: {at: [0, 0], facing: 225}")
    assert _start_warnings(loaded) == [
        "the first view (facing 225° from north) shows none of room 'hall''s artifacts; face one, or leave out "
        "`facing` to face 'label'"]


def test_check_is_quiet_when_an_artifact_is_in_view_at_the_edge(tmp_path: Path) -> None:
    # From the centre, the north panel is at 0° and the east one at 90°: facing 40° still shows the north one.
    assert _start_warnings(_load(tmp_path / "edge", "start: {at: [0, 0], facing: 40}")) == []
    assert _start_warnings(_load(tmp_path / "past", "start: {at: [0, 0], facing: 45.5}")) != []


def test_without_facing_the_start_faces_the_first_tour_stop(tmp_path: Path) -> None:
    loaded = _load(tmp_path / "default", "start: {at: [0, 0]}")
    assert _start_warnings(loaded) == []
    assert loaded.exhibit.featured_artifact("hall").id == "label"
    composition = compose.compose(loaded.exhibit, {}, {})
    # The east wall's panel: a camera turned to yaw -90 looks down +x.
    assert composition.start["yaw"] == pytest.approx(-90.0, abs=0.5)
