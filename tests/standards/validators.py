"""The standards' own validators over committed copies: IIIF v4 and Voyager JSON Schemas, and pyld for Linked Art."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

HERE = Path(__file__).resolve().parent
IIIF_SCHEMAS = HERE / "schemas" / "iiif-v4"
VOYAGER_SCHEMAS = HERE / "schemas" / "voyager"
LINKED_ART_CONTEXT_FILE = HERE / "linked-art" / "linked-art.json"
IIIF_BASE = "https://iiif.io/api/presentation/4.0/schema"
VOYAGER_BASE = "https://schemas.3d.si.edu/voyager"
# Four files are referred to with a capital letter that their names lack (agent.json as Agent.json, …): the
# validator's authors work on case-insensitive file systems. Registering both spellings is the only change.
IIIF_CASE_ALIASES = {"agent.json": "Agent.json", "audiance.json": "Audiance.json", "metadata.json": "Metadata.json",
                     "service.json": "Service.json"}
# Keys whose values point at other resources; the IIIF validator's duplicate-id check does not descend into them.
IIIF_REFERENCE_KEYS = ("target", "lookAt", "range", "structures", "first", "last", "start", "source", "body", "scope")


@cache
def iiif_validator() -> Draft202012Validator:
    """presentation-validator's v4 check: main.json with every schema of the folder registered by its URI."""
    resources = []
    for path in sorted(IIIF_SCHEMAS.glob("*.json")):
        resource = Resource.from_contents(json.loads(path.read_text(encoding="utf-8")),
                                          default_specification=DRAFT202012)
        resources.append((f"{IIIF_BASE}/{path.name}", resource))
        if path.name in IIIF_CASE_ALIASES:
            resources.append((f"{IIIF_BASE}/{IIIF_CASE_ALIASES[path.name]}", resource))
    registry = Registry().with_resources(resources)
    main = json.loads((IIIF_SCHEMAS / "main.json").read_text(encoding="utf-8"))
    return Draft202012Validator(main, registry=registry)


def items(node: Any, opaque: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a JSON document, depth first; values under an `opaque` key are not entered."""
    if isinstance(node, list):
        for item in node:
            yield from items(item, opaque)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            if key not in opaque:
                yield from items(value, opaque)


def duplicate_ids(document: Any) -> list[str]:
    """The ids used twice, as presentation-validator's unique_ids check finds them."""
    seen: set[str] = set()
    duplicates: list[str] = []
    for key, value in items(document, IIIF_REFERENCE_KEYS):
        if key == "id":
            if value in seen:
                duplicates.append(value)
            seen.add(value)
    return duplicates


def iiif_errors(document: Any) -> list[str]:
    """Every schema error and duplicate id in a IIIF document, as readable lines (empty when it validates)."""
    errors = [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
              for error in iiif_validator().iter_errors(document)]
    return errors + [f"duplicate id {value}" for value in duplicate_ids(document)]


@cache
def voyager_validator() -> Draft7Validator:
    resources = []
    for path in sorted(VOYAGER_SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((f"{VOYAGER_BASE}/{path.name}", Resource.from_contents(contents, default_specification=DRAFT7)))
    registry = Registry().with_resources(resources)
    document = json.loads((VOYAGER_SCHEMAS / "document.schema.json").read_text(encoding="utf-8"))
    return Draft7Validator(document, registry=registry)


def voyager_errors(document: Any) -> list[str]:
    return [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
            for error in voyager_validator().iter_errors(document)]


def _offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's document loader, serving only the committed Linked Art context: the tests never use the network."""
    if url.rstrip("/") not in ("https://linked.art/ns/v1/linked-art.json", "http://linked.art/ns/v1/linked-art.json"):
        raise AssertionError(f"pyld asked for {url}, which is not committed under tests/standards")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
            "document": json.loads(LINKED_ART_CONTEXT_FILE.read_text(encoding="utf-8"))}


def expand_linked_art(document: Any) -> list[Any]:
    """The document expanded with pyld against the committed Linked Art context."""
    from pyld import jsonld

    return jsonld.expand(document, {"documentLoader": _offline_loader})


def compact_keys(document: Any) -> set[str]:
    """Every key used anywhere in a compact JSON-LD document, except @context."""
    return {key for key, _ in items(document, ("@context",)) if key != "@context"}


def dropped_terms(document: Any) -> list[str]:
    """Keys of the document that JSON-LD expansion drops because the context does not define them.

    Expansion drops an undefined key without a word, so each key is expanded alone on a probe node: a defined
    term comes back as an IRI (or as @type for `type`), a dropped one leaves the probe empty.
    """
    context = document["@context"]
    dropped = []
    for key in sorted(compact_keys(document) - {"id"}):
        value: Any = "Type" if key == "type" else {"id": "urn:vitrina:probe-value"}
        probe = expand_linked_art({"@context": context, "id": "urn:vitrina:probe", key: value})
        if not probe or set(probe[0]) <= {"@id"}:
            dropped.append(key)
    return dropped
