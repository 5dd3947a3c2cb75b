"""The loader's typed result: defaults, multilingual text, includes, asset paths, and fast failure on hostile YAML."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from pipeline.errors import SpecError
from pipeline.spec import load_exhibit
from pipeline.spec.layout import model_size
from pipeline.spec.loader import MAX_NODES
from tests.pipeline.spec.assetgen import write_asset

REPO = Path(__file__).resolve().parents[3]


def _write(folder: Path, text: str, *assets: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exhibit.yaml").write_text(text, encoding="utf-8")
    for name in assets:
        write_asset(folder / name)
    return folder


MINIMAL = """\
exhibit: {id: show, title: Show, languages: [fr, en]}
rooms: [{id: hall, name: {fr: Salle, en: Hall}}]
"""


def test_plain_text_means_the_default_language_and_defaults_fill_in(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL + """\
artifacts:
  - id: vase
    model: models/vase.glb
    alt: {fr: Vase, en: Vase}
    place: {room: hall, at: [1, -2]}
    record: {accession: 1987.10, title: {fr: Vase, en: Vase}}
""", "models/vase.glb")
    loaded = load_exhibit(folder)
    exhibit = loaded.exhibit
    assert exhibit.exhibit.title == {"fr": "Show"}
    assert exhibit.default_language == "fr"
    assert exhibit.rooms[0].size == (10.0, 8.0, 4.0)
    vase = exhibit.artifacts[0]
    assert vase.kind == "model"
    assert vase.place.floor_at == (1.0, -2.0)
    assert vase.place.base_height == 0.0
    # Text is kept as written: an accession number is not a float.
    assert vase.record.accession == "1987.10"
    assert vase.model is not None and vase.model.written == "models/vase.glb"
    assert vase.model.path == (folder / "models" / "vase.glb").resolve()
    assert vase.model.path.is_absolute()
    # The untranslated exhibit title is a warning, kept for the build report.
    assert [(w.path, w.severity) for w in loaded.warnings] == [("exhibit.title", "warning")]
    assert loaded.spec_file == (folder / "exhibit.yaml").absolute()


def test_a_file_path_works_like_its_folder(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL)
    assert load_exhibit(folder / "exhibit.yaml").exhibit == load_exhibit(folder).exhibit


def test_includes_are_merged_after_the_main_file_in_name_order(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL + """\
include: [parts/*.yaml]
artifacts:
  - {id: first, text: {fr: Un, en: One}, place: {room: hall, wall: north, at: -3}}
""")
    (folder / "parts").mkdir()
    (folder / "parts" / "b.yaml").write_text(
        "artifacts: [{id: third, text: {fr: Trois, en: Three}, place: {room: hall, wall: south}}]\n", encoding="utf-8")
    (folder / "parts" / "a.yaml").write_text(
        "artifacts: [{id: second, text: {fr: Deux, en: Two}, place: {room: hall, wall: north, at: 3}}]\n"
        "rooms: [{id: annex, name: {fr: Annexe, en: Annex}}]\n", encoding="utf-8")
    loaded = load_exhibit(folder)
    assert [a.id for a in loaded.exhibit.artifacts] == ["first", "second", "third"]
    assert [r.id for r in loaded.exhibit.rooms] == ["hall", "annex"]
    assert [p.relative_to(folder).as_posix() for p in loaded.files] == ["exhibit.yaml", "parts/a.yaml", "parts/b.yaml"]


def test_problems_in_included_files_name_that_file(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL + "include: [more.yaml]\n")
    (folder / "more.yaml").write_text("artifacts:\n  - id: x\n    text: Hi\n    place: {room: hal, wall: north}\n",
                                      encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    [problem] = [p for p in raised.value.problems if p.severity == "error"]
    assert (problem.file.endswith("show/more.yaml"), problem.line, problem.col) == (True, 4, 19)
    assert problem.path == "artifacts[0].place.room"


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL)
    assert len(load_exhibit(folder).warnings) == 1
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder, strict=True)
    assert [p.severity for p in raised.value.problems] == ["error"]


def test_modest_use_of_anchors_is_allowed(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL + """\
artifacts:
  - {id: a, text: {fr: A, en: A}, place: &spot {room: hall, wall: north, at: -2}}
  - {id: b, text: {fr: B, en: B}, place: {room: hall, wall: south}}
  - {id: c, text: {fr: C, en: C}, place: *spot}
""")
    with pytest.raises(SpecError) as raised:  # the same spot twice is an overlap, so --strict fails...
        load_exhibit(folder, strict=True)
    assert [p.path for p in raised.value.problems] == ["exhibit.title", "artifacts[2].place"]
    loaded = load_exhibit(folder)  # ...but the aliases themselves load
    assert loaded.exhibit.artifacts[2].place == loaded.exhibit.artifacts[0].place


def _alias_bomb(levels: int) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [
    _alias_bomb(9),
    "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "x: &x [*x]\n",
], ids=["alias-bomb", "deep-lists", "deep-mappings", "self-alias"])
def test_hostile_yaml_fails_fast_with_a_message(tmp_path: Path, text: str) -> None:
    folder = _write(tmp_path / "show", text)
    started = time.perf_counter()
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    assert time.perf_counter() - started < 2.0
    [problem] = raised.value.problems
    assert problem.line >= 1
    assert any(word in problem.message for word in ("alias", "nested", "contains itself"))


def test_alias_bomb_limit_counts_expanded_values(tmp_path: Path) -> None:
    # 10 × 10 × 10 × 10 × 10 = 100,000 leaves (plus the lists): just over the limit.
    folder = _write(tmp_path / "show", _alias_bomb(5))
    with pytest.raises(SpecError) as raised:
        load_exhibit(folder)
    assert f"{MAX_NODES:,}" in raised.value.problems[0].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_asset_is_reported(tmp_path: Path) -> None:
    folder = _write(tmp_path / "show", MINIMAL + """\
artifacts: [{id: vase, model: models/vase.glb, place: {room: hall, at: [0, 0]}}]
""", "models/vase.glb")
    (folder / "models" / "vase.glb").chmod(0)
    try:
        with pytest.raises(SpecError) as raised:
            load_exhibit(folder)
    finally:
        (folder / "models" / "vase.glb").chmod(0o644)
    assert "cannot read 'models/vase.glb': permission denied" in [p.message for p in raised.value.problems]


def test_model_size_estimates_follow_units_and_up_axis() -> None:
    loaded = load_exhibit(REPO / "exhibits" / "bronze-age")
    sizes = {a.id: model_size(a) for a in loaded.exhibit.artifacts if a.kind == "model"}
    bell = sizes["bell"]  # a z-up PLY in millimetres, 41.6 cm tall
    assert bell is not None and bell[2] == pytest.approx(0.416, abs=0.002)
    gu = sizes["gu"]  # a y-up OBJ in centimetres
    assert gu is not None and gu[2] == pytest.approx(0.283, abs=0.002)
    chime = sizes["chime"]  # scaled to a target height
    assert chime is not None and chime[2] == pytest.approx(0.22)


@pytest.mark.parametrize("example", ["minimal", "bronze-age"])
def test_libyaml_and_pure_python_load_the_same_exhibit(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    fast = load_exhibit(REPO / "exhibits" / example)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    slow = load_exhibit(REPO / "exhibits" / example)
    assert fast.exhibit == slow.exhibit
    assert fast.warnings == slow.warnings


def test_readme_example_checks_clean(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Writing an exhibit", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    folder = _write(tmp_path / "bronze-age", example, "models/ding.glb", "images/landscape.jpg",
                    "audio/ding.zh.mp3", "audio/ding.en.mp3", "audio/ding.zh.vtt", "audio/ding.en.vtt")
    (folder / "artifacts").mkdir()
    (folder / "artifacts" / "more.yaml").write_text("artifacts: []\n", encoding="utf-8")
    loaded = load_exhibit(folder)
    assert [a.kind for a in loaded.exhibit.artifacts] == ["model", "image", "panel"]
    assert loaded.warnings == ()


@pytest.mark.parametrize(("text", "line", "message"), [
    ("a:\n\tb: 1\n", 2, "YAML does not allow tabs; indent with spaces"),
    ("a:\n  b: 1\n   c: 2\n", 3, "this line is indented 3 spaces, its siblings 2; keys of one mapping must line up"),
    ("a:\n  - b: 1\n    c: 2\n     d: 2\n", 4,
     "this line is indented 5 spaces, its siblings 4; keys of one mapping must line up"),
    ("a:\n  b: [1, 2\n  c: 2\n", 3, "the [ opened at line 2 column 6 is not closed with ] (found 'c: 2' instead)"),
    ("a:\n  title: Ding: a vessel\n  b: 1\n", 2,
     "the value holds ': ' (a colon and a space), which YAML reads as a new key; put the value in quotes"),
    ("a:\n  title: @home\n", 2, "a value cannot start with '@' in YAML; put the value in quotes"),
    ("a:\n  title: \"unclosed\n  b: 1\n", 4, "the quote opened at line 2 column 10 is never closed"),
    ("a:\n  - b\n  c: 1\n", 3, "this line is a key at the indentation of the list item above it (line 2); "
                               "a list and a mapping cannot share one level"),
])
def test_syntax_errors_are_said_in_plain_words(text: str, line: int, message: str) -> None:
    from pipeline.spec.loader import plain_syntax_error

    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.compose(text, Loader=yaml.SafeLoader)
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line + 1 == line
    assert plain_syntax_error(text, caught.value) == message
