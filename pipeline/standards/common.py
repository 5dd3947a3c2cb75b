"""What every standards writer shares: the URLs of the exports, language maps, rights URIs and geometry helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IIIF_CONTEXT = "http://iiif.io/api/presentation/4/context.json"
LINKED_ART_CONTEXT = "https://linked.art/ns/v1/linked-art.json"
MEDIA_TYPES = {".glb": "model/gltf-binary", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav",
               ".m4a": "audio/mp4", ".vtt": "text/vtt", ".png": "image/png", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".webp": "image/webp"}

def normalize_base_url(base_url: str) -> str:
    """The exhibit folder's public URL, ending in exactly one slash."""
    return base_url.rstrip("/") + "/"


@dataclass(frozen=True)
class Urls:
    """Where each export lives under the exhibit's public folder, and the ids of the resources inside them.

    Resources embedded in a document (scenes, annotations, tours) are named by a fragment of that document's URL,
    so every id dereferences to the file that describes it.
    """

    base: str

    def file(self, relative: str) -> str:
        return self.base + relative

    @property
    def manifest(self) -> str:
        return self.file("iiif/exhibit.json")

    @property
    def collection(self) -> str:
        return self.file("iiif/collection.json")

    def object_manifest(self, artifact_id: str) -> str:
        return self.file(f"iiif/objects/{artifact_id}.json")

    def linked_art(self, artifact_id: str) -> str:
        return self.file(f"data/objects/{artifact_id}.json")

    def svx(self, artifact_id: str) -> str:
        return self.file(f"svx/{artifact_id}/scene.svx.json")

    def page(self, artifact_id: str) -> str:
        return self.file(f"objects/{artifact_id}.html")

    def exhibit_page(self) -> str:
        return self.file("index.html")

    def part(self, document: str, *path: str) -> str:
        return f"{document}#{'/'.join(path)}"


def language_map(text: Mapping[str, str] | None, fallback: str | None = None) -> dict[str, list[str]]:
    """A Vitrina language map as a IIIF one ({"en": ["…"]}); `fallback` (language-less) when the map is empty."""
    out = {str(language): [str(value)] for language, value in dict(text or {}).items() if value}
    if not out and fallback:
        out = {"none": [fallback]}
    return out


def title_of(artifact: Mapping[str, Any]) -> dict[str, str]:
    """An artifact's title per language: its record title, else its alt text, else its id."""
    record = artifact.get("record") or {}
    for text in (record.get("title"), artifact.get("alt")):
        if text:
            return dict(text)
    return {}


def point(values: Sequence[float], **extra: Any) -> dict[str, Any]:
    """A IIIF PointSelector at [x, y, z] metres."""
    x, y, z = (round(float(v), 6) + 0.0 for v in values)
    return {**extra, "type": "PointSelector", "x": x, "y": y, "z": z}


def media_type(path: str) -> str:
    suffix = path[path.rfind("."):].lower() if "." in path else ""
    return MEDIA_TYPES.get(suffix, "application/octet-stream")
