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


# Adobe RGB (1998): its primaries in XYZ under D65 (the columns are red, green and blue at full strength), and the
# gamma of its tone curve, 563/256 as its ICC profile stores 2.2.
ADOBE_RGB_TO_XYZ = np.array([[0.5767309, 0.1855540, 0.1881852],
                             [0.2973769, 0.6273491, 0.0752741],
                             [0.0270343, 0.0706872, 0.9911085]])
ADOBE_RGB_GAMMA = 563 / 256
_XYZ_TO_LINEAR_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                                [-0.9692660, 1.8760108, 0.0415560],
                                [0.0556434, -0.2040259, 1.0572252]])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
_D65 = np.array([0.95047, 1.0, 1.08883])
_D50 = np.array([0.9642, 1.0, 0.8249])


def adobe_rgb_in_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    """An 8-bit Adobe RGB colour in 8-bit sRGB (0-255 floats), by the colour spaces' definitions: what any colour
    manager should give, worked out without one."""
    linear = _XYZ_TO_LINEAR_SRGB @ ADOBE_RGB_TO_XYZ @ ((np.asarray(rgb) / 255.0) ** ADOBE_RGB_GAMMA)
    linear = np.clip(linear, 0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.asarray(encoded * 255.0)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def adobe_rgb_icc() -> bytes:
    """An ICC v2 display profile of Adobe RGB (1998), as Photoshop embeds one: its primaries adapted to the
    profile connection space's D50 white (Bradford), and a gamma curve per channel."""
    cone = _BRADFORD @ _D65, _BRADFORD @ _D50
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone[1] / cone[0]) @ _BRADFORD
    colorants = adapt @ ADOBE_RGB_TO_XYZ

    def xyz(values: Any) -> bytes:
        return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in values)

    name = b"Adobe RGB (1998) compatible (a test's)"
    description = (b"desc" + bytes(4) + struct.pack(">I", len(name) + 1) + name + b"\0" + bytes(8) + bytes(3)
                   + bytes(67))
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(ADOBE_RGB_GAMMA * 256)) + bytes(2)
    tags = [(b"desc", description), (b"wtpt", xyz(_D50)), (b"rXYZ", xyz(colorants[:, 0])),
            (b"gXYZ", xyz(colorants[:, 1])), (b"bXYZ", xyz(colorants[:, 2])), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve), (b"cprt", b"text" + bytes(4) + b"No copyright, test data\0")]
    table_end = 128 + 4 + 12 * len(tags)
    offsets, body = [], b""
    for _, data in tags:
        offsets.append(table_end + len(body))
        body += data + bytes(-len(data) % 4)
    table = struct.pack(">I", len(tags)) + b"".join(struct.pack(">4sII", signature, offset, len(data))
                                                     for (signature, data), offset in zip(tags, offsets, strict=True))
    size = table_end + len(body)
    header = (struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(24) + struct.pack(">I", 0) + b"".join(_s15(v) for v in _D50) + bytes(48))
    assert len(header) == 128
    return header + table + body


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
