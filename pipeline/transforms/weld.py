"""Weld: merge byte-identical vertices of each primitive and drop triangles that collapse to a point or a line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import meshopt
from pipeline.scene import Primitive, Scene
from pipeline.transforms.common import TRIANGLES, apply_vertex_order, triangle_indices, vertex_rows


@dataclass(frozen=True)
class Weld:
    """Merge vertices whose every attribute (and morph target) is equal, as gltfpack does.

    Seams survive because vertices that differ in any attribute (a UV seam, a hard normal) are not equal.
    """

    drop_degenerate: bool = True  # triangles with a repeated index render nothing

    def __call__(self, scene: Scene) -> Scene:
        for mesh in scene.meshes():
            for primitive in mesh.primitives:
                weld_primitive(primitive, self.drop_degenerate)
        return scene


def weld_primitive(primitive: Primitive, drop_degenerate: bool = True) -> None:
    if primitive.vertex_count == 0:
        return
    indices = triangle_indices(primitive)
    remap, unique = meshopt.generate_vertex_remap(vertex_rows(primitive), indices)
    new_indices = remap[indices]
    if primitive.mode == TRIANGLES and drop_degenerate:
        tris = new_indices.reshape(-1, 3)
        keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
        new_indices = tris[keep].reshape(-1)
    if unique == primitive.vertex_count and primitive.indices is not None and len(new_indices) == len(indices):
        return
    # remap is old → new; the first old vertex of each new slot represents it (they are all equal).
    new_to_old = np.zeros(unique, dtype=np.int64)
    used = remap != 0xFFFFFFFF
    old = np.nonzero(used)[0]
    new_to_old[remap[old][::-1]] = old[::-1]
    apply_vertex_order(primitive, new_to_old, new_indices)
