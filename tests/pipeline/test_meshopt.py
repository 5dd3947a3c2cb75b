"""meshoptimizer wrapper: codecs round-trip, filters stay within their precision, reorder and simplify do their job."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import meshopt
from tests.helpers import wavy_grid


def grid_mesh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A wavy n×n vertex grid with two triangles per cell, triangles in a cache-hostile shuffled order."""
    positions, _, indices = wavy_grid(n, lambda x, y: 0.05 * np.sin(6 * x) * np.cos(5 * y))
    tris = indices.reshape(-1, 3)
    np.random.default_rng(1).shuffle(tris)
    return positions, tris.reshape(-1)


def test_vertex_buffer_round_trips_and_compresses_smooth_data() -> None:
    positions, _ = grid_mesh(40)
    quantized = np.round(positions * 16383).astype(np.uint16)
    rows = np.concatenate([quantized, np.zeros((len(quantized), 1), np.uint16)], axis=1)  # pad to 8 bytes
    encoded = meshopt.encode_vertex_buffer(rows)
    assert encoded[0] == 0xA0  # codec version 0, the one EXT_meshopt_compression specifies
    assert len(encoded) < rows.nbytes
    decoded = meshopt.decode_vertex_buffer(encoded, len(rows), 8)
    assert decoded.tobytes() == rows.tobytes()


def test_vertex_buffer_rejects_strides_the_extension_forbids() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        meshopt.encode_vertex_buffer(np.zeros((10, 6), np.uint8))


@pytest.mark.parametrize("index_size", [2, 4])
def test_index_buffer_round_trips(index_size: int) -> None:
    positions, indices = grid_mesh(30)
    encoded = meshopt.encode_index_buffer(indices)
    assert encoded == meshopt.encode_index_buffer(indices.astype(np.uint16).tobytes(), len(indices), 2)
    decoded = meshopt.decode_index_buffer(encoded, len(indices), index_size)
    assert decoded.dtype == (np.uint16 if index_size == 2 else np.uint32)
    # The codec may rotate a triangle's vertices but keeps each triangle and its winding.
    def canonical(tris: np.ndarray) -> list[tuple[int, ...]]:
        t = tris.reshape(-1, 3).astype(np.int64)
        rolled = [tuple(np.roll(row, -int(np.argmin(row)))) for row in t]
        return sorted(rolled)
    assert canonical(decoded) == canonical(indices)


def test_index_sequence_round_trips_exactly() -> None:
    lines = np.array([0, 1, 1, 2, 2, 3, 7, 0], dtype=np.uint32)
    encoded = meshopt.encode_index_sequence(lines)
    assert meshopt.decode_index_sequence(encoded, len(lines), 4).tolist() == lines.tolist()


def test_index_buffer_rejects_partial_triangles() -> None:
    with pytest.raises(ValueError, match="multiple of 3"):
        meshopt.encode_index_buffer(np.array([0, 1], np.uint32))


def test_raw_vertex_bytes_need_count_and_stride() -> None:
    rows = np.arange(32, dtype=np.uint8).reshape(4, 8)
    assert meshopt.encode_vertex_buffer(rows.tobytes(), 4, 8) == meshopt.encode_vertex_buffer(rows)
    with pytest.raises(ValueError, match="count and stride"):
        meshopt.encode_vertex_buffer(rows.tobytes())


def test_vertex_stream_filters_int8_normals_and_pads_other_attributes() -> None:
    rng = np.random.default_rng(5)
    unit = rng.normal(size=(300, 3))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    normals = np.round(unit * 127).astype(np.int8)
    stream = meshopt.vertex_stream("NORMAL", normals, normalized=True)
    assert stream.filter == meshopt.FILTER_OCTAHEDRAL and stream.rows.shape == (300, 4)
    decoded = meshopt.decode_filter_octahedral(stream.rows.view(np.int8))[:, :3]
    assert np.abs(decoded - unit).max() < 0.03
    filtered = len(meshopt.encode_vertex_buffer(stream.rows))
    plain = meshopt.vertex_stream("COLOR_0", normals, normalized=True)
    assert plain.filter == meshopt.FILTER_NONE and plain.rows.shape == (300, 4)
    assert plain.rows[:, :3].view(np.int8).tolist() == normals.tolist()
    positions = meshopt.vertex_stream("POSITION", np.zeros((7, 3), np.uint16), normalized=False)
    assert positions.rows.shape == (7, 8)
    assert filtered < len(meshopt.encode_vertex_buffer(plain.rows))


def test_buffer_view_dispatch_round_trips_each_mode() -> None:
    rows = np.arange(64 * 12, dtype=np.uint32).astype(np.uint8).reshape(64, 12)
    enc = meshopt.encode_buffer_view(rows.tobytes(), 64, 12, meshopt.MODE_ATTRIBUTES)
    assert meshopt.decode_buffer_view(enc, 64, 12, meshopt.MODE_ATTRIBUTES) == rows.tobytes()
    tri = np.array([0, 1, 2, 2, 1, 3], np.uint16)
    enc = meshopt.encode_buffer_view(tri.tobytes(), 6, 2, meshopt.MODE_TRIANGLES)
    back = np.frombuffer(meshopt.decode_buffer_view(enc, 6, 2, meshopt.MODE_TRIANGLES), np.uint16)
    assert sorted(back.tolist()) == sorted(tri.tolist())


def test_octahedral_filter_keeps_unit_vectors_within_8_bit_precision() -> None:
    rng = np.random.default_rng(2)
    normals = rng.normal(size=(500, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    encoded = meshopt.encode_filter_octahedral(normals, bits=8)
    assert encoded.dtype == np.int8 and encoded.shape == (500, 4)
    decoded = meshopt.decode_filter_octahedral(encoded)[:, :3]
    angles = np.degrees(np.arccos(np.clip((decoded / np.linalg.norm(decoded, axis=1, keepdims=True) * normals).sum(1), -1, 1)))
    assert angles.max() < 2.0
    # and through the bufferView path, as a viewer would decode it
    enc = meshopt.encode_buffer_view(encoded.tobytes(), 500, 4, meshopt.MODE_ATTRIBUTES)
    raw = meshopt.decode_buffer_view(enc, 500, 4, meshopt.MODE_ATTRIBUTES, meshopt.FILTER_OCTAHEDRAL)
    from_view = np.frombuffer(raw, np.int8).reshape(500, 4).astype(np.float32) / 127.0
    assert np.array_equal(from_view, meshopt.decode_filter_octahedral(encoded))


def test_quaternion_and_exponential_filters_round_trip_closely() -> None:
    rng = np.random.default_rng(3)
    quats = rng.normal(size=(200, 4)).astype(np.float32)
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    quats[quats[:, 3] < 0] *= -1
    decoded = meshopt.decode_filter_quaternion(meshopt.encode_filter_quaternion(quats, bits=16))
    assert np.abs(np.abs((decoded * quats).sum(1)) - 1).max() < 1e-3
    values = rng.uniform(-1000, 1000, size=(200, 3)).astype(np.float32)
    back = meshopt.decode_filter_exponential(meshopt.encode_filter_exponential(values, bits=20))
    assert np.allclose(back, values, rtol=1e-5)


def test_vertex_cache_optimization_lowers_acmr() -> None:
    positions, indices = grid_mesh(60)
    before = meshopt.analyze_vertex_cache(indices, len(positions)).acmr
    optimized = meshopt.optimize_vertex_cache(indices, len(positions))
    after = meshopt.analyze_vertex_cache(optimized, len(positions)).acmr
    assert after < 0.8 * before
    assert sorted(map(tuple, np.sort(optimized.reshape(-1, 3), 1))) == sorted(map(tuple, np.sort(indices.reshape(-1, 3), 1)))


def test_fetch_remap_orders_vertices_by_first_use() -> None:
    indices = np.array([5, 3, 4, 4, 3, 0], np.uint32)
    remap, used = meshopt.optimize_vertex_fetch_remap(indices, 7)
    assert used == 4
    assert remap[[5, 3, 4, 0]].tolist() == [0, 1, 2, 3]
    assert remap[1] == 0xFFFFFFFF and remap[6] == 0xFFFFFFFF


def test_vertex_remap_merges_identical_rows_only() -> None:
    rows = np.array([[1, 2], [3, 4], [1, 2], [1, 3]], np.float32)
    remap, unique = meshopt.generate_vertex_remap(rows, None)
    assert unique == 3
    assert remap[0] == remap[2] and len({remap[0], remap[1], remap[3]}) == 3


def test_simplify_respects_the_error_bound_and_reduces_triangles() -> None:
    positions, indices = grid_mesh(60)
    result = meshopt.simplify(positions, indices, target_index_count=len(indices) // 10, max_relative_error=0.01)
    assert len(result.indices) < len(indices) // 2
    assert 0 <= result.relative_error <= 0.01
    tight = meshopt.simplify(positions, indices, target_index_count=0, max_relative_error=1e-4)
    assert tight.relative_error <= 1e-4
    assert len(tight.indices) > len(result.indices)


def test_keyframe_streams_filter_translations_and_rotations_and_decode_close() -> None:
    times = np.linspace(0, 3, 90)
    translation = np.stack([np.sin(times) * 40, times, np.cos(times)], 1).astype(np.float32)
    stream = meshopt.keyframe_stream("translation", translation)
    assert stream.filter == meshopt.FILTER_EXPONENTIAL and stream.rows.shape == (90, 12)
    encoded = meshopt.encode_vertex_buffer(stream.rows)
    back = np.frombuffer(meshopt.decode_buffer_view(encoded, 90, 12, meshopt.MODE_ATTRIBUTES, stream.filter),
                         np.float32).reshape(90, 3)
    # One exponent per component for the track: fixed point at 2^-16 of the component's largest magnitude.
    assert np.all(np.abs(back - translation) <= 2.0 ** -15 * np.abs(translation).max(axis=0))
    angles = 0.5 * times
    quats = np.stack([np.zeros_like(angles), np.sin(angles), np.zeros_like(angles), np.cos(angles)], 1)
    stored = np.round(quats * 32767).astype(np.int16)
    stream = meshopt.keyframe_stream("rotation", stored)
    assert stream.filter == meshopt.FILTER_QUATERNION and stream.rows.shape == (90, 8)
    raw = meshopt.decode_buffer_view(meshopt.encode_vertex_buffer(stream.rows), 90, 8, meshopt.MODE_ATTRIBUTES,
                                     stream.filter)
    decoded = np.frombuffer(raw, np.int16).reshape(90, 4).astype(np.float64) / 32767
    assert np.abs(np.abs((decoded * quats).sum(1)) - 1).max() < 1e-4


def test_a_remap_over_separate_streams_is_the_remap_over_their_packed_rows() -> None:
    rng = np.random.default_rng(3)
    count = 5_000
    # Few distinct values per stream, so that many vertices repeat in one stream but not in all of them.
    positions = rng.integers(0, 4, (count, 3)).astype(np.float32)
    normals = rng.integers(0, 3, (count, 3)).astype(np.int8)
    uvs = np.asfortranarray(rng.integers(0, 3, (count, 2)).astype(np.float32))  # columns apart: copied
    wide = rng.integers(0, 2, (count, 4)).astype(np.uint16)[:, ::2]  # rows with a stride of their own
    indices = rng.integers(0, count, 9_000).astype(np.uint32)
    streams = [positions, normals, uvs, wide]
    packed = np.concatenate([np.ascontiguousarray(s).view(np.uint8).reshape(count, -1) for s in streams], axis=1)
    for used in (indices, None):
        expected = meshopt.generate_vertex_remap(packed, used)
        remap, unique = meshopt.generate_vertex_remap_streams(streams, used)
        assert unique == expected[1] and np.array_equal(remap, expected[0])
        assert 1 < unique < count  # the case is not trivial: some vertices merge, most do not
    # More streams than meshoptimizer takes at once: packed rows, the same answer.
    many = [positions[:, :1]] * (meshopt.MAX_REMAP_STREAMS + 1)
    assert np.array_equal(meshopt.generate_vertex_remap_streams(many, None)[0],
                          meshopt.generate_vertex_remap(positions[:, :1], None)[0])
