"""Test helper: a small triangle scene, and a GLB round trip that lets a test edit the JSON in between."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import scene as ir
from pipeline.gltf import GltfOptions, read_gltf, write_glb
from tests.helpers import glb_parts, image_bytes


def triangle_scene(material: ir.Material | None = None) -> ir.Scene:
    """One node holding one triangle with normals and UVs."""
    primitive = ir.Primitive(attributes={
        "POSITION": np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32),
        "NORMAL": np.array([[0, 0, 1]] * 3, dtype=np.float32),
        "TEXCOORD_0": np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)},
        indices=np.array([0, 1, 2], dtype=np.uint32), material=material)
    return ir.Scene(name="s", nodes=[ir.Node(name="n", mesh=ir.Mesh(name="m", primitives=[primitive]))])


def with_json(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The GLB `data` with its JSON chunk edited by `edit` (the binary chunk is kept)."""
    document, binary = glb_parts(data)
    edit(document)
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    if binary:
        chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def round_trip(tmp_path: Path, scene: ir.Scene, options: GltfOptions = GltfOptions()) -> ir.Scene:  # noqa: B008
    """scene → GLB → scene."""
    path = tmp_path / "round.glb"
    path.write_bytes(write_glb(scene, options))
    return read_gltf(path, tmp_path)


def png_texture(color: tuple[int, int, int] = (200, 100, 50), name: str = "skin") -> ir.Texture:
    """A 4×4 PNG texture."""
    return ir.Texture(name=name, data=image_bytes(color=color), mime_type="image/png", width=4, height=4)
