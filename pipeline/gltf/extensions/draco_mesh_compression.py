"""KHR_draco_mesh_compression: triangle geometry compressed with Draco (the only DracoPy user). Reading decodes
it (as the Smithsonian ships its scans); writing is opt-in (GltfOptions.draco), since browsers decode it slowly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pygltflib as gl

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension
from pipeline.gltf.json_text import floats
from pipeline.gltf.shape import ANY_OBJECT, INDEX, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_draco_mesh_compression"


class DracoMeshCompression(Extension):
    name = NAME

    shapes = {"primitive": Obj({"bufferView": INDEX, "attributes": ANY_OBJECT})}  # noqa: RUF012

    def decode_primitive(self, reader: _GltfReader, entry: dict[str, Any], mesh_index: int) -> ir.Primitive | None:
        draco = entry.get("extensions", {}).get(NAME)
        if draco is None:
            return None
        import DracoPy  # imported only for files that use Draco

        data, _ = reader.view_bytes(draco["bufferView"])
        try:
            decoded = DracoPy.decode(data)
        except Exception as error:  # DracoPy raises its own and plain exceptions for bad bitstreams
            raise reader.fail(f"mesh {mesh_index}: Draco data cannot be decoded ({error})") from None
        by_id = {int(a["unique_id"]): a for a in decoded.attributes}
        attributes: dict[str, np.ndarray] = {}
        for name, unique_id in draco.get("attributes", {}).items():
            if int(unique_id) not in by_id:
                raise reader.fail(f"mesh {mesh_index}: Draco data lacks attribute {name}")
            values = np.asarray(by_id[int(unique_id)]["data"])
            accessor = reader.entry("accessor", entry["attributes"][name]) if name in entry["attributes"] else {}
            if values.dtype.kind != "f" and not name.startswith("JOINTS_"):
                if accessor.get("normalized"):
                    values = values.astype(np.float32) / float(np.iinfo(values.dtype).max)
                values = values.astype(np.float32)
            attributes[name] = values.reshape(len(values), -1) if values.ndim == 1 else values
        faces = getattr(decoded, "faces", None)
        indices = None if faces is None else np.asarray(faces, dtype=np.uint32).reshape(-1)
        return ir.Primitive(attributes=attributes, indices=indices, mode=int(entry.get("mode", 4)))

    def encode_primitive(self, writer: _GlbWriter, primitive: ir.Primitive) -> gl.Primitive | None:
        """The primitive as Draco, or None for what Draco cannot carry (tangents, skins, morph targets,
        quantized data), which the writer then stores uncompressed."""
        from pipeline.gltf.writer import ACCESSOR_TYPES, COMPONENT_TYPES, attribute_order

        encoder = writer.options.draco_encoder
        if (not writer.options.draco or encoder is None or primitive.mode != 4 or primitive.indices is None
                or primitive.targets or primitive.normalized):
            return None
        encoded = encoder(primitive.attributes, primitive.indices)
        if encoded is None:
            return None
        attributes = gl.Attributes()
        for name in attribute_order(primitive.attributes):
            values = np.asarray(encoded.decoded[name])
            values = values.reshape(len(values), -1)
            accessor = gl.Accessor(componentType=COMPONENT_TYPES[values.dtype], count=len(values),
                                   type=ACCESSOR_TYPES[values.shape[1]], byteOffset=None,
                                   normalized=True if values.dtype.kind != "f" else None)
            if name == "POSITION":
                accessor.min, accessor.max = floats(values.min(axis=0)), floats(values.max(axis=0))
            writer.doc.accessors.append(accessor)
            setattr(attributes, name, len(writer.doc.accessors) - 1)
        vertex_count = len(encoded.decoded["POSITION"])
        writer.doc.accessors.append(gl.Accessor(componentType=5123 if vertex_count < 0xFFFF else 5125,
                                                count=encoded.index_count, type="SCALAR", byteOffset=None))
        view = writer.buffer_view(encoded.data)
        out = gl.Primitive(attributes=attributes, mode=4, indices=len(writer.doc.accessors) - 1, extensions={
            NAME: {"bufferView": view, "attributes": dict(encoded.attribute_ids)}})
        writer.used.add(NAME)
        writer.required.add(NAME)
        return out


@dataclass(frozen=True)
class DracoPrimitive:
    """One triangle primitive after Draco encoding: the bitstream, glTF attribute → Draco unique id, and the data
    a decoder will produce (counts and POSITION bounds for the accessors must describe the decoded mesh)."""

    data: bytes
    attribute_ids: dict[str, int]
    decoded: dict[str, np.ndarray]
    index_count: int


DRACO_ENCODABLE = ("POSITION", "NORMAL", "TEXCOORD_0", "COLOR_0")


def encode_draco(attributes: dict[str, np.ndarray], indices: np.ndarray, *, position_bits: int = 14,
                 normal_bits: int = 10, texcoord_bits: int = 12) -> DracoPrimitive | None:
    """Encode a float triangle primitive with Draco, or None when it holds attributes DracoPy cannot carry
    (TANGENT, a second UV set, skinning, quantized integers): the caller then writes it uncompressed."""
    if set(attributes) - set(DRACO_ENCODABLE) or any(
            a.dtype.kind != "f" for name, a in attributes.items() if name != "COLOR_0"):
        return None
    colors = attributes.get("COLOR_0")
    if colors is not None and colors.dtype.kind == "f":
        colors = np.round(np.clip(colors, 0.0, 1.0) * 255).astype(np.uint8)
    import DracoPy  # imported only when Draco output is asked for

    data = DracoPy.encode(
        np.asarray(attributes["POSITION"], dtype=np.float32), np.asarray(indices, dtype=np.uint32).reshape(-1, 3),
        quantization_bits=position_bits,
        compression_level=7,  # pragma: no mutate (speed against size only: any level decodes to the same mesh)
        normals=None if "NORMAL" not in attributes else np.asarray(attributes["NORMAL"], dtype=np.float64),
        tex_coord=None if "TEXCOORD_0" not in attributes else np.asarray(attributes["TEXCOORD_0"], dtype=np.float64),
        colors=colors, normal_quantization_bits=normal_bits if "NORMAL" in attributes else None,
        tex_coord_quantization_bits=texcoord_bits if "TEXCOORD_0" in attributes else None)
    decoded = DracoPy.decode(data)
    by_type = {int(a["attribute_type"]): a for a in decoded.attributes}
    kinds = {"POSITION": 0, "NORMAL": 1, "COLOR_0": 2, "TEXCOORD_0": 3}
    ids = {name: int(by_type[kinds[name]]["unique_id"]) for name in attributes}
    values = {name: np.asarray(by_type[kinds[name]]["data"]) for name in attributes}
    return DracoPrimitive(data=bytes(data), attribute_ids=ids, decoded=values,
                          index_count=int(np.asarray(decoded.faces).size))


