"""Smithsonian Voyager writer: one SVX scene document per model artifact (svx/<id>/scene.svx.json)."""

from __future__ import annotations

import math
from typing import Any

from pipeline import __version__
from pipeline.scene import rotate_yaw, yaw_quaternion
from pipeline.spec.exports import iiif_rights, voyager_language
from pipeline.standards import ExportInput
from pipeline.standards.common import title_of

SVX_VERSION = "1.0"
QUALITY_OF_LEVEL = {"thumb": "Thumb", "low": "Low", "medium": "Medium", "high": "High", "full": "Highest"}


def _texts(text: dict[str, str] | None) -> dict[str, str]:
    """A language map keyed by Voyager's language keys; languages Voyager has no key for are left out."""
    out: dict[str, str] = {}
    for tag, value in (text or {}).items():
        key = voyager_language(tag)
        if key is not None and value and key not in out:
            out[key] = value
    return out


def _first(text: dict[str, str], fallback: str) -> str:
    return next(iter(text.values()), fallback)


def _derivatives(source: ExportInput, artifact: dict[str, Any], glb: str) -> list[dict[str, Any]]:
    """Every level the build wrote for the model (coarse to fine), or the one GLB the export names."""
    base = "../../"  # svx/<id>/ → the exhibit folder; Voyager resolves asset URIs against the document
    levels = [level for level in artifact.get("levels") or [] if level.get("glb")]
    if not levels:
        levels = [{"name": "high", "glb": glb}]
    out = []
    for level in levels:
        asset: dict[str, Any] = {"uri": base + level["glb"], "type": "Model", "mimeType": "model/gltf-binary"}
        if level.get("bytes"):
            asset["byteSize"] = int(level["bytes"])
        if level.get("triangles"):
            asset["numFaces"] = int(level["triangles"])
        out.append({"usage": "Web3D", "quality": QUALITY_OF_LEVEL.get(level["name"], "High"), "assets": [asset]})
    return out


def scene_document(source: ExportInput, artifact: dict[str, Any], glb: str) -> dict[str, Any]:
    """The SVX document: one node with the model, a camera and lights, the record, annotations, audio and a tour."""
    record = artifact.get("record") or {}
    languages = [key for key in (voyager_language(tag) for tag in source.languages) if key]
    yaw = source.yaw.get(artifact["id"], 0.0)
    base = artifact.get("position") or [0.0, 0.0, 0.0]
    low, high = artifact["bounds"]["min"], artifact["bounds"]["max"]
    size = [h - lo for lo, h in zip(low, high, strict=True)]
    annotations = []
    for note in artifact.get("annotations", []):
        offset = [p - b for p, b in zip(note["position"], base, strict=True)]
        own = [round(v, 6) + 0.0 for v in rotate_yaw(offset, -yaw)]
        entry: dict[str, Any] = {"id": note["id"], "titles": _texts(note["title"]), "leads": _texts(note["text"]),
                                 "position": own, "direction": [0.0, 0.0, 1.0], "visible": True}
        entry["title"] = _first(entry["titles"], note["id"])
        annotations.append(entry)
    titles = _texts(title_of(artifact)) or {languages[0] if languages else "EN": artifact["id"]}
    audio = []
    for tag, track in sorted((artifact.get("audio") or {}).items()):
        key = voyager_language(tag)
        if key is None:
            continue
        clip: dict[str, Any] = {"id": f"audio-{tag}", "name": f"{artifact['id']} ({tag})",
                                "uris": {key: "../../" + track["src"]}}
        if track.get("captions"):
            clip["captionUris"] = {key: "../../" + track["captions"]}
        audio.append(clip)
    collection = {
        "id": artifact["id"],
        "titles": titles,
        "title": _first(titles, artifact["id"]),
        "accession": record.get("accession", ""),
        "rights": iiif_rights(record.get("rights") or "") or record.get("rights") or "",
    }
    for name in ("creator", "date", "culture", "material", "dimensions", "credit", "description"):
        kept = _texts(record.get(name))
        if kept:
            collection[name] = kept
    meta: dict[str, Any] = {
        "collection": collection,
        "articles": [{"id": "record", "titles": titles, "title": _first(titles, artifact["id"]),
                      "uri": f"../../objects/{artifact['id']}.html", "mimeType": "text/html"}],
        "leadArticle": 0,
    }
    if audio:
        meta["audio"] = audio
    distance = max(max(size), 0.1) * 2.0
    steps = [{"id": "overview", "titles": titles, "title": _first(titles, artifact["id"])}]
    steps += [{"id": note["id"], "titles": note["titles"], "title": note["title"]} for note in annotations]
    tour = {"titles": {key: value for key, value in titles.items()}, "title": _first(titles, artifact["id"]),
            "steps": steps}
    setup: dict[str, Any] = {
        "units": "m",
        "interface": {"visible": True, "logo": True, "menu": True, "tools": True},
        "viewer": {"shader": "Default", "exposure": 1.0, "gamma": 2.2, "annotationsVisible": True},
        "navigation": {"type": "Orbit", "enabled": True, "autoZoom": True,
                       "orbit": {"orbit": [-10.0, 0.0, 0.0], "offset": [0.0, round(size[1] / 2, 6),
                                                                         round(distance, 6)],
                                 "minOffset": [0.0, 0.0, 0.01], "maxOffset": [0.0, 0.0, round(distance * 10, 6)]}},
        "language": {"language": languages[0] if languages else "EN"},
        "tours": [tour],
    }
    model: dict[str, Any] = {
        "units": "m", "derivatives": _derivatives(source, artifact, glb),
        "boundingBox": {"min": [round(-size[0] / 2, 6) + 0.0, 0.0, round(-size[2] / 2, 6) + 0.0],
                        "max": [round(size[0] / 2, 6), round(size[1], 6), round(size[2] / 2, 6)]},
    }
    if artifact["id"] in source.placed_models:
        # The GLB carries the world placement; Voyager poses a model by rotation, then translation: undo both.
        model["rotation"] = [round(v, 6) + 0.0 for v in yaw_quaternion(-yaw)]
        model["translation"] = [round(v, 6) + 0.0 for v in rotate_yaw([-float(b) for b in base], -yaw)]
    if annotations:
        model["annotations"] = annotations
    return {
        "asset": {"type": "application/si-dpo-3d.document+json", "version": SVX_VERSION,
                  "generator": f"Vitrina {__version__}",
                  "copyright": _first(_texts(record.get("credit")), "") or collection["rights"]},
        "scene": 0,
        "scenes": [{"nodes": [0, 1, 2, 3], "setup": 0, "meta": 0, "units": "m"}],
        "nodes": [
            {"name": "Camera", "camera": 0, "translation": [0.0, round(size[1] / 2, 6), round(distance, 6)]},
            {"name": "Ambient", "light": 0},
            {"name": "Key", "light": 1, "rotation": _pitch_quaternion(-45.0)},
            {"name": artifact["id"], "model": 0},
        ],
        "metas": [meta],
        "setups": [setup],
        "cameras": [{"type": "perspective", "perspective": {"yfov": round(math.radians(50), 6), "znear": 0.01,
                                                            "zfar": 1000.0}}],
        "lights": [{"type": "ambient", "color": [1.0, 1.0, 1.0], "intensity": 0.6},
                   {"type": "directional", "color": [1.0, 1.0, 1.0], "intensity": 1.0}],
        "models": [model],
    }


def _pitch_quaternion(degrees: float) -> list[float]:
    half = math.radians(degrees) / 2
    return [round(math.sin(half), 6), 0.0, 0.0, round(math.cos(half), 6)]


def documents(source: ExportInput) -> dict[str, Any]:
    """Relative path → SVX document, one per placed model artifact (Voyager shows models only)."""
    out: dict[str, Any] = {}
    for artifact in source.data.get("artifacts", []):
        glb = source.models.get(artifact["id"])
        if glb is not None and artifact.get("kind") == "model":
            out[f"svx/{artifact['id']}/scene.svx.json"] = scene_document(source, artifact, glb)
    return out
