"""The checks the standards work adds to `check`: not placed yet, a picture's record dimensions, export notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.spec import load_exhibit

# A 1 × 1 × 1 cube written in whatever unit the test says it is in.
CUBE = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0 0 1\nv 1 0 1\nv 1 1 1\nv 0 1 1\nf 1 2 3\nf 5 6 7\n"
SPEC = """exhibit:
  id: checks
  title: Checks
  languages: [{languages}]
  rights: {rights}
{base_url}rooms:
  - id: hall
    size: [8, 6, 3]
artifacts:
  - id: cube
    model: models/cube.obj
    units: {units}
    place: {{room: hall, at: [0, 0]}}
    record:
      dimensions: {{en: "{dimensions}"}}
  - id: later
    record:
      title: {{en: Not yet}}
"""


def write(tmp_path: Path, units: str = "cm", dimensions: str = "H. 1 cm", languages: str = "en",
          base_url: str = "", rights: str = "http://creativecommons.org/licenses/by/4.0/") -> Path:
    (tmp_path / "models").mkdir(parents=True, exist_ok=True)
    (tmp_path / "models" / "cube.obj").write_text(CUBE, encoding="utf-8")
    base = f"  base_url: {base_url}\n" if base_url else ""
    (tmp_path / "exhibit.yaml").write_text(SPEC.format(units=units, dimensions=dimensions, languages=languages,
                                                       base_url=base, rights=rights), encoding="utf-8")
    return tmp_path


def messages(folder: Path) -> list[str]:
    return [f"{w.path}: {w.message}" for w in load_exhibit(folder).warnings]


def test_a_model_record_disagreeing_with_its_size_is_warned_once(tmp_path: Path) -> None:
    """Models are measured by pipeline.spec.content; the standards work adds no second warning for them."""
    folder = write(tmp_path, units="m", dimensions="H. 1 cm")
    warned = [m for m in messages(folder) if m.startswith("artifacts[0].record.dimensions")]
    assert len(warned) == 1 and "'H. 1 cm'" in warned[0]
    assert not any("record.dimensions" in m for m in messages(write(tmp_path / "ok", units="cm")))


def test_an_unplaced_artifact_is_a_warning_and_a_tour_may_not_visit_it(tmp_path: Path) -> None:
    folder = write(tmp_path)
    assert "artifacts[1]: 'later' is not placed yet: it is listed in the catalogue but stands in no room (give it " \
           "place: {room, at} to show it)" in messages(folder)
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "tours:\n  - id: t\n    title: T\n    stops: [{artifact: later}]\n",
                    encoding="utf-8")
    with pytest.raises(Exception, match="'later' is not placed yet, so a tour cannot visit it"):
        load_exhibit(folder)


def test_check_notes_what_the_exports_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path / "a")
    assert main(["check", str(folder)]) == 0
    assert "note: no exhibit.base_url: the build skips the IIIF, Linked Art and Voyager exports" in capsys.readouterr().out
    folder = write(tmp_path / "b", languages="en, zh", base_url="https://museum.example/checks/",
                   rights="https://example.org/our-terms")
    assert main(["check", str(folder)]) == 0  # notes are not warnings: they never fail a check
    out = capsys.readouterr().out
    assert out.rstrip().endswith("0 errors, 4 warnings.")
    assert "note: SVX (Voyager) has no language key for zh: svx/ carries en only, for 1 model(s)" in out
    assert "note: IIIF `rights` takes only Creative Commons and RightsStatements.org URIs: " \
           "https://example.org/our-terms goes into requiredStatement as text instead" in out


def test_the_editor_schema_accepts_a_record_waiting_in_the_catalogue_but_not_a_placed_one() -> None:
    import jsonschema

    from pipeline.spec.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    waiting = {"artifacts": [{"id": "a1", "record": {"accession": "A1"}}]}
    placed = {"artifacts": [{"id": "a1", "place": {"room": "hall"}, "record": {"accession": "A1"}}]}
    assert list(validator.iter_errors(waiting)) == []
    assert list(validator.iter_errors(placed)) != []


def test_a_picture_sized_in_the_wrong_units_is_a_warning(tmp_path: Path) -> None:
    from PIL import Image

    folder = write(tmp_path)
    Image.new("RGB", (40, 30), (90, 90, 90)).save(folder / "painting.png")
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("artifacts:\n", """artifacts:
  - id: painting
    image: painting.png
    size: [2.5, 1.9]
    alt: {en: A grey painting}
    place: {room: hall, wall: north}
    record: {dimensions: {en: "25 x 19 cm"}}
""", 1), encoding="utf-8")
    assert "artifacts[0].record.dimensions: the record says '25 x 19 cm' but the picture (painting.png) is 2.5 × 1.9 m; " \
           "size is in metres, so size: [0.25, 0.19] would agree" in messages(folder)
