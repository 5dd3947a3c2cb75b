"""Dedup: share identical textures, materials, vertex arrays and meshes so each is written once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from pipeline.scene import Material, Mesh, Primitive, Scene, Texture, TextureRef, texture_refs


def _digest(array: np.ndarray) -> str:
    data = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
    digest.update(data.reshape(-1).view(np.uint8).data)  # the array's own buffer: no copy of a scan's 100 MB
    return digest.hexdigest()


@dataclass(frozen=True)
class Dedup:
    """Replace equal objects by one shared instance; later stages (instance, writer) see the sharing by identity."""

    textures: bool = True
    materials: bool = True
    accessors: bool = True
    meshes: bool = True

    def __call__(self, scene: Scene) -> Scene:
        meshes = scene.meshes()
        primitives = [p for m in meshes for p in m.primitives]
        if self.textures:
            _dedup_textures(primitives)
        if self.materials:
            _dedup_materials(primitives)
        if self.accessors:
            _dedup_arrays(primitives)
        if self.meshes:
            _dedup_meshes(scene, meshes)
        return scene


def _dedup_textures(primitives: list[Primitive]) -> None:
    by_key: dict[tuple[object, ...], Texture] = {}
    materials = {id(m): m for p in primitives for m in p.materials}
    for material in materials.values():
        for ref in texture_refs(material):
            t = ref.texture
            key = (hashlib.sha256(t.data).hexdigest(), t.mime_type, t.mag_filter, t.min_filter, t.wrap_s, t.wrap_t)
            ref.texture = by_key.setdefault(key, t)


def material_key(material: Material) -> str:
    """A material's content with textures by identity (textures are deduplicated first)."""

    def plain(value: Any) -> Any:
        if isinstance(value, TextureRef):
            return ("tex", id(value.texture), value.texcoord, value.scale, repr(value.transform))
        if isinstance(value, dict):
            return tuple(sorted((k, plain(v)) for k, v in value.items()))
        if isinstance(value, list | tuple):
            return tuple(plain(v) for v in value)
        return value

    return repr(tuple((f.name, plain(getattr(material, f.name))) for f in fields(material)))


def _dedup_materials(primitives: list[Primitive]) -> None:
    by_key: dict[str, Material] = {}
    for primitive in primitives:
        if primitive.material is not None:
            primitive.material = by_key.setdefault(material_key(primitive.material), primitive.material)
        primitive.variants = {name: by_key.setdefault(material_key(m), m) for name, m in primitive.variants.items()}


def _dedup_arrays(primitives: list[Primitive]) -> None:
    # Only arrays of the same type and shape can be equal: one alone in its kind is not hashed at all (a scan's
    # positions and UVs are hundreds of MB to hash on every level written).
    kinds: dict[tuple[str, tuple[int, ...]], set[int]] = {}
    for primitive in primitives:
        for array in [*primitive.attributes.values(), *([] if primitive.indices is None else [primitive.indices])]:
            kinds.setdefault((array.dtype.str, array.shape), set()).add(id(array))
    by_key: dict[str, np.ndarray] = {}

    def shared(array: np.ndarray) -> np.ndarray:
        if len(kinds[(array.dtype.str, array.shape)]) < 2:
            return array
        return by_key.setdefault(_digest(array), array)

    for primitive in primitives:
        primitive.attributes = {k: shared(v) for k, v in primitive.attributes.items()}
        if primitive.indices is not None:
            primitive.indices = shared(primitive.indices)


def primitive_key(primitive: Primitive) -> tuple[object, ...]:
    return (
        primitive.mode,
        id(primitive.material),
        tuple(sorted((k, _digest(v)) for k, v in primitive.attributes.items())),
        None if primitive.indices is None else _digest(primitive.indices),
        tuple(tuple(sorted((k, _digest(v)) for k, v in t.items())) for t in primitive.targets),
        tuple(sorted(primitive.normalized)),
        repr(primitive.extras),
        tuple(sorted((name, id(m)) for name, m in primitive.variants.items())),
    )


def _dedup_meshes(scene: Scene, meshes: list[Mesh]) -> None:
    if len({id(mesh) for mesh in meshes}) < 2:
        return
    by_key: dict[tuple[object, ...], Mesh] = {}
    canonical: dict[int, Mesh] = {}
    for mesh in meshes:
        key = (tuple(primitive_key(p) for p in mesh.primitives), tuple(mesh.weights), repr(mesh.extras))
        canonical[id(mesh)] = by_key.setdefault(key, mesh)
    for node in scene.all_nodes():
        if node.mesh is not None:
            node.mesh = canonical[id(node.mesh)]
