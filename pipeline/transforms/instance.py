"""Instance: draw a mesh repeated across static nodes once, with EXT_mesh_gpu_instancing (`Node.instances`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.scene import Node, Scene
from pipeline.transforms.common import (
    add_to_group,
    decompose,
    dynamic_nodes,
    is_static_geometry,
    prune_empty,
    static_groups,
)


@dataclass(frozen=True)
class Instance:
    """Replace the nodes of one region that all draw the same mesh by one node with per-instance TRS.

    Regions are as in `Merge`: nodes the spec names are never touched and instances never cross between them.
    Placements with shear (no TRS form) stay separate nodes.
    """

    min_instances: int = 2

    def __call__(self, scene: Scene) -> Scene:
        dynamic = dynamic_nodes(scene)
        changed = False
        for owner, members in static_groups(scene):
            by_mesh: dict[int, list[tuple[Node, tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}
            for node, matrix in members:
                if node.mesh is None or not is_static_geometry(node, dynamic):
                    continue
                trs = decompose(matrix)
                if trs is not None:
                    by_mesh.setdefault(id(node.mesh), []).append((node, trs))
            for entries in by_mesh.values():
                if len(entries) < self.min_instances:
                    continue
                mesh = entries[0][0].mesh
                assert mesh is not None
                instances = {
                    "TRANSLATION": np.array([t for _, (t, _, _) in entries], dtype=np.float32),
                    "ROTATION": np.array([r for _, (_, r, _) in entries], dtype=np.float32),
                    "SCALE": np.array([s for _, (_, _, s) in entries], dtype=np.float32),
                }
                for node, _ in entries:
                    node.mesh = None
                add_to_group(scene, owner, Node(name=f"{mesh.name or 'mesh'}.instances", mesh=mesh,
                                                instances=instances))
                changed = True
        if changed:
            prune_empty(scene)
        return scene
