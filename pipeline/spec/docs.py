"""Read the model's documentation (class docstrings and the string under each field) for the schema and the reference."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from pipeline.spec import model

# The order in which the reference presents the language: from the top of a file down to the details.
CLASSES: tuple[type, ...] = (
    model.Exhibit, model.ExhibitInfo, model.Room, model.Surface, model.Door, model.Lighting, model.Start,
    model.Artifact, model.Place, model.Plinth, model.Vitrine, model.Frame, model.Record, model.Annotation,
    model.AudioTrack, model.Tour, model.Stop, model.View, model.Museum, model.Case,
)


@dataclass(frozen=True)
class FieldDoc:
    """One YAML key of one mapping: its name, type hint, default, loader rules and documentation."""

    name: str
    hint: Any
    default: Any  # dataclasses.MISSING when there is none
    rules: dict[str, Any]
    doc: str

    @property
    def required(self) -> bool:
        return bool(self.rules.get("required"))


@cache
def _attribute_docs() -> dict[str, dict[str, str]]:
    """class name → field name → the string literal that follows the field in model.py."""
    tree = ast.parse(inspect.getsource(model))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        body = node.body
        for current, following in zip(body, body[1:], strict=False):
            if (isinstance(current, ast.AnnAssign) and isinstance(current.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                fields[current.target.id] = inspect.cleandoc(following.value.value)
        docs[node.name] = fields
    return docs


def class_doc(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or "")


def field_docs(cls: type) -> Iterator[FieldDoc]:
    """The documented fields of a model class, in declaration order."""
    hints = typing.get_type_hints(cls, vars(model))
    docs = _attribute_docs().get(cls.__name__, {})
    for spec_field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if spec_field.default is not dataclasses.MISSING:
            default = spec_field.default
        elif spec_field.default_factory is not dataclasses.MISSING:
            default = spec_field.default_factory()
        else:
            default = dataclasses.MISSING
        yield FieldDoc(spec_field.name, hints[spec_field.name], default, dict(spec_field.metadata),
                       docs.get(spec_field.name, ""))


def undocumented() -> list[str]:
    """Fields that have no documentation string (a test keeps this empty)."""
    return [f"{cls.__name__}.{f.name}" for cls in CLASSES for f in field_docs(cls) if not f.doc]
