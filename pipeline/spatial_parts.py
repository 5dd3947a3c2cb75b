"""Simplify a big triangle mesh in spatial parts with locked borders, one part per core, as meshoptimizer's clusterlod does."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import meshopt

# A part's size. On the 4M-triangle synthetic scan (bench_parts), `high` (4M -> 3M) took 1.68 s whole on one core
# and 0.77 s in 16 parts on two: each part's work fits the caches, so the CPU time falls too. meshoptimizer's ~150
# bytes per triangle are paid per part in flight, not for the whole mesh. Against the source (exact two-way
# distances, 1M-10M scans, before the reserve below) the RMS error stayed within +5 % of the whole-mesh pass and
# the Hausdorff distance moved by -3 to +27 %: the locked borders keep their full density, so each part's interior
# gives more. Parts of 125k were
# faster still (10M `high` 2.8 s against 3.1 s) but lost more; parts of 500k lost less and took 4.1 s.
PART_TRIANGLES = 250_000
MAX_DEPTH = 8  # at most 256 parts
# Anchors sampled to place the splitting planes: exact medians are not needed, only parts of about equal size.
PLANE_SAMPLES = 65_536
WORKERS = max(1, os.cpu_count() or 1)
# A simplification to a triangle count holds this share of it back from the first pass and gives it to the parts
# that came out worst (by meshoptimizer's error), simplified again from their source with it: a part's share of the
# count follows its size, not its detail, and the worst part sets the Hausdorff distance. On the 4M scan's `high`
# (16 parts) 2 % for the worst 3 took that distance from 6.61e-4 to 5.04e-4 of the diagonal (gltfpack -si: 6.14e-4,
# the whole mesh at once: 5.21e-4), with the RMS error 0.4 % lower, for 0.12 s more; on the 10M scan's (32 parts),
# from 1.39e-3 to 1.19e-3 (gltfpack: 1.28e-3), for 0.9 s more.
# Only for 16 parts or more (a source of 4M triangles and up: `high`), where redoing 3 costs under a fifth of the
# pass; with fewer, `medium` at 1M-10M was already below gltfpack's Hausdorff distance (bench_parts).
RESERVE = 0.02
WORST_PARTS = 3
RESERVE_PARTS = 16


@dataclass(frozen=True)
class PagedTriangles:
    """A triangle list held as pages, each a flat index array into its own vertices, the pages' vertices laid end
    to end from `vertex_starts`: a mesh's primitives joined for the simplifier without a joined copy of their
    indices (12 bytes a triangle: 48 MB of a paged 4M-triangle scan beside its simplification). Its parts are
    gathered from the pages; as an array (np.asarray) it is that joined copy."""

    pages: tuple[np.ndarray, ...]
    vertex_starts: tuple[int, ...]

    def __len__(self) -> int:
        return sum(len(page) for page in self.pages)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        joined = np.empty(len(self), dtype=np.uint32)
        at = 0
        for page, start in zip(self.pages, self.vertex_starts, strict=True):
            np.add(page, np.uint32(start), out=joined[at:at + len(page)])
            at += len(page)
        return joined if dtype is None else joined.astype(dtype, copy=False)

    def first_corners(self, step: int = 1) -> np.ndarray:
        """The first corner of every `step`-th triangle (counted across the pages), in the joined numbering."""
        corners, first = [], 0
        for page, start in zip(self.pages, self.vertex_starts, strict=True):
            triangles = len(page) // 3
            skip = -first % step
            corners.append(page[3 * skip::3 * step] + np.uint32(start))
            first += triangles
        return np.concatenate(corners) if corners else np.empty(0, dtype=np.uint32)

    def gather(self, chosen: np.ndarray) -> np.ndarray:
        """The triangles numbered `chosen` (increasing), flat, in the joined numbering."""
        ends = np.cumsum([len(page) // 3 for page in self.pages])
        cuts = np.searchsorted(chosen, ends)
        pieces, begin, first = [], 0, 0
        for page, start, cut, end in zip(self.pages, self.vertex_starts, cuts, ends, strict=True):
            mine = page.reshape(-1, 3)[chosen[begin:cut] - np.uint32(first)]
            mine += np.uint32(start)
            pieces.append(mine.reshape(-1))
            begin, first = cut, int(end)
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint32)


def part_count(triangles: int) -> int:
    """How many parts a mesh of this many triangles is simplified in: a power of two, 1 below two parts' worth."""
    depth = 0
    while depth < MAX_DEPTH and triangles >= PART_TRIANGLES << (depth + 1):
        depth += 1
    return 1 << depth


def spatial_parts(positions: np.ndarray, indices: np.ndarray | PagedTriangles, count: int) -> list[np.ndarray]:
    """The triangles split into `count` (a power of two) parts of about equal size by a k-d tree of axis-aligned
    planes, each part's triangles in their original order. A triangle goes where its first vertex lies, so the
    split is deterministic and a vertex's twins across a UV seam (same position) land on the same side."""
    return [part() for part in _part_makers(positions, indices, count)]


def _part_makers(positions: np.ndarray, indices: np.ndarray | PagedTriangles,
                 count: int) -> list[Callable[[], np.ndarray]]:
    """Per part, a call that makes its index array: each is made when its simplification starts, so the parts
    of a 10M-triangle scan are not a second copy of its 120 MB of indices all at once."""
    depth = count.bit_length() - 1
    if isinstance(indices, PagedTriangles):
        if depth == 0 or len(indices) == 0:
            return [functools.partial(np.asarray, indices)]
        gather: Callable[[np.ndarray], np.ndarray] = indices.gather
        first_corners = indices.first_corners
    else:
        triangles = np.asarray(indices, dtype=np.uint32).reshape(-1, 3)
        if depth == 0 or len(triangles) == 0:
            return [lambda: triangles.reshape(-1)]
        gather = functools.partial(_part, triangles)
        first_corners = functools.partial(_first_corners, triangles)
    step = max(1, len(indices) // 3 // PLANE_SAMPLES)
    axes, planes = _kd_planes(np.asarray(positions[first_corners(step)], dtype=np.float64), depth)
    labels = np.zeros(len(positions), dtype=np.uint16)
    for level, axis in enumerate(axes):
        # One axis per level: a column compared with its node's plane, with no gather of coordinates.
        above = positions[:, axis] > planes[labels + np.uint16((1 << level) - 1)]
        labels <<= 1
        labels |= above
    del above
    part_of = labels[first_corners(1)]
    del labels
    order = np.argsort(part_of, kind="stable").astype(np.uint32)
    ends = np.cumsum(np.bincount(part_of, minlength=count))
    return [functools.partial(gather, order[start:end]) for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _part(triangles: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    return triangles[chosen].reshape(-1)


def _first_corners(triangles: np.ndarray, step: int) -> np.ndarray:
    return triangles[::step, 0]


def _kd_planes(points: np.ndarray, depth: int) -> tuple[list[int], np.ndarray]:
    """Per level, the axis its nodes split (the one along which the level's nodes are longest on average); per node
    of the complete binary tree (heap order), the median of its points on that axis."""
    axes: list[int] = []
    planes = np.zeros((1 << depth) - 1, dtype=np.float32)
    level_points = [points]
    for level in range(depth):
        extents = [part.max(axis=0) - part.min(axis=0) for part in level_points if len(part)]
        axis = int(np.argmax(np.mean(extents, axis=0))) if extents else 0
        axes.append(axis)
        children = []
        for offset, part in enumerate(level_points):
            node = (1 << level) - 1 + offset
            # float32, as the positions are compared with it: a median between two float32 values rounds onto
            # one of them, and points on the plane go below it, on both sides of the comparison alike.
            planes[node] = np.float32(np.median(part[:, axis])) if len(part) else np.float32(0)
            side = part[:, axis].astype(np.float32) > planes[node]
            children += [part[~side], part[side]]
        level_points = children
    return axes, planes


def simplify(positions: np.ndarray, indices: np.ndarray | PagedTriangles, target_index_count: int, max_error: float,
             attributes: np.ndarray | None, attribute_weights: np.ndarray | None) -> tuple[np.ndarray, float]:
    """(indices, error) of the mesh simplified part by part, each part towards its share of the target within
    `max_error` (in the positions' units, as is the error returned: the largest part's). The borders between parts,
    and the mesh's own open borders, are locked, so the parts still meet exactly."""
    count = part_count(len(indices) // 3)
    parts = _part_makers(positions, indices, count)
    # To a count (not by error alone), several parts: some of it is held back for the worst parts (RESERVE).
    reserve = RESERVE if target_index_count > 0 and len(parts) >= RESERVE_PARTS else 0.0
    share = target_index_count / max(1, len(indices)) * (1 - reserve)

    def simplified(make: Callable[[], np.ndarray], triangles: int | None = None) -> meshopt.SimplifyResult:
        part = make()
        if len(part) == 0:
            return meshopt.SimplifyResult(indices=part, relative_error=0.0)
        wanted = int(len(part) // 3 * share) if triangles is None else triangles
        return meshopt.simplify(positions, part, wanted * 3, max_error, lock_border=True, attributes=attributes,
                                attribute_weights=attribute_weights, sparse=True, absolute=True)

    with ThreadPoolExecutor(min(WORKERS, len(parts))) as pool:  # meshoptimizer releases the GIL
        results = list(pool.map(simplified, parts))
        spare = target_index_count // 3 - sum(len(r.indices) // 3 for r in results)
        if reserve and spare > 0:
            worst = np.argsort([-r.relative_error for r in results], kind="stable")[:WORST_PARTS]
            again = list(pool.map(lambda i: simplified(parts[i], len(results[i].indices) // 3 + spare // WORST_PARTS),
                                  worst))
            # Within the count (an error bound may stop a part above the count it was given): else as they were.
            if sum(len(r.indices) for r in again) - sum(len(results[i].indices) for i in worst) <= spare * 3:
                for index, result in zip(worst, again, strict=True):
                    results[index] = result
    return np.concatenate([r.indices for r in results]), max(r.relative_error for r in results)
