"""Helpers the test files share: small encoded images, grid meshes, GLB chunks and folder snapshots."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

# ---------------------------------------------------------------------------------------------- images


def image_bytes(size: tuple[int, int] = (4, 4), color: float | tuple[int, ...] = 0, mode: str = "RGB",
                fmt: str = "PNG") -> bytes:
    """A plain image of one colour, encoded (PNG unless `fmt` names another format Pillow writes)."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- grids


def grid_indices(n: int) -> np.ndarray:
    """Two triangles per cell of an n×n vertex grid laid out row by row, as flat uint32 indices."""
    cells = [(r * n + c, r * n + c + 1, (r + 1) * n + c, (r + 1) * n + c + 1) for r in range(n - 1) for c in range(n - 1)]
    return np.array([t for a, b, c, d in cells for t in ((a, b, c), (b, d, c))], np.uint32).reshape(-1)


def wavy_grid(n: int, height: Callable[[np.ndarray, np.ndarray], np.ndarray], size: float = 1.0,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An n×n vertex grid over [0, size]² whose z is height(x, y): positions, UVs (x and y over size; float32
    both) and triangles (grid_indices)."""
    xs, ys = np.meshgrid(np.linspace(0, size, n), np.linspace(0, size, n))
    positions = np.stack([xs, ys, height(xs, ys)], axis=-1).reshape(-1, 3).astype(np.float32)
    uvs = np.stack([xs / size, ys / size], axis=-1).reshape(-1, 2).astype(np.float32)
    return positions, uvs, grid_indices(n)


# ---------------------------------------------------------------------------------------------- GLB


def glb_json_text(data: bytes) -> str:
    """The JSON chunk of a GLB as text, as the writer laid it out (header and chunk type checked)."""
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON" and json_length % 4 == 0
    return data[20:20 + json_length].decode("utf-8")


def glb_parts(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON and BIN chunks of a GLB, checking the container layout on the way."""
    text = glb_json_text(data)
    document: dict[str, Any] = json.loads(text)
    rest = data[20 + len(text.encode()):]
    if not rest:
        return document, b""
    bin_length, kind = struct.unpack_from("<I4s", rest)
    assert kind == b"BIN\x00" and bin_length % 4 == 0 and len(rest) == 8 + bin_length
    return document, rest[8:]


def glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB (its layout checked)."""
    return glb_parts(data)[0]


def glb_view(data: bytes, view: dict[str, Any]) -> bytes:
    """The bytes of one bufferView of the GLB's BIN chunk."""
    start = view.get("byteOffset", 0)
    return glb_parts(data)[1][start:start + view["byteLength"]]


# ---------------------------------------------------------------------------------------------- folders


def snapshot(folder: Path, skip: Callable[[Path], bool] = lambda relative: False) -> dict[str, str]:
    """Relative path → sha256 of every file under folder, except those whose relative path `skip` accepts."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not skip(p.relative_to(folder))}


def generated(site: Path) -> dict[str, str]:
    """The snapshot of what a build generates into a site: not the reports (they hold timings), not static/ (the
    viewer's files, copied)."""
    return snapshot(site, lambda relative: relative.name in ("report.json", "report.html") or relative.parts[0] == "static")


# ---------------------------------------------------------------------------------------------- memory

_Result = TypeVar("_Result")


def traced_peak(call: Callable[[], _Result]) -> tuple[_Result, int]:
    """What `call` returns, and the most memory it held at once in Python's and numpy's allocations (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak
