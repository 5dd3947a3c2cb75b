"""Translation round trip: every visitor-facing text of an exhibit out to XLIFF 2.0 or CSV, and translations merged back into its YAML."""

from __future__ import annotations

import csv
import io
import types
import typing
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import VitrinaError
from pipeline.spec import model
from pipeline.spec.edit import ExhibitFiles, flow_map, literal

XLIFF_NS = "urn:oasis:names:tc:xliff:document:2.0"
CSV_COLUMNS = ("id", "context", "location", "source_language", "source", "target_language", "target")
MAX_IMPORT_BYTES = 16 << 20  # a big exhibit's texts are a few hundred KB
# Where each top-level list of a file holds which kind of mapping.
SECTIONS: tuple[tuple[str, type], ...] = (("rooms", model.Room), ("artifacts", model.Artifact), ("tours", model.Tour))


class TranslationError(VitrinaError):
    """A translation file could not be read, or does not belong to this exhibit."""


@dataclass(frozen=True)
class Unit:
    """One text for the translator: a stable id (ids, not list positions), where it is, and the text both ways."""

    id: str
    """e.g. artifacts/ding/record/title, tours/highlights/stops/2/say, exhibit/credits/0."""
    context: str
    """What the text is, in words: "artifact ding: record title"."""
    location: str
    """file:line of the text in the exhibit."""
    source: str
    target: str


@dataclass
class _Slot:
    """Where a text lives in the round-trip data, so an import can write it."""

    unit_id: str
    context: str
    file: Path
    container: Any  # the mapping (or list) holding the value
    key: Any
    value: Any  # a plain string (the default language) or a language → string mapping


def _is_text(hint: Any) -> bool:
    return typing.get_origin(hint) in (Mapping, dict) and typing.get_args(hint) == (str, str)


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return options[0] if len(options) == 1 else hint
    return hint


def _walk(node: Any, cls: type, unit_id: str, context: str, file: Path) -> Iterator[_Slot]:
    """Every Text field under a mapping of model class `cls`, following the model's own type hints."""
    if not isinstance(node, dict):
        return
    hints = typing.get_type_hints(cls, vars(model))
    for field in fields(cls):  # type: ignore[arg-type]
        if field.name not in node:
            continue
        hint = _unwrap_optional(hints[field.name])
        value = node[field.name]
        where, said = f"{unit_id}/{field.name}", f"{context} {field.name.replace('_', ' ')}".strip()
        if _is_text(hint):
            yield _Slot(where, said, file, node, field.name, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            item_hint = typing.get_args(hint)[0]
            for index, item in enumerate(value):
                if _is_text(item_hint):
                    yield _Slot(f"{where}/{index}", f"{said} {index + 1}", file, value, index, item)
                elif isinstance(item_hint, type) and is_dataclass(item_hint):
                    yield from _walk_item(item, item_hint, where, said, index, file)
        elif is_dataclass(hint) and hint is not model.AssetPath:
            yield from _walk(value, hint, where, said, file)  # type: ignore[arg-type]


def _walk_item(item: Any, cls: type, where: str, said: str, index: int, file: Path) -> Iterator[_Slot]:
    """A list item: named by its id when it has one, so the ids survive reordering."""
    ident = item.get("id") if isinstance(item, dict) else None
    if isinstance(ident, str) and ident:
        yield from _walk(item, cls, f"{where}/{ident}", f"{said.rstrip('s')} {ident}:", file)
    else:
        yield from _walk(item, cls, f"{where}/{index}", f"{said} {index + 1}:", file)


class Catalogue:
    """The visitor-facing texts of one exhibit, read from its YAML files (the main one and its includes)."""

    def __init__(self, spec: Path) -> None:
        self.files = ExhibitFiles(spec)
        self.documents = self.files.documents()
        main = self.documents[0][1]
        info = main.get("exhibit") if isinstance(main, dict) else None
        languages = info.get("languages") if isinstance(info, dict) else None
        self.languages = [str(code) for code in languages] if isinstance(languages, list) and languages else ["en"]
        self.slots = list(self._slots())

    @property
    def source_language(self) -> str:
        return self.languages[0]

    def _slots(self) -> Iterator[_Slot]:
        seen: set[str] = set()
        for path, data, _ in self.documents:
            if not isinstance(data, dict):
                continue
            if path == self.files.spec_file:
                yield from _walk(data.get("exhibit"), model.ExhibitInfo, "exhibit", "exhibit", path)
            for section, cls in SECTIONS:
                items = data.get(section)
                for index, item in enumerate(items if isinstance(items, list) else []):
                    for slot in _walk_item(item, cls, section, section, index, path):
                        if slot.unit_id not in seen:  # a duplicate id is check's error; its first use wins here
                            seen.add(slot.unit_id)
                            yield slot

    def text_of(self, slot: _Slot, language: str) -> str:
        if isinstance(slot.value, str):
            return slot.value if language == self.source_language else ""
        if isinstance(slot.value, dict):
            text = slot.value.get(language)
            return str(text) if text is not None else ""
        return ""

    def units(self, target_language: str) -> list[Unit]:
        """Every text that has something to translate, with what the target language already has."""
        units = []
        for slot in self.slots:
            source = self.text_of(slot, self.source_language)
            if not source.strip():
                continue
            line = _line_of(slot)
            location = f"{slot.file.relative_to(self.files.root).as_posix()}:{line}" if line else \
                slot.file.relative_to(self.files.root).as_posix()
            units.append(Unit(slot.unit_id, slot.context, location, source, self.text_of(slot, target_language)))
        return units

    def merge(self, target_language: str, translations: Mapping[str, str]) -> tuple[int, list[str]]:
        """Write the translations into the YAML (comments kept); returns (texts changed, ids not in the exhibit)."""
        if target_language == self.source_language:
            raise TranslationError(f"{target_language} is the exhibit's source language; import a translation")
        by_id = {slot.unit_id: slot for slot in self.slots}
        unknown = sorted(set(translations) - set(by_id))
        changed_files: set[Path] = set()
        changed = 0
        for unit_id, target in translations.items():
            slot = by_id.get(unit_id)
            if slot is None or not target.strip() or self.text_of(slot, target_language) == target:
                continue
            _write_text(slot, self.source_language, target_language, target)
            changed_files.add(slot.file)
            changed += 1
        for path, data, text in self.documents:
            if path in changed_files:
                self.files.save(path, data, text)
        return changed, unknown


def _line_of(slot: _Slot) -> int:
    """The 1-based line of the text's key (or list item), from ruamel's position marks; 0 when unknown."""
    positions: Any = getattr(slot.container, "lc", None)  # ruamel's containers only
    try:
        marks = positions.key(slot.key) if isinstance(slot.container, dict) else positions.item(slot.key)
        return int(marks[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return 0


def _scalar(text: str) -> Any:
    return literal(text) if "\n" in text else text


def _write_text(slot: _Slot, source_language: str, target_language: str, target: str) -> None:
    value = slot.value
    if isinstance(value, dict):
        value[target_language] = _scalar(target)
        return
    # The source keeps its own scalar (quoted, literal block…) so its style survives the move into the mapping.
    source = value if "\n" not in str(value) or type(value) is not str else _scalar(str(value))
    if "\n" in str(value) or "\n" in target:
        mapping = flow_map(**{source_language: source, target_language: _scalar(target)})
        mapping.fa.set_block_style()  # literal blocks cannot sit inside {…}
    else:
        mapping = flow_map(**{source_language: source, target_language: target})
    slot.container[slot.key] = mapping
    slot.value = mapping


# ── file formats ──────────────────────────────────────────────────────────────────────────────────────────────

def to_xliff(units: list[Unit], source_language: str, target_language: str) -> str:
    """XLIFF 2.0: one <file> per YAML file, one <unit> per text, its context and location as notes."""
    ElementTree.register_namespace("", XLIFF_NS)
    root = ElementTree.Element(f"{{{XLIFF_NS}}}xliff", {"version": "2.0", "srcLang": source_language,
                                                         "trgLang": target_language})
    files: dict[str, ElementTree.Element] = {}
    for unit in units:
        original = unit.location.rsplit(":", 1)[0]
        if original not in files:
            files[original] = ElementTree.SubElement(root, f"{{{XLIFF_NS}}}file",
                                                     {"id": f"f{len(files) + 1}", "original": original})
        element = ElementTree.SubElement(files[original], f"{{{XLIFF_NS}}}unit", {"id": unit.id})
        notes = ElementTree.SubElement(element, f"{{{XLIFF_NS}}}notes")
        ElementTree.SubElement(notes, f"{{{XLIFF_NS}}}note", {"category": "context"}).text = unit.context
        ElementTree.SubElement(notes, f"{{{XLIFF_NS}}}note", {"category": "location"}).text = unit.location
        segment = ElementTree.SubElement(element, f"{{{XLIFF_NS}}}segment",
                                         {"state": "translated" if unit.target else "initial"})
        ElementTree.SubElement(segment, f"{{{XLIFF_NS}}}source").text = unit.source
        ElementTree.SubElement(segment, f"{{{XLIFF_NS}}}target").text = unit.target
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def to_csv(units: list[Unit], source_language: str, target_language: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for unit in units:
        writer.writerow([unit.id, unit.context, unit.location, source_language, unit.source, target_language,
                         unit.target])
    return out.getvalue()


def read_translations(path: Path) -> tuple[str, dict[str, str]]:
    """(target language, unit id → translated text) from an XLIFF 2.x or CSV file."""
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise TranslationError(f"{path.name} is larger than {MAX_IMPORT_BYTES >> 20} MB")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise TranslationError(f"cannot read {path.name}: {error}") from None
    if path.suffix.lower() == ".csv":
        return _read_csv(text, path.name)
    return _read_xliff(text, path.name)


def _read_csv(text: str, name: str) -> tuple[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"id", "target_language", "target"} <= set(rows[0]):
        raise TranslationError(f"{name}: a translation CSV has the columns {', '.join(CSV_COLUMNS)}")
    languages = {row["target_language"] for row in rows if row.get("target_language")}
    if len(languages) != 1:
        raise TranslationError(f"{name}: every row must have the same target_language, found {sorted(languages)}")
    return languages.pop(), {row["id"]: row.get("target") or "" for row in rows if row.get("id")}


def _read_xliff(text: str, name: str) -> tuple[str, dict[str, str]]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # entity expansion is how XML files attack their readers
        raise TranslationError(f"{name}: XLIFF with a DOCTYPE or entities is not accepted")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise TranslationError(f"{name}: not well-formed XML ({error})") from None
    if root.tag != f"{{{XLIFF_NS}}}xliff" or not str(root.get("version", "")).startswith("2."):
        raise TranslationError(f"{name}: not an XLIFF 2.x file (urn:oasis:names:tc:xliff:document:2.0)")
    language = root.get("trgLang")
    if not language:
        raise TranslationError(f"{name}: the <xliff> element has no trgLang")
    translations: dict[str, str] = {}
    for unit in root.iter(f"{{{XLIFF_NS}}}unit"):
        targets = [segment.find(f"{{{XLIFF_NS}}}target") for segment in unit.iter(f"{{{XLIFF_NS}}}segment")]
        translations[unit.get("id", "")] = "".join("".join(t.itertext()) for t in targets if t is not None)
    return language, translations


def export(spec: Path, target_language: str, out: Path | None, form: str = "xliff") -> tuple[str, int]:
    """`vitrina i18n export`: the file's text (also written to `out` when given) and how many texts it holds."""
    catalogue = Catalogue(spec)
    units = catalogue.units(target_language)
    writer = to_csv if form == "csv" else to_xliff
    text = writer(units, catalogue.source_language, target_language)
    if out is not None:
        # A byte-order mark tells spreadsheet programs that a CSV is UTF-8 (without it, Excel garbles 青铜).
        out.write_text(text, encoding="utf-8-sig" if form == "csv" else "utf-8")
    return text, len(units)


def import_file(spec: Path, translations_file: Path) -> tuple[str, int, list[str]]:
    """`vitrina i18n import`: (language, texts changed, unknown ids); the language is added to `languages` too."""
    language, translations = read_translations(translations_file)
    catalogue = Catalogue(spec)
    changed, unknown = catalogue.merge(language, translations)
    if changed and language not in catalogue.languages:
        _add_language(catalogue, language)
    return language, changed, unknown


def _add_language(catalogue: Catalogue, language: str) -> None:
    path, data, _ = catalogue.files.documents()[0]
    text = path.read_text(encoding="utf-8")
    languages = data["exhibit"].get("languages") if isinstance(data.get("exhibit"), dict) else None
    if isinstance(languages, list):
        languages.append(language)
        catalogue.files.save(path, data, text)
