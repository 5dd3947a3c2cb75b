"""Open heritage data out of every build: IIIF Presentation 4, Linked Art, schema.org and Voyager SVX writers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import images
from pipeline.spec.model import Artifact
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


def picture_files(artifacts: Iterable[Artifact], copy: Callable[[Path, str], str]) -> dict[str, dict[str, Any]]:
    """Each hung image's file, copied (by `copy`, which takes its path and its name in the spec and returns its path
    in the exhibit folder, converted where browsers would not show it as it is) for the IIIF export, with its pixel
    size as shown and its physical size."""
    out: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        if artifact.image is None or artifact.place is None:
            continue
        pixels = images.file_pixel_size(artifact.image.path)
        # The size compose gives the picture: as the spec says, else 1 m wide at the file's aspect ratio.
        size = artifact.size or (1.0, round(pixels[1] / pixels[0], 6))
        src = copy(artifact.image.path, artifact.image.written)
        out[artifact.id] = {"src": src, "pixels": list(pixels), "size": list(size)}
    return out


def write_standards(folder: Path, data: dict[str, Any], fronts: Mapping[str, Sequence[float]], base_url: str,
                    pictures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """With a base URL: the IIIF, Linked Art and Voyager exports (docs/standards.md). Always: the pages' schema.org
    JSON-LD, returned for the site writer. `fronts` are the placed artifacts' facing directions. Each model's file is
    its finest level, whose root node carries the artifact's placement (the exports take it off again where they
    need the object's own frame)."""
    from pipeline.standards.schema_org import site_jsonld

    models = {artifact["id"]: artifact["levels"][-1]["glb"] for artifact in data["artifacts"] if artifact.get("levels")}
    yaw = {artifact_id: math.degrees(math.atan2(front[0], front[2])) for artifact_id, front in fronts.items()}
    if base_url:
        data["exhibit"]["base_url"] = normalize_base_url(base_url)
        write_exports(folder, ExportInput(data, base_url, yaw, models, frozenset(models), pictures))
    return site_jsonld(data, base_url, models)
