"""EXT_mesh_gpu_instancing: one node drawn many times, with per-instance TRANSLATION/ROTATION/SCALE accessors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import scene as ir
from pipeline.gltf.extensions import Extension
from pipeline.gltf.shape import ANY_OBJECT, Obj

if TYPE_CHECKING:
    from pipeline.gltf.reader import _GltfReader
    from pipeline.gltf.writer import _GlbWriter

NAME = "EXT_mesh_gpu_instancing"


class GpuInstancing(Extension):
    name = NAME

    shapes = {"node": Obj({"attributes": ANY_OBJECT})}  # noqa: RUF012

    def read_node(self, reader: _GltfReader, node: ir.Node, entry: dict[str, Any]) -> None:
        instancing = entry.get("extensions", {}).get(NAME, {}).get("attributes")
        if instancing:
            node.instances = {name: reader.accessor(a) for name, a in instancing.items()}

    def write_node(self, writer: _GlbWriter, node: ir.Node, extensions: dict[str, Any]) -> None:
        if node.instances:
            extensions[NAME] = {"attributes": {
                name: writer.accessor(node.instances[name], kind="instance",
                                       normalized=node.instances[name].dtype.kind != "f")
                for name in sorted(node.instances)}}
            writer.used.add(NAME)
