"""glTF 2.0 in and out: `read_gltf` (file → Scene) and `write_glb` (Scene → GLB bytes); the only pygltflib user.

Layout: reader.py and writer.py are the core (container, buffers, accessors, nodes, materials, animations);
json_text.py emits the JSON; shape.py checks the JSON types of a file before it is read; extensions/ holds one
module per glTF extension, which reads and writes it through the hooks of `extensions.Extension`. A new extension
is one module there, one line in `extensions.registered()` and a round-trip test in
tests/pipeline/gltf/extensions/.
"""

from pipeline.gltf.extensions.draco_mesh_compression import DracoPrimitive, encode_draco
from pipeline.gltf.reader import read_gltf, strip_to_triangles
from pipeline.gltf.writer import GENERATOR, GltfOptions, write_glb

__all__ = ["GENERATOR", "DracoPrimitive", "GltfOptions", "encode_draco", "read_gltf", "strip_to_triangles", "write_glb"]
