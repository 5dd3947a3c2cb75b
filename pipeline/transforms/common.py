"""Geometry helpers the transforms share: affine decomposition, static/animated nodes, vertex rows and remaps."""

from __future__ import annotations

import numpy as np

from pipeline.scene import Node, Primitive, Scene, local_matrix, matrix_quaternion, node_matrix

TRIANGLES = 4


def decompose(matrix: np.ndarray, tolerance: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """4×4 affine → (translation, quaternion xyzw, scale), or None when it has shear or projection."""
    if not np.allclose(matrix[3], [0, 0, 0, 1], atol=tolerance):
        return None
    linear = matrix[:3, :3]
    scale = np.linalg.norm(linear, axis=0)
    if np.any(scale <= 0):
        return None
    if np.linalg.det(linear) < 0:
        scale[0] = -scale[0]
    rotation = linear / scale
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-5):
        return None
    quat = matrix_quaternion(rotation)
    rebuilt = local_matrix(matrix[:3, 3], quat, scale)
    if not np.allclose(rebuilt, matrix, atol=tolerance * max(1.0, float(np.abs(matrix).max()))):
        return None
    return matrix[:3, 3].copy(), quat, scale


def parents(scene: Scene) -> dict[int, Node | None]:
    """id(node) → its parent (None for roots)."""
    out: dict[int, Node | None] = {}
    for root in scene.nodes:
        out[id(root)] = None
        for node in root.walk():
            for child in node.children:
                out[id(child)] = node
    return out


def dynamic_nodes(scene: Scene) -> set[int]:
    """ids of nodes whose transform or weights move: animation targets and skin joints (and their subtrees)."""
    moving: set[int] = set()
    for animation in scene.animations:
        for channel in animation.channels:
            moving.update(id(n) for n in channel.node.walk())
    for node in scene.all_nodes():
        if node.skin is not None:
            for joint in node.skin.joints:
                moving.update(id(n) for n in joint.walk())
    return moving


def is_static_geometry(node: Node, dynamic: set[int]) -> bool:
    """A mesh node whose geometry may be moved into another node: no skin, morphs, instances or animation."""
    mesh = node.mesh
    if mesh is None or node.skin is not None or node.instances is not None or id(node) in dynamic:
        return False
    return not any(p.targets for p in mesh.primitives) and not mesh.weights


def is_removable(node: Node, referenced: set[int]) -> bool:
    """An empty node nobody needs: no mesh, children, light, camera, skin, metadata, and not named by the spec."""
    return (node.mesh is None and not node.children and node.light is None and node.camera is None
            and node.skin is None and not node.keep and node.xmp is None and not node.extras
            and id(node) not in referenced)


def referenced_nodes(scene: Scene) -> set[int]:
    """Nodes that animations or skins point at, which must survive even if empty."""
    out: set[int] = set()
    for animation in scene.animations:
        out.update(id(c.node) for c in animation.channels)
    for node in scene.all_nodes():
        if node.skin is not None:
            out.update(id(j) for j in node.skin.joints)
            if node.skin.skeleton is not None:
                out.add(id(node.skin.skeleton))
    return out


def prune_empty(scene: Scene) -> None:
    """Drop empty leaf nodes that merging or instancing emptied, bottom up."""
    referenced = referenced_nodes(scene)

    def prune(nodes: list[Node]) -> list[Node]:
        kept = []
        for node in nodes:
            node.children = prune(node.children)
            if not is_removable(node, referenced):
                kept.append(node)
        return kept

    scene.nodes = prune(scene.nodes)


def vertex_rows(primitive: Primitive) -> np.ndarray:
    """Every attribute and morph target of each vertex as one byte row, for exact comparison."""
    columns = [np.ascontiguousarray(a).reshape(len(a), -1) for a in vertex_streams(primitive)]
    return np.ascontiguousarray(np.concatenate([c.view(np.uint8).reshape(len(c), -1) for c in columns], axis=1))


def vertex_streams(primitive: Primitive) -> list[np.ndarray]:
    """Every per-vertex array of the primitive (attributes, then morph targets), each in a stable order."""
    streams = [primitive.attributes[name] for name in sorted(primitive.attributes)]
    for target in primitive.targets:
        streams.extend(target[name] for name in sorted(target))
    return streams


def triangle_indices(primitive: Primitive) -> np.ndarray:
    """The primitive's index list as uint32 (a generated 0..n-1 list when it has none)."""
    if primitive.indices is None:
        return np.arange(primitive.vertex_count, dtype=np.uint32)
    return np.asarray(primitive.indices, dtype=np.uint32).reshape(-1)


def apply_vertex_order(primitive: Primitive, new_to_old: np.ndarray, indices: np.ndarray) -> None:
    """Keep the vertices listed in new_to_old (in that order) and set indices that already refer to them."""
    primitive.attributes = {k: np.ascontiguousarray(v[new_to_old]) for k, v in primitive.attributes.items()}
    primitive.targets = [{k: np.ascontiguousarray(v[new_to_old]) for k, v in t.items()} for t in primitive.targets]
    primitive.indices = compact_indices(indices, len(new_to_old))


def compact_indices(indices: np.ndarray, vertex_count: int) -> np.ndarray:
    """uint16 when every index fits (half the bytes), uint32 otherwise."""
    dtype = np.uint16 if vertex_count <= 65535 else np.uint32
    return np.ascontiguousarray(indices, dtype=dtype)


def attribute_signature(primitive: Primitive) -> tuple[object, ...]:
    """What must match for two primitives to share one vertex layout."""
    return (
        primitive.mode,
        tuple(sorted((k, v.dtype.str, v.shape[1:]) for k, v in primitive.attributes.items())),
        tuple(sorted(primitive.normalized)),
        len(primitive.targets),
    )


def static_groups(scene: Scene) -> list[tuple[Node | None, list[tuple[Node, np.ndarray]]]]:
    """Regions whose geometry may be combined, with each node's matrix in the region owner's frame.

    A region is the scene root or a `keep` node; it holds every descendant reached through non-keep, non-moving
    nodes. Geometry never crosses from one region to another, so a named node's subtree stays its own.
    """
    dynamic = dynamic_nodes(scene)
    groups: list[tuple[Node | None, list[tuple[Node, np.ndarray]]]] = []

    def collect(owner: Node | None, children: list[Node]) -> None:
        members: list[tuple[Node, np.ndarray]] = []
        stack = [(child, np.eye(4)) for child in children]
        while stack:
            node, parent_matrix = stack.pop()
            if node.keep:
                collect(node, node.children)
                continue
            if id(node) in dynamic:
                continue  # moving subtrees keep their own structure
            matrix = parent_matrix @ node_matrix(node)
            members.append((node, matrix))
            stack.extend((child, matrix) for child in node.children)
        groups.append((owner, members))

    collect(None, scene.nodes)
    return groups


def add_to_group(scene: Scene, owner: Node | None, node: Node) -> None:
    if owner is None:
        scene.nodes.append(node)
    else:
        owner.children.append(node)


def mesh_users(scene: Scene) -> dict[int, int]:
    """id(mesh) → how many nodes draw it."""
    counts: dict[int, int] = {}
    for node in scene.all_nodes():
        if node.mesh is not None:
            counts[id(node.mesh)] = counts.get(id(node.mesh), 0) + 1
    return counts


def transform_primitive(primitive: Primitive, matrix: np.ndarray) -> Primitive:
    """A copy of a float primitive with positions, normals and tangents moved by matrix (winding kept visible)."""
    linear = matrix[:3, :3]
    attributes = dict(primitive.attributes)
    positions = np.asarray(attributes["POSITION"], dtype=np.float64)
    attributes["POSITION"] = (positions @ linear.T + matrix[:3, 3]).astype(np.float32)
    normal_matrix = np.linalg.inv(linear).T
    if "NORMAL" in attributes:
        normals = np.asarray(attributes["NORMAL"], dtype=np.float64) @ normal_matrix.T
        attributes["NORMAL"] = _unit(normals).astype(np.float32)
    mirrored = bool(np.linalg.det(linear) < 0)
    if "TANGENT" in attributes:
        tangents = np.asarray(attributes["TANGENT"], dtype=np.float64).copy()
        tangents[:, :3] = _unit(tangents[:, :3] @ linear.T)
        if mirrored:
            tangents[:, 3] = -tangents[:, 3]
        attributes["TANGENT"] = tangents.astype(np.float32)
    indices = triangle_indices(primitive)
    if mirrored and primitive.mode == TRIANGLES:
        indices = indices.reshape(-1, 3)[:, [0, 2, 1]].reshape(-1)
    return Primitive(attributes=attributes, indices=indices, mode=primitive.mode, material=primitive.material,
                     normalized=set(primitive.normalized), extras=dict(primitive.extras))


def _unit(vectors: np.ndarray) -> np.ndarray:
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(lengths > 0, lengths, 1.0)


def concatenate_primitives(primitives: list[Primitive]) -> Primitive:
    """One primitive drawing all of them (same material, mode and attribute layout)."""
    first = primitives[0]
    offsets = np.cumsum([0] + [p.vertex_count for p in primitives])
    attributes = {name: np.concatenate([p.attributes[name] for p in primitives]) for name in first.attributes}
    indices = np.concatenate([triangle_indices(p).astype(np.uint32) + np.uint32(offset)
                              for p, offset in zip(primitives, offsets, strict=False)])
    return Primitive(attributes=attributes, indices=compact_indices(indices, int(offsets[-1])), mode=first.mode,
                     material=first.material, normalized=set(first.normalized), extras=dict(first.extras))
