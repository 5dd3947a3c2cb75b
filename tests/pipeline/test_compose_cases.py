"""One case for a set of objects (rooms[].cases, place.case), and the rules for cases and wall mounts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import compose
from pipeline.errors import SpecError
from pipeline.ingest import load_asset
from pipeline.scene import Scene
from pipeline.spec import load_exhibit
from pipeline.textures import load_textures
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

CASE = "    cases: [{id: bronzes, at: [-2, 1], size: [1.4, 0.6, 0.5], plinth_height: 1.0, rotate: 90}]\n"
IN_CASE = """artifacts:
  - id: first
    model: models/cube.obj
    height: 0.2
    place: {room: hall, case: bronzes, at: [-2, 0.6]}
    record: {title: First}
  - id: second
    model: models/cube.obj
    height: 0.3
    place: {room: hall, case: bronzes, at: [-2, 1.4], rotate: 45}
    record: {title: Second}
"""


def _write(folder: Path, artifacts: str = IN_CASE) -> Path:
    spec = write_tiny_exhibit(folder)
    yaml_file = spec / "exhibit.yaml"
    text = yaml_file.read_text(encoding="utf-8")
    text = text.replace("    start: {at: [0, 2], facing: 90}\n", "    start: {at: [0, 2], facing: 90}\n" + CASE, 1)
    yaml_file.write_text(text.replace("artifacts:\n", artifacts, 1), encoding="utf-8")
    return spec


def test_a_case_holds_several_objects_on_its_pedestal_inside_its_glass(tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny")
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    (spec / "exhibit.yaml").write_text(text.replace("  max_error: 0.05\n", "  max_error: 0.05\n  captions: true\n"))
    exhibit = load_exhibit(spec).exhibit
    loaded: dict[Path, Scene] = {}
    assets = {a.id: loaded.setdefault(a.model.path, load_asset(a.model.path, units=a.metres_per_unit, up=a.up))
              for a in exhibit.artifacts if a.model is not None}
    composition = compose.compose(exhibit, assets, load_textures(exhibit))
    hall = composition.rooms[0]
    case = next(n for n in hall.scene.nodes if n.name == "hall-case-bronzes")
    assert case.mesh is not None
    glass = [p for p in case.mesh.primitives if p.material is not None and p.material.alpha_mode == "BLEND"]
    assert len(glass) == 1
    case_bounds = compose.nodes_bounds([case])
    assert case_bounds is not None
    low, high = case_bounds
    # rotate: 90 turns the 1.4 m width from east-west to north-south.
    assert high[0] - low[0] == pytest.approx(0.6) and high[2] - low[2] == pytest.approx(1.4)
    assert high[1] == pytest.approx(1.5)
    for name, tall in (("first", 0.2), ("second", 0.3)):
        a_low, a_high = (np.asarray(v) for v in composition.artifacts[name].bounds)
        assert a_low[1] == pytest.approx(1.0, abs=1e-5), f"{name} stands on the pedestal"
        assert a_high[1] - a_low[1] == pytest.approx(tall, abs=1e-5)
        assert (a_low[[0, 2]] > low[[0, 2]]).all() and (a_high[[0, 2]] < high[[0, 2]]).all(), f"{name} is inside"
    assert not [n for n in hall.scene.nodes if n.name in ("first-stand", "second-stand")], "no stands of their own"
    # Each label is on the pedestal's front face (rotate: 90 turns the case's front from south to west).
    plate = next(n for n in hall.scene.nodes if n.name == "first-caption")
    plate_bounds = compose.nodes_bounds([plate])
    assert plate_bounds is not None
    p_low, p_high = plate_bounds
    assert (p_low[1] + p_high[1]) / 2 == pytest.approx(1.0 - 0.12, abs=0.01)
    assert p_high[0] <= low[0] + 0.01, "on the west face of the pedestal"
    assert (p_low[2] + p_high[2]) / 2 == pytest.approx(0.6, abs=0.01), "straight in front of its object"


@pytest.mark.parametrize("place, message", [
    ("{room: hall, case: bronze, at: [-2, 1]}", "room 'hall' has no case 'bronze' (did you mean 'bronzes'?)"),
    ("{room: hall, case: bronzes, at: [-2, 1.75]}", "stands outside case 'bronzes'"),
    ("{room: hall, case: bronzes, at: [-2, 1], plinth: {height: 1}}", "leave out wall, plinth and vitrine"),
    ("{room: side, case: bronzes, at: [0, 0]}", "room 'side' has no case 'bronzes'"),
    ("{room: hall, at: [0, 0], mount: shelf}", "holds a model on a wall: give wall: too"),
])
def test_case_and_mount_mistakes_are_errors_at_their_line(tmp_path: Path, place: str, message: str) -> None:
    artifacts = f"artifacts:\n  - id: wrong\n    model: models/cube.obj\n    place: {place}\n"
    with pytest.raises(SpecError) as caught:
        load_exhibit(_write(tmp_path / "tiny", artifacts))
    found = [p for p in caught.value.problems if message in p.message]
    assert found, [p.format() for p in caught.value.problems]
    assert found[0].line > 0 and found[0].path.startswith("artifacts[0].place")


def test_the_limit_of_a_case_is_inside_it(tmp_path: Path) -> None:
    """The glass is 1.4 m long north-south around z = 1: z = 1.7 is its edge, still inside."""
    artifacts = "artifacts:\n  - id: edge\n    model: models/cube.obj\n    place: {room: hall, case: bronzes, at: [-2, 1.7]}\n"
    assert load_exhibit(_write(tmp_path / "tiny", artifacts)).exhibit.artifact("edge") is not None


def test_a_mount_on_an_image_is_an_error(tmp_path: Path) -> None:
    artifacts = ("artifacts:\n  - id: pic\n    image: images/red.png\n"
                 "    place: {room: hall, wall: north, at: 2, mount: bracket}\n")
    with pytest.raises(SpecError, match="a mount holds models, and this is an image"):
        load_exhibit(_write(tmp_path / "tiny", artifacts))


def test_the_manifest_lists_each_room_s_cases_for_the_floor_plan(tmp_path: Path) -> None:
    import json

    from pipeline.build import BuildOptions, build

    build(_write(tmp_path / "tiny"), tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    rooms = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["rooms"]
    assert rooms[0]["cases"] == [{"id": "bronzes", "position": [-2.0, 0.0, 1.0], "size": [1.4, 0.6, 0.5],
                                  "rotate": 90.0}]
    assert rooms[1]["cases"] == []
