"""Read one object per file from Linked Art JSON-LD or LIDO (XML, or its JSON rendering) into a SourceRecord."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pipeline.records import RecordsError, SourceRecord

MAX_FILE_BYTES = 8 << 20  # one object's record; far above any real one

AAT = "http://vocab.getty.edu/aat/"
# Linked Art classifications (AAT) → record field. Several concepts are in use for the same statement.
LINKED_ART_STATEMENTS = {
    "300435416": "description", "300080091": "description", "300411780": "description",
    "300435418": "credit", "300026687": "credit",
    "300435429": "material", "300010358": "material",
    "300435430": "dimensions", "300266036": "dimensions",
    "300435433": "culture", "300055768": "culture",
    "300435436": "creator",
}
ACCESSION_TYPES = {"300312355", "300404621"}  # accession number, repository number
AAT_LANGUAGES = {"300388277": "en", "300388113": "zh", "300388306": "fr", "300388344": "de", "300389311": "es",
                 "300388474": "it", "300388486": "ja", "300388633": "ko", "300388256": "nl", "300389115": "pt",
                 "300389168": "ru", "300387843": "ar"}

LIDO = "{http://www.lido-schema.org}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read_object_file(path: Path, default_language: str) -> list[SourceRecord]:
    """The objects in one .json (Linked Art, or LIDO as JSON) or .xml (LIDO) file."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise RecordsError([f"{path.name}: larger than {MAX_FILE_BYTES >> 20} MB; not one object's record"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsError([f"{path.name}: not UTF-8"]) from None
    if path.suffix.lower() == ".xml":
        return read_lido_xml(text, path.name, default_language)
    try:
        document = json.loads(text)
    except ValueError as error:
        raise RecordsError([f"{path.name}: not valid JSON ({error})"]) from None
    if isinstance(document, dict) and document.get("type") == "HumanMadeObject":
        return [read_linked_art(document, path.name, default_language)]
    if isinstance(document, dict) and any(str(k).endswith("lido") or str(k).endswith("lidoWrap") for k in document):
        return read_lido_xml(ET.tostring(_json_to_xml(document), encoding="unicode"), path.name, default_language)
    raise RecordsError([f"{path.name}: neither a Linked Art HumanMadeObject nor a LIDO record"])


# ---------------------------------------------------------------------------------------------- Linked Art


def _ids(items: Any) -> set[str]:
    return {str(item.get("id", "")).removeprefix(AAT) for item in items or [] if isinstance(item, dict)}


def _language_of(node: dict[str, Any], default_language: str) -> str:
    for language in node.get("language") or []:
        if isinstance(language, dict):
            if language.get("notation"):
                return str(language["notation"])
            found = AAT_LANGUAGES.get(str(language.get("id", "")).removeprefix(AAT))
            if found:
                return found
    return default_language


def read_linked_art(document: dict[str, Any], where: str, default_language: str) -> SourceRecord:
    """A HumanMadeObject: names, accession number, statements, production date and rights (as Vitrina exports them)."""
    record = SourceRecord(where)
    for item in document.get("identified_by") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "Name":
            record.set_text("title", _language_of(item, default_language), str(item.get("content", "")))
        elif item.get("type") == "Identifier" and _ids(item.get("classified_as")) & ACCESSION_TYPES:
            record.set_plain("accession", str(item.get("content", "")))
    statements = list(document.get("referred_to_by") or [])
    made = document.get("produced_by") or {}
    statements += list(made.get("referred_to_by") or [])
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        kinds = _ids(statement.get("classified_as"))
        name = next((LINKED_ART_STATEMENTS[k] for k in sorted(kinds) if k in LINKED_ART_STATEMENTS), None)
        if name is not None:
            record.set_text(name, _language_of(statement, default_language), str(statement.get("content", "")))
    for actor in made.get("carried_out_by") or []:
        if isinstance(actor, dict) and actor.get("_label") and "creator" not in record.texts:
            record.set_text("creator", default_language, str(actor["_label"]))
    for name in (made.get("timespan") or {}).get("identified_by") or []:
        if isinstance(name, dict):
            record.set_text("date", _language_of(name, default_language), str(name.get("content", "")))
    for shown in document.get("shows") or []:
        for right in (shown or {}).get("subject_to") or []:
            for kind in (right or {}).get("classified_as") or []:
                if isinstance(kind, dict) and kind.get("id"):
                    record.set_plain("rights", str(kind["id"]))
    return record


# ---------------------------------------------------------------------------------------------- LIDO


def _json_to_xml(document: Any, name: str = "root") -> ET.Element:
    """LIDO as JSON (the usual rendering of the XML: "@attr", "#text", lists for repeated elements) → XML tree."""
    def tag(key: str) -> str:
        prefix, _, local = key.partition(":")
        if not local:
            return f"{LIDO}{prefix}"
        return XML_LANG if key == "xml:lang" else f"{LIDO}{local}" if prefix == "lido" else local

    def build(parent: ET.Element, key: str, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                build(parent, key, item)
            return
        child = ET.SubElement(parent, tag(key))
        if isinstance(value, dict):
            for k, v in value.items():
                if k.startswith("@"):
                    child.set(tag(k[1:]), str(v))
                elif k == "#text":
                    child.text = str(v)
                else:
                    build(child, k, v)
        elif value is not None:
            child.text = str(value)

    root = ET.Element("root")
    for key, value in document.items():
        if not str(key).startswith("@"):
            build(root, str(key), value)
    return root


def _texts(nodes: list[ET.Element], default_language: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in nodes:
        value = "".join(node.itertext()).strip()
        language = node.get(XML_LANG) or node.get(f"{LIDO}lang") or default_language
        if value and language not in out:
            out[language] = value
    return out


def read_lido_xml(text: str, where: str, default_language: str) -> list[SourceRecord]:
    """Every lido:lido record in the document (a lido:lidoWrap holds several)."""
    try:
        # The standard library's parser expands no external entities; LIDO needs none.
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise RecordsError([f"{where}: not well-formed XML ({error})"]) from None
    records = [root] if root.tag == f"{LIDO}lido" else list(root.iter(f"{LIDO}lido"))
    if not records:
        raise RecordsError([f"{where}: no lido:lido record in it"])
    out = []
    for number, lido in enumerate(records, start=1):
        record = SourceRecord(where if len(records) == 1 else f"{where} record {number}")
        language = default_language
        for work_id in lido.iter(f"{LIDO}workID"):
            if (work_id.get(f"{LIDO}type") or "").lower() in ("inventory number", "accession number", ""):
                record.set_plain("accession", "".join(work_id.itertext()).strip())
                break
        titles = [value for title in lido.iter(f"{LIDO}titleSet") for value in title.iter(f"{LIDO}appellationValue")]
        for name, values in (("title", _texts(titles, language)),
                             ("description", _texts(list(lido.iter(f"{LIDO}descriptiveNoteValue")), language)),
                             ("credit", _texts(list(lido.iter(f"{LIDO}creditLine")), language)),
                             ("dimensions", _texts(list(lido.iter(f"{LIDO}displayObjectMeasurements")), language))):
            for tag, value in values.items():
                record.set_text(name, tag, value)
        for event in lido.iter(f"{LIDO}event"):
            kind = " ".join(t.text or "" for t in event.iter(f"{LIDO}term")).lower()
            concepts = " ".join(c.text or "" for c in event.iter(f"{LIDO}conceptID"))
            if "production" not in kind and "300054713" not in concepts and "creation" not in kind:
                continue
            for name, nodes in (("creator", [a for s in event.iter(f"{LIDO}nameActorSet")
                                             for a in s.iter(f"{LIDO}appellationValue")]),
                                ("date", list(event.iter(f"{LIDO}displayDate"))),
                                ("material", list(event.iter(f"{LIDO}displayMaterialsTech"))),
                                ("culture", [t for c in event.iter(f"{LIDO}culture") for t in c.iter(f"{LIDO}term")])):
                for tag, value in _texts(nodes, language).items():
                    record.set_text(name, tag, value)
            break
        for rights in lido.iter(f"{LIDO}rightsWorkSet"):
            for concept in rights.iter(f"{LIDO}conceptID"):
                if (concept.text or "").startswith("http"):
                    record.set_plain("rights", concept.text.strip())  # type: ignore[union-attr]
        for link in lido.iter(f"{LIDO}linkResource"):
            value = "".join(link.itertext()).strip()
            if value.lower().endswith((".glb", ".gltf", ".obj", ".ply", ".stl")) and "://" not in value:
                record.set_plain("model", value)
        out.append(record)
    return out
