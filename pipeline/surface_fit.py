"""Shape help for the simplifier: vertex normals of a bare scan, and moving kept vertices towards the replaced surface."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

# pykdtree runs its queries on GNU OpenMP threads, and those do not survive a fork: an asset worker forked after
# a parallel query hangs in its first one (tested by test_surface_fit). With one thread no OpenMP pool is ever made.
# OpenMP reads this once, as the library loads, so it is set before the import; nothing else here uses OpenMP.
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
from pykdtree.kdtree import KDTree  # noqa: E402

from pipeline import meshopt  # noqa: E402

# How far a kept vertex moves towards its least-squares place along its normal. Measured on Igea and Nefertiti
# (bench_ladder, error per level against gltfpack -si): the full step cut the RMS error but doubled Nefertiti low's
# Hausdorff distance (1.23e-3 -> 1.86e-3), half a step lowered both on every level.
STEP = 0.5
# A source position counts towards a kept one only when their normals agree this much (cosine): the nearest kept
# vertex to a point on one side of a thin part may be on the other side.
FACING = 0.5
SAMPLES = 500_000
# Fewer nearest-point queries than this run on one thread: a second thread costs more than it saves.
NEAREST_SPLIT = 20_000


def fitted_positions(positions: np.ndarray, original: np.ndarray, simplified: np.ndarray) -> np.ndarray:
    """New positions for a mesh whose triangles went from `original` to `simplified` (indices into `positions`).

    meshoptimizer (the bundled release) leaves every kept vertex where it was, so a coarse triangle cuts across
    the bumps it replaced. Each kept position gathers the planes (area-weighted quadrics) of the source positions
    nearest to it that face its way, and moves along its normal towards where their squared distances are least
    (STEP of the way), never beyond the source positions it stands for. Border positions (an open edge, or the
    edge to the next primitive of the mesh) stay put so nothing opens; vertices at one position (UV seams) move
    together."""
    unique, which = _unique_positions(positions)
    faces = which[np.asarray(original, dtype=np.int64).reshape(-1, 3)]
    kept_faces = which[np.asarray(simplified, dtype=np.int64).reshape(-1, 3)]
    if not len(kept_faces):
        return np.asarray(positions)
    used = np.flatnonzero(np.bincount(kept_faces.reshape(-1), minlength=len(unique)))
    sources = np.flatnonzero(np.bincount(faces.reshape(-1), minlength=len(unique)))
    # A big parent speaks through an even sample of its positions: the least-squares place is a ratio of sums, and
    # the nearest-point search is the cost (about 1 s per million positions).
    sources = sources[::max(1, -(-len(sources) // SAMPLES))]
    nearest = _nearest(unique[used], unique[sources])
    normals = _vertex_normals(unique, kept_faces)[used]
    source_normals, source_quadrics = _normals_and_quadrics(unique, faces)
    facing = np.einsum("ni,ni->n", source_normals[sources], normals[nearest]) > FACING
    sources, nearest = sources[facing], nearest[facing]
    quadrics = source_quadrics[sources]
    gathered = np.stack([np.bincount(nearest, weights=column, minlength=len(used)) for column in quadrics.T], axis=1)
    here = unique[used]
    matrix = _symmetric(gathered[:, :6])
    curvature = np.einsum("ni,nij,nj->n", normals, matrix, normals)
    slope = np.einsum("ni,ni->n", normals, np.einsum("nij,nj->ni", matrix, here) + gathered[:, 6:9])
    safe = curvature > 1e-30
    step = np.where(safe, -slope / np.where(safe, curvature, 1.0), 0.0) * STEP
    offsets = np.einsum("ni,ni->n", unique[sources] - here[nearest], normals[nearest])
    lowest = np.minimum(_grouped(np.minimum, nearest, offsets, len(used)), 0.0)
    step = np.clip(step, lowest, np.maximum(_grouped(np.maximum, nearest, offsets, len(used)), 0.0))
    step[np.isin(used, _border_positions(kept_faces))] = 0.0
    moved = unique.copy()
    moved[used] = here + step[:, None] * normals
    return moved[which].astype(np.asarray(positions).dtype)


def normals_of(positions: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals of a triangle list (one per position, so UV seams do not split them)."""
    unique, which = _unique_positions(positions)
    faces = which[np.asarray(indices, dtype=np.int64).reshape(-1, 3)]
    return _vertex_normals(unique, faces)[which].astype(np.float32)


def _unique_positions(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each distinct position once, float64; per vertex, the index of its position)."""
    rows = np.ascontiguousarray(positions, dtype=np.float32)
    remap, count = meshopt.generate_vertex_remap(rows, None)
    unique = np.zeros((count, 3))
    unique[remap] = rows
    return unique, remap.astype(np.int64)


def _nearest(points: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of the nearest of `points` to each query. Two halves on two threads (pykdtree lets go of the GIL, and
    its own OpenMP threads are off, see above): the surface fit runs on the ladder's critical path."""
    tree = KDTree(points)
    if len(queries) < NEAREST_SPLIT:
        return np.asarray(tree.query(queries)[1])
    half = len(queries) // 2
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda chunk: tree.query(chunk)[1], (queries[:half], queries[half:])))
    return np.concatenate(parts)


def _normals_and_quadrics(points: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the unit area-weighted normal of its triangles, and their area-weighted plane quadric:
    columns xx xy xz yy yz zz, b (3), c. Both from one cross product per triangle.

    One column at a time, each summed straight onto the positions: ten per-triangle columns at once cost 80 bytes a
    triangle more at the peak."""
    a = points[faces[:, 0]]
    cross = np.cross(points[faces[:, 1]] - a, points[faces[:, 2]] - a)
    normals = _summed_normals(cross, faces, len(points))
    double_area = np.linalg.norm(cross, axis=1)
    normal = cross / np.where(double_area > 0, double_area, 1.0)[:, None]
    offset = -np.einsum("ni,ni->n", normal, a)
    weight = double_area / 2
    x, y, z = normal.T
    pairs = ((x, x), (x, y), (x, z), (y, y), (y, z), (z, z), (x, offset), (y, offset), (z, offset), (offset, offset))
    return normals, np.stack([_summed_on_corners(first * second * weight, faces, len(points))
                              for first, second in pairs], 1)


def _summed_on_corners(per_face: np.ndarray, faces: np.ndarray, count: int) -> np.ndarray:
    return sum((np.bincount(faces[:, corner], weights=per_face, minlength=count) for corner in range(3)),
               np.zeros(count))


def _symmetric(six: np.ndarray) -> np.ndarray:
    xx, xy, xz, yy, yz, zz = six.T
    return np.stack([np.stack([xx, xy, xz], 1), np.stack([xy, yy, yz], 1), np.stack([xz, yz, zz], 1)], 1)


def _vertex_normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    cross = np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]])
    return _summed_normals(cross, faces, len(points))


def _summed_normals(cross: np.ndarray, faces: np.ndarray, count: int) -> np.ndarray:
    """Unit vertex normals from per-triangle cross products (twice the area-weighted normals) summed on corners."""
    normals = np.stack([_summed_on_corners(column, faces, count) for column in cross.T], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def _grouped(reduce: np.ufunc, groups: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """reduce(values) per group id (0 where a group is empty), by sorting rather than ufunc.at."""
    out = np.zeros(count)
    if not len(values):
        return out
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    out[sorted_groups[starts]] = reduce.reduceat(values[order], starts)
    return out


def _border_positions(faces: np.ndarray) -> np.ndarray:
    """Positions on an edge that only one triangle uses."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    span = int(faces.max()) + 1
    keys = np.sort(edges[:, 0] * span + edges[:, 1])
    alone = np.r_[True, keys[1:] != keys[:-1]] & np.r_[keys[:-1] != keys[1:], True]
    return np.r_[keys[alone] // span, keys[alone] % span]
