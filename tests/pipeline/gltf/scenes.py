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


def triangle_scene(material: ir.Material | None = None) -> ir.Scene:
    """One node holding one triangle with normals and UVs."""
    primitive = ir.Primitive(attributes={
        "POSITION": np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32),
        "NORMAL": np.array([[0, 0, 1]] * 3, dtype=np.float32),
        "TEXCOORD_0": np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)},
        indices=np.array([0, 1, 2], dtype=np.uint32), material=material)
    return ir.Scene(name="s", nodes=[ir.Node(name="n", mesh=ir.Mesh(name="m", primitives=[primitive]))])


def glb_json(data: bytes) -> dict[str, Any]:
    length = struct.unpack_from("<I", data, 12)[0]
    document: dict[str, Any] = json.loads(data[20:20 + length])
    return document


def with_json(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The GLB `data` with its JSON chunk edited by `edit` (the binary chunk is kept)."""
    length = struct.unpack_from("<I", data, 12)[0]
    document = glb_json(data)
    edit(document)
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + length:]
    chunks = struct.pack("<I4s", len(text), b"JSON") + text + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def round_trip(tmp_path: Path, scene: ir.Scene, options: GltfOptions = GltfOptions()) -> ir.Scene:  # noqa: B008
    """scene → GLB → scene."""
    path = tmp_path / "round.glb"
    path.write_bytes(write_glb(scene, options))
    return read_gltf(path, tmp_path)


def png_texture(color: tuple[int, int, int] = (200, 100, 50), name: str = "skin") -> ir.Texture:
    """A 4×4 PNG texture."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(out, format="PNG")
    return ir.Texture(name=name, data=out.getvalue(), mime_type="image/png", width=4, height=4)
