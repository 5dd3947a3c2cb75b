"""Test helper: write the small asset files spec fixtures name (GLB, STL, PNG, JPEG, MP3, VTT) from code."""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

from PIL import Image


def glb_box(half: float = 0.2, height: float = 0.4) -> bytes:
    """A valid GLB with one quad (two triangles) whose POSITION min/max span a box of the given size."""
    positions = struct.pack("<12f", -half, 0, -half, half, 0, -half, half, height, half, -half, height, half)
    indices = struct.pack("<6H", 0, 1, 2, 0, 2, 3)
    binary = positions + indices
    document = {
        "asset": {"version": "2.0", "generator": "vitrina tests"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 12}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
             "min": [-half, 0, -half], "max": [half, height, half]},
            {"bufferView": 1, "componentType": 5123, "count": 6, "type": "SCALAR"},
        ],
    }
    chunk = json.dumps(document, separators=(",", ":")).encode()
    chunk += b" " * (-len(chunk) % 4)
    total = 12 + 8 + len(chunk) + 8 + len(binary)
    return (b"glTF" + struct.pack("<II", 2, total) + struct.pack("<I", len(chunk)) + b"JSON" + chunk
            + struct.pack("<I", len(binary)) + b"BIN\x00" + binary)


def stl_triangle(size_mm: float = 100.0) -> bytes:
    header = b"vitrina tests".ljust(80, b" ")
    triangle = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, size_mm, 0, 0, 0, size_mm, size_mm, 0)
    return header + struct.pack("<I", 1) + triangle


def image_bytes(fmt: str, size: tuple[int, int] = (4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413
VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"


def write_asset(path: Path) -> None:
    """Write a small valid file of the type `path`'s extension names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    makers = {
        ".glb": glb_box,
        ".stl": stl_triangle,
        ".png": lambda: image_bytes("PNG"),
        ".jpg": lambda: image_bytes("JPEG"),
        ".mp3": lambda: MP3,
        ".vtt": lambda: VTT.encode(),
    }
    path.write_bytes(makers[suffix]())


def write_assets(folder: Path, listing: str) -> None:
    """Write the files of an assets.txt listing: `path` makes a valid file, `path = text` a file with that text."""
    for line in listing.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        literal = re.match(r"^(\S+)\s+=\s?(.*)$", line)
        if literal:
            name, text = literal.groups()
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text.encode().decode("unicode_escape"), encoding="latin-1")
        else:
            write_asset(folder / line)


def copy_case(source: Path, target: Path) -> None:
    """Copy a fixture case folder and write the assets its assets.txt lists (the test's own files stay behind)."""
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("expected.txt", "args.txt", "assets.txt"))
    if (source / "assets.txt").exists():
        write_assets(target, (source / "assets.txt").read_text(encoding="utf-8"))
