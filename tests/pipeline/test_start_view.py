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


ONE_MODEL_YAML = """exhibit:
  id: one
  title: One
  languages: [en]
rooms:
  - id: hall
    size: [6, 5, 3]
    {start}
artifacts:
  - id: bust
    model: cube.obj
    height: 0.5
    place: {{room: hall, at: {at}, plinth: {{height: 0.9}}}}
"""
CUBE = "".join(f"v {x} {y} {z}\n" for x in (0, 1) for y in (0, 1) for z in (0, 1)) + (
    "f 1 2 4\nf 1 4 3\nf 5 7 8\nf 5 8 6\nf 1 5 6\nf 1 6 2\nf 3 4 8\nf 3 8 7\nf 1 3 7\nf 1 7 5\nf 2 6 8\nf 2 8 4\n")


def _one_model(folder: Path, at: str = "[0, 0]", start: str = "") -> dict:  # type: ignore[type-arg]
    from pipeline.ingest import load_asset

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cube.obj").write_text(CUBE, encoding="utf-8")
    (folder / "exhibit.yaml").write_text(ONE_MODEL_YAML.format(at=at, start=start), encoding="utf-8")
    exhibit = load_exhibit(folder).exhibit
    assets = {a.id: load_asset(a.model.path) for a in exhibit.artifacts if a.model is not None}
    composition = compose.compose(exhibit, assets, {})
    return {"start": composition.start, "bounds": composition.artifacts["bust"].bounds}


def test_a_default_start_at_the_centre_steps_back_from_the_object_standing_there(tmp_path: Path) -> None:
    # A one-object room puts its object in the middle, where the default start is: the visitor began inside the
    # plinth, facing a wall. Now they stand back from it, facing it.
    composed = _one_model(tmp_path / "centre")
    (low, high) = composed["bounds"]
    x, _, z = composed["start"]["position"]
    centre = ((low[0] + high[0]) / 2, (low[2] + high[2]) / 2)
    assert ((x - centre[0]) ** 2 + (z - centre[1]) ** 2) ** 0.5 == pytest.approx(compose.START_DISTANCE, abs=0.05)
    assert -3 + compose.START_MARGIN - 1e-6 <= x <= 3 - compose.START_MARGIN + 1e-6
    assert -2.5 + compose.START_MARGIN - 1e-6 <= z <= 2.5 - compose.START_MARGIN + 1e-6
    facing = compose.start_facing(FRAME, (x, 0.0, z), (low, high))
    assert composed["start"]["yaw"] == pytest.approx(-facing, abs=1e-3)
    # An object elsewhere, or a start the designer placed, leaves the start where it was.
    assert _one_model(tmp_path / "aside", at="[2, 1]")["start"]["position"] == [0.0, 0.0, 0.0]
    assert _one_model(tmp_path / "placed", start="start: {at: [0, 0]}")["start"]["position"] == [0.0, 0.0, 0.0]
