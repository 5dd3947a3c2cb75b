"""Every invalid-spec fixture, run through `vitrina check`, prints exactly its expected.txt and exits as expected."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main
from tests.pipeline.spec.assetgen import copy_case, write_asset

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
# Set VITRINA_UPDATE_EXPECTED=1 to rewrite expected.txt from the current output (then read the diff!).
UPDATE = os.environ.get("VITRINA_UPDATE_EXPECTED") == "1"


def _symlink_out(case: Path) -> None:
    """Symlinks inside the exhibit to a real GLB and a folder (holding a YAML file) outside it."""
    outside = case.parent / "outside" / "secret.glb"
    write_asset(outside)
    (outside.parent / "extra.yaml").write_text("artifacts: []\n", encoding="utf-8")
    (case / "models").mkdir(exist_ok=True)
    (case / "models" / "link.glb").symlink_to(outside)
    (case / "linked").symlink_to(outside.parent, target_is_directory=True)


def _fifo(case: Path) -> None:
    """A named pipe where a model should be: opening it would block, so it must be refused unopened."""
    (case / "models").mkdir(exist_ok=True)
    os.mkfifo(case / "models" / "pipe.glb")


def _huge(case: Path) -> None:
    """A spec of 2 MiB: valid YAML (one long comment block) but over the size cap."""
    text = (case / "exhibit.yaml").read_text(encoding="utf-8")
    padding = ("# " + "x" * 1022 + "\n") * 2048
    (case / "exhibit.yaml").write_text(text + padding, encoding="utf-8")


# Some cases cannot be committed as files (a symlink leaving the folder, a FIFO, a 2 MiB file): the test makes them.
SETUP: dict[str, Callable[[Path], None]] = {
    "path-escape-symlink": _symlink_out,
    "asset-not-regular": _fifo,
    "huge-file": _huge,
}


@pytest.mark.parametrize("parser", ["libyaml", "python"])
@pytest.mark.parametrize("case", CASES)
def test_invalid_fixture_prints_expected_output(case: str, parser: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    if parser == "python":  # the fallback when PyYAML was built without libyaml: same output, only slower
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml")
    source = FIXTURES / case
    folder = tmp_path / case
    copy_case(source, folder)
    if case in SETUP:
        SETUP[case](folder)
    args = (source / "args.txt").read_text(encoding="utf-8").split() if (source / "args.txt").exists() else []
    monkeypatch.chdir(tmp_path)

    code = main(["check", case, *args])
    output = capsys.readouterr().out

    expected_file = source / "expected.txt"
    if UPDATE and parser == "python":
        expected_file.write_text(output, encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8")
    assert output == expected
    assert code == (1 if expected.rstrip().endswith("nothing was built.") else 0)
    # Messages are for people: never a Python repr or a traceback.
    for marker in ("Traceback", "PosixPath(", "<class ", "\\n", "None"):
        assert marker not in output


def test_every_case_has_expected_output() -> None:
    assert len(CASES) >= 20
    missing = [case for case in CASES if not (FIXTURES / case / "expected.txt").exists()]
    assert missing == []
