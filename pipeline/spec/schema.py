"""The JSON Schema (draft 2020-12) of the exhibit language, derived from the model so that it cannot drift."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from pipeline.spec import model
from pipeline.spec.docs import CLASSES, class_doc, field_docs
from pipeline.spec.fields import PATTERNS
from pipeline.spec.files import KINDS

SCHEMA_ID = "https://vitrina.invalid/schema/exhibit.schema.json"


def _any_case(extension: str) -> str:
    """'.glb' → '[gG][lL][bB]': JSON Schema patterns have no case-insensitive flag."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in extension.lstrip("."))


def _asset_schema(kind: str) -> dict[str, Any]:
    extensions = "|".join(_any_case(e) for e in KINDS[kind])
    return {"type": "string", "pattern": rf"^[^/\\].*\.({extensions})$"}


def _json_default(value: Any) -> Any:
    """A default as JSON, or None when it has no useful JSON form (a nested object, a factory)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple) and all(isinstance(v, int | float | str) for v in value):
        return list(value)
    return None


def _type_schema(hint: Any, rules: Mapping[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        schemas = [_type_schema(option, rules) for option in options]
        if type(None) in args:
            is_object = any(dataclasses.is_dataclass(o) and o is not model.AssetPath for o in options)
            schemas.append({"enum": [None, False, True, "none"]} if is_object else {"type": "null"})
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if hint is str:
        kind = rules.get("kind")
        # Free text may look like a number in YAML (accession 1987.12); the loader keeps it as written.
        schema: dict[str, Any] = {"type": "string" if kind else ["string", "number"]}
        if kind in PATTERNS:
            schema["pattern"] = PATTERNS[kind]
        if kind == "uri":
            schema["format"] = "uri"
        return schema
    if hint is float:
        schema = {"type": "number"}
        if "min" in rules:
            schema["minimum"] = rules["min"]
        if "max" in rules:
            schema["maximum"] = rules["max"]
        return schema
    if hint is bool:
        return {"type": "boolean"}
    if origin is Literal:
        return {"enum": list(args)}
    if hint is model.AssetPath:
        return _asset_schema(rules["asset"])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            schema = {"type": "array", "items": _type_schema(args[0], rules)}
            if rules.get("min_items"):
                schema["minItems"] = rules["min_items"]
            return schema
        return {"type": "array", "prefixItems": [_type_schema(a, rules) for a in args], "items": False,
                "minItems": len(args), "maxItems": len(args)}
    if origin is Mapping and args == (str, str):
        return {"$ref": "#/$defs/Text"}
    if origin is Mapping and args == (str, model.AudioTrack):
        return {"$ref": "#/$defs/Audio"}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"no JSON Schema for {hint}")  # a bug in model.py, not input


def _class_schema(cls: type) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for doc in field_docs(cls):
        schema = _type_schema(doc.hint, doc.rules)
        if "$ref" in schema:
            schema = {"allOf": [schema]}  # so that description and default may sit beside the reference
        schema["description"] = doc.doc
        default = _json_default(doc.default) if doc.default is not dataclasses.MISSING else None
        if default is not None and default != "":
            schema["default"] = default
        properties[doc.name] = schema
        if doc.required:
            required.append(doc.name)
    result: dict[str, Any] = {"type": "object", "description": class_doc(cls), "properties": properties,
                              "additionalProperties": False}
    if required:
        result["required"] = required
    return result


def json_schema() -> dict[str, Any]:
    """The schema for exhibit.yaml and for the files it includes (which hold rooms, artifacts and tours only)."""
    definitions: dict[str, Any] = {cls.__name__: _class_schema(cls) for cls in CLASSES if cls is not model.Exhibit}
    file_schema = _asset_schema("audio")
    definitions["Text"] = {
        "description": "Multilingual text: a plain string (the exhibit's default language) or a mapping of "
                       "language tag to string, e.g. {zh: 青铜时代, en: The Bronze Age}.",
        "anyOf": [{"type": ["string", "number"]},
                  {"type": "object", "propertyNames": {"pattern": PATTERNS["lang"]},
                   "additionalProperties": {"type": ["string", "number"]}}],
    }
    definitions["Audio"] = {
        "description": "Audio per language with WebVTT captions: {zh: audio/x.zh.mp3, en: audio/x.en.mp3, "
                       "captions: {zh: audio/x.zh.vtt, en: audio/x.en.vtt}}.",
        "type": "object",
        "properties": {"captions": {"type": "object", "propertyNames": {"pattern": PATTERNS["lang"]},
                                    "additionalProperties": _asset_schema("captions"),
                                    "description": "Captions per language (.vtt)."}},
        "propertyNames": {"anyOf": [{"const": "captions"}, {"pattern": PATTERNS["lang"]}]},
        "additionalProperties": file_schema,
    }
    # An artifact is exactly one of a model, an image or a panel.
    # A record not placed yet may wait for its model or image: with no `place`, none of the three is required.
    definitions["Artifact"]["oneOf"] = [{"required": ["model"]}, {"required": ["image"]}, {"required": ["text"]},
                                        {"not": {"anyOf": [{"required": [key]}
                                                           for key in ("model", "image", "text", "place")]}}]
    top = _class_schema(model.Exhibit)
    # Included files hold only rooms, artifacts and tours, and editors validate them with this same schema,
    # so `exhibit` is not required here; `vitrina check` requires it in the main file.
    top.pop("required", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Vitrina exhibit",
        **top,
        "$defs": definitions,
    }
