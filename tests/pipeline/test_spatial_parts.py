"""Spatial parts: every triangle in exactly one part, parts of equal size, and a part-wise simplification without cracks."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from pipeline import spatial_parts


@pytest.fixture
def sphere() -> tuple[np.ndarray, np.ndarray]:
    mesh = trimesh.creation.icosphere(subdivisions=5)  # 20,480 triangles, closed
    return mesh.vertices.astype(np.float32), mesh.faces.astype(np.uint32).reshape(-1)


def _open_edges(indices: np.ndarray) -> int:
    triangles = indices.reshape(-1, 3)
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum())


def test_part_count_is_a_power_of_two_from_two_parts_worth() -> None:
    size = spatial_parts.PART_TRIANGLES
    assert spatial_parts.part_count(2 * size - 1) == 1
    assert spatial_parts.part_count(2 * size) == 2
    assert spatial_parts.part_count(8 * size) == 8
    assert spatial_parts.part_count(10 * size) == 8
    assert spatial_parts.part_count(16 * size) == 16
    assert spatial_parts.part_count(10**12) == 1 << spatial_parts.MAX_DEPTH


def test_every_triangle_lands_in_one_part_in_its_order(sphere: tuple[np.ndarray, np.ndarray]) -> None:
    positions, indices = sphere
    parts = spatial_parts.spatial_parts(positions, indices, 8)
    assert len(parts) == 8
    rows = [part.reshape(-1, 3) for part in parts]
    assert sum(len(r) for r in rows) == len(indices) // 3
    # The same triangles, each once: sorted rows of the union equal the source's.
    union = np.concatenate(rows)
    key = np.lexsort(union.T[::-1])
    source = indices.reshape(-1, 3)
    assert np.array_equal(union[key], source[np.lexsort(source.T[::-1])])
    # About equal sizes (the planes come from a sample of anchors).
    sizes = np.array([len(r) for r in rows])
    assert sizes.min() > 0.8 * sizes.mean() and sizes.max() < 1.2 * sizes.mean()
    # Each part keeps the source's order: its triangles' positions in the source increase.
    where = {tuple(t): i for i, t in enumerate(source.tolist())}
    for part in rows:
        order = [where[tuple(t)] for t in part.tolist()]
        assert order == sorted(order)


def test_parts_are_spatially_separate(sphere: tuple[np.ndarray, np.ndarray]) -> None:
    positions, indices = sphere
    parts = spatial_parts.spatial_parts(positions, indices, 2)
    # Two parts of a sphere split by one plane through its longest side: the anchors' coordinates on some axis
    # do not overlap.
    anchors = [positions[part.reshape(-1, 3)[:, 0]] for part in parts]
    separated = [anchors[0][:, axis].max() <= anchors[1][:, axis].min() for axis in range(3)]
    assert any(separated)


def test_one_part_is_the_whole_mesh(sphere: tuple[np.ndarray, np.ndarray]) -> None:
    positions, indices = sphere
    (whole,) = spatial_parts.spatial_parts(positions, indices, 1)
    assert np.array_equal(whole, indices)


def test_part_wise_simplification_meets_its_target_without_cracks(
        sphere: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    positions, indices = sphere
    monkeypatch.setattr(spatial_parts, "PART_TRIANGLES", 2_500)
    assert spatial_parts.part_count(len(indices) // 3) == 8
    assert _open_edges(indices) == 0
    target = len(indices) // 4
    simplified, error = spatial_parts.simplify(positions, indices, target, float("inf"), None, None)
    triangles = len(simplified) // 3
    # The locked borders keep some triangles a whole-mesh pass would remove, but each part comes close to its share.
    assert target // 3 * 0.9 <= triangles <= target // 3 * 1.3
    assert _open_edges(simplified) == 0  # the parts still meet: no crack along a locked border
    assert 0 < error < 0.05  # in the positions' units (a unit sphere), not relative
    again, _ = spatial_parts.simplify(positions, indices, target, float("inf"), None, None)
    assert np.array_equal(simplified, again)  # threads finish in any order; the result does not depend on it


def test_part_wise_simplification_keeps_within_its_error(
        sphere: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    positions, indices = sphere
    monkeypatch.setattr(spatial_parts, "PART_TRIANGLES", 2_500)
    normals = positions / np.linalg.norm(positions, axis=1, keepdims=True)
    loose, loose_error = spatial_parts.simplify(positions, indices, 0, 1e-2, normals, np.full(3, 0.1, np.float32))
    tight, tight_error = spatial_parts.simplify(positions, indices, 0, 1e-4, normals, np.full(3, 0.1, np.float32))
    assert loose_error <= 1e-2 and tight_error <= 1e-4
    assert len(loose) < len(tight) <= len(indices)


def test_the_reserve_goes_to_the_worst_parts_and_lowers_the_largest_error(
        sphere: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    positions, indices = sphere
    # Fine bumps on one side only: the parts there lose more for the same share of the count.
    bumpy = positions.copy()
    side = bumpy[:, 0] > 0.3
    bumpy[side] *= (1 + 0.03 * np.sin(40 * bumpy[side, 1:2]) * np.sin(40 * bumpy[side, 2:3])).astype(np.float32)
    monkeypatch.setattr(spatial_parts, "PART_TRIANGLES", 1_250)
    assert spatial_parts.part_count(len(indices) // 3) == 16
    target = len(indices) // 3 // 4 * 3  # a quarter of the triangles, as an index count
    balanced, balanced_error = spatial_parts.simplify(bumpy, indices, target, float("inf"), None, None)
    monkeypatch.setattr(spatial_parts, "RESERVE", 0.0)
    even, even_error = spatial_parts.simplify(bumpy, indices, target, float("inf"), None, None)
    assert len(balanced) <= target and len(even) <= target
    assert len(balanced) >= 0.99 * len(even)  # the count is used, not lost
    assert balanced_error < even_error  # the largest part error is what the reserve went to lower
    assert _open_edges(balanced) == 0


def _in_pages(positions: np.ndarray, indices: np.ndarray, cuts: list[int]) -> spatial_parts.PagedTriangles:
    """The sphere's triangles cut into pages at `cuts` (triangle numbers), each page indexing its own copy of the
    vertices it uses, the pages' vertices laid end to end (as a scan's texture pages are joined)."""
    triangles = indices.reshape(-1, 3)
    pages, starts, start = [], [], 0
    for begin, end in zip([0, *cuts], [*cuts, len(triangles)], strict=True):
        used, local = np.unique(triangles[begin:end], return_inverse=True)
        pages.append(local.astype(np.uint32).reshape(-1))
        starts.append(start)
        start += len(used)
    return spatial_parts.PagedTriangles(tuple(pages), tuple(starts))


def test_a_meshs_pages_are_split_into_the_parts_their_joined_copy_would_be(
        sphere: tuple[np.ndarray, np.ndarray]) -> None:
    positions, indices = sphere
    paged = _in_pages(positions, indices, [5_001, 5_002, 13_333])  # a page of one triangle among them
    joined = np.asarray(paged)
    vertices = np.concatenate([positions[np.unique(t)] for t in np.split(indices.reshape(-1, 3),
                                                                        [5_001, 5_002, 13_333])])
    assert joined.dtype == np.uint32 and len(joined) == len(paged) == len(indices)
    assert np.array_equal(vertices[joined], positions[indices])  # the same surface, renumbered
    for step in (1, 3, 7):
        assert np.array_equal(paged.first_corners(step), joined.reshape(-1, 3)[::step, 0])
    chosen = np.array([0, 5_000, 5_001, 5_002, 9_000, 20_479], dtype=np.uint32)
    assert np.array_equal(paged.gather(chosen), joined.reshape(-1, 3)[chosen].reshape(-1))
    for count in (1, 8):
        parts = spatial_parts.spatial_parts(vertices, paged, count)
        assert len(parts) == count
        for part, expected in zip(parts, spatial_parts.spatial_parts(vertices, joined, count), strict=True):
            assert np.array_equal(part, expected)
    result, error = spatial_parts.simplify(vertices, paged, 3 * 4_000, 1.0, None, None)
    assert np.array_equal(result, spatial_parts.simplify(vertices, joined, 3 * 4_000, 1.0, None, None)[0])
