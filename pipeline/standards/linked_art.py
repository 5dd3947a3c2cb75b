"""Linked Art writer: one HumanMadeObject per artifact (data/objects/<id>.json), with its Getty AAT types."""

from __future__ import annotations

import re
from typing import Any

from pipeline.spec.exports import iiif_rights
from pipeline.standards import ExportInput
from pipeline.standards.common import LINKED_ART_CONTEXT, title_of

AAT = "http://vocab.getty.edu/aat/"


def _type(aat_id: str, label: str) -> dict[str, Any]:
    return {"id": f"{AAT}{aat_id}", "type": "Type", "_label": label}


PREFERRED_TITLE = _type("300404670", "preferred terms")
ACCESSION_NUMBER = _type("300312355", "accession number")
DESCRIPTION = _type("300435416", "description")
BRIEF_TEXT = _type("300418049", "brief text")
CREDIT_LINE = _type("300435418", "credit line")
MATERIAL_STATEMENT = _type("300435429", "material statement")
DIMENSIONS_STATEMENT = _type("300435430", "dimensions statement")
CULTURE_STATEMENT = _type("300435433", "culture statement")  # "culture" as Linked Art's statements use it
PRODUCTION_STATEMENT = _type("300435436", "production statement")
WORK_OF_ART = _type("300133025", "works of art")
WEB_PAGE = _type("300264578", "Web pages (documents)")
THREE_D_MODEL = _type("300424001", "three-dimensional models")

# AAT concepts for the languages museums publish in most; any other BCP-47 tag is kept as the Language's label.
LANGUAGES = {
    "en": ("300388277", "English"), "zh": ("300388113", "Chinese"), "fr": ("300388306", "French"),
    "de": ("300388344", "German"), "es": ("300389311", "Spanish"), "it": ("300388474", "Italian"),
    "ja": ("300388486", "Japanese"), "ko": ("300388633", "Korean"), "nl": ("300388256", "Dutch"),
    "pt": ("300389115", "Portuguese"), "ru": ("300389168", "Russian"), "ar": ("300387843", "Arabic"),
}


def language(tag: str) -> dict[str, Any]:
    """A Linked Art Language for a BCP-47 tag: the AAT concept of its primary language where we know it."""
    known = LANGUAGES.get(tag.split("-")[0].lower())
    if known is None:
        return {"type": "Language", "_label": tag}
    return {"id": f"{AAT}{known[0]}", "type": "Language", "_label": known[1], "notation": tag}


def _statements(text: dict[str, str] | None, *types: dict[str, Any]) -> list[dict[str, Any]]:
    """One LinguisticObject per language of a text, classified by the given AAT types."""
    out = []
    for tag, content in (text or {}).items():
        if content:
            out.append({"type": "LinguisticObject", "content": content, "language": [language(tag)],
                        "classified_as": [dict(t) for t in types]})
    return out


_YEAR = re.compile(r"(\d{1,4})\s*(BCE|BC|CE|AD)?", re.IGNORECASE)


def year_span(text: str) -> tuple[int, int] | None:
    """The first and last year a date text names (astronomical years: 1 BC is 0), or None when it names none.

    "c. 1300 BC" → (-1299, -1299); "1600–1046 BC" → (-1599, -1045); "1987" → (1987, 1987). A BC or BCE after the
    last number applies to every number before it, as curators write ranges.
    """
    found = _YEAR.findall(text or "")
    if not found:
        return None
    era_bc = (found[-1][1] or "").upper() in ("BC", "BCE")
    years = []
    for digits, era in found:
        bc = era.upper() in ("BC", "BCE") if era else era_bc
        year = int(digits)
        years.append(1 - year if bc else year)
    return min(years), max(years)


def _iso_year(year: int, end: bool) -> str:
    sign = "-" if year < 0 else ""
    return f"{sign}{abs(year):04d}-{'12-31T23:59:59' if end else '01-01T00:00:00'}Z"


def production(record: dict[str, Any], object_id: str) -> dict[str, Any] | None:
    """The Production: its time span (the date as written, and the years it covers) and the maker."""
    date, creator = record.get("date") or {}, record.get("creator") or {}
    if not date and not creator:
        return None
    made: dict[str, Any] = {"id": f"{object_id}#production", "type": "Production"}
    if date:
        span: dict[str, Any] = {"id": f"{object_id}#production-timespan", "type": "TimeSpan",
                                "identified_by": [{"type": "Name", "content": value, "language": [language(tag)]}
                                                  for tag, value in date.items() if value]}
        years = year_span(next(iter(date.values())))
        if years is not None:
            span["begin_of_the_begin"] = _iso_year(years[0], end=False)
            span["end_of_the_end"] = _iso_year(years[1], end=True)
        made["timespan"] = span
    if creator:
        made["referred_to_by"] = _statements(creator, PRODUCTION_STATEMENT)
    return made


def _rights(uri: str) -> list[dict[str, Any]]:
    if not uri:
        return []
    return [{"type": "Right", "classified_as": [{"id": iiif_rights(uri) or uri, "type": "Type"}]}]


def human_made_object(source: ExportInput, artifact: dict[str, Any]) -> dict[str, Any]:
    urls = source.urls
    object_id = urls.linked_art(artifact["id"])
    record = artifact.get("record") or {}
    titles = title_of(artifact) or {source.languages[0]: artifact["id"]}
    identified_by: list[dict[str, Any]] = [
        {"type": "Name", "content": value, "language": [language(tag)], "classified_as": [dict(PREFERRED_TITLE)]}
        for tag, value in titles.items() if value]
    if record.get("accession"):
        identified_by.append({"type": "Identifier", "content": record["accession"],
                              "classified_as": [dict(ACCESSION_NUMBER)]})
    referred_to_by = [
        *_statements(record.get("description"), {**DESCRIPTION, "classified_as": [dict(BRIEF_TEXT)]}),
        *_statements(record.get("credit"), CREDIT_LINE),
        *_statements(record.get("material"), MATERIAL_STATEMENT),
        *_statements(record.get("dimensions"), DIMENSIONS_STATEMENT),
        *_statements(record.get("culture"), CULTURE_STATEMENT),
    ]
    rights = record.get("rights") or source.data["exhibit"].get("rights", "")
    visual: dict[str, Any] = {"id": f"{object_id}#visual", "type": "VisualItem",
                              "_label": f"Visual content of {artifact['id']}"}
    if rights:
        visual["subject_to"] = _rights(rights)
    out: dict[str, Any] = {
        "@context": LINKED_ART_CONTEXT,
        "id": object_id,
        "type": "HumanMadeObject",
        "_label": next(iter(titles.values())),
        "classified_as": [dict(WORK_OF_ART)],
        "identified_by": identified_by,
    }
    if referred_to_by:
        out["referred_to_by"] = referred_to_by
    made = production(record, object_id)
    if made is not None:
        out["produced_by"] = made
    out["shows"] = [visual]
    glb = source.models.get(artifact["id"])
    if glb is not None:
        out["representation"] = [{
            "id": f"{object_id}#model", "type": "VisualItem", "_label": f"3D model of {artifact['id']}",
            "digitally_shown_by": [{"id": f"{object_id}#model-file", "type": "DigitalObject", "_label": "glTF binary",
                                    "classified_as": [dict(THREE_D_MODEL)], "format": "model/gltf-binary",
                                    "access_point": [{"id": urls.file(glb), "type": "DigitalObject"}],
                                    **({"subject_to": _rights(rights)} if rights else {})}],
        }]
    out["subject_of"] = [
        {"id": f"{object_id}#page", "type": "LinguisticObject", "_label": "Text page",
         "digitally_carried_by": [{"id": f"{object_id}#page-file", "type": "DigitalObject",
                                   "classified_as": [dict(WEB_PAGE)], "format": "text/html",
                                   "access_point": [{"id": urls.page(artifact["id"]), "type": "DigitalObject"}]}]},
        {"id": f"{object_id}#iiif", "type": "LinguisticObject", "_label": "IIIF Manifest",
         "digitally_carried_by": [{"id": f"{object_id}#iiif-file", "type": "DigitalObject",
                                   "format": 'application/ld+json;profile="http://iiif.io/api/presentation/4/context.json"',
                                   "conforms_to": [{"id": "http://iiif.io/api/presentation", "type": "InformationObject"}],
                                   "access_point": [{"id": urls.object_manifest(artifact["id"]),
                                                     "type": "DigitalObject"}]}]},
    ]
    return out


def documents(source: ExportInput) -> dict[str, Any]:
    """Relative path → Linked Art document, one per artifact (placed or not)."""
    return {f"data/objects/{a['id']}.json": human_made_object(source, a) for a in source.artifacts()}
