"""Synthetic IR scenes for transform tests, and what a renderer would draw from them (world-space triangles)."""

from __future__ import annotations

import numpy as np

from pipeline.scene import Material, Node, Primitive, Scene, local_matrix, node_matrix
from tests.helpers import wavy_grid

NORMALIZE = {np.dtype(np.int8): 127.0, np.dtype(np.uint8): 255.0, np.dtype(np.int16): 32767.0,
             np.dtype(np.uint16): 65535.0}


def grid(n: int = 12, size: float = 1.0, wave: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A wavy indexed n×n grid: positions, normals, UVs, indices."""
    positions, uvs, indices = wavy_grid(n, lambda x, y: wave * np.sin(3 * x) * np.cos(2 * y), size)
    normals = np.tile(np.array([0, 0, 1], np.float32), (len(positions), 1))
    return positions, normals, uvs, indices


def grid_primitive(material: Material | None = None, n: int = 12, offset: float = 0.0) -> Primitive:
    positions, normals, uvs, indices = grid(n)
    positions = positions + np.float32(offset)
    return Primitive(attributes={"POSITION": positions, "NORMAL": normals, "TEXCOORD_0": uvs}, indices=indices,
                     material=material)


def soup(primitive: Primitive) -> Primitive:
    """The same triangles with every corner its own vertex (as STL or unindexed files arrive)."""
    idx = np.asarray(primitive.indices, dtype=np.int64)
    return Primitive(attributes={k: v[idx] for k, v in primitive.attributes.items()}, indices=None,
                     material=primitive.material)


def decoded(primitive: Primitive, name: str) -> np.ndarray:
    values = primitive.attributes[name]
    if name in primitive.normalized:
        return np.maximum(values.astype(np.float64) / NORMALIZE[values.dtype], -1.0)
    return values.astype(np.float64)


def world_triangles(scene: Scene, ordered: bool = True) -> np.ndarray:
    """(t, 3, 3) world-space corners of every drawn triangle, instances included.

    ordered=True puts them in a canonical order (rounded), for transforms that move triangles around; False keeps
    the drawing order and full precision, for transforms that only change values.
    """
    out: list[np.ndarray] = []

    def visit(node: Node, parent: np.ndarray) -> None:
        world = parent @ node_matrix(node)
        if node.mesh is not None:
            matrices = [world]
            if node.instances is not None:
                n = len(next(iter(node.instances.values())))
                t = node.instances.get("TRANSLATION", np.zeros((n, 3)))
                r = node.instances.get("ROTATION", np.tile([0, 0, 0, 1.0], (n, 1)))
                s = node.instances.get("SCALE", np.ones((n, 3)))
                matrices = [world @ local_matrix(t[i], r[i], s[i]) for i in range(n)]
            for primitive in node.mesh.primitives:
                positions = decoded(primitive, "POSITION")
                idx = (np.arange(len(positions)) if primitive.indices is None
                       else np.asarray(primitive.indices, np.int64))
                corners = positions[idx.reshape(-1, 3)]
                for m in matrices:
                    # A mirroring transform makes renderers treat the other winding as front-facing.
                    facing = corners[:, [0, 2, 1]] if np.linalg.det(m[:3, :3]) < 0 else corners
                    out.append(facing @ m[:3, :3].T + m[:3, 3])
        for child in node.children:
            visit(child, world)

    for root in scene.nodes:
        visit(root, np.eye(4))
    if not out:
        return np.zeros((0, 3, 3))
    tris = np.concatenate(out)
    return canonical(tris) if ordered else tris


def canonical(tris: np.ndarray, decimals: int = 4) -> np.ndarray:
    """Rotate each triangle so its smallest corner comes first (winding kept), then sort the triangles."""
    rounded = np.round(tris, decimals) + 0.0  # +0.0 turns -0.0 into 0.0
    rolled = []
    for triangle in rounded:
        corners = [tuple(c) for c in triangle]
        rolled.append(np.roll(triangle, -corners.index(min(corners)), axis=0))
    flat = np.array(rolled).reshape(len(rolled), 9)
    return flat[np.lexsort(flat.T[::-1])].reshape(-1, 3, 3)
