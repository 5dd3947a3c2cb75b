"""The posters benchmark's edits: each changes one thing a curator would, and the exhibit still checks."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from pipeline.build import check
from tests.benchmarks.bench_posters import edit_description, edit_title

REPO = Path(__file__).resolve().parents[2]


def _yaml(folder: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in sorted(folder.rglob("*.yaml")))


def test_the_edits_change_one_description_and_one_title_and_the_exhibit_still_checks(tmp_path: Path) -> None:
    folder = tmp_path / "bronze-age"
    shutil.copytree(REPO / "exhibits" / "bronze-age", folder)
    before = _yaml(folder)
    edit_description(folder)
    described = _yaml(folder)
    assert described.count("Revised. ") == before.count("Revised. ") + 1 and len(described) == len(before) + 9
    edit_title(folder)
    assert _yaml(folder).count("title: {zh: 新") == 1
    said = io.StringIO()
    assert check(folder, strict=False, out=said) == 0, said.getvalue()


def test_the_big_exhibit_takes_captions_and_its_title_edit_and_still_checks(tmp_path: Path) -> None:
    from tests.benchmarks.bench_posters import edit_big_title, turn_on_captions
    from tests.pipeline.test_incremental import big_exhibit

    folder = big_exhibit(tmp_path / "big")
    turn_on_captions(folder)  # its exhibit is one flow mapping
    edit_big_title(folder)
    text = _yaml(folder)
    assert text.count("captions: true") == 1 and "Picture three" in text and "Picture 3" not in text
    said = io.StringIO()
    assert check(folder, strict=False, out=said) == 0, said.getvalue()
