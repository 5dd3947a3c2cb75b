"""Open heritage data out of every build: IIIF Presentation 4, Linked Art, schema.org and Voyager SVX writers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.standards.common import Urls, normalize_base_url

EXPORT_FOLDERS = ("iiif", "data", "svx")


@dataclass(frozen=True)
class ExportInput:
    """What the writers read: the built exhibit.json data plus the two facts it does not carry."""

    data: dict[str, Any]
    """exhibit.json as built (its `files` list may still be empty)."""
    base_url: str
    """The exhibit folder's public URL; every id is made absolute with it."""
    yaw: dict[str, float] = field(default_factory=dict)
    """Artifact id → the turn of the artifact about +y in degrees, counter-clockwise seen from above."""
    models: dict[str, str] = field(default_factory=dict)
    """Artifact id → a GLB of the model, relative path: in its own frame (base centre at the origin, unturned)…"""
    placed_models: frozenset[str] = frozenset()
    """…except for these ids, whose GLB carries the artifact's world placement (the ladder's level GLBs do)."""
    pictures: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Image artifact id → {"src": file relative to the exhibit folder, "pixels": [w, h], "size": [w, h] metres}."""

    def own_frame(self, artifact: dict[str, Any]) -> list[dict[str, Any]]:
        """IIIF transforms that bring the artifact's GLB into its own frame: none when it is written there, else the
        placement undone (a translation back to the origin, then the turn taken off)."""
        if artifact["id"] not in self.placed_models:
            return []
        x, y, z = (round(-float(v), 6) + 0.0 for v in artifact["position"])
        turn = round(-self.yaw.get(artifact["id"], 0.0), 6) + 0.0
        return [{"type": "TranslateTransform", "x": x, "y": y, "z": z},
                {"type": "RotateTransform", "x": 0.0, "y": turn, "z": 0.0}]

    @property
    def urls(self) -> Urls:
        return Urls(normalize_base_url(self.base_url))

    @property
    def languages(self) -> list[str]:
        return list(self.data["exhibit"]["languages"])

    def artifacts(self) -> list[dict[str, Any]]:
        """Every artifact, placed ones (in spec order) first and then those not placed yet."""
        return [*self.data.get("artifacts", []), *self.data.get("unplaced", [])]


def dumps(document: Any) -> str:
    """Stable JSON text: the same export gives the same bytes."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_exports(folder: Path, source: ExportInput) -> list[str]:
    """Write every standards export into the exhibit folder; returns the paths written, relative to it."""
    from pipeline.standards import iiif, linked_art, voyager

    documents: dict[str, Any] = {}
    documents.update(iiif.documents(source))
    documents.update(linked_art.documents(source))
    documents.update(voyager.documents(source))
    for relative, document in documents.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dumps(document), encoding="utf-8")
    return sorted(documents)
