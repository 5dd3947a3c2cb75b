"""Weld: merge equal vertices of each primitive and drop triangles that collapse to a point or a line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import meshopt
from pipeline.scene import Primitive, Scene
from pipeline.transforms.common import (
    TRIANGLES,
    apply_vertex_order,
    triangle_indices,
    vertex_rows,
    vertex_streams,
)


@dataclass(frozen=True)
class Weld:
    """Merge vertices whose every attribute (and morph target) is equal, as gltfpack does.

    Seams survive because vertices that differ in any attribute (a UV seam, a hard normal) are not equal.
    With `normal_angle` (radians, 0 = exact), vertices equal in everything but a float normal within that angle
    of an earlier one's count as equal too (StainedGlassLamp's beads hold hundreds of such near-copies, which
    gltfpack 1.3 also merges). The presets set the angle to half a step of the normal quantization, so a welded
    normal moves less than rounding to the stored bits may move it anyway; positions never change.
    """

    drop_degenerate: bool = True  # triangles with a repeated index render nothing
    normal_angle: float = 0.0

    def __call__(self, scene: Scene) -> Scene:
        for mesh in scene.meshes():
            for primitive in mesh.primitives:
                if self.normal_angle > 0:
                    snap_normals(primitive, self.normal_angle)
                weld_primitive(primitive, self.drop_degenerate)
        return scene


def snap_normals(primitive: Primitive, angle: float) -> None:
    """Give vertices that are equal but for a normal within `angle` of an earlier one that earlier normal."""
    normals = primitive.attributes.get("NORMAL")
    if normals is None or normals.dtype.kind != "f" or primitive.vertex_count < 2:
        return
    rest = Primitive(attributes={k: v for k, v in primitive.attributes.items() if k != "NORMAL"},
                     targets=primitive.targets)
    rows = vertex_rows(rest)
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1]))).reshape(-1)
    _, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shared = np.nonzero(counts[group] > 1)[0]
    if not len(shared):
        return
    shared = shared[np.argsort(group[shared], kind="stable")]  # by group, each in vertex order
    starts = np.nonzero(np.diff(group[shared], prepend=-1))[0]
    vectors = np.asarray(normals, dtype=np.float64)
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(lengths > 0, lengths, 1.0)
    threshold = np.cos(angle)
    snapped = np.array(normals, copy=True)
    for members in np.split(shared, starts[1:]):
        kept: list[int] = []
        for vertex in members:
            match = next((k for k in kept if unit[k] @ unit[vertex] >= threshold), None)
            if match is None:
                kept.append(int(vertex))
            else:
                snapped[vertex] = snapped[match]
    primitive.attributes["NORMAL"] = snapped


def weld_primitive(primitive: Primitive, drop_degenerate: bool = True) -> None:
    if primitive.vertex_count == 0:
        return
    indices = triangle_indices(primitive)
    remap, unique = meshopt.generate_vertex_remap_streams(vertex_streams(primitive), indices)
    dropping = primitive.mode == TRIANGLES and drop_degenerate
    if unique == primitive.vertex_count and primitive.indices is not None and not (
            dropping and not _proper(indices).all()):
        # Every vertex used and distinct, so the remap only renumbers them and a triangle is degenerate after it
        # exactly when before: nothing to weld, and a scan's 30M indices are not gathered for nothing.
        return
    new_indices = remap[indices]
    if dropping:
        new_indices = new_indices.reshape(-1, 3)[_proper(new_indices)].reshape(-1)
    # remap is old → new; the first old vertex of each new slot represents it (they are all equal).
    new_to_old = np.zeros(unique, dtype=np.int64)
    used = remap != 0xFFFFFFFF
    old = np.nonzero(used)[0]
    new_to_old[remap[old][::-1]] = old[::-1]
    apply_vertex_order(primitive, new_to_old, new_indices)


def _proper(indices: np.ndarray) -> np.ndarray:
    """Per triangle of a triangle list, whether its three corners are three different vertices."""
    tris = indices.reshape(-1, 3)
    return (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
