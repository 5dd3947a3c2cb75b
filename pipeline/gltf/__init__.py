"""glTF 2.0 in and out: `read_gltf` (file → Scene) and `write_glb` (Scene → GLB bytes); the only pygltflib user.

Layout: reader.py and writer.py are the core (container, buffers, accessors, nodes, materials, animations);
json_text.py emits the JSON; shape.py checks the JSON types of a file before it is read; extensions/ holds one
module per glTF extension, which reads and writes it through the hooks of `extensions.Extension`. A new extension
is one module there, one line in `extensions.registered()` and a round-trip test in
tests/pipeline/gltf/extensions/.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.gltf.extensions.draco_mesh_compression import DracoPrimitive, encode_draco
    from pipeline.gltf.reader import read_gltf, strip_to_triangles
    from pipeline.gltf.writer import GENERATOR, GltfOptions, write_glb

# Imported on first use, so that container.py (all `vitrina check` needs of a GLB) comes without pygltflib.
_HOMES = {"DracoPrimitive": "extensions.draco_mesh_compression", "encode_draco": "extensions.draco_mesh_compression",
          "read_gltf": "reader", "strip_to_triangles": "reader", "GENERATOR": "writer", "GltfOptions": "writer",
          "write_glb": "writer"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = ["GENERATOR", "DracoPrimitive", "GltfOptions", "encode_draco", "read_gltf", "strip_to_triangles", "write_glb"]
