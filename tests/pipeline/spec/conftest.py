"""Fixtures shared by the spec tests: a private copy of the bronze-age example to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def bronze(tmp_path: Path) -> Path:
    folder = tmp_path / "bronze-age"
    shutil.copytree(REPO / "exhibits" / "bronze-age", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    return folder
