"""glTF extensions as plug-ins: one module per extension reads and writes it through these hooks (glTF-Transform's
pattern). The reader and the writer make fresh instances per file, so an extension may keep per-file state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline import scene as ir
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter


class Extension:
    """No-op hooks; a module overrides those its extension needs. Hooks run in `registered()` order."""

    name = ""

    def read_document(self, reader: _GltfReader) -> None:
        """Before any node is read: collect document-level data (lights, packets)."""

    def read_node(self, reader: _GltfReader, node: ir.Node, entry: dict[str, Any]) -> None:
        """Fill `node` from its JSON `entry`."""

    def read_scene(self, reader: _GltfReader, scene: ir.Scene) -> None:
        """After the scene is assembled."""

    def write_node(self, writer: _GlbWriter, node: ir.Node, extensions: dict[str, Any]) -> None:
        """Add this extension's object for `node` to the node's `extensions`."""

    def write_document(self, writer: _GlbWriter, extensions: dict[str, Any]) -> None:
        """Add this extension's document-level object to the root `extensions`."""


def registered() -> list[Extension]:
    """Fresh instances of every extension handled by a plug-in, in hook order (which fixes the JSON key order)."""
    from pipeline.gltf.extensions import gpu_instancing, lights_punctual, xmp_json_ld

    return [lights_punctual.LightsPunctual(), gpu_instancing.GpuInstancing(), xmp_json_ld.XmpJsonLd()]
