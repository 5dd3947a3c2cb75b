"""KHR_materials_unlit: a material shown in its base colour, without lighting (scans with baked light)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension
from pipeline.gltf.shape import ANY_OBJECT

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_materials_unlit"


class MaterialsUnlit(Extension):
    name = NAME

    shapes = {"material": ANY_OBJECT}  # noqa: RUF012

    def read_material(self, reader: _GltfReader, entry: dict[str, Any], material: ir.Material) -> None:
        if NAME in entry.get("extensions", {}):
            material.unlit = True

    def write_material(self, writer: _GlbWriter, material: ir.Material, extensions: dict[str, Any]) -> None:
        if material.unlit:
            extensions[NAME] = {}
