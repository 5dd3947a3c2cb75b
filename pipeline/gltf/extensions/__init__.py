"""glTF extensions as plug-ins: one module per extension reads and writes it through these hooks (glTF-Transform's
pattern). The reader and the writer make fresh instances per file, so an extension may keep per-file state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.gltf.shape import INDEX, Obj

if TYPE_CHECKING:
    import pygltflib as gl

    from pipeline import scene as ir
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter, _ViewGroup


@dataclass(frozen=True)
class AccessorLayout:
    """How an extension stores one accessor's data: mode and filter of its bufferView, and the rows as they are
    stored (None for index data, stored as given)."""

    mode: str
    filter: str = "NONE"
    rows: np.ndarray | None = None


def is_index(value: Any, length: int) -> bool:
    """Whether `value` from the file is an integer index into a list of `length` items (not a bool, str, ...)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < length


class Extension:
    """No-op hooks; a module overrides those its extension needs. Hooks run in `registered()` order, which fixes
    the order of keys in the written JSON. Hooks returning a value: the first plug-in that returns one wins."""

    name = ""
    # Place ("document", "node", "primitive", "texture", "textureInfo", "buffer", "bufferView", ...) → the shape
    # (pipeline.gltf.shape) of this extension's object there, checked before reading.
    shapes: dict[str, Any] = {}  # noqa: RUF012 - read only, overridden per class

    # -- reading ---------------------------------------------------------------------------------------------

    def read_document(self, reader: _GltfReader) -> None:
        """Before any node is read: collect document-level data (lights, packets, variant names)."""

    def read_buffer(self, reader: _GltfReader, index: int, entry: dict[str, Any]) -> bytes | None:
        """The bytes of a buffer that has neither a uri nor the GLB binary chunk, or None."""
        return None

    def read_buffer_view(self, reader: _GltfReader, index: int, view: dict[str, Any]) -> bytes | None:
        """The bytes of a bufferView this extension stores differently (compressed), or None."""
        return None

    def read_texture_source(self, reader: _GltfReader, entry: dict[str, Any]) -> Any:
        """The image index of a texture whose image core glTF cannot reference, or None."""
        return None

    def read_texture_info(self, reader: _GltfReader, info: dict[str, Any], ref: ir.TextureRef) -> None:
        """Fill `ref` from a textureInfo object."""

    def read_material(self, reader: _GltfReader, entry: dict[str, Any], material: ir.Material) -> None:
        """Fill `material` from its JSON `entry`."""

    def decode_primitive(self, reader: _GltfReader, entry: dict[str, Any], mesh_index: int) -> ir.Primitive | None:
        """A primitive whose geometry this extension stores (compressed), or None."""
        return None

    def read_primitive(self, reader: _GltfReader, entry: dict[str, Any], primitive: ir.Primitive,
                       mesh_index: int) -> None:
        """Fill `primitive` from its JSON `entry` once its geometry and material are read."""

    def read_node(self, reader: _GltfReader, node: ir.Node, entry: dict[str, Any]) -> None:
        """Fill `node` from its JSON `entry`."""

    def read_scene(self, reader: _GltfReader, scene: ir.Scene) -> None:
        """After the scene is assembled."""

    # -- writing ---------------------------------------------------------------------------------------------

    def begin_write(self, writer: _GlbWriter) -> None:
        """Before anything is written."""

    def accessor_layout(self, writer: _GlbWriter, rows: np.ndarray, *, target: int | None, attribute: str,
                        normalized: bool, keyframes: str, triangle_list: bool) -> AccessorLayout | None:
        """How accessor data of (count, components) `rows` is to be stored, when this extension stores it
        (compressed), or None. Accessors with the same layout and kind share one bufferView."""
        return None

    def write_texture(self, writer: _GlbWriter, texture: ir.Texture, image: int,
                      sampler: int | None) -> gl.Texture | None:
        """A texture object for an image core glTF cannot reference, or None."""
        return None

    def write_texture_info(self, writer: _GlbWriter, ref: ir.TextureRef, info: dict[str, Any]) -> None:
        """Add to the textureInfo `info` written for `ref`."""

    def write_material(self, writer: _GlbWriter, material: ir.Material, extensions: dict[str, Any]) -> None:
        """Add this extension's object for `material` to the material's `extensions`."""

    def write_attribute(self, writer: _GlbWriter, name: str, values: np.ndarray) -> None:
        """Called for each vertex attribute (and morph target) written uncompressed."""

    def encode_primitive(self, writer: _GlbWriter, primitive: ir.Primitive) -> gl.Primitive | None:
        """A primitive whose geometry this extension stores (compressed), or None to write it plainly."""
        return None

    def write_primitive(self, writer: _GlbWriter, primitive: ir.Primitive, out: gl.Primitive) -> None:
        """Add to the written primitive `out` (after its geometry, material and extras)."""

    def write_buffer_view(self, writer: _GlbWriter, data: memoryview, group: _ViewGroup) -> int | None:
        """Write a group of accessors whose mode this extension set, and return the bufferView index, or None."""
        return None

    def write_node(self, writer: _GlbWriter, node: ir.Node, extensions: dict[str, Any]) -> None:
        """Add this extension's object for `node` to the node's `extensions`."""

    def write_document(self, writer: _GlbWriter, extensions: dict[str, Any]) -> None:
        """Add this extension's document-level object to the root `extensions`."""

    def write_buffers(self, writer: _GlbWriter) -> None:
        """After the buffers are listed: add buffers of this extension's own."""


class ImageSource(Extension):
    """An extension that lets a texture use an image type core glTF cannot (WebP, KTX2). No fallback image is
    written, so the extension is also required: a viewer without it could not show the texture at all."""

    mime_type = ""
    shapes = {"texture": Obj({"source": INDEX})}  # noqa: RUF012

    def read_texture_source(self, reader: _GltfReader, entry: dict[str, Any]) -> Any:
        if self.name in entry.get("extensions", {}):
            return entry["extensions"][self.name].get("source")
        return None

    def write_texture(self, writer: _GlbWriter, texture: ir.Texture, image: int,
                      sampler: int | None) -> gl.Texture | None:
        if texture.mime_type != self.mime_type:
            return None
        import pygltflib as gl

        writer.used.add(self.name)
        writer.required.add(self.name)
        return gl.Texture(sampler=sampler, extensions={self.name: {"source": image}})


def registered() -> list[Extension]:
    """Fresh instances of every extension plug-in, in hook order."""
    from pipeline.gltf.extensions import (
        draco_mesh_compression,
        gpu_instancing,
        lights_punctual,
        materials,
        materials_unlit,
        materials_variants,
        mesh_quantization,
        meshopt_compression,
        texture_basisu,
        texture_transform,
        texture_webp,
        xmp_json_ld,
    )

    return [texture_transform.TextureTransform(), texture_webp.TextureWebp(), texture_basisu.TextureBasisu(),
            materials_unlit.MaterialsUnlit(), materials.Materials(), mesh_quantization.MeshQuantization(),
            meshopt_compression.MeshoptCompression(), draco_mesh_compression.DracoMeshCompression(),
            lights_punctual.LightsPunctual(), gpu_instancing.GpuInstancing(), xmp_json_ld.XmpJsonLd(),
            materials_variants.MaterialsVariants()]


def readable() -> frozenset[str]:
    """Extensions a file may list as required and still be read: those with a plug-in of their own."""
    return frozenset(e.name for e in registered() if "*" not in e.name)
