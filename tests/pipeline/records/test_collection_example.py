"""The import example (exhibits/collection-import): its YAML is what `vitrina import` writes, and it builds and exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.records.importer import import_records
from tests.conftest import REPO
from tests.standards.validators import dropped_terms, iiif_errors, voyager_errors

EXAMPLE = REPO / "exhibits" / "collection-import"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "collection-import"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    return folder


def test_the_committed_yaml_is_the_import_of_the_committed_csv(copy: Path) -> None:
    """Re-importing records.csv changes nothing: the records are the CSV's, the placements the designer's."""
    report = import_records([copy / "records.csv"], copy, copy / "mapping.yaml")
    assert report.unknown_columns == [] and report.created == [] and report.updated == []
    assert len(report.unchanged) == 6
    for path in sorted((EXAMPLE / "artifacts").glob("*.yaml")):
        assert (copy / "artifacts" / path.name).read_bytes() == path.read_bytes()


def test_a_changed_record_updates_and_the_placement_stays(copy: Path) -> None:
    csv_path = copy / "records.csv"
    csv_path.write_text(csv_path.read_text(encoding="utf-8").replace("Meiping vase", "Meiping"), encoding="utf-8")
    before = (copy / "artifacts" / "2019-4-2.yaml").read_text(encoding="utf-8")
    assert import_records([csv_path], copy, copy / "mapping.yaml").updated == ["2019-4-2"]
    after = (copy / "artifacts" / "2019-4-2.yaml").read_text(encoding="utf-8")
    assert after == before.replace("en: Meiping vase", "en: Meiping")


def test_the_example_builds_with_placed_and_catalogued_objects_and_valid_exports(copy: Path, tmp_path: Path) -> None:
    build(copy, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    folder = tmp_path / "site" / "collection-import"
    data = json.loads((folder / "exhibit.json").read_text(encoding="utf-8"))
    assert [a["id"] for a in data["artifacts"]] == ["2019-4-1", "2019-4-2"]
    assert [a["id"] for a in data["unplaced"]] == ["2019-4-3", "2019-4-4", "2020-1-7", "2020-1-8"]
    page = (folder / "index.html").read_text(encoding="utf-8")
    for artifact in data["unplaced"]:
        assert f'data-unplaced="{artifact["id"]}"' in page and (folder / artifact["page"]).is_file()
    for path in [folder / "iiif" / "exhibit.json", folder / "iiif" / "collection.json",
                 *sorted((folder / "iiif" / "objects").glob("*.json"))]:
        assert iiif_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path.name
    for path in sorted((folder / "svx").glob("*/scene.svx.json")):
        assert voyager_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path
    for path in sorted((folder / "data" / "objects").glob("*.json")):
        assert dropped_terms(json.loads(path.read_text(encoding="utf-8"))) == [], path.name
    assert len(list((folder / "data" / "objects").glob("*.json"))) == 6
