"""KHR_materials_variants: named alternatives (a restored and a found state), each giving primitives another
material; the names are listed once for the document, and each primitive maps materials to variant indices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pygltflib as gl

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension, is_index
from pipeline.gltf.shape import ANYTHING, INDEX, TEXT, ListOf, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_materials_variants"


class MaterialsVariants(Extension):
    name = NAME

    shapes = {"document": Obj({"variants": ListOf(Obj({"name": TEXT}))}), "primitive": Obj({
        "mappings": ListOf(Obj({"material": INDEX, "variants": ListOf(ANYTHING)}))})}  # noqa: RUF012

    def __init__(self) -> None:
        self.names: list[str] = []

    def read_document(self, reader: _GltfReader) -> None:
        variants = reader.json.get("extensions", {}).get(NAME, {}).get("variants", [])
        self.names = [str(v.get("name") or f"variant {i}") for i, v in enumerate(variants)]

    def read_primitive(self, reader: _GltfReader, entry: dict[str, Any], primitive: ir.Primitive,
                       mesh_index: int) -> None:
        for mapping in entry.get("extensions", {}).get(NAME, {}).get("mappings", []):
            for variant in mapping.get("variants", []):
                if not is_index(variant, len(self.names)):
                    raise reader.fail(f"mesh {mesh_index} maps a material to variant {variant}, which does not exist")
                primitive.variants[self.names[variant]] = reader.get("material", mapping["material"])

    def read_scene(self, reader: _GltfReader, scene: ir.Scene) -> None:
        scene.variants = list(self.names)

    def write_primitive(self, writer: _GlbWriter, primitive: ir.Primitive, out: gl.Primitive) -> None:
        if primitive.variants:
            by_material: dict[int, list[int]] = {}
            for variant, material in primitive.variants.items():
                by_material.setdefault(writer.material(material), []).append(self._variant(writer, variant))
            out.extensions = {**(out.extensions or {}), NAME: {"mappings": [
                {"material": m, "variants": sorted(v)} for m, v in by_material.items()]}}

    def write_document(self, writer: _GlbWriter, extensions: dict[str, Any]) -> None:
        if self.names:
            extensions[NAME] = {"variants": [{"name": n} for n in self.names]}
            writer.used.add(NAME)

    def begin_write(self, writer: _GlbWriter) -> None:
        # The scene's variants come first, in its order; names only a primitive uses follow.
        self.names = list(writer.scene.variants)

    def _variant(self, writer: _GlbWriter, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)
