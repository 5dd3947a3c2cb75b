"""The one door to meshoptimizer: EXT_meshopt_compression codecs and filters, vertex cache/fetch reorder, welding and simplification.

Codec API used by `pipeline.gltf` (EXT_meshopt_compression, bufferView granularity):

* ``encode_vertex_buffer(data, count, stride)`` -> bytes, for mode ATTRIBUTES: the bufferView's raw bytes, or
  a ``(count, stride)`` array whose rows are the interleaved vertices; ``stride % 4 == 0`` and ``stride <= 256``
  as the extension requires. Decode with ``decode_vertex_buffer(encoded, count, stride)``.
* ``encode_index_buffer(data, count, index_size)`` -> bytes, for mode TRIANGLES (count % 3 == 0): raw uint16 or
  uint32 bytes, or an index array. Decode with ``decode_index_buffer(encoded, count, index_size)``.
* ``encode_index_sequence(data, count, index_size)`` -> bytes, for mode INDICES (lines, points, strips).
* ``vertex_stream(name, values, normalized)`` picks the stored form of one attribute for compression: padded rows
  and, for int8 NORMAL/TANGENT, the OCTAHEDRAL filter as gltfpack does. ``keyframe_stream(path, values)`` does
  the same for animation outputs (EXPONENTIAL for translation/scale, QUATERNION for int16 rotations).
* ``encode_buffer_view(data, count, byte_stride, mode)`` dispatches on the mode name, so the writer needs one call.
* Filters (the writer sets ``filter`` on the bufferView when the bytes came from one of these):
  ``encode_filter_octahedral`` (unit vectors, "OCTAHEDRAL"), ``encode_filter_quaternion`` ("QUATERNION"),
  ``encode_filter_exponential`` ("EXPONENTIAL"); each has a ``decode_*`` counterpart for tests and measurement.

Vertex streams are always written with codec version 0, the one EXT_meshopt_compression specifies; index streams
use version 1, which the extension also specifies.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import meshoptimizer as _mo
import numpy as np
from meshoptimizer._loader import lib as _lib

# Filter names as EXT_meshopt_compression spells them in bufferView.extensions.EXT_meshopt_compression.filter.
FILTER_NONE = "NONE"
FILTER_OCTAHEDRAL = "OCTAHEDRAL"
FILTER_QUATERNION = "QUATERNION"
FILTER_EXPONENTIAL = "EXPONENTIAL"

MODE_ATTRIBUTES = "ATTRIBUTES"
MODE_TRIANGLES = "TRIANGLES"
MODE_INDICES = "INDICES"

MAX_VERTEX_STRIDE = 256

# meshopt_EncodeExpMode: where EXPONENTIAL takes its exponents from.
EXP_SEPARATE = 0
EXP_SHARED_VECTOR = 1
EXP_SHARED_COMPONENT = 2

# The Python wrapper does not bind these entry points of the shared library it ships; declare them once here.
_u8p = ctypes.POINTER(ctypes.c_ubyte)
_u32p = ctypes.POINTER(ctypes.c_uint)
_f32p = ctypes.POINTER(ctypes.c_float)

_lib.meshopt_encodeFilterOct.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, _f32p]
_lib.meshopt_encodeFilterOct.restype = None
_lib.meshopt_encodeFilterQuat.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, _f32p]
_lib.meshopt_encodeFilterQuat.restype = None
_lib.meshopt_encodeFilterExp.argtypes = [
    ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, _f32p, ctypes.c_int,
]
_lib.meshopt_encodeFilterExp.restype = None
_lib.meshopt_encodeVertexBufferLevel.argtypes = [
    _u8p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
]
_lib.meshopt_encodeVertexBufferLevel.restype = ctypes.c_size_t
_lib.meshopt_decodeIndexBuffer.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, _u8p, ctypes.c_size_t]
_lib.meshopt_decodeIndexBuffer.restype = ctypes.c_int
_lib.meshopt_decodeIndexSequence.argtypes = [
    ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, _u8p, ctypes.c_size_t,
]
_lib.meshopt_decodeIndexSequence.restype = ctypes.c_int


class _VertexCacheStatistics(ctypes.Structure):
    _fields_ = [
        ("vertices_transformed", ctypes.c_uint),
        ("warps_executed", ctypes.c_uint),
        ("acmr", ctypes.c_float),
        ("atvr", ctypes.c_float),
    ]


# The wrapper leaves this one undeclared, and ctypes cannot pass its float target_error without the declaration.
_lib.meshopt_simplifyWithAttributes.argtypes = [
    _u32p, _u32p, ctypes.c_size_t, _f32p, ctypes.c_size_t, ctypes.c_size_t, _f32p, ctypes.c_size_t, _f32p,
    ctypes.c_size_t, _u8p, ctypes.c_size_t, ctypes.c_float, ctypes.c_uint, _f32p,
]
_lib.meshopt_simplifyWithAttributes.restype = ctypes.c_size_t
_lib.meshopt_analyzeVertexCache.argtypes = [
    _u32p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
]
_lib.meshopt_analyzeVertexCache.restype = _VertexCacheStatistics


class _Stream(ctypes.Structure):
    """meshopt_Stream: one vertex attribute's bytes, `size` of them per vertex, `stride` apart."""

    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t), ("stride", ctypes.c_size_t)]


_lib.meshopt_generateVertexRemapMulti.argtypes = [
    _u32p, _u32p, ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(_Stream), ctypes.c_size_t,
]
_lib.meshopt_generateVertexRemapMulti.restype = ctypes.c_size_t
# meshoptimizer's limits for generateVertexRemapMulti: at most 16 streams of at most 256 bytes a vertex.
MAX_REMAP_STREAMS = 16
MAX_REMAP_STREAM_BYTES = 256

# Encoding levels 0..3; gltfpack -cc asks for the strongest, and decoding speed does not depend on it.
DEFAULT_VERTEX_LEVEL = 3
_VERTEX_CODEC_VERSION = 0
_INDEX_CODEC_VERSION = 1


def _as_vertex_rows(data: np.ndarray | bytes | memoryview, count: int | None, stride: int | None) -> np.ndarray:
    if isinstance(data, bytes | bytearray | memoryview):
        if count is None or stride is None:
            raise ValueError("raw vertex bytes need count and stride")
        rows = np.frombuffer(data, dtype=np.uint8).reshape(count, stride)
    else:
        rows = np.ascontiguousarray(data)
        if rows.ndim == 1:
            rows = rows.reshape(len(rows), 1)
        rows = rows.view(np.uint8).reshape(len(rows), -1)
    width = rows.shape[1]
    if width == 0 or width % 4 or width > MAX_VERTEX_STRIDE:
        raise ValueError(f"vertex stride must be a multiple of 4 between 4 and 256 bytes, got {width}")
    return rows


def encode_vertex_buffer(
    data: np.ndarray | bytes | memoryview, count: int | None = None, stride: int | None = None,
    level: int = DEFAULT_VERTEX_LEVEL,
) -> bytes:
    """Encode interleaved vertices for mode ATTRIBUTES: raw bufferView bytes with count and stride, or rows."""
    rows = _as_vertex_rows(data, count, stride)
    count, stride = rows.shape
    bound = _lib.meshopt_encodeVertexBufferBound(count, stride)
    out = np.zeros(bound, dtype=np.uint8)
    size = _lib.meshopt_encodeVertexBufferLevel(
        out.ctypes.data_as(_u8p), bound, rows.ctypes.data_as(ctypes.c_void_p), count, stride,
        int(level), _VERTEX_CODEC_VERSION,
    )
    if size == 0:
        raise RuntimeError("meshoptimizer could not encode the vertex buffer")
    return out[:size].tobytes()


def decode_vertex_buffer(encoded: bytes, count: int, stride: int) -> np.ndarray:
    """Decode an ATTRIBUTES stream back to a (count, stride) uint8 array."""
    rows: np.ndarray = _mo.decode_vertex_buffer(count, stride, encoded, dtype=np.dtype((np.uint8, stride)))
    return rows.reshape(count, stride)


def _as_indices(data: np.ndarray | bytes | memoryview, count: int | None, index_size: int | None) -> np.ndarray:
    if isinstance(data, bytes | bytearray | memoryview):
        dtype = _index_dtype(index_size or 4)
        flat = np.frombuffer(data, dtype=dtype, count=-1 if count is None else count)
    else:
        flat = np.asarray(data).reshape(-1)
        if count is not None:
            flat = flat[:count]
    return np.ascontiguousarray(flat, dtype=np.uint32)


def _check_indices(indices: np.ndarray, vertex_count: int) -> np.ndarray:
    flat = np.ascontiguousarray(indices, dtype=np.uint32).reshape(-1)
    if len(flat) and int(flat.max()) >= vertex_count:
        raise ValueError(f"index {int(flat.max())} is out of range for {vertex_count} vertices")
    return flat


def encode_index_buffer(data: np.ndarray | bytes | memoryview, count: int | None = None,
                        index_size: int | None = None) -> bytes:
    """Encode a triangle list for mode TRIANGLES (raw uint16/uint32 bytes with count and index_size, or an array).

    Works best after `optimize_vertex_cache`; the stream does not depend on index_size, the decoder picks it.
    """
    flat = _as_indices(data, count, index_size)
    if len(flat) % 3:
        raise ValueError(f"a triangle list needs a multiple of 3 indices, got {len(flat)}")
    _mo.encode_index_version(_INDEX_CODEC_VERSION)
    return _mo.encode_index_buffer(flat, len(flat), int(flat.max()) + 1 if len(flat) else 0)


def encode_index_sequence(data: np.ndarray | bytes | memoryview, count: int | None = None,
                          index_size: int | None = None) -> bytes:
    """Encode any index list (lines, points, strips) for mode INDICES."""
    flat = _as_indices(data, count, index_size)
    _mo.encode_index_version(_INDEX_CODEC_VERSION)
    return _mo.encode_index_sequence(flat, len(flat), int(flat.max()) + 1 if len(flat) else 0)


def _index_dtype(index_size: int) -> type[np.unsignedinteger]:
    if index_size not in (2, 4):
        raise ValueError(f"index size must be 2 or 4 bytes, got {index_size}")
    return np.uint16 if index_size == 2 else np.uint32


def decode_index_buffer(encoded: bytes, count: int, index_size: int = 4) -> np.ndarray:
    """Decode a TRIANGLES stream into uint16 or uint32 indices."""
    return _decode_indices(_lib.meshopt_decodeIndexBuffer, encoded, count, index_size)


def decode_index_sequence(encoded: bytes, count: int, index_size: int = 4) -> np.ndarray:
    """Decode an INDICES stream into uint16 or uint32 indices."""
    return _decode_indices(_lib.meshopt_decodeIndexSequence, encoded, count, index_size)


def _decode_indices(decoder: Callable[..., int], encoded: bytes, count: int, index_size: int) -> np.ndarray:
    out = np.zeros(count, dtype=_index_dtype(index_size))
    source = np.frombuffer(encoded, dtype=np.uint8)
    if decoder(out.ctypes.data, count, index_size, source.ctypes.data_as(_u8p), len(source)):
        raise ValueError("corrupt EXT_meshopt_compression index stream")
    return out


def encode_buffer_view(data: bytes | memoryview, count: int, byte_stride: int, mode: str) -> bytes:
    """Encode one bufferView's bytes as EXT_meshopt_compression describes it (count elements of byte_stride)."""
    if mode == MODE_ATTRIBUTES:
        return encode_vertex_buffer(data, count, byte_stride)
    if mode == MODE_TRIANGLES:
        return encode_index_buffer(data, count, byte_stride)
    if mode == MODE_INDICES:
        return encode_index_sequence(data, count, byte_stride)
    raise ValueError(f"unknown EXT_meshopt_compression mode {mode!r}")


@dataclass(frozen=True)
class VertexStream:
    """One attribute as it goes into an ATTRIBUTES bufferView: padded rows and the filter that produced them."""

    rows: np.ndarray  # (count, stride) uint8, stride a multiple of 4
    filter: str = FILTER_NONE


def vertex_stream(name: str, values: np.ndarray, normalized: bool) -> VertexStream:
    """The stored form of one attribute for compression; decoding yields the accessor's values (padded).

    int8 normalized NORMAL and TANGENT go through the OCTAHEDRAL filter, as gltfpack does: two varying
    components instead of three, which the codec packs markedly smaller.
    """
    values = np.ascontiguousarray(values)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    count, components = values.shape
    if normalized and values.dtype == np.int8 and name in ("NORMAL", "TANGENT") and components in (3, 4):
        unit = values.astype(np.float32) / 127.0
        if components == 4:
            unit[:, 3] = np.where(values[:, 3] < 0, -1.0, 1.0)
        return VertexStream(encode_filter_octahedral(unit, bits=8).view(np.uint8).reshape(count, 4),
                            FILTER_OCTAHEDRAL)
    element = values.dtype.itemsize * components
    stride = element + (-element % 4)
    rows = np.zeros((count, stride), dtype=np.uint8)
    rows[:, :element] = values.view(np.uint8).reshape(count, element)
    return VertexStream(rows)


def keyframe_stream(path: str, values: np.ndarray, bits: int = 16, rotation_bits: int = 12) -> VertexStream:
    """The stored form of animation sampler output for compression, as gltfpack -cc packs keyframes.

    float translation/scale (n, 3) → EXPONENTIAL filter with `bits` of mantissa and one exponent per component
    for the whole track (decodes to float32 within 2^-bits of the track's largest magnitude in that component:
    fixed-point per track, which the codec packs ~20 % smaller than one exponent per value); int16 normalized
    rotations (n, 4) → QUATERNION filter with `rotation_bits` (gltfpack's default 12; decodes to int16
    normalized); anything else → padded rows, no filter. The accessor keeps its component type in every case.
    """
    values = np.ascontiguousarray(values)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    count = len(values)
    if path in ("translation", "scale") and values.dtype == np.float32 and values.shape[1] == 3:
        exponential = encode_filter_exponential(values, bits=min(bits, 24), mode=EXP_SHARED_COMPONENT)
        return VertexStream(exponential.view(np.uint8).reshape(count, 12), FILTER_EXPONENTIAL)
    if path == "rotation" and values.dtype == np.int16 and values.shape[1] == 4:
        quats = values.astype(np.float32) / 32767.0
        return VertexStream(encode_filter_quaternion(quats, bits=min(rotation_bits, 16)).view(np.uint8).reshape(count, 8),
                            FILTER_QUATERNION)
    return vertex_stream(path, values, normalized=False)


def decode_buffer_view(encoded: bytes, count: int, byte_stride: int, mode: str, filter: str = FILTER_NONE) -> bytes:
    """Inverse of `encode_buffer_view`, applying the filter's decoder; used to measure compressed outputs."""
    if mode == MODE_ATTRIBUTES:
        rows = decode_vertex_buffer(encoded, count, byte_stride)
        if filter == FILTER_OCTAHEDRAL:
            rows = decode_vertex_rows_filter(rows, _mo.decode_filter_oct)
        elif filter == FILTER_QUATERNION:
            rows = decode_vertex_rows_filter(rows, _mo.decode_filter_quat)
        elif filter == FILTER_EXPONENTIAL:
            rows = decode_vertex_rows_filter(rows, _mo.decode_filter_exp)
        return rows.tobytes()
    if mode == MODE_TRIANGLES:
        return decode_index_buffer(encoded, count, byte_stride).tobytes()
    if mode == MODE_INDICES:
        return decode_index_sequence(encoded, count, byte_stride).tobytes()
    raise ValueError(f"unknown EXT_meshopt_compression mode {mode!r}")


def encode_filter_octahedral(vectors: np.ndarray, bits: int = 8) -> np.ndarray:
    """Unit vectors (n, 3) or (n, 4 with w kept) → (n, 4) int8 (bits ≤ 8) or int16 rows for filter OCTAHEDRAL."""
    if not 2 <= bits <= 16:
        raise ValueError(f"octahedral bits must be 2..16, got {bits}")
    source = np.zeros((len(vectors), 4), dtype=np.float32)
    source[:, : vectors.shape[1]] = vectors
    if vectors.shape[1] == 3:
        source[:, 3] = 1.0
    dtype = np.int8 if bits <= 8 else np.int16
    out = np.zeros((len(vectors), 4), dtype=dtype)
    _lib.meshopt_encodeFilterOct(out.ctypes.data, len(out), out.itemsize * 4, bits, source.ctypes.data_as(_f32p))
    return out


def decode_filter_octahedral(encoded: np.ndarray) -> np.ndarray:
    """(n, 4) int8/int16 rows from `encode_filter_octahedral` → (n, 4) float32 (xyz unit, w as stored)."""
    rows = decode_vertex_rows_filter(encoded, _mo.decode_filter_oct)
    scale = 127.0 if encoded.dtype == np.int8 else 32767.0
    return rows.astype(np.float32) / scale


def encode_filter_quaternion(quaternions: np.ndarray, bits: int = 12) -> np.ndarray:
    """Unit quaternions (n, 4) → (n, 4) int16 rows for filter QUATERNION."""
    if not 4 <= bits <= 16:
        raise ValueError(f"quaternion bits must be 4..16, got {bits}")
    source = np.ascontiguousarray(quaternions, dtype=np.float32)
    out = np.zeros((len(source), 4), dtype=np.int16)
    _lib.meshopt_encodeFilterQuat(out.ctypes.data, len(out), 8, bits, source.ctypes.data_as(_f32p))
    return out


def decode_filter_quaternion(encoded: np.ndarray) -> np.ndarray:
    rows = decode_vertex_rows_filter(encoded, _mo.decode_filter_quat)
    return rows.astype(np.float32) / 32767.0


def encode_filter_exponential(values: np.ndarray, bits: int = 15, mode: int = 0) -> np.ndarray:
    """Float rows (n, k) → (n, k) uint32 rows for filter EXPONENTIAL.

    mode is meshopt_EncodeExp*: EXP_SEPARATE (0, one exponent per value), EXP_SHARED_VECTOR (1, per row) or
    EXP_SHARED_COMPONENT (2, per column over all rows); all decode with the same EXPONENTIAL filter.
    """
    if mode not in (EXP_SEPARATE, EXP_SHARED_VECTOR, EXP_SHARED_COMPONENT):
        raise ValueError(f"exponential mode must be 0, 1 or 2, got {mode}")
    if not 1 <= bits <= 24:
        raise ValueError(f"exponential bits must be 1..24, got {bits}")
    source = np.ascontiguousarray(values, dtype=np.float32)
    if source.ndim == 1:
        source = source.reshape(-1, 1)
    out = np.zeros(source.shape, dtype=np.uint32)
    _lib.meshopt_encodeFilterExp(out.ctypes.data, len(out), 4 * source.shape[1], bits, source.ctypes.data_as(_f32p),
                                 mode)
    return out


def decode_filter_exponential(encoded: np.ndarray) -> np.ndarray:
    return decode_vertex_rows_filter(encoded, _mo.decode_filter_exp).view(np.float32)


def decode_vertex_rows_filter(encoded: np.ndarray, decoder: object) -> np.ndarray:
    """Run a meshoptimizer filter decoder over a copy of (n, k) rows and return them with the same dtype."""
    rows = np.ascontiguousarray(encoded)
    decoded: np.ndarray = decoder(rows, len(rows), rows.itemsize * rows.shape[1])  # type: ignore[operator]
    return decoded


# ---- reorder -------------------------------------------------------------------------------------------------


def optimize_vertex_cache(indices: np.ndarray, vertex_count: int, strip: bool = False) -> np.ndarray:
    """Reorder triangles for the post-transform vertex cache.

    strip=True trades a little cache efficiency for runs of adjacent triangles, which the index codec packs
    smaller; gltfpack -cc does the same.
    """
    flat = _check_indices(indices, vertex_count)
    out = np.zeros_like(flat)
    if len(flat):
        optimize = _mo.optimize_vertex_cache_strip if strip else _mo.optimize_vertex_cache
        optimize(out, flat, len(flat), vertex_count)
    return out


def optimize_vertex_fetch_remap(indices: np.ndarray, vertex_count: int) -> tuple[np.ndarray, int]:
    """Remap table (old → new, 0xFFFFFFFF for unused) that orders vertices by first use; and the used count."""
    flat = _check_indices(indices, vertex_count)
    remap = np.zeros(vertex_count, dtype=np.uint32)
    used = _mo.optimize_vertex_fetch_remap(remap, flat, len(flat), vertex_count) if len(flat) else 0
    return remap, int(used)


@dataclass(frozen=True)
class VertexCacheStats:
    """meshopt_analyzeVertexCache: average cache miss ratio per triangle and transformed vertices per vertex."""

    acmr: float
    atvr: float


def analyze_vertex_cache(indices: np.ndarray, vertex_count: int, cache_size: int = 16) -> VertexCacheStats:
    flat = _check_indices(indices, vertex_count)
    stats = _lib.meshopt_analyzeVertexCache(flat.ctypes.data_as(_u32p), len(flat), vertex_count, cache_size, 0, 0)
    return VertexCacheStats(acmr=float(stats.acmr), atvr=float(stats.atvr))


# ---- weld ----------------------------------------------------------------------------------------------------


def generate_vertex_remap(vertex_rows: np.ndarray, indices: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Remap (old → new) that merges byte-identical vertices; rows are one vertex each. Returns (remap, unique)."""
    rows = np.ascontiguousarray(vertex_rows).view(np.uint8).reshape(len(vertex_rows), -1)
    count, stride = rows.shape
    remap = np.zeros(count, dtype=np.uint32)
    if count == 0:
        return remap, 0
    if indices is None:
        index_ptr = ctypes.POINTER(ctypes.c_uint)()
        index_count = count
    else:
        flat = _check_indices(indices, count)
        index_ptr = flat.ctypes.data_as(_u32p)
        index_count = len(flat)
    unique = _lib.meshopt_generateVertexRemap(
        remap.ctypes.data_as(_u32p), index_ptr, index_count, rows.ctypes.data_as(ctypes.c_void_p), count, stride
    )
    return remap, int(unique)


def generate_vertex_remap_streams(streams: list[np.ndarray], indices: np.ndarray | None) -> tuple[np.ndarray, int]:
    """generate_vertex_remap over several per-vertex arrays (attributes, morph targets) at once: a vertex equals
    another when each array's row is byte for byte the same. The arrays are read where they are: packing them into
    one row array first took 0.14 s and 64 MB for a 4M-triangle scan."""
    count = len(streams[0]) if streams else 0
    rows = [r for r in (np.asarray(stream).reshape(count, -1) for stream in streams) if r.shape[1]]
    if (not rows or len(rows) > MAX_REMAP_STREAMS
            or any(r.dtype.itemsize * r.shape[1] > MAX_REMAP_STREAM_BYTES for r in rows)):
        packed = [np.ascontiguousarray(r).view(np.uint8).reshape(count, -1) for r in rows]
        return generate_vertex_remap(np.concatenate(packed, axis=1) if packed else np.zeros((count, 0), np.uint8),
                                     indices)
    rows = [r if _rows_apart(r) else np.ascontiguousarray(r) for r in rows]
    table = (_Stream * len(rows))(*[_Stream(r.ctypes.data, r.dtype.itemsize * r.shape[1], r.strides[0])
                                    for r in rows])
    remap = np.zeros(count, dtype=np.uint32)
    if indices is None:
        index_ptr, index_count = ctypes.POINTER(ctypes.c_uint)(), count
    else:
        flat = _check_indices(indices, count)
        index_ptr, index_count = flat.ctypes.data_as(_u32p), len(flat)
    unique = _lib.meshopt_generateVertexRemapMulti(remap.ctypes.data_as(_u32p), index_ptr, index_count, count,
                                                   table, len(rows))
    return remap, int(unique)


def _rows_apart(rows: np.ndarray) -> bool:
    """Whether each row's bytes lie together and rows do not overlap, as a meshopt_Stream must (any stride)."""
    size = rows.dtype.itemsize * rows.shape[1]
    return (rows.shape[1] == 1 or rows.strides[1] == rows.dtype.itemsize) and rows.strides[0] >= size


# ---- simplify ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimplifyResult:
    """A simplified index buffer and meshoptimizer's error estimate, relative to the mesh extent."""

    indices: np.ndarray
    relative_error: float


def simplify(
    positions: np.ndarray,
    indices: np.ndarray,
    target_index_count: int,
    max_relative_error: float,
    lock_border: bool = True,
    attributes: np.ndarray | None = None,
    attribute_weights: np.ndarray | None = None,
    sparse: bool = False,
    absolute: bool = False,
) -> SimplifyResult:
    """Collapse edges towards target_index_count while meshoptimizer's error stays within max_relative_error.

    The error is relative to the mesh extent (meshopt_simplifyScale, the largest bbox side); `pipeline.budgets`
    converts it to the bbox diagonal and measures it. Locking the border keeps seams between primitives closed.
    With `absolute`, the bound and the returned error are in the positions' own units instead. With `sparse`, the
    indices are a small part of the vertex arrays: meshoptimizer's work and memory then scale with the part, not
    with the arrays (meshopt_SimplifySparse).
    """
    pos = np.ascontiguousarray(positions, dtype=np.float32)
    flat = _check_indices(indices, len(pos))
    out = np.zeros(len(flat), dtype=np.uint32)
    error = np.zeros(1, dtype=np.float32)
    options = ((_mo.SIMPLIFY_LOCK_BORDER if lock_border else 0) | (_mo.SIMPLIFY_SPARSE if sparse else 0)
               | (_mo.SIMPLIFY_ERROR_ABSOLUTE if absolute else 0))
    target = max(0, min(int(target_index_count), len(flat)))
    if attributes is not None and attribute_weights is not None:
        attrs = np.ascontiguousarray(attributes, dtype=np.float32)
        count = _mo.simplify_with_attributes(
            out, flat, pos, attrs, np.asarray(attribute_weights, dtype=np.float32),
            target_index_count=target, target_error=max_relative_error, options=options, result_error=error,
        )
    else:
        count = _mo.simplify(
            out, flat, pos, target_index_count=target, target_error=max_relative_error, options=options,
            result_error=error,
        )
    return SimplifyResult(indices=out[:count].copy(), relative_error=float(error[0]))


def simplify_scale(positions: np.ndarray) -> float:
    """The length meshoptimizer's relative simplification error is measured against."""
    return float(_mo.simplify_scale(np.ascontiguousarray(positions, dtype=np.float32)))
