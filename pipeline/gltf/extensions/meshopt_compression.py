"""EXT_meshopt_compression: vertex, index and keyframe bufferViews compressed with meshoptimizer's codecs (as
gltfpack -cc writes them). The writer's accessor grouping picks each view's mode and filter; this module encodes
and decodes the views and owns the fallback buffer, which has no bytes in the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pygltflib as gl

from pipeline.gltf.extensions import AccessorLayout, Extension
from pipeline.gltf.shape import FLAG, INDEX, TEXT, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter, _ViewGroup

NAME = "EXT_meshopt_compression"


class MeshoptCompression(Extension):
    name = NAME

    shapes = {"buffer": Obj({"fallback": FLAG}), "bufferView": Obj({
        "buffer": INDEX, "byteOffset": INDEX, "byteLength": INDEX, "byteStride": INDEX, "count": INDEX,
        "mode": TEXT, "filter": TEXT})}  # noqa: RUF012

    def __init__(self) -> None:
        self.decoded: dict[int, bytes] = {}  # read: bufferView → its decoded bytes
        self.fallback_length = 0  # written: the byteLength of the fallback buffer

    def read_buffer(self, reader: _GltfReader, index: int, entry: dict[str, Any]) -> bytes | None:
        return b"" if entry.get("extensions", {}).get(NAME, {}).get("fallback") else None

    def read_buffer_view(self, reader: _GltfReader, index: int, view: dict[str, Any]) -> bytes | None:
        compressed = view.get("extensions", {}).get(NAME)
        if compressed is None:
            return None
        if index not in self.decoded:
            from pipeline import meshopt  # only needed for compressed files

            data = reader.get("buffer", compressed.get("buffer", 0))
            start = int(compressed.get("byteOffset", 0))
            end = start + int(compressed["byteLength"])
            if end > len(data):
                raise reader.fail(f"bufferView {index} runs past the end of its buffer (truncated file?)")
            try:
                self.decoded[index] = meshopt.decode_buffer_view(
                    data[start:end], int(compressed["count"]), int(compressed["byteStride"]),
                    str(compressed.get("mode", "ATTRIBUTES")), str(compressed.get("filter", "NONE")))
            except (ValueError, RuntimeError, KeyError) as error:
                raise reader.fail(f"bufferView {index}: {NAME} data cannot be decoded ({error})") from None
        return self.decoded[index]

    def accessor_layout(self, writer: _GlbWriter, rows: np.ndarray, *, target: int | None, attribute: str,
                        normalized: bool, keyframes: str, triangle_list: bool) -> AccessorLayout | None:
        count = len(rows)
        if not writer.options.meshopt or count == 0:
            return None
        if target == gl.ELEMENT_ARRAY_BUFFER:
            # TRIANGLES mode is for triangle lists only; lines and points use the generic INDICES mode.
            return AccessorLayout("TRIANGLES" if triangle_list and count % 3 == 0 else "INDICES")
        element = rows.dtype.itemsize * rows.shape[1]
        if target != gl.ARRAY_BUFFER and (element % 4 or element > 256):
            return None  # the ATTRIBUTES codec takes 4 to 256 bytes a row: stored plainly
        from pipeline import meshopt as codec  # only needed when asked for

        stream = (codec.keyframe_stream(keyframes, rows) if keyframes
                  else codec.vertex_stream(attribute, rows, normalized))
        return AccessorLayout("ATTRIBUTES", stream.filter, stream.rows)

    def write_buffer_view(self, writer: _GlbWriter, data: memoryview, group: _ViewGroup) -> int | None:
        if group.mode is None:
            return None
        from pipeline import meshopt  # only needed when asked for

        encoded = meshopt.encode_buffer_view(data, group.count, group.element, group.mode)
        offset = writer.append(encoded)
        fallback_offset = self.fallback_length
        self.fallback_length += len(data) + (-len(data) % 4)
        extension: dict[str, Any] = {"buffer": 0, "byteOffset": offset, "byteLength": len(encoded),
                                     "byteStride": group.element, "count": group.count, "mode": group.mode}
        if group.filter != "NONE":
            extension["filter"] = group.filter
        # Only vertex attributes may carry byteStride on the bufferView itself; the extension always has it.
        view = gl.BufferView(buffer=1, byteOffset=fallback_offset or None, byteLength=len(data),
                             byteStride=group.element if group.target == gl.ARRAY_BUFFER else None,
                             target=group.target, extensions={NAME: extension})
        writer.doc.bufferViews.append(view)
        return len(writer.doc.bufferViews) - 1

    def write_buffers(self, writer: _GlbWriter) -> None:
        if self.fallback_length:
            writer.doc.buffers.append(gl.Buffer(byteLength=self.fallback_length,
                                                extensions={NAME: {"fallback": True}}))
            writer.used.add(NAME)
            writer.required.add(NAME)
