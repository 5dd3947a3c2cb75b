"""exhibit.json writer: the versioned contract (docs/manifest.md) that the viewer and the tour server read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.source_facts import file_digest
from pipeline.spec.model import Artifact, Exhibit, Museum, Room

if TYPE_CHECKING:
    from pipeline.compose import ArtifactPlacement, ComposedRoom, Composition

SCHEMA_VERSION = 2
GENERATOR = f"vitrina {__version__}"
MANIFEST_NAME = "exhibit.json"
REPORT_FILES = ("report.json", "report.html")  # build logs with timings: not listed, not part of determinism

MEDIA_TYPES = {
    ".glb": "model/gltf-binary", ".html": "text/html", ".json": "application/json", ".vtt": "text/vtt",
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".js": "text/javascript",
    ".css": "text/css", ".svg": "image/svg+xml", ".usdz": "model/vnd.usdz+zip",
}


@dataclass
class RoomOutput:
    """What the build wrote for one room: its GLB (path relative to the exhibit folder), LODs and measured stats."""

    glb: str
    stats: dict[str, int]
    lod: list[dict[str, Any]] = field(default_factory=list)


def text(value: Any) -> dict[str, str]:
    """A language map as plain JSON (empty strings dropped)."""
    return {str(k): str(v) for k, v in dict(value or {}).items() if v}


def exhibit_section(exhibit: Exhibit) -> dict[str, Any]:
    info = exhibit.exhibit
    return {
        "id": info.id,
        "title": text(info.title),
        "description": text(info.description),
        "languages": list(info.languages),
        "default_language": info.languages[0],
        "base_url": info.base_url,
        "rights": info.rights,
        "credits": [text(c) for c in info.credits],
        "targets": list(info.targets),
        **({"museum": museum_section(info.museum)} if info.museum is not None else {}),
    }


def museum_section(museum: Museum) -> dict[str, Any]:
    """The museum's identity; `logo` is filled in by the build once the file is copied into the site."""
    return {"name": text(museum.name), "footer": text(museum.footer), "url": museum.url, "logo": None}


def room_entry(room: ComposedRoom, spec_room: Room, output: RoomOutput) -> dict[str, Any]:
    frame = room.frame
    entry: dict[str, Any] = {
        "id": room.id,
        "name": text(spec_room.name),
        "size": [float(frame.width), float(frame.depth), float(frame.height)],
        "bounds": {"min": _vec(frame.low), "max": _vec(frame.high)},
        "glb": output.glb,
        "lod": output.lod,
        "doors": [{"to": d.to, "wall": d.wall, "position": _vec(d.centre), "width": float(d.width),
                   "height": float(d.height)} for d in room.doors],
        "floor_y": 0.0,
        "lighting": {"ambient": float(spec_room.lighting.ambient), "color": spec_room.lighting.color},
        "stats": dict(output.stats),
        # Cases holding several objects (rooms[].cases), for the visitor's floor plan.
        "cases": [{"id": case.id, "position": _vec((frame.origin[0] + frame.width / 2 + case.at[0], 0.0,
                                                    frame.origin[1] + frame.depth / 2 + case.at[1])),
                   "size": [float(v) for v in case.size], "rotate": float(case.rotate)} for case in spec_room.cases],
    }
    return entry


def artifact_entry(artifact: Artifact, placement: ArtifactPlacement, audio: dict[str, dict[str, str]],
                   record: dict[str, Any], levels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": artifact.id,
        "kind": placement.kind,
        "room": placement.room,
        "node": artifact.id,
        "position": _vec(placement.position),
        "bounds": {"min": _vec(placement.bounds[0]), "max": _vec(placement.bounds[1])},
        "view": placement.view,
        "record": record,
        "alt": text(artifact.alt),
        "annotations": [
            {"id": a.id, "key": f"{artifact.id}/{a.id}", "position": _vec(placement.annotations[a.id]),
             "title": text(a.title), "text": text(a.text)}
            for a in artifact.annotations
        ],
        "audio": audio,
        "page": f"objects/{artifact.id}.html",
    }
    if placement.kind == "panel":
        entry["text"] = text(artifact.text)
    if levels is not None:
        entry["levels"] = levels  # coarse to fine (docs/manifest.md)
    return entry


def budgets_section(exhibit: Exhibit) -> dict[str, dict[str, int]]:
    """Each target's profile: what the viewer may load at once on that class of device."""
    from pipeline.budgets import PROFILES

    return {target: {"triangles": PROFILES[target].triangles,
                     "gpu_texture_bytes": PROFILES[target].texture_bytes_gpu,
                     "max_texture": PROFILES[target].max_texture_size,
                     "draw_calls": PROFILES[target].draw_calls}
            for target in exhibit.exhibit.targets}


def unplaced_entry(artifact: Artifact, record: dict[str, Any]) -> dict[str, Any]:
    """An artifact not placed yet: in the catalogue (with its text page), in no room and in no GLB."""
    kind = artifact.kind if artifact.model or artifact.image or artifact.text else "record"
    return {"id": artifact.id, "kind": kind, "record": record, "alt": text(artifact.alt),
            "page": f"objects/{artifact.id}.html"}


def tours_section(exhibit: Exhibit, composition: Composition,
                  stop_audio: dict[tuple[str, int], dict[str, dict[str, str]]]) -> list[dict[str, Any]]:
    tours = []
    for tour in exhibit.tours:
        stops = []
        for index, stop in enumerate(tour.stops):
            placement = composition.artifacts[stop.artifact_id]
            entry: dict[str, Any] = {
                "index": index,
                "artifact": stop.artifact_id,
                "annotation": stop.annotation,
                "room": placement.room,
                "say": text(stop.say),
                "view": composition.stop_views[(tour.id, index)],
            }
            audio = stop_audio.get((tour.id, index))
            if audio:
                entry["audio"] = audio
            stops.append(entry)
        tours.append({"id": tour.id, "title": text(tour.title), "description": text(tour.description),
                      "stops": stops})
    return tours


def build_manifest(exhibit: Exhibit, composition: Composition, rooms: dict[str, RoomOutput],
                   artifact_audio: dict[str, dict[str, dict[str, str]]],
                   stop_audio: dict[tuple[str, int], dict[str, dict[str, str]]],
                   records: dict[str, dict[str, Any]],
                   levels: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The manifest without its `files` list (that is added once every file of the exhibit is written).

    `levels` holds each model artifact's ladder entries (pipeline.build.write_ladders)."""
    levels = levels or {}
    spec_rooms = {room.id: room for room in exhibit.rooms}
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": GENERATOR,
        "exhibit": exhibit_section(exhibit),
        "budgets": budgets_section(exhibit),
        "start": composition.start,
        "rooms": [room_entry(room, spec_rooms[room.id], rooms[room.id]) for room in composition.rooms],
        "artifacts": [artifact_entry(a, composition.artifacts[a.id], artifact_audio.get(a.id, {}), records[a.id],
                                     levels.get(a.id)) for a in exhibit.artifacts if a.place is not None],
        "unplaced": [unplaced_entry(a, records[a.id]) for a in exhibit.artifacts if a.place is None],
        "tours": tours_section(exhibit, composition, stop_audio),
        "files": [],
        "report": REPORT_FILES[0],
    }


def file_entries(folder: Path, digests: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every file under the exhibit folder except the manifest itself and the build report, sorted by path.

    `digests` holds the sha256 of files the build hashed as it wrote them (relative path → hex)."""
    digests = digests or {}
    entries = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or relative == MANIFEST_NAME or relative in REPORT_FILES:
            continue
        entries.append({"path": relative, "bytes": path.stat().st_size, "sha256": digests.get(relative) or file_digest(path),
                        "type": MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")})
    return entries


def dumps(manifest: dict[str, Any]) -> str:
    """Stable JSON text: same manifest, same bytes (key order is the order the writer built)."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_manifest(folder: Path, manifest: dict[str, Any], digests: dict[str, str] | None = None) -> Path:
    """Fill in `files` from what is in the folder now, and write folder/exhibit.json."""
    manifest["files"] = file_entries(folder, digests)
    path = folder / MANIFEST_NAME
    path.write_text(dumps(manifest), encoding="utf-8")
    return path


def _vec(values: Any) -> list[float]:
    return [round(float(v), 6) + 0.0 for v in values]
