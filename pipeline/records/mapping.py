"""Which column of a collection export is which record field: the default names, a mapping file, language suffixes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.records import ARTIFACT_FIELDS, PLAIN_FIELDS, TEXT_FIELDS, RecordsError, SourceRecord
from pipeline.records.tables import Table

# Column names as CollectiveAccess, Axiell (Collections/Adlib), TMS and hand-made spreadsheets spell them, after
# normalising (lower case, every run of other characters as one "_").
DEFAULT_COLUMNS: dict[str, str] = {
    **{name: "accession" for name in ("accession", "accession_number", "accession_no", "accno", "object_number",
                                      "objectnumber", "object_no", "idno", "inventory_number", "inventory_no",
                                      "inv_no", "registration_number", "catalogue_number", "catalog_number")},
    **{name: "id" for name in ("id", "vitrina_id", "slug")},
    **{name: "title" for name in ("title", "object_title", "preferred_title", "title_text", "name", "object_name",
                                  "preferred_label", "label")},
    **{name: "creator" for name in ("creator", "maker", "artist", "author", "displayname", "display_name",
                                    "creator_name", "production_creator", "manufacturer", "workshop")},
    **{name: "date" for name in ("date", "dated", "date_made", "production_date", "date_of_production",
                                 "display_date", "period_date", "creation_date")},
    **{name: "culture" for name in ("culture", "period", "dynasty", "culture_period", "style_period")},
    **{name: "material" for name in ("material", "materials", "medium", "material_technique",
                                     "materials_techniques", "technique", "physical_description")},
    **{name: "dimensions" for name in ("dimensions", "dimension", "measurements", "size", "extent")},
    **{name: "credit" for name in ("credit", "credit_line", "creditline", "acquisition_credit")},
    **{name: "rights" for name in ("rights", "rights_uri", "rights_statement", "license", "licence",
                                   "copyright_status")},
    **{name: "description" for name in ("description", "label_text", "object_description", "summary",
                                        "descriptive_note", "public_description")},
    **{name: "source" for name in ("source", "source_uri", "record_uri", "permalink", "uri", "url")},
    **{name: "model" for name in ("model", "model_file", "3d_model", "mesh", "glb", "scan")},
    **{name: "image" for name in ("image", "image_file", "photo", "photograph", "picture")},
    **{name: "units" for name in ("units", "model_units", "unit")},
    **{name: "up" for name in ("up", "up_axis", "model_up")},
    **{name: "alt" for name in ("alt", "alt_text", "alternative_text")},
}
KNOWN_FIELDS = (*TEXT_FIELDS, *PLAIN_FIELDS, *ARTIFACT_FIELDS)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:_[a-z]{4})?(?:_(?:[a-z]{2}|[0-9]{3}))?$")


def normalise(column: str) -> str:
    """A column name as the default mapping spells it: "Credit Line" → "credit_line", "Title (EN)" → "title_en"."""
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def _language_tag(suffix: str, languages: list[str]) -> str:
    """A normalised suffix back as the exhibit spells the tag ("zh_hant" → "zh-Hant"), else as BCP-47 writes it."""
    for tag in languages:
        if normalise(tag) == suffix:
            return tag
    parts = suffix.split("_")
    return "-".join([parts[0], *(p.title() if len(p) == 4 else p.upper() for p in parts[1:])])


@dataclass(frozen=True)
class Target:
    """Where a column goes: a field, and for multilingual fields a language (None: the default language)."""

    field: str
    language: str | None = None


@dataclass
class Mapping:
    """How to read one export: explicit columns (from --map), ignored columns, and defaults."""

    columns: dict[str, Target] = field(default_factory=dict)  # exact column name (as written) → target
    ignore: set[str] = field(default_factory=set)
    language: str | None = None  # language of unsuffixed text columns; default: the exhibit's first
    units: str | None = None  # units of model files when no column says

    @classmethod
    def from_data(cls, data: Any, where: str) -> Mapping:
        """A mapping file's contents: {columns: {Column: field[.lang]}, ignore: [...], language: en, units: mm}."""
        problems: list[str] = []
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RecordsError([f"{where}: a mapping file is a mapping with `columns:` (and `ignore:`, `language:`)"])
        mapping = cls()
        for key in data:
            if key not in ("columns", "ignore", "language", "units"):
                problems.append(f"{where}: unknown key '{key}' (use columns, ignore, language, units)")
        for column, target in dict(data.get("columns") or {}).items():
            parsed = parse_target(str(target))
            if parsed is None:
                problems.append(f"{where}: columns.{column}: '{target}' is not a field; use one of "
                                f"{', '.join(KNOWN_FIELDS)}, with .LANG for a language (title.zh)")
            else:
                mapping.columns[str(column)] = parsed
        mapping.ignore = {str(c) for c in data.get("ignore") or []}
        mapping.language = str(data["language"]) if data.get("language") else None
        mapping.units = str(data["units"]) if data.get("units") else None
        if problems:
            raise RecordsError(problems)
        return mapping


def parse_target(text: str) -> Target | None:
    """ "title.zh", "title_zh", "title" or "accession" as a Target; None when it names no field."""
    name, _, language = text.strip().partition(".")
    if name in KNOWN_FIELDS:
        if language and name not in TEXT_FIELDS:
            return None
        return Target(name, language or None)
    for known in TEXT_FIELDS:  # title_zh, title_zh_hant
        if name.startswith(known + "_") and _LANGUAGE.match(name[len(known) + 1:].lower()):
            return Target(known, name[len(known) + 1:].replace("_", "-"))
    return None


def load_mapping(path: Path | None) -> Mapping:
    if path is None:
        return Mapping()
    from pipeline.spec import edit as round_trip

    try:
        data = round_trip.load_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise RecordsError([f"{path.name}: cannot read the mapping file ({error})"]) from None
    except Exception as error:  # ruamel's parser errors share no base class worth naming here
        raise RecordsError([f"{path.name}: not valid YAML ({str(error).splitlines()[0]})"]) from None
    return Mapping.from_data(_plain(data), path.name)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def resolve_columns(table: Table, mapping: Mapping, languages: list[str]) -> tuple[dict[int, Target], list[str]]:
    """Column index → target, and the columns nobody claims (reported, never dropped silently)."""
    resolved: dict[int, Target] = {}
    unknown: list[str] = []
    for index, column in enumerate(table.header):
        if not column:
            continue
        if column in mapping.columns:
            resolved[index] = mapping.columns[column]
            continue
        if column in mapping.ignore:
            continue
        key = normalise(column)
        if key in DEFAULT_COLUMNS:
            resolved[index] = Target(DEFAULT_COLUMNS[key])
            continue
        found = None
        for tag_key in sorted({normalise(t) for t in languages} | {"en", "zh"}, key=len, reverse=True):
            if key.endswith("_" + tag_key) and DEFAULT_COLUMNS.get(key[: -len(tag_key) - 1]) in TEXT_FIELDS:
                found = Target(DEFAULT_COLUMNS[key[: -len(tag_key) - 1]], _language_tag(tag_key, languages))
                break
        if found is None:
            match = re.match(r"^(.*)_([a-z]{2,3}(?:_[a-z]{4})?)$", key)
            if match and DEFAULT_COLUMNS.get(match.group(1)) in TEXT_FIELDS:
                found = Target(DEFAULT_COLUMNS[match.group(1)], _language_tag(match.group(2), languages))
        if found is None:
            unknown.append(column)
        else:
            resolved[index] = found
    return resolved, unknown


def table_records(table: Table, mapping: Mapping, languages: list[str]) -> tuple[list[SourceRecord], list[str]]:
    """One SourceRecord per row, and the unknown columns; raises RecordsError for a table without accession numbers."""
    columns, unknown = resolve_columns(table, mapping, languages)
    claimed: dict[Target, int] = {}
    problems = []
    for index, target in sorted(columns.items()):
        if target in claimed:
            problems.append(f"{table.name} row 1: columns '{table.header[claimed[target]]}' and "
                            f"'{table.header[index]}' both map to {target.field}"
                            f"{'.' + target.language if target.language else ''}")
        claimed[target] = index
    default_language = mapping.language or languages[0]
    for index, target in sorted(columns.items()):
        language = target.language or (default_language if target.field in TEXT_FIELDS else None)
        if language is not None and language not in languages:
            problems.append(f"{table.name} row 1: column '{table.header[index]}' is in {language}, which is not one "
                            f"of the exhibit's languages ({', '.join(languages)}); add it to exhibit.languages, or "
                            "list the column under ignore: in a mapping file")
    if not any(t.field == "accession" for t in columns.values()):
        problems.append(f"{table.name} row 1: no accession number column (looked for "
                        f"{', '.join(sorted(n for n, f in DEFAULT_COLUMNS.items() if f == 'accession')[:6])}, …); "
                        "name yours in a mapping file: --map mapping.yaml with columns: {YourColumn: accession}")
    if problems:
        raise RecordsError(problems)
    records = []
    for number, cells in table.rows:
        record = SourceRecord(f"{table.name} row {number}")
        if len(cells) > len(table.header) and any(c.strip() for c in cells[len(table.header):]):
            problems.append(f"{record.where}: {len(cells)} cells but the header names {len(table.header)} columns "
                            "(a separator inside an unquoted value?)")
        for index, target in columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            if target.field in TEXT_FIELDS:
                record.set_text(target.field, target.language or default_language, value)
            else:
                record.set_plain(target.field, value)
        if mapping.units and "units" not in record.plain:
            record.plain["units"] = mapping.units
        records.append(record)
    if problems:
        raise RecordsError(problems)
    return records, unknown
