"""`vitrina check`, `vitrina schema` and `vitrina new` through pipeline.cli.main: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.pipeline.spec.assetgen import copy_case

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures" / "invalid"


@pytest.mark.parametrize("example", ["minimal", "bronze-age"])
def test_examples_check_clean_with_strict(example: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code = main(["check", f"exhibits/{example}", "--strict"])
    output = capsys.readouterr().out
    assert code == 0, output
    summary = [line for line in output.splitlines() if not line.startswith("note: ")]  # export notes: not warnings
    assert len(summary) == 1 and summary[0].startswith(f"exhibits/{example}/exhibit.yaml: ")
    assert output.endswith("0 errors, 0 warnings.\n")


def test_bronze_age_summary_counts_what_the_issue_asks_for(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", "exhibits/bronze-age/exhibit.yaml"]) == 0
    assert capsys.readouterr().out == ("note: SVX (Voyager) has no language key for zh: svx/ carries en only, for 6 "
                                       "model(s); IIIF and Linked Art carry every language\n"
                                       "exhibits/bronze-age/exhibit.yaml: 2 rooms, 10 artifacts, 8 annotations, "
                                       "2 tours in zh, en; 0 errors, 0 warnings.\n")


def test_check_reports_errors_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    copy_case(FIXTURES / "unknown-key", tmp_path / "unknown-key")
    monkeypatch.chdir(tmp_path)
    code = main(["check", "unknown-key"])
    output = capsys.readouterr().out
    assert code == 1
    assert output == (FIXTURES / "unknown-key" / "expected.txt").read_text(encoding="utf-8")


def test_check_of_a_missing_path_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check", "nowhere"]) == 1
    assert capsys.readouterr().out == "nowhere  no such file or folder\n1 error, 0 warnings; nothing was built.\n"


def test_warnings_pass_without_strict_and_fail_with_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    copy_case(FIXTURES / "warn-missing-language", tmp_path / "warn-missing-language")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "warn-missing-language"]) == 0
    relaxed = capsys.readouterr().out
    assert main(["check", "warn-missing-language", "--strict"]) == 1
    strict = capsys.readouterr().out
    assert relaxed.count("warning: ") == 6
    assert "warning: " not in strict
    assert strict.endswith("6 errors, 0 warnings; nothing was built.\n")
    assert [line.split("  ")[0] for line in relaxed.splitlines()[:6]] == \
        [line.split("  ")[0] for line in strict.splitlines()[:6]]


def test_schema_command_prints_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert main(["schema", "-o", str(tmp_path / "schema.json")]) == 0
    assert json.loads((tmp_path / "schema.json").read_text(encoding="utf-8")) == printed


def test_new_makes_a_starter_that_checks_clean_with_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "My Show"]) == 0
    assert capsys.readouterr().out == "created My Show; try: vitrina check My Show\n"
    assert main(["check", "My Show", "--strict"]) == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].startswith("note: no exhibit.base_url: the build skips the IIIF")  # said, not a warning
    assert summary[1:] == ["My Show/exhibit.yaml: 1 room, 3 artifacts, 1 annotation, 1 tour in en; "
                           "0 errors, 0 warnings."]
    assert "id: my-show" in (tmp_path / "My Show" / "exhibit.yaml").read_text(encoding="utf-8")


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "show").mkdir()
    (tmp_path / "show" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["new", str(tmp_path / "show")]) == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "show" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["notes.txt"]
