"""The bar: 200 generated rows imported, built, exported and read back with every field equal."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from pipeline.records.importer import artifact_id, import_records
from pipeline.records.structured import read_linked_art
from pipeline.spec import load_exhibit

ROWS = 200
BASE = "https://museum.example/round-trip/"
EXHIBIT = """exhibit:
  id: round-trip
  title: {en: Round trip, zh: 往返}
  languages: [en, zh]
  rights: https://creativecommons.org/licenses/by/4.0/
rooms:
  - id: store
    name: {en: Store, zh: 库房}
    size: [6, 6, 3]
"""
TEXT_COLUMNS = ("title", "creator", "date", "culture", "material", "dimensions", "credit", "description")
RIGHTS = ("http://rightsstatements.org/vocab/InC/1.0/", "http://creativecommons.org/publicdomain/zero/1.0/",
          "http://rightsstatements.org/vocab/NoC-US/1.0/")


def generated_rows(count: int) -> list[dict[str, str]]:
    """Records shaped like a real export: commas, quotes, line breaks, Chinese, BC dates, some empty cells."""
    pick = random.Random(13)
    rows = []
    for number in range(count):
        row = {"accession": f"{1950 + number % 70}.{number // 7}.{number}"}
        for name in TEXT_COLUMNS:
            english = {
                "title": f"Vessel no. {number}, \"{pick.choice(['ding', 'gu', 'jue', 'hu'])}\" type",
                "creator": pick.choice(["Unknown", "Workshop of Anyang", ""]),
                "date": pick.choice([f"c. {1000 + number} BC", f"{1400 + number}–{1410 + number}",
                                     "Shang dynasty", "1987-02-28"]),
                "culture": pick.choice(["Shang", "Zhou", ""]),
                "material": "Bronze, cast; jade inlay",
                "dimensions": f"H. {10 + number % 40} cm; W. {5 + number % 9} cm",
                "credit": f"Gift of Donor {number}, {1960 + number % 60}",
                "description": f"First line of {number}.\nSecond line, with a comma." if number % 3 else "",
            }[name]
            chinese = {
                "title": f"第{number}号青铜器", "creator": "佚名" if english else "",
                "date": "商代", "culture": "商" if english else "",
                "material": "青铜", "dimensions": f"高{10 + number % 40}厘米", "credit": f"捐赠者{number}",
                "description": f"第一行。\n第二行，{number}。" if number % 3 else "",
            }[name]
            row[f"{name}_en"], row[f"{name}_zh"] = english, chinese
        row["rights"] = RIGHTS[number % len(RIGHTS)]
        row["source"] = f"https://collections.example/objects/{number}"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], Path]:
    root = tmp_path_factory.mktemp("round-trip")
    folder = root / "exhibit"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(EXHIBIT, encoding="utf-8")
    rows = generated_rows(ROWS)
    with (root / "records.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = import_records([root / "records.csv"], folder)
    assert len(report.created) == ROWS and report.unknown_columns == []
    build(folder, root / "site", BuildOptions(quiet=True, jobs=1, cache_dir=root / "cache", base_url=BASE))
    return rows, root / "site" / "round-trip"


def _record_of(row: dict[str, str]) -> dict[str, object]:
    record: dict[str, object] = {name: {lang: row[f"{name}_{lang}"] for lang in ("en", "zh") if row[f"{name}_{lang}"]}
                                 for name in TEXT_COLUMNS}
    record.update(accession=row["accession"], rights=row["rights"], source=row["source"])
    return record


def test_every_field_reads_back_from_exhibit_json(round_trip: tuple[list[dict[str, str]], Path]) -> None:
    rows, site = round_trip
    data = json.loads((site / "exhibit.json").read_text(encoding="utf-8"))
    built = {entry["id"]: entry for entry in data["unplaced"]}
    assert len(built) == ROWS and data["artifacts"] == []
    for row in rows:
        record = built[artifact_id(row["accession"])]["record"]
        expected = _record_of(row)
        assert {k: record[k] for k in expected} == expected


def test_every_field_reads_back_from_the_linked_art_export(round_trip: tuple[list[dict[str, str]], Path]) -> None:
    rows, site = round_trip
    for row in rows:
        path = site / "data" / "objects" / f"{artifact_id(row['accession'])}.json"
        back = read_linked_art(json.loads(path.read_text(encoding="utf-8")), path.name, "en")
        expected = _record_of(row)
        for name in TEXT_COLUMNS:
            assert back.texts.get(name, {}) == expected[name], (row["accession"], name)
        assert back.plain["accession"] == row["accession"]
        assert back.plain["rights"] == row["rights"]


def test_every_object_is_in_the_iiif_collection_with_both_titles(round_trip: tuple[list[dict[str, str]], Path]) -> None:
    rows, site = round_trip
    collection = json.loads((site / "iiif" / "collection.json").read_text(encoding="utf-8"))
    labels = {item["id"]: item["label"] for item in collection["items"]}
    for row in rows:
        label = labels[f"{BASE}iiif/objects/{artifact_id(row['accession'])}.json"]
        assert label == {"en": [row["title_en"]], "zh": [row["title_zh"]]}


def test_reimporting_the_same_rows_changes_nothing(round_trip: tuple[list[dict[str, str]], Path]) -> None:
    _, site = round_trip
    folder = site.parent.parent / "exhibit"
    before = {p: p.read_bytes() for p in sorted((folder / "artifacts").iterdir())}
    report = import_records([site.parent.parent / "records.csv"], folder)
    assert len(report.unchanged) == ROWS
    assert {p: p.read_bytes() for p in sorted((folder / "artifacts").iterdir())} == before


def test_the_linked_art_export_imports_back_into_the_same_records(round_trip: tuple[list[dict[str, str]], Path],
                                                                  tmp_path: Path) -> None:
    """Out and in again: a folder of the build's Linked Art files is a valid `vitrina import` source."""
    rows, site = round_trip
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(EXHIBIT.replace("id: round-trip", "id: again"), encoding="utf-8")
    report = import_records([site / "data" / "objects"], folder)
    assert len(report.created) == ROWS
    data = {a.id: a for a in load_exhibit(folder).exhibit.artifacts}
    for row in rows:
        record = data[artifact_id(row["accession"])].record
        expected = _record_of(row)
        for name in TEXT_COLUMNS:
            assert dict(getattr(record, name)) == expected[name], (row["accession"], name)
        assert record.accession == row["accession"] and record.rights == row["rights"]
