"""KHR_xmp_json_ld: metadata packets (rights, credits) listed once and referenced by the asset and by nodes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension, is_index
from pipeline.gltf.json_text import Verbatim, plain_copy, plain_json
from pipeline.gltf.shape import ANY_OBJECT, ListOf, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_xmp_json_ld"

# Prefixes every packet may use without declaring them itself.
XMP_CONTEXT = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}


class XmpJsonLd(Extension):
    name = NAME

    shapes = {"document": Obj({"packets": ListOf(ANY_OBJECT)}), "node": ANY_OBJECT, "asset": ANY_OBJECT}  # noqa: RUF012

    def __init__(self) -> None:
        self.packets: list[Any] = []
        self.index: dict[str, int] = {}

    def _packet_at(self, owner: dict[str, Any]) -> dict[str, Any] | None:
        packet = owner.get("extensions", {}).get(NAME, {}).get("packet")
        if is_index(packet, len(self.packets)):
            return dict(plain_copy(self.packets[packet]))
        return None

    def read_document(self, reader: _GltfReader) -> None:
        self.packets = reader.json.get("extensions", {}).get(NAME, {}).get("packets", [])

    def read_node(self, reader: _GltfReader, node: ir.Node, entry: dict[str, Any]) -> None:
        packet = self._packet_at(entry)
        if packet is not None:
            node.xmp = packet

    def read_scene(self, reader: _GltfReader, scene: ir.Scene) -> None:
        packet = self._packet_at(reader.json["asset"])
        if packet is not None:
            scene.xmp = packet

    def write_node(self, writer: _GlbWriter, node: ir.Node, extensions: dict[str, Any]) -> None:
        if node.xmp:
            extensions[NAME] = {"packet": self._packet(writer, node.xmp)}

    def write_document(self, writer: _GlbWriter, extensions: dict[str, Any]) -> None:
        if writer.scene.xmp:
            writer.doc.asset.extensions = {NAME: {"packet": self._packet(writer, writer.scene.xmp)}}
        if self.packets:
            # Packets are records: written as given, full precision, never shortened like glTF numbers.
            extensions[NAME] = {"packets": [Verbatim(p) for p in self.packets]}

    def _packet(self, writer: _GlbWriter, packet: dict[str, Any]) -> int:
        body = plain_json(packet)
        context = dict(XMP_CONTEXT)
        given = body.pop("@context", {})
        if isinstance(given, dict):
            context.update(given)
        full = {"@context": context, **body}
        key = json.dumps(full, sort_keys=True)
        if key not in self.index:
            self.packets.append(full)
            self.index[key] = len(self.packets) - 1
        writer.used.add(NAME)
        return self.index[key]
