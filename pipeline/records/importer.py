"""`vitrina import`: collection records → one artifacts/<id>.yaml per object, re-import keeping designer-written keys."""

from __future__ import annotations

import calendar
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.records import RecordsError, SourceRecord
from pipeline.records.mapping import load_mapping, table_records
from pipeline.records.structured import read_object_file
from pipeline.records.tables import read_table
from pipeline.spec.model import UNIT_METRES

ARTIFACTS_FOLDER = "artifacts"
INCLUDE_PATTERN = "artifacts/*.yaml"
HEADER = ("Imported by `vitrina import` from {where}. Re-importing updates `record` (and model, image, units);\n"
          "placement, annotations and anything else you add here are kept.\n")
AXES = ("y", "z", "x")
_ID_RUN = re.compile(r"[^a-z0-9]+")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_RANGE = re.compile(r"^(\d{1,4})\s*[-–—]\s*(\d{1,4})\s*(BCE|BC|CE|AD)?$", re.IGNORECASE)
MODEL_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


@dataclass
class ImportReport:
    """What an import did, for the CLI to print."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    include_added: bool = False
    not_in_source: list[str] = field(default_factory=list)  # imported before, absent now: left as they are

    def to_text(self) -> str:
        lines = []
        if self.unknown_columns:
            lines.append(f"not imported: {len(self.unknown_columns)} column(s) that no field claims: "
                         f"{', '.join(repr(c) for c in self.unknown_columns)} (map them with --map, or list them "
                         "under ignore:)")
        if self.not_in_source:
            lines.append(f"left as they are: {len(self.not_in_source)} object(s) imported before but not in this "
                         f"source: {', '.join(self.not_in_source)}")
        if self.include_added:
            lines.append(f"exhibit.yaml: added {INCLUDE_PATTERN} to include")
        lines.append(f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged "
                     f"under {ARTIFACTS_FOLDER}/; new objects are not placed yet (see `vitrina check`)")
        return "\n".join(lines)


def artifact_id(accession: str) -> str:
    """An artifact id from an accession number: "1987.12.3" → "1987-12-3", "A/B 7" → "a-b-7"."""
    return _ID_RUN.sub("-", accession.lower()).strip("-")[:64].strip("-")


def date_problem(text: str) -> str | None:
    """Why a date text is malformed, or None. Free text ("Shang dynasty, c. 1300 BC") is fine; an impossible
    calendar date or a range that ends before it begins is not."""
    value = text.strip()
    iso = _ISO_DATE.match(value)
    slash = _SLASH_DATE.match(value)
    if iso or slash:
        if iso:
            year, month, day = int(iso.group(1)), int(iso.group(2)), int(iso.group(3) or 1)
            orders = [(month, day)]
        else:
            assert slash is not None
            first, second, year = int(slash.group(1)), int(slash.group(2)), int(slash.group(3))
            orders = [(first, second), (second, first)]  # month/day or day/month: either may be meant
        if not any(1 <= m <= 12 and 1 <= d <= calendar.monthrange(year, m)[1] for m, d in orders):
            return f"'{value}' is not a calendar date"
        return None
    found = _RANGE.match(value)
    if found:
        start, end = int(found.group(1)), int(found.group(2))
        before_christ = (found.group(3) or "").upper() in ("BC", "BCE")
        if (start < end) if before_christ else (start > end):
            return f"'{value}' ends before it begins"
    return None


RECORD_ORDER = ("accession", "title", "creator", "date", "culture", "material", "dimensions", "credit", "rights",
                "description", "source")
"""The order of a new `record:`'s keys: the spec's (pipeline.spec.model.Record)."""


def _check(record: SourceRecord, root: Path, languages: list[str]) -> list[str]:
    from pipeline.spec.files import resolve_asset

    problems = []
    where = record.where
    foreign = sorted({language for _, language in record.given if language and language not in languages})
    if foreign:
        problems.append(f"{where}: has text in {', '.join(foreign)}, which the exhibit's languages "
                        f"({', '.join(languages)}) do not include; add them to exhibit.languages")
    accession = record.plain.get("accession", "")
    if not accession:
        problems.append(f"{where}: no accession number")
    elif not artifact_id(record.plain.get("id") or accession) or not re.match(
            r"^[a-z0-9][a-z0-9_-]*$", record.plain.get("id") or artifact_id(accession)):
        problems.append(f"{where}: id '{record.plain.get('id')}' is not an artifact id (lowercase letters, digits, - "
                        "and _)")
    for language, value in record.texts.get("date", {}).items():
        problem = date_problem(value)
        if problem:
            problems.append(f"{where}: date ({language}): {problem}")
    for name in ("rights", "source"):
        if record.plain.get(name) and not _URI.match(record.plain[name]):
            problems.append(f"{where}: {name} '{record.plain[name]}' is not a URI (write it in full, e.g. "
                            "http://rightsstatements.org/vocab/InC/1.0/)")
    if record.plain.get("units") and record.plain["units"] not in UNIT_METRES:
        problems.append(f"{where}: units '{record.plain['units']}' is not one of {', '.join(UNIT_METRES)}")
    if record.plain.get("up") and record.plain["up"] not in AXES:
        problems.append(f"{where}: up '{record.plain['up']}' is not one of {', '.join(AXES)}")
    if record.plain.get("model") and record.plain.get("image"):
        problems.append(f"{where}: names both a model and an image; an artifact is one or the other")
    for name, suffixes in (("model", MODEL_SUFFIXES), ("image", IMAGE_SUFFIXES)):
        written = record.plain.get(name)
        if not written:
            continue
        if not written.lower().endswith(suffixes):
            problems.append(f"{where}: {name} '{written}' is not a {'/'.join(suffixes)} file")
            continue
        _, problem = resolve_asset(written, root, name)
        if problem:
            problems.append(f"{where}: {name}: {problem}")
    return problems


def read_sources(sources: list[Path], mapping_path: Path | None, languages: list[str]
                 ) -> tuple[list[SourceRecord], list[str]]:
    """Every record in the given tables, object files and folders of object files, and the unknown columns."""
    mapping = load_mapping(mapping_path)
    records: list[SourceRecord] = []
    unknown: list[str] = []
    problems: list[str] = []
    for source in sources:
        try:
            if source.is_dir():
                for path in sorted(p for p in source.iterdir() if p.suffix.lower() in (".json", ".xml")):
                    records.extend(read_object_file(path, mapping.language or languages[0]))
            elif source.suffix.lower() in (".json", ".xml"):
                records.extend(read_object_file(source, mapping.language or languages[0]))
            elif source.is_file():
                found, columns = table_records(read_table(source), mapping, languages)
                records.extend(found)
                unknown.extend(c for c in columns if c not in unknown)
            else:
                problems.append(f"{source}: no such file or folder")
        except RecordsError as error:
            problems.extend(error.problems)
    if problems:
        raise RecordsError(problems)
    return records, unknown


def _exhibit_files(root: Path, spec: Any, spec_file: Path) -> dict[Path, tuple[str, Any]]:
    """Every YAML file of the exhibit (the main one and its includes) → (its text, its round-trip data).

    Each file is parsed once: the import reads them to find which ids are taken, and then edits its own files.
    """
    from pipeline.spec import edit as round_trip

    files: dict[Path, tuple[str, Any]] = {spec_file: (spec_file.read_text(encoding="utf-8"), spec)}
    for pattern in (spec or {}).get("include") or []:
        for path in sorted(root.glob(str(pattern))):
            if path.is_file() and path not in files and path.resolve().is_relative_to(root.resolve()):
                text = path.read_text(encoding="utf-8")
                files[path] = (text, round_trip.load_text(text))
    return files


def _declared_ids(files: dict[Path, tuple[str, Any]]) -> dict[str, Path]:
    """Artifact id → the YAML file that declares it."""
    found: dict[str, Path] = {}
    for path, (_, data) in files.items():
        artifacts = data.get("artifacts") if isinstance(data, dict) else None
        for artifact in artifacts if isinstance(artifacts, list) else []:
            if isinstance(artifact, dict) and artifact.get("id"):
                found.setdefault(str(artifact["id"]), path)
    return found


def _record_mapping(existing: Any, record: SourceRecord) -> Any:
    """The `record:` mapping after this import: the source's fields set or cleared, every other key kept."""
    from pipeline.spec import edit as round_trip

    out = existing if isinstance(existing, dict) else round_trip.mapping()
    for name, language in sorted(record.given, key=lambda g: (RECORD_ORDER.index(g[0]) if g[0] in RECORD_ORDER
                                                               else len(RECORD_ORDER), g[1] or "")):
        if name not in RECORD_ORDER:
            continue
        if language is None:
            if record.plain.get(name):
                out[name] = record.plain[name]
            elif name in out:
                del out[name]
            continue
        value = record.texts.get(name, {}).get(language)
        current = out.get(name)
        if not isinstance(current, dict):
            current = round_trip.mapping(flow=False)
            if value:
                out[name] = current
        if value:
            current[language] = value
        elif language in current:
            del current[language]
            if not current:
                del out[name]
    return out


def _apply(entry: Any, record: SourceRecord) -> None:
    """Write the source's fields into one artifact entry of a round-trip YAML document."""
    from pipeline.spec import edit as round_trip

    for name in ("model", "image", "units", "up"):
        if record.plain.get(name):
            entry[name] = record.plain[name]
    if ("alt", None) in record.given or any(g[0] == "alt" for g in record.given):
        alt = entry.get("alt") if isinstance(entry.get("alt"), dict) else round_trip.mapping()
        for name, language in record.given:
            if name == "alt" and language:
                value = record.texts.get("alt", {}).get(language)
                if value:
                    alt[language] = value
                elif language in alt:
                    del alt[language]
        if alt:
            entry["alt"] = alt
    entry["record"] = _record_mapping(entry.get("record"), record)


def import_records(sources: list[Path], exhibit: Path, mapping_path: Path | None = None) -> ImportReport:
    """Import every record into EXHIBIT/artifacts/<id>.yaml; on any problem, raise RecordsError and write nothing."""
    from pipeline.spec import edit as round_trip
    from pipeline.spec.loader import find_spec_file

    spec_file = find_spec_file(Path(exhibit))
    root = spec_file.parent
    spec = round_trip.load_file(spec_file)
    info = (spec or {}).get("exhibit") or {}
    languages = [str(tag) for tag in info.get("languages") or ["en"]]
    records, unknown = read_sources(sources, mapping_path, languages)
    problems: list[str] = []
    for record in records:
        problems.extend(_check(record, root, languages))
    first_seen: dict[str, str] = {}
    ids_seen: dict[str, str] = {}
    for record in records:
        accession = record.plain.get("accession", "")
        if not accession:
            continue
        if accession in first_seen:
            problems.append(f"{record.where}: accession number '{accession}' is also on {first_seen[accession]}")
            continue
        first_seen[accession] = record.where
        new_id = record.plain.get("id") or artifact_id(accession)
        if new_id in ids_seen:
            problems.append(f"{record.where}: its id '{new_id}' is also the id of {ids_seen[new_id]}; give one an "
                            "id column")
        ids_seen[new_id] = record.where
    existing = _exhibit_files(root, spec, spec_file)
    declared = _declared_ids(existing)
    folder = root / ARTIFACTS_FOLDER
    for record in records:
        new_id = record.plain.get("id") or artifact_id(record.plain.get("accession", ""))
        owner = declared.get(new_id)
        if owner is not None and owner.resolve() != (folder / f"{new_id}.yaml").resolve():
            problems.append(f"{record.where}: artifact id '{new_id}' is already used in "
                            f"{owner.relative_to(root).as_posix()}; give the record an id column")
    if problems:
        raise RecordsError(problems)

    report = ImportReport(unknown_columns=unknown)
    texts: dict[Path, str] = {}
    for record in records:
        new_id = record.plain.get("id") or artifact_id(record.plain["accession"])
        path = folder / f"{new_id}.yaml"
        before: str | None
        if path in existing:
            before, document = existing[path]
        else:
            before = path.read_text(encoding="utf-8") if path.is_file() else None
            document = round_trip.load_text(before) if before is not None else None
        if not isinstance(document, dict):
            document = round_trip.mapping()
            document.yaml_set_start_comment(HEADER.format(where=record.where).rstrip("\n"))
        if not isinstance(document.get("artifacts"), list):
            document["artifacts"] = round_trip.CommentedSeq()
        artifacts = document["artifacts"]
        entry = next((a for a in artifacts if isinstance(a, dict) and a.get("id") == new_id), None)
        if entry is None:
            entry = round_trip.mapping({"id": new_id})
            artifacts.append(entry)
        _apply(entry, record)
        text = round_trip.dump_text(document)
        texts[path] = text
        if before is None:
            report.created.append(new_id)
        elif before != text:
            report.updated.append(new_id)
        else:
            report.unchanged.append(new_id)
    imported_before = HEADER.split("`vitrina import`")[0]
    report.not_in_source = sorted(path.stem for path, (text, _) in existing.items()
                                  if path.parent == folder and path not in texts
                                  and text.startswith(f"# {imported_before}"))
    from pipeline.spec.loader import MAX_INCLUDED_FILES

    included = {path for path in existing if path != spec_file} | set(texts)
    if len(included) > MAX_INCLUDED_FILES:
        raise RecordsError([f"{len(texts)} objects would make the exhibit include {len(included)} files, and an "
                            f"exhibit includes at most {MAX_INCLUDED_FILES}; import the objects on show (or split "
                            "the collection into several exhibits)"])
    patterns = [str(p) for p in (spec or {}).get("include") or []]
    needs_include = any(not any(fnmatch.fnmatch(f"{ARTIFACTS_FOLDER}/{p.name}", pattern) for pattern in patterns)
                        for p in texts)
    if needs_include:
        include = spec.get("include")
        if include is None:
            spec["include"] = round_trip.CommentedSeq([INCLUDE_PATTERN])
            spec["include"].fa.set_flow_style()
        else:
            include.append(INCLUDE_PATTERN)
        report.include_added = True
    folder.mkdir(exist_ok=True)
    for path, text in texts.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    if needs_include:
        spec_file.write_text(round_trip.dump_text(spec), encoding="utf-8")
    return report
