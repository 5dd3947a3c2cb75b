"""schema.org JSON-LD for the site's pages: a VisualArtwork (with its 3DModel) per object, an ExhibitionEvent per exhibit."""

from __future__ import annotations

from typing import Any

from pipeline.standards.common import normalize_base_url, title_of

CONTEXT = "https://schema.org"


def _in(text: dict[str, str] | None, language: str) -> str:
    text = dict(text or {})
    return text.get(language) or next((v for v in text.values() if v), "")


def _absolute(base: str, relative: str, up: str = "") -> str:
    # Without a base_url the URLs stay relative (`up` climbs from the page to the exhibit folder): JSON-LD resolves
    # them against the page, as search engines do.
    return base + relative if base else up + relative


def object_jsonld(data: dict[str, Any], artifact: dict[str, Any], base: str, models: dict[str, str]) -> dict[str, Any]:
    """One object page's VisualArtwork; a model artifact also gets a 3DModel whose contentUrl is its GLB."""
    language = data["exhibit"]["default_language"]
    record = artifact.get("record") or {}
    artwork: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "VisualArtwork",
        "@id": _absolute(base, f"objects/{artifact['id']}.html#object", "../"),
        "name": _in(title_of(artifact), language) or artifact["id"],
        "url": _absolute(base, f"objects/{artifact['id']}.html", "../"),
        "inLanguage": list(data["exhibit"]["languages"]),
    }
    translations = {tag: value for tag, value in (title_of(artifact)).items() if tag != language and value}
    if translations:
        artwork["alternateName"] = [{"@language": tag, "@value": value} for tag, value in translations.items()]
    for field, key in (("description", "description"), ("date", "dateCreated"), ("material", "artMedium"),
                       ("creator", "creator"), ("dimensions", "size"), ("credit", "creditText"),
                       ("culture", "locationCreated")):
        value = _in(record.get(field), language)
        if value:
            artwork[key] = {"@type": "Person", "name": value} if key == "creator" else value
    if record.get("accession"):
        artwork["identifier"] = {"@type": "PropertyValue", "propertyID": "accession number",
                                 "value": record["accession"]}
    rights = record.get("rights") or data["exhibit"].get("rights")
    if rights:
        artwork["license"] = rights
    glb = models.get(artifact["id"])
    if glb is not None:
        artwork["associatedMedia"] = {"@type": "3DModel", "name": artwork["name"], "encodingFormat": "model/gltf-binary",
                                      "contentUrl": _absolute(base, glb, "../")}
        if rights:
            artwork["associatedMedia"]["license"] = rights
    if base:
        artwork["sameAs"] = [base + f"data/objects/{artifact['id']}.json", base + f"iiif/objects/{artifact['id']}.json"]
    return artwork


def exhibition_jsonld(data: dict[str, Any], base: str) -> dict[str, Any]:
    """The exhibit page's ExhibitionEvent: an online event whose works are the exhibit's objects."""
    info = data["exhibit"]
    language = info["default_language"]
    event: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "ExhibitionEvent",
        "name": _in(info["title"], language) or info["id"],
        "url": _absolute(base, "index.html"),
        "inLanguage": list(info["languages"]),
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "location": {"@type": "VirtualLocation", "url": _absolute(base, "index.html")},
        "workFeatured": [{"@type": "VisualArtwork", "@id": _absolute(base, f"objects/{a['id']}.html#object"),
                          "name": _in(title_of(a), language) or a["id"]}
                         for a in [*data.get("artifacts", []), *data.get("unplaced", [])]],
    }
    if info.get("description"):
        event["description"] = _in(info["description"], language)
    if info.get("rights"):
        event["license"] = info["rights"]
    return event


def site_jsonld(data: dict[str, Any], base_url: str, models: dict[str, str]) -> dict[str, Any]:
    """{"exhibit": ExhibitionEvent, "objects": {artifact id: VisualArtwork}} for pipeline.site to embed."""
    base = normalize_base_url(base_url) if base_url else ""
    artifacts = [*data.get("artifacts", []), *data.get("unplaced", [])]
    return {"exhibit": exhibition_jsonld(data, base),
            "objects": {a["id"]: object_jsonld(data, a, base, models) for a in artifacts}}
