"""A small built site made in test code (two rooms, three artifacts, audio with captions) for the site tests.

It follows docs/manifest.md so the viewer can be tested without the compiler; the room GLBs are plain trimesh
exports whose artifact nodes carry the artifact ids, as the compiler's do.
"""

from __future__ import annotations

import json
import math
import struct
import wave
from pathlib import Path

import numpy as np
import trimesh

from pipeline.site import write_site

EXHIBIT_ID = "fixture-hall"
BACKGROUND_HEX = "#1d2126"


def _box(size: tuple[float, float, float], centre: tuple[float, float, float], rgba: tuple[int, int, int, int]) -> trimesh.Trimesh:
    mesh = trimesh.creation.box(extents=size)
    mesh.apply_translation(centre)
    mesh.visual.face_colors = np.tile(np.array(rgba, dtype=np.uint8), (len(mesh.faces), 1))
    return mesh


def _room_glb(path: Path, room_min: tuple[float, float], room_max: tuple[float, float],
              artifacts: dict[str, trimesh.Trimesh]) -> None:
    scene = trimesh.Scene()
    (x0, z0), (x1, z1) = room_min, room_max
    floor = _box((x1 - x0, 0.02, z1 - z0), ((x0 + x1) / 2, -0.01, (z0 + z1) / 2), (120, 110, 100, 255))
    scene.add_geometry(floor, node_name="floor", geom_name="floor")
    back_wall = _box((x1 - x0, 3.0, 0.1), ((x0 + x1) / 2, 1.5, z0 - 0.05), (200, 196, 188, 255))
    scene.add_geometry(back_wall, node_name="wall-north", geom_name="wall-north")
    for name, mesh in artifacts.items():
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    path.write_bytes(scene.export(file_type="glb"))


def _tone_wav(path: Path, seconds: float = 3.0, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (int(3000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def _vtt(path: Path, cues: list[str]) -> None:
    lines = ["WEBVTT", ""]
    for index, text in enumerate(cues):
        lines += [f"00:00:{index * 1.5:06.3f} --> 00:00:{(index + 1) * 1.5:06.3f}", text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _bounds(centre: tuple[float, float, float], size: tuple[float, float, float]) -> dict:
    return {"min": [c - s / 2 for c, s in zip(centre, size, strict=True)],
            "max": [c + s / 2 for c, s in zip(centre, size, strict=True)]}


def fixture_manifest() -> dict:
    """The manifest of the fixture exhibit (GLB and media paths as make_fixture_site writes them)."""
    ding_centre, ding_size = (0.0, 1.2, -1.0), (0.6, 0.6, 0.6)
    vase_centre, vase_size = (9.0, 1.25, -1.0), (0.4, 0.7, 0.4)
    scroll_centre, scroll_size = (-3.0, 1.5, -3.94), (0.8, 1.2, 0.04)
    return {
        "schema_version": 1,
        "generator": "vitrina tests",
        "exhibit": {
            "id": EXHIBIT_ID,
            "title": {"zh": "测试大厅", "en": "Fixture hall"},
            "description": {"zh": "测试用的展览。", "en": "An exhibition made by the tests."},
            "languages": ["zh", "en"],
            "default_language": "zh",
            "rights": "https://creativecommons.org/licenses/by/4.0/",
            "credits": [{"en": "Made by the test suite"}],
            "targets": ["desktop"],
        },
        "start": {"room": "hall", "position": [0.0, 0.0, 3.0], "yaw": 0},
        "rooms": [
            {"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "size": [12, 8, 3],
             "bounds": {"min": [-6, 0, -4], "max": [6, 3, 4]}, "glb": "rooms/hall.glb", "lod": [],
             "doors": [{"to": "gallery", "wall": "east", "position": [6, 0, 0], "width": 1.6, "height": 2.2}],
             "floor_y": 0.0, "stats": {"triangles": 60, "draw_calls": 4, "bytes": 0, "texture_bytes_gpu": 0}},
            {"id": "gallery", "name": {"zh": "展廊", "en": "Gallery"}, "size": [6, 8, 3],
             "bounds": {"min": [6, 0, -4], "max": [12, 3, 4]}, "glb": "rooms/gallery.glb", "lod": [],
             "doors": [{"to": "hall", "wall": "west", "position": [6, 0, 0], "width": 1.6, "height": 2.2}],
             "floor_y": 0.0, "stats": {"triangles": 48, "draw_calls": 3, "bytes": 0, "texture_bytes_gpu": 0}},
        ],
        "artifacts": [
            {
                "id": "ding", "kind": "model", "room": "hall", "node": "ding",
                "position": [ding_centre[0], 0.9, ding_centre[2]], "bounds": _bounds(ding_centre, ding_size),
                "view": {"target": list(ding_centre), "position": [0.0, 1.6, 1.0]},
                "record": {
                    "title": {"zh": "兽面纹鼎", "en": "Ding with taotie motif"},
                    "date": {"zh": "商代", "en": "Shang dynasty, c. 1300 BC"},
                    "material": {"zh": "青铜", "en": "Bronze"},
                    "accession": "1987.12.3",
                    "credit": {"zh": "某某捐赠", "en": "Gift of a friend of the museum"},
                    "rights": "http://rightsstatements.org/vocab/InC/1.0/",
                    "description": {"zh": "一件青铜鼎。", "en": "A bronze cauldron on three legs."},
                },
                "alt": {"zh": "红色方块代表鼎", "en": "A red block standing for the ding"},
                "annotations": [{
                    "id": "taotie", "key": "ding/taotie", "position": [0.0, 1.35, -0.68],
                    "title": {"zh": "饕餮纹", "en": "Taotie mask"},
                    "text": {"zh": "兽面纹样。", "en": "A monster-face motif."},
                }],
                "audio": {
                    "zh": {"src": "media/ding-zh.wav", "captions": "media/ding-zh.vtt"},
                    "en": {"src": "media/ding-en.wav", "captions": "media/ding-en.vtt"},
                },
                "page": "objects/ding.html",
            },
            {
                "id": "scroll", "kind": "image", "room": "hall", "node": "scroll",
                "position": [scroll_centre[0], 0.9, scroll_centre[2]], "bounds": _bounds(scroll_centre, scroll_size),
                "view": {"target": list(scroll_centre), "position": [-3.0, 1.6, -1.5]},
                "record": {"title": {"zh": "山水画", "en": "Landscape scroll"}, "rights": "https://creativecommons.org/publicdomain/zero/1.0/"},
                "alt": {"zh": "一幅绿色的画", "en": "A green painting"},
                "annotations": [], "page": "objects/scroll.html",
            },
            {
                "id": "vase", "kind": "model", "room": "gallery", "node": "vase",
                "position": [vase_centre[0], 0.9, vase_centre[2]], "bounds": _bounds(vase_centre, vase_size),
                "view": {"target": list(vase_centre), "position": [9.0, 1.6, 1.5]},
                "record": {"title": {"zh": "瓶", "en": "Vase"}, "credit": {"en": "Museum purchase"},
                           "rights": "http://rightsstatements.org/vocab/InC/1.0/"},
                "annotations": [], "page": "objects/vase.html",
            },
        ],
        "tours": [{
            "id": "highlights", "title": {"zh": "精华导览", "en": "Highlights"}, "description": {"en": "Two stops"},
            "stops": [
                {"index": 0, "artifact": "ding", "annotation": None, "room": "hall", "say": {"en": "The ding."},
                 "view": {"target": list(ding_centre), "position": [0.0, 1.6, 1.0]}},
                {"index": 1, "artifact": "vase", "annotation": None, "room": "gallery", "say": {"en": "The vase."},
                 "view": {"target": list(vase_centre), "position": [9.0, 1.6, 1.5]}},
            ],
        }],
        "files": [],
        "report": "report.json",
    }


ARTIFACT_COLOURS = {"ding": (220, 40, 30, 255), "scroll": (40, 180, 60, 255), "vase": (40, 90, 220, 255)}


def make_fixture_site(out_root: Path) -> dict:
    """Write the fixture exhibit's files and its site into out_root; returns the manifest."""
    manifest = fixture_manifest()
    exhibit_dir = out_root / EXHIBIT_ID
    (exhibit_dir / "rooms").mkdir(parents=True, exist_ok=True)
    (exhibit_dir / "media").mkdir(parents=True, exist_ok=True)
    by_room: dict[str, dict[str, trimesh.Trimesh]] = {"hall": {}, "gallery": {}}
    for artifact in manifest["artifacts"]:
        low, high = np.array(artifact["bounds"]["min"]), np.array(artifact["bounds"]["max"])
        mesh = _box(tuple(high - low), tuple((low + high) / 2), ARTIFACT_COLOURS[artifact["id"]])
        by_room[artifact["room"]][artifact["node"]] = mesh
    for room in manifest["rooms"]:
        low, high = room["bounds"]["min"], room["bounds"]["max"]
        _room_glb(exhibit_dir / room["glb"], (low[0], low[2]), (high[0], high[2]), by_room[room["id"]])
    for language, cues in {"zh": ["这是一件鼎。", "请看它的纹样。"], "en": ["This is a ding.", "Look at its motif."]}.items():
        _tone_wav(exhibit_dir / f"media/ding-{language}.wav")
        _vtt(exhibit_dir / f"media/ding-{language}.vtt", cues)
    (exhibit_dir / "exhibit.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    write_site(out_root, [manifest])
    # The compiler writes the build report beside the manifest; a stand-in keeps the exhibit page's link honest.
    (exhibit_dir / "report.json").write_text("{}", encoding="utf-8")
    (exhibit_dir / "report.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Build report</title></head>'
        "<body><main><h1>Build report</h1><p>Made by the tests.</p></main></body></html>", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    import sys

    make_fixture_site(Path(sys.argv[1] if len(sys.argv) > 1 else "fixture-site"))
