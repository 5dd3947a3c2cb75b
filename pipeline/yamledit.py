"""The only ruamel.yaml importer: round-trip YAML editing that keeps comments, key order and flow style."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
except ImportError as error:  # a clear message instead of a bare ModuleNotFoundError mid-import
    raise ImportError("editing exhibit YAML needs ruamel.yaml: pip install vitrina") from error

__all__ = ["CommentedMap", "CommentedSeq", "dump", "load", "load_file", "mapping"]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")  # round trip: comments, order and flow style survive a load and dump
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a designer's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text: str) -> Any:
    """A YAML document as round-trip data (CommentedMap / CommentedSeq), or None for an empty one."""
    return _yaml().load(text)


def load_file(path: Path) -> Any:
    return load(path.read_text(encoding="utf-8"))


def dump(data: Any) -> str:
    """Round-trip data back to YAML text."""
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def mapping(items: dict[str, Any] | None = None, flow: bool = False) -> CommentedMap:
    """A new mapping for round-trip data; `flow` writes it on one line ({a: 1, b: 2})."""
    made = CommentedMap(items or {})
    if flow:
        made.fa.set_flow_style()
    return made
