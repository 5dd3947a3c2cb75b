"""Merge: draw static meshes that share a material and a region in one call, and join the rest into one mesh."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.scene import Mesh, Node, Primitive, Scene
from pipeline.transforms.common import (
    add_to_group,
    attribute_signature,
    compact_indices,
    concatenate_primitives,
    dynamic_nodes,
    is_static_geometry,
    mesh_users,
    prune_empty,
    static_groups,
    transform_primitive,
    triangle_indices,
)

MERGEABLE_MODES = (0, 1, 4)  # point, line and triangle lists concatenate; strips and fans do not


@dataclass(frozen=True)
class Merge:
    """Join static primitives with the same material and vertex layout inside one region into one primitive.

    A region is the scene root or a node the spec names (`keep`); merged geometry goes to a new child of that
    node, so named nodes are never merged away, moved or renamed and no geometry crosses between two of them.
    Animated, skinned, morphed and instanced nodes are left alone, and so are primitives with material variants
    and meshes several nodes share (those are for `Instance`).

    With `join` (default), the other static meshes of a region then move, as primitives, into that same one mesh
    on one node, as gltfpack does: draw calls stay the same, but each dropped node and mesh saves its JSON and,
    after quantizing, its own dequantization transform. Only meshes that can move whole join (every primitive a
    float list with no material variants, and no mesh extras); the nodes they leave keep their names only if
    something else keeps them (children, lights, cameras, extras, or `keep`), as gltfpack does without `-kn`.
    """

    max_vertices: int = 4_000_000  # keep merged buffers a sane size for a browser
    join: bool = True

    def __call__(self, scene: Scene) -> Scene:
        dynamic = dynamic_nodes(scene)
        users = mesh_users(scene)
        changed = False
        for number, (owner, members) in enumerate(static_groups(scene)):
            buckets: dict[tuple[object, ...], list[tuple[Node, Primitive, object]]] = {}
            for node, matrix in members:
                if node.mesh is None or not is_static_geometry(node, dynamic) or users[id(node.mesh)] != 1:
                    continue
                for primitive in node.mesh.primitives:
                    if (primitive.mode not in MERGEABLE_MODES or primitive.variants
                            or primitive.attributes["POSITION"].dtype.kind != "f"):
                        continue
                    key = (id(primitive.material), attribute_signature(primitive))
                    buckets.setdefault(key, []).append((node, primitive, matrix))
            merged: list[Primitive] = []
            for entries in buckets.values():
                if len(entries) < 2 or sum(p.vertex_count for _, p, _ in entries) > self.max_vertices:
                    continue
                merged.append(concatenate_primitives([transform_primitive(p, m) for _, p, m in entries]))  # type: ignore[arg-type]
                for node, primitive, _ in entries:
                    assert node.mesh is not None
                    node.mesh.primitives = [p for p in node.mesh.primitives if p is not primitive]
                    if not node.mesh.primitives:
                        node.mesh = None
            if self.join:
                self._join(scene, members, dynamic, users, merged)
            if merged:
                base = owner.name if owner is not None and owner.name else "scene"
                add_to_group(scene, owner, Node(name=f"{base}.merged{number}" if owner is None else f"{base}.merged",
                                                mesh=Mesh(name=f"{base}.merged", primitives=merged)))
                changed = True
        if changed:
            prune_empty(scene)
        return scene

    def _join(self, scene: Scene, members: list[tuple[Node, np.ndarray]], dynamic: set[int], users: dict[int, int],
              merged: list[Primitive]) -> None:
        """Move the region's whole movable meshes into `merged`, unless that would not leave fewer meshes."""
        order = {id(node): index for index, node in enumerate(scene.all_nodes())}
        movable = sorted(
            ((node, matrix) for node, matrix in members
             if node.mesh is not None and is_static_geometry(node, dynamic) and users[id(node.mesh)] == 1
             and not node.mesh.extras and all(_movable(p) for p in node.mesh.primitives)),
            key=lambda entry: order[id(entry[0])])  # scene order, so primitives draw in the order they did
        if len(movable) + (1 if merged else 0) < 2:
            return
        total = sum(p.vertex_count for p in merged)
        for node, matrix in movable:
            assert node.mesh is not None
            count = sum(p.vertex_count for p in node.mesh.primitives)
            if total + count > self.max_vertices:
                break
            total += count
            for primitive in node.mesh.primitives:
                moved = transform_primitive(primitive, matrix)
                moved.indices = compact_indices(triangle_indices(moved), moved.vertex_count)
                merged.append(moved)
            node.mesh = None


def _movable(primitive: Primitive) -> bool:
    """transform_primitive keeps everything of this primitive: a list mode (mirroring flips its winding), float
    positions, no morph targets and no variants."""
    return (primitive.mode in MERGEABLE_MODES and not primitive.variants and not primitive.targets
            and primitive.attributes["POSITION"].dtype.kind == "f")
