"""Test helper: write the small asset files spec fixtures name (GLB, glTF, PLY, OBJ, MTL, STL, PNG, JPEG, MP3, VTT)."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from pathlib import Path

from tests.helpers import image_bytes


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


def plain_image(fmt: str, size: tuple[int, int] = (4, 3)) -> bytes:
    return image_bytes(size, (120, 90, 60), fmt=fmt)


# ---- Boxes of a given size in any model format, for the fixtures that measure models -------------------------


def box_mesh(x: float, y: float, z: float) -> tuple[list[tuple[float, float, float]], list[tuple[int, int, int]]]:
    """A closed box spanning [-x/2, x/2] × [0, y] × [-z/2, z/2]: 8 corners, 12 outward triangles."""
    corners = [(sx * x / 2, sy * y, sz * z / 2) for sx in (-1, 1) for sy in (0, 1) for sz in (-1, 1)]
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
             (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    return corners, faces


def _glb(document: dict[str, object], binary: bytes) -> bytes:
    chunk = json.dumps(document, separators=(",", ":")).encode()
    chunk += b" " * (-len(chunk) % 4)
    binary += b"\x00" * (-len(binary) % 4)
    total = 12 + 8 + len(chunk) + 8 + len(binary)
    return (b"glTF" + struct.pack("<II", 2, total) + struct.pack("<I", len(chunk)) + b"JSON" + chunk
            + struct.pack("<I", len(binary)) + b"BIN\x00" + binary)


def gltf_box(size: tuple[float, float, float], triangles: int = 12, image: str | None = None,
             buffer_uri: str | None = None) -> tuple[dict[str, object], bytes]:
    """A glTF document and its binary buffer for a box; `triangles` above 12 repeats the box's faces (a header that
    counts that many, backed by real indices), `image` adds a textured material referring to that file."""
    corners, faces = box_mesh(*size)
    repeated = (faces * (triangles // len(faces) + 1))[:triangles]
    positions = struct.pack(f"<{3 * len(corners)}f", *(c for corner in corners for c in corner))
    indices = struct.pack(f"<{3 * len(repeated)}I", *(i for face in repeated for i in face))
    binary = positions + indices
    buffer: dict[str, object] = {"byteLength": len(binary)}
    if buffer_uri is not None:
        buffer["uri"] = buffer_uri
    document: dict[str, object] = {
        "asset": {"version": "2.0", "generator": "vitrina tests"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [buffer],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)},
                        {"buffer": 0, "byteOffset": len(positions), "byteLength": len(indices)}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(corners), "type": "VEC3",
             "min": [-size[0] / 2, 0, -size[2] / 2], "max": [size[0] / 2, size[1], size[2] / 2]},
            {"bufferView": 1, "componentType": 5125, "count": 3 * len(repeated), "type": "SCALAR"},
        ],
    }
    if image is not None:
        document["images"] = [{"uri": image}]
        document["textures"] = [{"source": 0}]
        document["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
        document["meshes"] = [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}]
    return document, binary


def ply_box(size: tuple[float, float, float]) -> bytes:
    """A binary PLY box with vertex colours and no material: what a photogrammetry export looks like."""
    corners, faces = box_mesh(*size)
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(corners)}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\n"
              f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n").encode()
    body = b"".join(struct.pack("<3f3B", *corner, 180, 140, 100) for corner in corners)
    body += b"".join(struct.pack("<B3i", 3, *face) for face in faces)
    return header + body


def obj_box(size: tuple[float, float, float], mtllib: str | None = None) -> bytes:
    corners, faces = box_mesh(*size)
    lines = [f"mtllib {mtllib}", "usemtl paint"] if mtllib else []
    lines += [f"v {x:g} {y:g} {z:g}" for x, y, z in corners]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    return ("\n".join(lines) + "\n").encode()


def stl_box(size: tuple[float, float, float]) -> bytes:
    corners, faces = box_mesh(*size)
    records = b"".join(struct.pack("<12fH", 0, 0, 0, *corners[a], *corners[b], *corners[c], 0) for a, b, c in faces)
    return b"vitrina tests".ljust(80, b" ") + struct.pack("<I", len(faces)) + records


def write_box(path: Path, size: tuple[float, float, float], options: dict[str, str]) -> None:
    """Write a box model in the format `path`'s extension names (a .gltf also writes its buffer beside it unless
    `buffer_written=no`). Options: triangles=N, image=FILE (glTF), buffer=FILE (glTF), mtllib=FILE (OBJ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".glb", ".gltf"):
        buffer_uri = options.get("buffer", path.with_suffix(".bin").name) if suffix == ".gltf" else None
        document, binary = gltf_box(size, int(options.get("triangles", 12)), options.get("image"), buffer_uri)
        if suffix == ".glb":
            path.write_bytes(_glb(document, binary))
            return
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        if options.get("buffer_written", "yes") == "yes":
            assert buffer_uri is not None
            (path.parent / buffer_uri).write_bytes(binary)
    elif suffix == ".ply":
        path.write_bytes(ply_box(size))
    elif suffix == ".obj":
        path.write_bytes(obj_box(size, options.get("mtllib")))
    elif suffix == ".stl":
        path.write_bytes(stl_box(size))
    else:
        raise ValueError(f"no box maker for {suffix}")


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413
VTT = "WEBVTT\n\n00:00.000 --> 00:01.000\nHello.\n"


def write_asset(path: Path) -> None:
    """Write a small valid file of the type `path`'s extension names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    makers: dict[str, Callable[[], bytes]] = {
        ".glb": glb_box,
        ".stl": stl_triangle,
        ".png": lambda: plain_image("PNG"),
        ".jpg": lambda: plain_image("JPEG"),
        ".mp3": lambda: MP3,
        ".vtt": lambda: VTT.encode(),
    }
    path.write_bytes(makers[suffix]())


def write_assets(folder: Path, listing: str) -> None:
    """Write the files of an assets.txt listing: `path` makes a valid file, `path = text` a file with that text,
    `path box X Y Z [key=value ...]` a box model of that size in file units (see write_box), `path image W H` a
    picture of that many pixels."""
    for line in listing.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        box = re.match(r"^(\S+)\s+box\s+(\S+)\s+(\S+)\s+(\S+)((?:\s+\w+=\S+)*)$", line)
        if box:
            name, x, y, z, rest = box.groups()
            options = dict(option.split("=", 1) for option in rest.split())
            write_box(folder / name, (float(x), float(y), float(z)), options)
            continue
        picture = re.match(r"^(\S+)\s+image\s+(\d+)\s+(\d+)$", line)
        if picture:
            name, width, height = picture.groups()
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(plain_image(target.suffix.lstrip(".").upper().replace("JPG", "JPEG"), (int(width), int(height))))
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
