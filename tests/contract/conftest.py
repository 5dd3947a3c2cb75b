"""One build of the rich example (exhibits/bronze-age) per session, cold then warm, shared by the contract tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.report import BuildReport
from tests.conftest import REPO

BRONZE_AGE = REPO / "exhibits" / "bronze-age"


@dataclass
class BuiltSite:
    spec: Path
    site: Path  # OUT of the cold build
    warm_site: Path  # OUT of a second build with the cache the first one filled
    cache: Path
    cold: BuildReport
    warm: BuildReport

    @property
    def exhibit(self) -> Path:
        return self.site / "bronze-age"


@pytest.fixture(scope="session")
def bronze_age(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    if not (BRONZE_AGE / "exhibit.yaml").is_file():
        pytest.fail(f"{BRONZE_AGE} is missing: the rich example is part of the repository")
    root = tmp_path_factory.mktemp("bronze-age")
    cache = root / "cache"
    cold = build(BRONZE_AGE, root / "site", BuildOptions(quiet=True, cache_dir=cache, jobs=2))
    warm = build(BRONZE_AGE, root / "warm", BuildOptions(quiet=True, cache_dir=cache, jobs=2))
    return BuiltSite(BRONZE_AGE, root / "site", root / "warm", cache, cold, warm)
