"""Translation round trip: every visitor-facing text of an exhibit (its YAML texts, its WebVTT captions, the viewer's interface words) out to XLIFF 2.0 or CSV, and translations merged back."""

from __future__ import annotations

import csv
import io
import json
import types
import typing
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import viewer
from pipeline.errors import VitrinaError
from pipeline.spec import model, webvtt
from pipeline.spec.edit import EditError, ExhibitFiles, dump_text, flow_map, literal, mapping
from pipeline.spec.loader import UI_OVERRIDE_FILE

XLIFF_NS = "urn:oasis:names:tc:xliff:document:2.0"
CSV_COLUMNS = ("id", "context", "location", "source_language", "source", "target_language", "target")
MAX_IMPORT_BYTES = 16 << 20  # a big exhibit's texts are a few hundred KB
# Where each top-level list of a file holds which kind of mapping.
SECTIONS: tuple[tuple[str, type], ...] = (("rooms", model.Room), ("artifacts", model.Artifact), ("tours", model.Tour))
MAX_CAPTIONS_BYTES = 4 << 20  # an hour of captions is about 100 KB
# The viewer's own words (the same table pipeline.site puts in every page), and the exhibit's additions to them.
VIEWER_STRINGS_FILE = Path(viewer.__file__).parent / "templates" / "ui-strings.json"
UI_OVERRIDE_HEADER = ("# The viewer's interface words for this exhibit, per language: they add a language the viewer does not\n"
                      "# ship, or change a word of one it does. A key left out falls back to English. Written by\n"
                      "# `vitrina i18n import`; edit freely (plural forms: {one: …, other: …}).\n")


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


@dataclass
class _AudioSlot:
    """A recording's language → file mapping (with `captions:`), whose caption cues are texts to translate."""

    unit_id: str
    context: str
    file: Path
    audio: Any


def _is_text(hint: Any) -> bool:
    return typing.get_origin(hint) in (Mapping, dict) and typing.get_args(hint) == (str, str)


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return options[0] if len(options) == 1 else hint
    return hint


def _walk(node: Any, cls: type, unit_id: str, context: str, file: Path) -> Iterator[_Slot | _AudioSlot]:
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
        elif hint == model.Audio:
            if isinstance(value, dict):
                yield _AudioSlot(where, said, file, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            item_hint = typing.get_args(hint)[0]
            for index, item in enumerate(value):
                if _is_text(item_hint):
                    yield _Slot(f"{where}/{index}", f"{said} {index + 1}", file, value, index, item)
                elif isinstance(item_hint, type) and is_dataclass(item_hint):
                    yield from _walk_item(item, item_hint, where, said, index, file)
        elif is_dataclass(hint) and hint is not model.AssetPath:
            yield from _walk(value, hint, where, said, file)  # type: ignore[arg-type]


def _walk_item(item: Any, cls: type, where: str, said: str, index: int,
               file: Path) -> Iterator[_Slot | _AudioSlot]:
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
        found = list(self._slots())
        self.slots = [slot for slot in found if isinstance(slot, _Slot)]
        self.audio = [slot for slot in found if isinstance(slot, _AudioSlot)]
        self.ui = InterfaceWords(self.files, self.source_language)
        self.notes: list[str] = []  # what an import did that the translator or designer should know

    @property
    def source_language(self) -> str:
        return self.languages[0]

    def _slots(self) -> Iterator[_Slot | _AudioSlot]:
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
        for audio in self.audio:
            units.extend(self._caption_units(audio, target_language))
        return units + self.ui.units(target_language)

    # ── captions: each cue of the source language's .vtt is a text; its translation is a .vtt beside it ─────

    def _captions_file(self, audio: _AudioSlot, language: str) -> Path | None:
        captions = audio.audio.get("captions")
        written = captions.get(language) if isinstance(captions, dict) else None
        if not isinstance(written, str) or not written.strip():
            return None
        path = (self.files.root / written).resolve()
        # The loader reports a captions file outside the folder; here it is simply not read.
        return path if path.is_relative_to(self.files.root) and path.suffix.lower() == ".vtt" else None

    def _cues(self, path: Path | None) -> tuple[str, list[webvtt.Cue]]:
        if path is None or not path.is_file() or path.stat().st_size > MAX_CAPTIONS_BYTES:
            return "", []
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return "", []
        return text, webvtt.read_cues(text)

    def _caption_units(self, audio: _AudioSlot, target_language: str) -> list[Unit]:
        source = self._captions_file(audio, self.source_language)
        _, cues = self._cues(source)
        if source is None or not cues:
            return []
        existing = {cue.key: cue.text for cue in self._cues(self._captions_file(audio, target_language))[1]}
        shown = source.relative_to(self.files.root).as_posix()
        return [Unit(f"{audio.unit_id}/captions/{cue.key}",
                     f"{audio.context} captions, cue {cue.key} ({cue.start} --> {cue.end})",
                     f"{shown}:{cue.line}", cue.text, existing.get(cue.key, "")) for cue in cues if cue.text.strip()]

    def _merge_captions(self, audio: _AudioSlot, target_language: str, texts: Mapping[str, str]) -> int:
        """Write the translated cues into the target language's .vtt (made beside the source's, with its timings)
        and name it in the YAML; returns how many cues changed."""
        source = self._captions_file(audio, self.source_language)
        source_text, cues = self._cues(source)
        if source is None or not cues:
            return 0
        target = self._captions_file(audio, target_language) or source.with_name(
            translated_name(source.name, self.source_language, target_language))
        existing = {cue.key: cue.text for cue in self._cues(target)[1]} if target.is_file() else {}
        wanted = {cue.key: texts[cue.key] for cue in cues if texts.get(cue.key, "").strip()}
        changed = sum(1 for key, text in wanted.items() if existing.get(key) != text)
        if not changed:
            return 0
        self.files.write_file(target, webvtt.with_texts(source_text, {**existing, **wanted}))
        captions = audio.audio["captions"]
        named = target_language in captions
        if not named:
            captions[target_language] = target.relative_to(self.files.root).as_posix()
        if target_language not in audio.audio:
            # The cues keep the source recording's timings: that recording is the one they caption.
            audio.audio.insert(list(audio.audio).index("captions"), target_language,
                               audio.audio[self.source_language])
        elif audio.audio[target_language] != audio.audio[self.source_language] and not named:
            self.notes.append(f"{target.relative_to(self.files.root).as_posix()} is timed to the "
                              f"{self.source_language} recording, but {target_language} has its own "
                              f"({audio.audio[target_language]}): re-time the captions to it")
        return changed

    def merge(self, target_language: str, translations: Mapping[str, str]) -> tuple[int, list[str]]:
        """Write the translations into the YAML (comments kept); returns (texts changed, ids not in the exhibit)."""
        if target_language == self.source_language:
            raise TranslationError(f"{target_language} is the exhibit's source language; import a translation")
        by_id = {slot.unit_id: slot for slot in self.slots}
        cue_ids = {unit.id for audio in self.audio for unit in self._caption_units(audio, target_language)}
        ui_ids = {unit.id for unit in self.ui.units(target_language)}
        unknown = sorted(set(translations) - set(by_id) - cue_ids - ui_ids)
        changed_files: set[Path] = set()
        changed = self.ui.merge(target_language, {k: v for k, v in translations.items() if k in ui_ids})
        for audio in self.audio:
            prefix = f"{audio.unit_id}/captions/"
            texts = {k.removeprefix(prefix): v for k, v in translations.items() if k.startswith(prefix) and k in cue_ids}
            if texts:
                cues_changed = self._merge_captions(audio, target_language, texts)
                changed += cues_changed
                if cues_changed:
                    changed_files.add(audio.file)
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


def translated_name(name: str, source_language: str, target_language: str) -> str:
    """The file name of a translation, named as the spec names caption files per language: ding.zh.vtt → ding.fr.vtt,
    and ding.vtt → ding.fr.vtt."""
    parts = name.split(".")
    for index in range(len(parts) - 2, 0, -1):
        if parts[index].lower() == source_language.lower():
            parts[index] = target_language
            return ".".join(parts)
    return ".".join([*parts[:-1], target_language, parts[-1]]) if len(parts) > 1 else f"{name}.{target_language}"


# ── the viewer's interface words ──────────────────────────────────────────────────────────────────────────────

def viewer_tables() -> dict[str, dict[str, Any]]:
    """The viewer's shipped interface words: language → key → text, or plural forms by CLDR category."""
    tables: dict[str, dict[str, Any]] = json.loads(VIEWER_STRINGS_FILE.read_text(encoding="utf-8"))["ui"]
    return tables


def _shipped_table(tables: Mapping[str, Any], language: str) -> Mapping[str, Any] | None:
    return tables.get(language) or tables.get(language.split("-")[0].lower())


def read_ui_overrides(spec_root: Path) -> dict[str, dict[str, Any]]:
    """The exhibit's ui-strings.yaml as plain data (language → key → text or plural forms); {} without one.

    Keys the viewer does not have, and values of the wrong shape, are left out: the page falls back to English.
    """
    path = (spec_root / UI_OVERRIDE_FILE).resolve()
    if not path.is_file() or not path.is_relative_to(spec_root.resolve()):
        return {}
    files = ExhibitFiles(spec_root)
    try:
        data, _ = files.load(path)
    except EditError as error:
        raise TranslationError(f"{UI_OVERRIDE_FILE}: {error}") from None
    english = viewer_tables()["en"]
    out: dict[str, dict[str, Any]] = {}
    for language, table in (data.items() if isinstance(data, dict) else []):
        if not isinstance(table, dict):
            continue
        words: dict[str, Any] = {}
        for key, value in table.items():
            if key not in english:
                continue
            if isinstance(english[key], dict) and isinstance(value, dict):
                forms = {str(k): str(v) for k, v in value.items() if isinstance(v, str) and v}
                if "other" in forms:
                    words[str(key)] = forms
            elif isinstance(value, str) and value and not isinstance(english[key], dict):
                words[str(key)] = value
        if words:
            out[str(language)] = words
    return out


class InterfaceWords:
    """The viewer's interface words as translation units (ids ui/KEY, or ui/KEY/CATEGORY for plural forms), and
    their translations kept in the exhibit's ui-strings.yaml."""

    def __init__(self, files: ExhibitFiles, source_language: str) -> None:
        self.files = files
        self.path = files.root / UI_OVERRIDE_FILE
        self.tables = viewer_tables()
        self.overrides = read_ui_overrides(files.root)
        self.source_language = source_language

    def _words(self, language: str) -> dict[str, Any]:
        return {**(_shipped_table(self.tables, language) or {}), **self.overrides.get(language, {})}

    def wanted(self, target_language: str) -> bool:
        """Exported when the viewer does not ship the language, or the exhibit already changes some of its words."""
        return _shipped_table(self.tables, target_language) is None or target_language in self.overrides

    def units(self, target_language: str) -> list[Unit]:
        if not self.wanted(target_language):
            return []
        english = self.tables["en"]
        source_words = self._words(self.source_language) if _shipped_table(self.tables, self.source_language) \
            or self.source_language in self.overrides else {}
        target_words = self._words(target_language)
        units = []
        for key, english_text in english.items():
            source = source_words.get(key, english_text)
            target = target_words.get(key)
            said = f"viewer interface: {key}" + ("" if key in source_words else " (in English)")
            if isinstance(english_text, dict):
                for category in english_text:
                    text = str(source.get(category, source["other"]) if isinstance(source, dict)
                               else english_text[category])
                    found = target.get(category, "") if isinstance(target, dict) else ""
                    units.append(Unit(f"ui/{key}/{category}", f"{said}, plural form '{category}' ({{n}} is the "
                                      f"number)", UI_OVERRIDE_FILE, text, found))
            else:
                units.append(Unit(f"ui/{key}", said, UI_OVERRIDE_FILE, str(source),
                                  target if isinstance(target, str) else ""))
        return units

    def merge(self, target_language: str, translations: Mapping[str, str]) -> int:
        """Write the interface words that differ from what the viewer ships into ui-strings.yaml; returns how many."""
        shipped = _shipped_table(self.tables, target_language) or {}
        current = self._words(target_language)
        changes: dict[str, Any] = {}
        count = 0
        for unit_id, text in translations.items():
            parts = unit_id.split("/")
            if not text.strip() or len(parts) not in (2, 3):
                continue
            key = parts[1]
            if len(parts) == 3:
                forms = changes.get(key) or dict(current.get(key) or {})
                if isinstance(forms, dict) and forms.get(parts[2]) != text:
                    changes[key] = {**forms, parts[2]: text}
                    count += 1
            elif current.get(key) != text and shipped.get(key) != text:
                changes[key] = text
                count += 1
        if not changes:
            return 0
        if self.path.is_file():
            data, text = self.files.load(self.path)
        else:
            data, text = mapping(), ""
        table = data.get(target_language)
        if not isinstance(table, dict):
            table = data[target_language] = mapping()
        for key, value in changes.items():
            table[key] = mapping(value, flow=True) if isinstance(value, dict) else value
        if text:
            self.files.save(self.path, data, text)
        else:
            self.files.write_file(self.path, UI_OVERRIDE_HEADER + dump_text(data))
        self.overrides = read_ui_overrides(self.files.root)
        return count


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


def import_file(spec: Path, translations_file: Path,
                notes: list[str] | None = None) -> tuple[str, int, list[str]]:
    """`vitrina i18n import`: (language, texts changed, unknown ids); the language is added to `languages` too.
    `notes` receives what the designer should check (captions timed to another language's recording)."""
    language, translations = read_translations(translations_file)
    catalogue = Catalogue(spec)
    changed, unknown = catalogue.merge(language, translations)
    if notes is not None:
        notes.extend(catalogue.notes)
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
