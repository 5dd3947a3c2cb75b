"""Behaviour of pipeline/spec that the sampled mutation run (docs/benchmarks.md, mutants) found no test for."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import SpecError
from pipeline.gltf import write_glb
from pipeline.spec import load_exhibit, reference
from pipeline.spec.content import _declared_unit
from pipeline.spec.edit import ExhibitFiles, _lines_changed, parse_change
from pipeline.spec.exports import export_notes, iiif_rights
from pipeline.spec.fields import quote
from pipeline.spec.files import resolve_asset
from pipeline.spec.loader import MAX_FILE_NODES
from pipeline.spec.measure import measure, references
from pipeline.spec.model import Annotation, Artifact
from tests.pipeline.gltf.scenes import triangle_scene, with_json

REPO = Path(__file__).resolve().parents[3]


def test_a_riff_file_that_is_not_wave_is_refused_as_wav(tmp_path: Path) -> None:
    riff = b"RIFF" + (1000).to_bytes(4, "little")
    (tmp_path / "voice.wav").write_bytes(riff + b"WAVEfmt " + bytes(64))
    (tmp_path / "clip.wav").write_bytes(riff + b"AVI LIST" + bytes(64))  # a video renamed .wav
    assert resolve_asset("voice.wav", tmp_path, "audio") == ((tmp_path / "voice.wav").resolve(), None)
    path, message = resolve_asset("clip.wav", tmp_path, "audio")
    assert path is None and message is not None and "is not a WAV file" in message


@pytest.mark.parametrize("uri, expected", [
    ("https://creativecommons.org/licenses/by/4.0/", "http://creativecommons.org/licenses/by/4.0/"),
    ("https://creativecommons.org/licenses/by-sa/4.0", "http://creativecommons.org/licenses/by-sa/4.0/"),
    ("https://rightsstatements.org/vocab/InC/1.0/", "http://rightsstatements.org/vocab/InC/1.0/"),
    ("https://rightsstatements.org/vocab/", "http://rightsstatements.org/vocab/"),
    ("https://example.org/licence", None),
])
def test_iiif_rights_ends_with_exactly_one_slash(uri: str, expected: str | None) -> None:
    assert iiif_rights(uri) == expected


def test_an_artifact_finds_its_annotation_by_id() -> None:
    first, second = Annotation(id="rim", title={"en": "Rim"}), Annotation(id="foot", title={"en": "Foot"})
    artifact = Artifact(id="vase", annotations=(first, second))
    assert artifact.annotation("foot") is second
    assert artifact.annotation("rim") is first
    assert artifact.annotation("lid") is None


def test_layout_gives_each_room_its_line_and_start(bronze: Path) -> None:
    rooms = ExhibitFiles(bronze).layout()["rooms"]
    assert rooms["hall"] == {"file": "exhibit.yaml", "line": 25, "start": {"at": [-4.5, 2.5]}}
    assert rooms["gallery"] == {"file": "exhibit.yaml", "line": 37, "start": None}
    assert (bronze / "exhibit.yaml").read_text().splitlines()[24].lstrip().startswith("- id: hall")


def test_moving_the_last_artifact_of_a_file_takes_the_blank_lines_before_it(bronze: Path) -> None:
    hall = bronze / "artifacts" / "hall.yaml"
    before = hall.read_text()
    cut = before.index("  - id: landscape")
    ExhibitFiles(bronze).apply(parse_change({"target": "artifact", "id": "landscape", "key": "place",
                                             "value": {"room": "gallery", "wall": "north", "at": 0, "height": 1.5}}))
    assert hall.read_text() == before[:cut].rstrip("\n") + "\n", "no blank line is left at the end of the hall"
    assert "  - id: landscape" in (bronze / "artifacts" / "gallery.yaml").read_text()


def test_reference_check_names_the_stale_file_and_leaves_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "spec.md"
    stale.write_text("old", encoding="utf-8")
    monkeypatch.setattr(reference, "generated_files", lambda: {stale: "new"})
    assert reference.main(["--check"]) == 1
    assert capsys.readouterr().err == f"{stale} is out of date: run python -m pipeline.spec.reference\n"
    assert stale.read_text(encoding="utf-8") == "old"
    assert reference.main([]) == 0
    assert stale.read_text(encoding="utf-8") == "new"


def test_artifacts_not_placed_yet_are_noted_for_the_exports(bronze: Path) -> None:
    exhibit = load_exhibit(bronze).exhibit
    assert not any("not placed yet" in note for note in export_notes(exhibit))
    unplaced = dataclasses.replace(exhibit, artifacts=tuple(
        dataclasses.replace(artifact, place=None) if artifact.id in ("gu", "bell") else artifact
        for artifact in exhibit.artifacts))
    assert ("2 artifact(s) not placed yet are exported as records only (Linked Art, an object Manifest without a "
            "model), not in any Scene") in export_notes(unplaced)


def test_a_diff_counts_each_removed_line() -> None:
    assert _lines_changed("a\nb\nc\nd\n", "a\n") == 3
    assert _lines_changed("a\n", "a\nb\nc\n") == 2
    assert _lines_changed("a\nb\n", "a\nB\n") == 1


def test_a_file_is_parsed_again_only_when_its_text_changed(bronze: Path) -> None:
    files = ExhibitFiles(bronze)
    spec = bronze / "exhibit.yaml"
    first, _ = files._read(spec)
    assert files._read(spec)[0] is first, "unchanged text: the cached parse"
    spec.write_text(spec.read_text() + "\n# a comment\n")
    assert files._read(spec)[0] is not first


def _spec_problems(folder: Path, text: str) -> list[tuple[int, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exhibit.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    return [(problem.line, problem.message) for problem in raised.value.problems]


def test_a_control_character_is_reported_on_its_line(tmp_path: Path) -> None:
    text = "exhibit: {id: show, title: Show}\nrooms:\n  - id: hall\n    name: Ha\x07ll\n"
    [(line, message)] = _spec_problems(tmp_path / "show", text)
    assert line == 4 and "control character (#x0007)" in message


def test_a_file_with_too_many_values_says_to_split_it(tmp_path: Path) -> None:
    text = "exhibit: {id: show, title: Show}\nnotes: [" + ", ".join(["1"] * (MAX_FILE_NODES + 10)) + "]\n"
    problems = _spec_problems(tmp_path / "show", text)
    assert len(problems) == 1
    assert f"more than {MAX_FILE_NODES:,} values; split it with include:" in problems[0][1]


def test_a_long_value_is_quoted_shortened_to_sixty_characters() -> None:
    assert quote("x" * 100) == "'" + "x" * 57 + "...'"
    assert quote("y" * 60) == "'" + "y" * 60 + "'"
    assert quote("two\nlines") == "'two lines'", "one value stays on one line of output"


def test_a_webvtt_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "cues.vtt").write_bytes(b"\xef\xbb\xbfWEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    assert resolve_asset("cues.vtt", tmp_path, "captions") == ((tmp_path / "cues.vtt").resolve(), None)


def test_a_room_features_the_first_artifact_a_tour_stops_at_there(bronze: Path) -> None:
    exhibit = load_exhibit(bronze).exhibit
    featured = exhibit.featured_artifact("hall")
    assert featured is not None and featured.id == "ding", "the first tour stops at ding, listed second in the hall"
    untoured = dataclasses.replace(exhibit, tours=())
    first = untoured.featured_artifact("hall")
    assert first is not None and first.id == "intro", "no tour: the first listed"


def test_an_obj_of_points_only_has_no_triangles(tmp_path: Path) -> None:
    path = tmp_path / "points.obj"
    path.write_bytes(b"v 0 0 0\nv 1 2 3\n")
    found = measure(path)
    assert (found.low, found.high, found.triangles) == ((0, 0, 0), (1, 2, 3), 0)


def test_a_gltf_without_indices_counts_triangles_from_its_positions(tmp_path: Path) -> None:
    def drop_indices(document: dict[str, Any]) -> None:
        del document["meshes"][0]["primitives"][0]["indices"]

    path = tmp_path / "unindexed.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), drop_indices))
    assert measure(path).triangles == 1


def test_the_declared_unit_defaults_to_metres_beside_a_scale() -> None:
    assert _declared_unit(Artifact(id="a", scale=2.0)) == "units: m, scale: 2"
    assert _declared_unit(Artifact(id="a", units="cm", scale=2.0)) == "units: cm, scale: 2"
    assert _declared_unit(Artifact(id="a")) == "units: m"


def test_an_ascii_stl_may_start_with_blank_space(tmp_path: Path) -> None:
    (tmp_path / "cube.stl").write_bytes(b"  \n solid cube\nendsolid cube\n")
    assert resolve_asset("cube.stl", tmp_path, "model") == ((tmp_path / "cube.stl").resolve(), None)


def test_an_obj_material_library_written_with_backslashes_is_a_path(tmp_path: Path) -> None:
    path = tmp_path / "pot.obj"
    path.write_bytes(b"mtllib mats\\wood.mtl\nv 0 0 0\n")
    assert references(path) == [("material library", "mats/wood.mtl")]


def test_voyager_note_says_no_text_when_no_language_has_a_key(bronze: Path) -> None:
    exhibit = load_exhibit(bronze).exhibit
    chinese_only = dataclasses.replace(exhibit, exhibit=dataclasses.replace(exhibit.exhibit, languages=("zh",)))
    [note] = [note for note in export_notes(chinese_only) if note.startswith("SVX")]
    assert "no language key for zh: svx/ carries no text only, for 6 model(s)" in note


def test_a_language_listed_twice_is_named_by_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text("exhibit: {id: show, title: Show, languages: [en, fr, en]}\n"
                                         "rooms: [{id: hall, name: Hall}]\n", encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    assert [(problem.path, problem.message) for problem in raised.value.problems if problem.severity == "error"] == \
        [("exhibit.languages[2]", "'en' is listed twice")]
