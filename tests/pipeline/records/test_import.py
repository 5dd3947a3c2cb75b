"""`vitrina import`: tables and object files into artifacts/<id>.yaml, clear per-row errors, and lossless re-import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.records import RecordsError
from pipeline.records.importer import artifact_id, date_problem, import_records
from pipeline.spec import load_exhibit

EXHIBIT = """exhibit:
  id: records
  title: {en: Records, zh: 藏品}
  languages: [en, zh]
rooms:
  - id: hall
    size: [8, 6, 3]
"""
HEADER = "Object Number,Title (EN),title_zh,Maker,Date,Medium,Dimensions,Credit Line,Rights,Department\n"
ROWS = [
    '1987.12.3,Ding with taotie motif,兽面纹鼎,Unknown,"Shang dynasty, c. 1300 BC",Bronze,H. 38 cm,'
    '"Gift of A, 1987",http://rightsstatements.org/vocab/InC/1.0/,Asian Art\n',
    "2001.5,Bowl,碗,,1403–1424,Porcelain,,,,Ceramics\n",
]


def exhibit(tmp_path: Path) -> Path:
    folder = tmp_path / "exhibit"
    folder.mkdir()
    (folder / "exhibit.yaml").write_text(EXHIBIT, encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_csv(tmp_path: Path, text: str, name: str = "records.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_csv_becomes_one_yaml_per_object_included_and_not_placed(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = exhibit(tmp_path)
    source = write_csv(tmp_path, HEADER + "".join(ROWS))
    assert main(["import", str(source), "--into", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "'Department'" in printed and "not imported" in printed  # reported, never dropped silently
    assert "2 created" in printed
    assert sorted(p.name for p in (folder / "artifacts").iterdir()) == ["1987-12-3.yaml", "2001-5.yaml"]
    loaded = load_exhibit(folder)
    ding = loaded.exhibit.artifact("1987-12-3")
    assert ding is not None and ding.place is None
    assert dict(ding.record.title) == {"en": "Ding with taotie motif", "zh": "兽面纹鼎"}
    assert ding.record.accession == "1987.12.3"
    assert dict(ding.record.date) == {"en": "Shang dynasty, c. 1300 BC"}
    assert dict(ding.record.credit) == {"en": "Gift of A, 1987"}
    assert ding.record.rights == "http://rightsstatements.org/vocab/InC/1.0/"
    unplaced = [w.message for w in loaded.warnings if "not placed yet" in w.message]
    assert len(unplaced) == 2


def test_reimport_updates_the_record_and_keeps_what_the_designer_wrote(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    source = write_csv(tmp_path, HEADER + "".join(ROWS))
    import_records([source], folder)
    path = folder / "artifacts" / "1987-12-3.yaml"
    (folder / "models").mkdir()
    (folder / "models" / "ding.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", encoding="utf-8")
    designed = path.read_text(encoding="utf-8").replace(
        "  - id: 1987-12-3\n",
        "  - id: 1987-12-3\n"
        "    model: models/ding.obj\n"
        "    # placed by the designer after the import\n"
        "    place: {room: hall, at: [1.5, -1], rotate: 30}\n"
        "    annotations:\n"
        "      - {id: rim, at: [0, 0.3, 0.1], title: {en: Rim, zh: 口沿}}\n")
    designed = designed.replace("    record:\n", "    record:\n      culture: {en: Shang, zh: 商}\n")
    path.write_text(designed, encoding="utf-8")
    changed = write_csv(tmp_path, HEADER + ROWS[0].replace("Ding with taotie motif", "Ding: taotie motif") + ROWS[1])

    report = import_records([changed], folder)

    assert report.updated == ["1987-12-3"] and report.unchanged == ["2001-5"]
    after = path.read_text(encoding="utf-8")
    before_lines, after_lines = designed.splitlines(), after.splitlines()
    differing = [(a, b) for a, b in zip(before_lines, after_lines, strict=True) if a != b]
    assert differing == [("        en: Ding with taotie motif", "        en: 'Ding: taotie motif'")]
    artifact = load_exhibit(folder).exhibit.artifact("1987-12-3")
    assert artifact is not None and artifact.place is not None and artifact.place.rotate == 30
    assert dict(artifact.record.culture) == {"en": "Shang", "zh": "商"}  # no culture column: left alone
    assert import_records([changed], folder).unchanged == ["1987-12-3", "2001-5"]


def test_an_emptied_cell_clears_that_field_on_reimport(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    import_records([write_csv(tmp_path, HEADER + "".join(ROWS))], folder)
    import_records([write_csv(tmp_path, HEADER + ROWS[0].replace(",Bronze,", ",,"))], folder)
    artifact = load_exhibit(folder).exhibit.artifact("1987-12-3")
    assert artifact is not None and dict(artifact.record.material) == {}


@pytest.mark.parametrize(("rows", "expected"), [
    ([ROWS[0], ROWS[0].replace("Ding with taotie motif", "Another")],
     "records.csv row 3: accession number '1987.12.3' is also on records.csv row 2"),
    ([ROWS[1].replace("1403–1424", "1987-02-30")], "records.csv row 2: date (en): '1987-02-30' is not a calendar date"),
    ([ROWS[1].replace("1403–1424", "1424-1403")], "records.csv row 2: date (en): '1424-1403' ends before it begins"),
    ([ROWS[1], ",Untitled,,,,,,,,\n"], "records.csv row 3: no accession number"),
    ([ROWS[1].replace(",,,,Ceramics", ",,,not a uri,Ceramics")],
     "records.csv row 2: rights 'not a uri' is not a URI (write it in full, e.g. http://rightsstatements.org/vocab/InC/1.0/)"),
])
def test_bad_rows_get_a_clear_error_with_the_row_number_and_nothing_is_written(
        tmp_path: Path, rows: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = exhibit(tmp_path)
    before = snapshot(folder)
    source = write_csv(tmp_path, HEADER + "".join(rows))
    assert main(["import", str(source), "--into", str(folder)]) == 1
    err = capsys.readouterr().err
    assert expected in err.splitlines()
    assert err.rstrip().endswith("nothing was written.")
    assert snapshot(folder) == before


def test_wrong_encoding_names_the_row(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    text = HEADER + ROWS[1] + "2002.1,Café sign,,,,,,,,\n"
    source = write_csv(tmp_path, text.replace("碗", "bowl").replace("–", "-"), encoding="cp1252")
    with pytest.raises(RecordsError) as raised:
        import_records([source], folder)
    assert raised.value.problems == ["records.csv row 3: not UTF-8 (byte 0xe9); export the file as UTF-8 "
                                     "(in Excel: Save As, \"CSV UTF-8\")"]
    assert not (folder / "artifacts").exists()


def test_a_table_without_an_accession_column_is_refused(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    source = write_csv(tmp_path, "Title,Maker\nBowl,Unknown\n")
    with pytest.raises(RecordsError) as raised:
        import_records([source], folder)
    assert raised.value.problems[0].startswith("records.csv row 1: no accession number column")
    assert not (folder / "artifacts").exists()


def test_a_mapping_file_names_the_columns(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    source = write_csv(tmp_path, "Inv.,Benennung,Chinesisch,Abteilung\nK-7,Bowl,碗,Keramik\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  Inv.: accession\n  Benennung: title.en\n  Chinesisch: title_zh\n"
                       "ignore: [Abteilung]\n", encoding="utf-8")
    report = import_records([source], folder, mapping)
    assert report.unknown_columns == [] and report.created == ["k-7"]
    artifact = load_exhibit(folder).exhibit.artifact("k-7")
    assert artifact is not None and dict(artifact.record.title) == {"en": "Bowl", "zh": "碗"}


def test_text_in_a_language_the_exhibit_lacks_is_an_error(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    with pytest.raises(RecordsError) as raised:
        import_records([write_csv(tmp_path, "accession,title_fr\nA1,Bol\n")], folder)
    assert "column 'title_fr' is in fr" in raised.value.problems[0]


def test_a_column_naming_a_file_writes_model_and_checks_the_file(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    (folder / "models").mkdir()
    (folder / "models" / "bowl.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", encoding="utf-8")
    import_records([write_csv(tmp_path, "accession,title,model,units\nA1,Bowl,models/bowl.obj,cm\n")], folder)
    artifact = load_exhibit(folder).exhibit.artifact("a1")
    assert artifact is not None and artifact.model is not None and artifact.model.written == "models/bowl.obj"
    assert artifact.units == "cm"
    with pytest.raises(RecordsError) as raised:
        import_records([write_csv(tmp_path, "accession,model\nA2,../outside.glb\n")], folder)
    assert "leaves the exhibit folder" in raised.value.problems[0]


def test_an_id_used_by_a_hand_written_artifact_is_refused(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    spec = folder / "exhibit.yaml"
    spec.write_text(EXHIBIT + "artifacts:\n  - {id: a1, text: Hello, place: {room: hall, wall: north}}\n",
                    encoding="utf-8")
    with pytest.raises(RecordsError) as raised:
        import_records([write_csv(tmp_path, "accession,title\nA1,Bowl\n")], folder)
    assert raised.value.problems == ["records.csv row 2: artifact id 'a1' is already used in exhibit.yaml; give the "
                                     "record an id column"]


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    folder = exhibit(tmp_path)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["accession_number", "title_en", "title_zh", "date"])
    sheet.append([1987, "Bowl", "碗", "1403–1424"])
    sheet.append(["1988.1", "Cup", "杯", "1990-02-30"])
    workbook.save(tmp_path / "records.xlsx")
    with pytest.raises(RecordsError) as raised:
        import_records([tmp_path / "records.xlsx"], folder)
    assert raised.value.problems == ["records.xlsx row 3: date (en): '1990-02-30' is not a calendar date"]
    sheet.delete_rows(3)
    workbook.save(tmp_path / "records.xlsx")
    import_records([tmp_path / "records.xlsx"], folder)
    artifact = load_exhibit(folder).exhibit.artifact("1987")
    assert artifact is not None and artifact.record.accession == "1987"  # not "1987.0"


LIDO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<lido:lido xmlns:lido="http://www.lido-schema.org">
  <lido:lidoRecID lido:type="local">rec-1</lido:lidoRecID>
  <lido:descriptiveMetadata xml:lang="en">
    <lido:objectIdentificationWrap>
      <lido:titleWrap><lido:titleSet>
        <lido:appellationValue xml:lang="en">Mirror with coiling dragons</lido:appellationValue>
        <lido:appellationValue xml:lang="zh">蟠螭纹镜</lido:appellationValue>
      </lido:titleSet></lido:titleWrap>
      <lido:repositoryWrap><lido:repositorySet>
        <lido:workID lido:type="inventory number">M-42</lido:workID>
      </lido:repositorySet></lido:repositoryWrap>
      <lido:objectMeasurementsWrap><lido:objectMeasurementsSet>
        <lido:displayObjectMeasurements>Diam. 14 cm</lido:displayObjectMeasurements>
      </lido:objectMeasurementsSet></lido:objectMeasurementsWrap>
    </lido:objectIdentificationWrap>
    <lido:eventWrap><lido:eventSet><lido:event>
      <lido:eventType><lido:term>Production</lido:term></lido:eventType>
      <lido:eventActor><lido:actorInRole><lido:actor><lido:nameActorSet>
        <lido:appellationValue>Unknown workshop</lido:appellationValue>
      </lido:nameActorSet></lido:actor></lido:actorInRole></lido:eventActor>
      <lido:eventDate><lido:displayDate>Warring States, 3rd century BC</lido:displayDate></lido:eventDate>
      <lido:eventMaterialsTech><lido:displayMaterialsTech>Bronze</lido:displayMaterialsTech></lido:eventMaterialsTech>
    </lido:event></lido:eventSet></lido:eventWrap>
  </lido:descriptiveMetadata>
  <lido:administrativeMetadata xml:lang="en">
    <lido:rightsWorkWrap><lido:rightsWorkSet>
      <lido:rightsType><lido:conceptID>http://creativecommons.org/publicdomain/zero/1.0/</lido:conceptID></lido:rightsType>
      <lido:creditLine>Purchase, 1999</lido:creditLine>
    </lido:rightsWorkSet></lido:rightsWorkWrap>
  </lido:administrativeMetadata>
</lido:lido>
"""


def _expect_mirror(folder: Path) -> None:
    artifact = load_exhibit(folder).exhibit.artifact("m-42")
    assert artifact is not None
    record = artifact.record
    assert dict(record.title) == {"en": "Mirror with coiling dragons", "zh": "蟠螭纹镜"}
    assert dict(record.creator) == {"en": "Unknown workshop"}
    assert dict(record.date) == {"en": "Warring States, 3rd century BC"}
    assert dict(record.material) == {"en": "Bronze"} and dict(record.dimensions) == {"en": "Diam. 14 cm"}
    assert dict(record.credit) == {"en": "Purchase, 1999"}
    assert record.rights == "http://creativecommons.org/publicdomain/zero/1.0/"


def test_lido_xml(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    (tmp_path / "m-42.xml").write_text(LIDO_XML, encoding="utf-8")
    import_records([tmp_path / "m-42.xml"], folder)
    _expect_mirror(folder)


def test_lido_as_json(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    def to_json(node: ET.Element) -> object:
        # The common JSON rendering of LIDO: prefixed names, "@" attributes, "#text", lists for repeats.
        out: dict[str, object] = {}
        for key, value in node.attrib.items():
            out["@" + ("xml:lang" if key.endswith("}lang") and "XML" in key.upper() else
                       "lido:" + key.split("}")[1])] = value
        for child in node:
            name = "lido:" + child.tag.split("}")[1]
            converted = to_json(child)
            if name in out:
                existing = out[name]
                out[name] = [*existing, converted] if isinstance(existing, list) else [existing, converted]
            else:
                out[name] = converted
        if node.text and node.text.strip():
            if not out:
                return node.text.strip()
            out["#text"] = node.text.strip()
        return out

    folder = exhibit(tmp_path)
    root = ET.fromstring(LIDO_XML)
    (tmp_path / "m-42.json").write_text(json.dumps({"lido:lido": to_json(root)}, ensure_ascii=False),
                                        encoding="utf-8")
    import_records([tmp_path / "m-42.json"], folder)
    _expect_mirror(folder)


def test_artifact_ids_and_dates() -> None:
    assert artifact_id("1987.12.3") == "1987-12-3"
    assert artifact_id("  A/B 7 ") == "a-b-7"
    assert date_problem("Shang dynasty, c. 1300 BC") is None
    assert date_problem("1600–1046 BC") is None  # BC ranges count down
    assert date_problem("1046–1600 BC") == "'1046–1600 BC' ends before it begins"
    assert date_problem("31/12/1999") is None and date_problem("12/31/1999") is None
    assert date_problem("31/31/1999") == "'31/31/1999' is not a calendar date"
    assert date_problem("2024-02-29") is None and date_problem("2023-02-29") is not None


def test_more_objects_than_an_exhibit_may_include_are_refused_before_writing(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.spec.loader

    monkeypatch.setattr(pipeline.spec.loader, "MAX_INCLUDED_FILES", 2)
    folder = exhibit(tmp_path)
    rows = "".join(f"A{n},Object {n}\n" for n in range(3))
    with pytest.raises(RecordsError) as raised:
        import_records([write_csv(tmp_path, "accession,title\n" + rows)], folder)
    assert raised.value.problems == ["3 objects would make the exhibit include 3 files, and an exhibit includes at "
                                     "most 2; import the objects on show (or split the collection into several "
                                     "exhibits)"]
    assert not (folder / "artifacts").exists()
    import_records([write_csv(tmp_path, "accession,title\n" + rows.splitlines(keepends=True)[0])], folder)


def test_objects_gone_from_the_source_are_reported_and_kept(tmp_path: Path) -> None:
    folder = exhibit(tmp_path)
    import_records([write_csv(tmp_path, HEADER + "".join(ROWS))], folder)
    report = import_records([write_csv(tmp_path, HEADER + ROWS[1], name="fewer.csv")], folder)
    assert report.not_in_source == ["1987-12-3"] and report.unchanged == ["2001-5"]
    assert "left as they are: 1 object(s) imported before but not in this source: 1987-12-3" in report.to_text()
    assert (folder / "artifacts" / "1987-12-3.yaml").is_file()
