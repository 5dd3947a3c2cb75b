"""`vitrina check`, `vitrina schema` and `vitrina new` through pipeline.cli.main: exit codes and output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.pipeline.spec.assetgen import copy_case

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures" / "invalid"


def check_case(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *flags: str, folder: str = "") -> int:
    """Copy an invalid-spec fixture into tmp_path (named `folder`, else as the fixture) and run `vitrina check` on it
    from there, so messages name it by that relative path."""
    name = folder or fixture
    copy_case(FIXTURES / fixture, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return main(["check", name, *flags])


@pytest.mark.parametrize("example", ["minimal", "bronze-age"])
def test_examples_check_clean_with_strict(example: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code = main(["check", f"exhibits/{example}", "--strict"])
    output = capsys.readouterr().out
    assert code == 0, output
    lines = [line for line in output.splitlines() if not line.startswith("note: ")]  # export notes, not warnings
    assert lines[-1].startswith(f"exhibits/{example}/exhibit.yaml: ")
    assert lines[-1].endswith("0 errors, 0 warnings.")
    # Nothing else but each model's placed size.
    assert lines[0] == "models as placed (width × depth × height):"
    assert all(line.startswith("  ") and " m, " in line for line in lines[1:-1])


def test_bronze_age_summary_counts_what_the_issue_asks_for(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", "exhibits/bronze-age/exhibit.yaml"]) == 0
    assert capsys.readouterr().out == (
        "note: SVX (Voyager) has no language key for zh: svx/ carries en only, for 6 model(s); IIIF and Linked Art "
        "carry every language\n"
        "models as placed (width × depth × height):\n"
        "  mirror: 0.18 × 0.18 × 0.016 m, 10,400 triangles\n"
        "  jade-bi: 0.21 × 0.21 × 0.009 m, 15,872 triangles\n"
        "  chime: 0.43 × 0.023 × 0.22 m, 11,328 triangles\n"
        "  ding: 0.35 × 0.35 × 0.43 m, 15,856 triangles\n"
        "  gu: 0.16 × 0.16 × 0.28 m, 5,568 triangles\n"
        "  bell: 0.22 × 0.15 × 0.42 m, 20,016 triangles\n"
        "exhibits/bronze-age/exhibit.yaml: 2 rooms, 10 artifacts, 8 annotations, 2 tours in zh, en; "
        "0 errors, 0 warnings.\n")


def test_check_json_lists_problems_and_placed_models(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", "exhibits/minimal", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["errors"] == 0 and result["problems"] == []
    assert [(m["id"], m["width"], m["depth"], m["height"], m["triangles"]) for m in result["models"]] == [
        ("vase", 0.1366, 0.1366, 0.2399, 7440)]


def test_check_json_reports_errors_with_their_place(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_case("unknown-key", tmp_path, monkeypatch, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["errors"] == len(result["problems"]) > 0
    first = result["problems"][0]
    assert first["file"] == "unknown-key/exhibit.yaml" and first["line"] > 0 and first["severity"] == "error"


def test_check_reports_errors_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code = check_case("unknown-key", tmp_path, monkeypatch)
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
    assert check_case("warn-missing-language", tmp_path, monkeypatch) == 0
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
    summary = capsys.readouterr().out
    assert summary.startswith("note: no exhibit.base_url: the build skips the IIIF")  # said, not a warning
    summary = summary.split("\n", 1)[1]
    assert summary == ("models as placed (width × depth × height):\n"
                       "  vessel: 0.12 × 0.12 × 0.2 m, 576 triangles\n"
                       "My Show/exhibit.yaml: 1 room, 3 artifacts, 1 annotation, 1 tour in en; "
                       "0 errors, 0 warnings.\n")
    assert "id: my-show" in (tmp_path / "My Show" / "exhibit.yaml").read_text(encoding="utf-8")


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "show").mkdir()
    (tmp_path / "show" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["new", str(tmp_path / "show")]) == 1
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "show" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == ["notes.txt"]


def test_check_json_names_the_artifact_a_warning_is_about(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_case("first-day-17-object-by-the-door", tmp_path, monkeypatch, "--json", folder="door") == 0
    result = json.loads(capsys.readouterr().out)
    assert [(p["artifact"], p["path"], p["severity"]) for p in result["problems"]] == [
        ("car", "artifacts[2].place", "warning")]
    assert [n for n in result["notes"] if not n.startswith("no exhibit.base_url")] == []  # no export, said once


def test_the_command_exits_with_mains_code_and_its_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `vitrina` and `python -m pipeline.cli` go through run(), which freezes the collector before exiting.
    import subprocess
    import sys

    missing = tmp_path / "nowhere"
    code = main(["check", str(missing)])
    expected = capsys.readouterr().err
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "check", str(missing)], capture_output=True,
                          text=True, cwd=REPO, check=False)
    assert code != 0 and done.returncode == code and done.stderr == expected


# After the command, a large matrix product (as the bake and the composer make) and the count of the process's threads.
THREADS_AFTER_A_PRODUCT = """
import atexit, os, sys
def count():
    import numpy as np
    np.ones((400_000, 4)) @ np.ones((4, 4))
    print("threads", len(os.listdir("/proc/self/task")))
atexit.register(count)
from pipeline import cli
if sys.argv[1] == "run":
    sys.argv = ["vitrina", "check", "exhibits/minimal"]
    cli.run()
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
                    reason="counts threads in /proc, and OpenBLAS starts none on one core")
def test_the_command_gives_numpys_blas_one_thread() -> None:
    # OpenBLAS starts a thread per core and spins them between products; the build has its own threads for that.
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items()
                   if key not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}

    def threads(how: str) -> int:
        done = subprocess.run([sys.executable, "-c", THREADS_AFTER_A_PRODUCT, how], capture_output=True, text=True,
                              cwd=REPO, env=environment, check=True)
        return int(done.stdout.split("threads")[-1])

    assert threads("run") == 1
    assert threads("import only") > 1  # what the command saves: without it, OpenBLAS starts its own
