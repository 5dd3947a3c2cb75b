"""`vitrina i18n export/import`: every visitor-facing text out with its id and context, translations back in, comments kept."""

from __future__ import annotations

import csv
import io
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from pipeline.errors import VitrinaError
from pipeline.spec import load_exhibit
from pipeline.spec.translate import (
    UI_OVERRIDE_FILE,
    XLIFF_NS,
    TranslationError,
    export,
    import_file,
    read_ui_overrides,
    translated_name,
)

REPO = Path(__file__).resolve().parents[3]
NS = {"x": XLIFF_NS}


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(REPO / "exhibits" / name, folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    return folder


def _comments(folder: Path) -> dict[Path, list[str]]:
    return {path: [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip().startswith("#")] for path in sorted(folder.rglob("*.yaml"))}


def _fill_xliff(text: str, translate) -> str:
    root = ElementTree.fromstring(text)
    for segment in root.iter(f"{{{XLIFF_NS}}}segment"):
        source = segment.find("x:source", NS).text
        segment.find("x:target", NS).text = translate(source)
    ElementTree.register_namespace("", XLIFF_NS)
    return ElementTree.tostring(root, encoding="unicode")


def test_xliff_round_trip_into_a_new_language_keeps_comments_and_reaches_every_text(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "bronze-age")
    comments = _comments(folder)
    text, count = export(folder, "fr", tmp_path / "fr.xlf")
    root = ElementTree.fromstring(text)
    assert (root.get("version"), root.get("srcLang"), root.get("trgLang")) == ("2.0", "zh", "fr")
    units = {unit.get("id"): unit for unit in root.iter(f"{{{XLIFF_NS}}}unit")}
    assert len(units) == count > 50
    ding = units["artifacts/ding/record/title"]
    assert ding.find("x:segment/x:source", NS).text == "兽面纹鼎"
    assert ding.find("x:notes/x:note[@category='context']", NS).text == "artifact ding: record title"
    assert ding.find("x:notes/x:note[@category='location']", NS).text.startswith("artifacts/hall.yaml:")
    for expected in ("exhibit/title", "exhibit/credits/0", "rooms/hall/name", "tours/highlights/title",
                     "tours/highlights/stops/0/say", "artifacts/ding/annotations/taotie/title", "artifacts/intro/text",
                     "artifacts/ding/alt"):
        assert expected in units, expected

    (tmp_path / "fr.xlf").write_text(_fill_xliff(text, lambda source: f"FR[{source}]"), encoding="utf-8")
    language, changed, unknown = import_file(folder, tmp_path / "fr.xlf")
    assert (language, changed, unknown) == ("fr", count, [])
    assert {path: kept for path, kept in _comments(folder).items() if path in comments} == comments, \
        "every comment survives"
    loaded = load_exhibit(folder).exhibit
    assert loaded.languages[-1] == "fr"
    ding_record = loaded.artifact("ding").record  # type: ignore[union-attr]
    assert ding_record.title["fr"] == "FR[兽面纹鼎]" and ding_record.title["zh"] == "兽面纹鼎"
    again = ElementTree.fromstring(export(folder, "fr", None)[0])
    targets = {u.get("id"): u.find("x:segment/x:target", NS).text for u in again.iter(f"{{{XLIFF_NS}}}unit")}
    assert targets["artifacts/ding/record/title"] == "FR[兽面纹鼎]" and all(targets.values())


def test_csv_round_trip_turns_plain_strings_into_language_maps_one_line_each(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "minimal")
    spec = folder / "exhibit.yaml"
    original = spec.read_text(encoding="utf-8")
    export(folder, "fr", tmp_path / "fr.csv", "csv")
    assert (tmp_path / "fr.csv").read_bytes().startswith(b"\xef\xbb\xbfid,"), "a BOM, for spreadsheets"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "fr.csv").read_text(encoding="utf-8-sig"))))
    assert {row["id"] for row in rows} >= {"exhibit/title", "artifacts/vase/record/title", "artifacts/welcome/text"}
    translated = {"exhibit/title": "Un vase dans une salle", "artifacts/vase/record/title": "Vase",
                  "artifacts/welcome/text": "Bienvenue\n\nUne salle, un panneau et un vase."}
    with (tmp_path / "fr.csv").open("w", encoding="utf-8-sig", newline="") as handle:  # as a spreadsheet saves it
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "target": translated.get(row["id"], "")})
    assert import_file(folder, tmp_path / "fr.csv") == ("fr", 3, [])
    assert import_file(folder, tmp_path / "fr.csv") == ("fr", 0, []), "importing the same file again changes nothing"
    text = spec.read_text(encoding="utf-8")
    assert "  title: {en: A vase in a room, fr: Un vase dans une salle}\n" in text
    assert "  languages: [en, fr]\n" in text
    assert "      fr: |-\n        Bienvenue\n\n        Une salle, un panneau et un vase.\n" in text
    assert text.startswith(original.split("exhibit:")[0]), "the leading comments are untouched"
    welcome = load_exhibit(folder).exhibit.artifact("welcome")
    assert welcome is not None and welcome.text["fr"].startswith("Bienvenue\n\nUne salle")


def test_unknown_ids_are_reported_and_skipped(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "minimal")
    (tmp_path / "t.csv").write_text("id,target_language,target\nartifacts/gone/record/title,fr,Parti\n"
                                    "exhibit/title,fr,Titre\n", encoding="utf-8")
    assert import_file(folder, tmp_path / "t.csv") == ("fr", 1, ["artifacts/gone/record/title"])


@pytest.mark.parametrize("name, content, message", [
    ("bomb.xlf", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xliff/>', "DOCTYPE"),
    ("old.xlf", '<xliff xmlns="urn:oasis:names:tc:xliff:document:1.2" version="1.2"/>', "not an XLIFF 2.x"),
    ("broken.xlf", "<xliff", "not well-formed"),
    ("nolang.xlf", f'<xliff xmlns="{XLIFF_NS}" version="2.0" srcLang="en"/>', "no trgLang"),
    ("same.xlf", f'<xliff xmlns="{XLIFF_NS}" version="2.0" srcLang="en" trgLang="en"/>', "source language"),
    ("mixed.csv", "id,target_language,target\na,fr,x\nb,de,y\n", "same target_language"),
    ("columns.csv", "name,text\na,b\n", "columns"),
])
def test_bad_translation_files_are_refused_and_nothing_is_written(tmp_path: Path, name: str, content: str,
                                                                   message: str) -> None:
    folder = _copy(tmp_path, "minimal")
    before = (folder / "exhibit.yaml").read_text(encoding="utf-8")
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(TranslationError, match=message):
        import_file(folder, tmp_path / name)
    assert (folder / "exhibit.yaml").read_text(encoding="utf-8") == before


def test_the_museum_s_name_and_footer_are_texts_to_translate(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "minimal")
    spec = folder / "exhibit.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  targets: [quest2, phone, desktop]\n", "  targets: [quest2, phone, desktop]\n"
                                 "  museum: {name: City Museum, footer: Open daily}\n", 1), encoding="utf-8")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(export(folder, "fr", None, "csv")[0]))}
    assert rows["exhibit/museum/name"]["source"] == "City Museum"
    assert rows["exhibit/museum/name"]["context"] == "exhibit museum name"
    assert rows["exhibit/museum/footer"]["location"] == "exhibit.yaml:11"


def _translate_csv(path: Path, translate) -> None:
    """Fill a CSV export's target column the way a translator's spreadsheet would save it."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "target": translate(row) or ""})


def test_caption_cues_are_units_and_come_back_as_a_vtt_beside_the_original(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "bronze-age")
    comments = _comments(folder)
    export(folder, "fr", tmp_path / "fr.csv", "csv")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO((tmp_path / "fr.csv").read_text("utf-8-sig")))}
    cue = rows["artifacts/ding/audio/captions/2"]
    assert cue["source"] == "鼎腹上装饰着饕餮纹，一对圆睁的大眼在云雷纹中凝视着我们。"
    assert cue["context"] == "artifact ding: audio captions, cue 2 (00:00:09.633 --> 00:00:17.502)"
    assert cue["location"] == "audio/ding.zh.vtt:8"
    assert "tours/highlights/stops/0/audio/captions/1" in rows, "a tour stop's narration too"

    _translate_csv(tmp_path / "fr.csv",
                   lambda row: f"FR {row['source']}" if "/captions/" in row["id"] else None)
    language, changed, unknown = import_file(folder, tmp_path / "fr.csv")
    assert unknown == [] and changed == sum(1 for unit_id in rows if "/captions/" in unit_id)
    source = (folder / "audio" / "ding.zh.vtt").read_text(encoding="utf-8")
    made = (folder / "audio" / "ding.fr.vtt").read_text(encoding="utf-8")
    assert made.replace("FR ", "") == source, "timings, numbers and blank lines as in the original; only texts differ"
    assert "FR 鼎腹上装饰着饕餮纹" in made
    hall = (folder / "artifacts" / "hall.yaml").read_text(encoding="utf-8")
    assert "captions: {zh: audio/ding.zh.vtt, en: audio/ding.en.vtt, fr: audio/ding.fr.vtt}" in hall
    assert {path: kept for path, kept in _comments(folder).items() if path in comments} == comments
    ding = load_exhibit(folder).exhibit.artifact("ding")
    assert ding is not None
    # The cues keep the source recording's timings, so French visitors hear it with French captions.
    assert ding.audio["fr"].src.path == ding.audio["zh"].src.path
    assert ding.audio["fr"].captions is not None and ding.audio["fr"].captions.path.name == "ding.fr.vtt"
    again = {row["id"]: row for row in csv.DictReader(io.StringIO(export(folder, "fr", None, "csv")[0]))}
    assert again["artifacts/ding/audio/captions/2"]["target"] == f"FR {cue['source']}"


def test_a_translated_vtt_is_never_written_outside_the_exhibit(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "bronze-age")
    outside = tmp_path / "outside.vtt"
    outside.write_text("WEBVTT\n", encoding="utf-8")
    (folder / "audio" / "ding.fr.vtt").symlink_to(outside)
    (tmp_path / "t.csv").write_text("id,target_language,target\nartifacts/ding/audio/captions/1,fr,Bonjour\n",
                                    encoding="utf-8")
    with pytest.raises(VitrinaError, match="outside the exhibit folder"):
        import_file(folder, tmp_path / "t.csv")
    assert outside.read_text(encoding="utf-8") == "WEBVTT\n"


@pytest.mark.parametrize("name, source, target, expected", [
    ("ding.zh.vtt", "zh", "fr", "ding.fr.vtt"),
    ("ding.vtt", "zh", "fr", "ding.fr.vtt"),
    ("zh.intro.zh.vtt", "zh", "pt-BR", "zh.intro.pt-BR.vtt"),
    ("tour-welcome.ZH.vtt", "zh", "fr", "tour-welcome.fr.vtt"),
])
def test_translated_files_are_named_like_the_spec_names_caption_files(name, source, target, expected) -> None:
    assert translated_name(name, source, target) == expected


def test_the_viewer_s_words_go_out_for_a_language_it_does_not_ship_and_come_back_as_an_override(tmp_path) -> None:
    folder = _copy(tmp_path, "bronze-age")
    assert not [row for row in csv.DictReader(io.StringIO(export(folder, "en", None, "csv")[0]))
                if row["id"].startswith("ui/")], "the viewer ships English: nothing of its own to translate"
    export(folder, "fr", tmp_path / "fr.csv", "csv")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO((tmp_path / "fr.csv").read_text("utf-8-sig")))}
    assert rows["ui/artifacts"]["source"] == "展品", "from the exhibit's source language, which the viewer ships"
    assert rows["ui/artifacts"]["context"] == "viewer interface: artifacts"
    assert rows["ui/objectCount/one"]["context"].startswith("viewer interface: objectCount, plural form 'one'")
    words = {"ui/artifacts": "Objets", "ui/close": "Fermer", "ui/objectCount/one": "{n} objet",
             "ui/objectCount/other": "{n} objets"}
    _translate_csv(tmp_path / "fr.csv", lambda row: words.get(row["id"]))
    assert import_file(folder, tmp_path / "fr.csv") == ("fr", 4, [])
    override = folder / UI_OVERRIDE_FILE
    text = override.read_text(encoding="utf-8")
    assert text.startswith("# The viewer's interface words")
    assert "  objectCount: {one: '{n} objet', other: '{n} objets'}\n" in text or \
        '  objectCount: {one: "{n} objet", other: "{n} objets"}\n' in text, text
    override.write_text(text.replace("  close: Fermer\n", "  close: Fermer  # shorter than « Refermer »\n"))
    _translate_csv(tmp_path / "fr.csv", lambda row: {**words, "ui/back": "Retour"}.get(row["id"]))
    assert import_file(folder, tmp_path / "fr.csv") == ("fr", 1, [])
    assert "  close: Fermer  # shorter than « Refermer »\n" in override.read_text(encoding="utf-8")
    assert read_ui_overrides(folder)["fr"] == {"artifacts": "Objets", "close": "Fermer", "back": "Retour",
                                               "objectCount": {"one": "{n} objet", "other": "{n} objets"}}


def test_an_override_keeps_only_words_the_viewer_has_in_their_shape(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "minimal")
    (folder / UI_OVERRIDE_FILE).write_text("fr:\n  close: Fermer\n  nonsense: x\n  objectCount: plain\n"
                                           "  artifacts: {one: not plural}\nde: [a, list]\n", encoding="utf-8")
    assert read_ui_overrides(folder) == {"fr": {"close": "Fermer"}}


def test_captions_for_a_language_with_its_own_recording_come_with_a_note(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "bronze-age")
    hall = folder / "artifacts" / "hall.yaml"
    hall.write_text(hall.read_text().replace("      en: audio/ding.en.mp3\n      captions: {zh: audio/ding.zh.vtt, en: "
                                             "audio/ding.en.vtt}", "      en: audio/ding.en.mp3\n      captions: "
                                             "{zh: audio/ding.zh.vtt}", 1))
    (tmp_path / "t.csv").write_text("id,target_language,target\nartifacts/ding/audio/captions/1,en,This ding\n",
                                    encoding="utf-8")
    notes: list[str] = []
    assert import_file(folder, tmp_path / "t.csv", notes) == ("en", 1, [])
    assert notes == ["audio/ding.en.vtt is timed to the zh recording, but en has its own (audio/ding.en.mp3): "
                     "re-time the captions to it"]
    assert "      en: audio/ding.en.mp3\n" in hall.read_text(), "its own recording stays"
