"""Prune: drop vertex attributes nothing renders, before welding, so more vertices become equal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.scene import Material, Primitive, Scene, texture_refs


def _uses_uv_set(materials: list[Material], uv_set: int) -> bool:
    for material in materials:
        for ref in texture_refs(material):
            used = int(ref.transform["texCoord"]) if ref.transform and "texCoord" in ref.transform else ref.texcoord
            if used == uv_set:
                return True
    return False


def _all_white(colors: np.ndarray) -> bool:
    values = np.asarray(colors)
    if values.dtype.kind != "f":
        values = values.astype(np.float64) / float(np.iinfo(values.dtype).max)
    # 0.99 as gltfpack: within 1% of white, a vertex colour multiplies nothing visible.
    return bool(values.size == 0 or values.min() >= 0.99)


@dataclass(frozen=True)
class PruneAttributes:
    """Drop what no renderer reads, as gltfpack does by default: UV sets no texture of the material samples,
    tangents without a normal map, all-white vertex colours, and joints/weights on unskinned meshes.

    KHR_materials_variants count: an attribute any variant's material reads stays. Morphed primitives keep all.
    """

    texcoords: bool = True
    tangents: bool = True
    white_colors: bool = True
    skin_weights: bool = True

    def __call__(self, scene: Scene) -> Scene:
        skinned = {id(n.mesh) for n in scene.all_nodes() if n.mesh is not None and n.skin is not None}
        for mesh in scene.meshes():
            for primitive in mesh.primitives:
                if primitive.targets:
                    continue
                self._prune(primitive, id(mesh) in skinned)
        return scene

    def _prune(self, primitive: Primitive, skinned: bool) -> None:
        materials = primitive.materials
        names = sorted(primitive.attributes, reverse=True)  # highest set first, so sets stay numbered from 0
        for name in names:
            kind, _, number = name.partition("_")
            drop = False
            if kind == "TEXCOORD" and self.texcoords:
                highest = max(int(k.split("_")[1]) for k in primitive.attributes if k.startswith("TEXCOORD_"))
                drop = int(number) == highest and not _uses_uv_set(materials, int(number))
            elif name == "TANGENT" and self.tangents:
                drop = all(m.normal_texture is None for m in materials)
            elif kind == "COLOR" and self.white_colors and number == "0" and len(primitive.attributes) > 1:
                drop = _all_white(primitive.attributes[name])
            elif kind in ("JOINTS", "WEIGHTS") and self.skin_weights:
                drop = not skinned
            if drop:
                del primitive.attributes[name]
                primitive.normalized.discard(name)
