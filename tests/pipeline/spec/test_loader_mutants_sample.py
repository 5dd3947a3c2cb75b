"""The spec loader's behaviour that the sampled mutation run (docs/benchmarks.md, mutants) still found no test for."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.errors import SpecError
from pipeline.spec import load_exhibit
from pipeline.spec.loader import MAX_FILE_BYTES, MAX_FILE_NODES, MAX_TOTAL_BYTES

REPO = Path(__file__).resolve().parents[3]

MINIMAL_HEAD = """\
exhibit: {id: show, title: Show, languages: [en]}
rooms:
  - {id: room, name: Room, size: [6, 5, 3]}
"""


def _minimal(tmp_path: Path) -> Path:
    folder = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    return folder


def _messages(folder: Path, rooms_fit: bool = False) -> list[str]:
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder, rooms_fit=rooms_fit)
    return [problem.message for problem in raised.value.problems]


def test_the_byte_limit_counts_every_included_file_together(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    (folder / "more").mkdir(parents=True)
    (folder / "exhibit.yaml").write_text(MINIMAL_HEAD + "include: [more/*.yaml]\n", encoding="utf-8")
    padding = "# " + "x" * (MAX_FILE_BYTES - 100) + "\n"  # each file alone is under the one-file limit
    files = MAX_TOTAL_BYTES // (MAX_FILE_BYTES - 100) + 1
    for index in range(files):
        (folder / "more" / f"part{index:02}.yaml").write_text(padding + "rooms: []\n", encoding="utf-8")
    messages = _messages(folder)
    assert f"the exhibit's YAML files together exceed {MAX_TOTAL_BYTES:,} bytes" in messages
    assert not any("too large" in message for message in messages)


def test_an_unreadable_include_is_reported_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "show"
    (folder / "more").mkdir(parents=True)
    (folder / "exhibit.yaml").write_text(MINIMAL_HEAD + "include: [more/*.yaml]\n", encoding="utf-8")
    locked = folder / "more" / "locked.yaml"
    locked.write_text("rooms: []\n", encoding="utf-8")
    read_bytes = Path.read_bytes

    def refuse_locked(path: Path) -> bytes:
        if path.name == "locked.yaml":  # tests run as root here, where chmod 000 still reads
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_locked)
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    [problem] = raised.value.problems
    assert problem.message == "cannot read the file: permission denied"
    assert problem.file.endswith("locked.yaml") and (problem.line, problem.col) == (0, 0)


def test_a_tour_may_name_an_annotation_of_an_artifact_that_has_another_error(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(MINIMAL_HEAD + """\
artifacts:
  - id: Panel
    text: Hello
    size: [1, 0.5]
    place: {room: room, wall: north, at: 0, height: 1.5}
    annotations:
      - {id: corner, at: [0, 0, 0], title: Corner}
tours:
  - id: walk
    title: Walk
    stops:
      - annotation: Panel/corner
""", encoding="utf-8")
    messages = _messages(folder)
    # The panel's id is invalid, so the panel is left out of the model; the tour's stop at its annotation is not
    # a second problem.
    assert len(messages) == 1 and "'Panel' is not a valid id" in messages[0], messages


def test_text_with_only_unknown_languages_is_one_problem(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(MINIMAL_HEAD.replace("title: Show", "title: {fr: Salle}"),
                                         encoding="utf-8")
    messages = _messages(folder)
    assert len(messages) == 1 and "language 'fr' is not one of the exhibit's languages" in messages[0], messages


def test_without_libyaml_too_many_values_still_says_to_split_the_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml, "__with_libyaml__", False)  # the pure-Python path of machines without libyaml
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(
        "exhibit: {id: show, title: Show}\nnotes: [" + ", ".join(["1"] * (MAX_FILE_NODES + 10)) + "]\n",
        encoding="utf-8")
    [message] = _messages(folder)
    assert message == f"the file holds more than {MAX_FILE_NODES:,} values; split it with include:"
