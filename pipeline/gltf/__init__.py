"""glTF 2.0 in and out: `read_gltf` (file → Scene) and `write_glb` (Scene → GLB bytes); the only pygltflib user."""

from pipeline.gltf.extensions.draco_mesh_compression import DracoPrimitive, encode_draco
from pipeline.gltf.reader import read_gltf, strip_to_triangles
from pipeline.gltf.writer import GENERATOR, GltfOptions, write_glb

__all__ = ["GENERATOR", "DracoPrimitive", "GltfOptions", "encode_draco", "read_gltf", "strip_to_triangles", "write_glb"]
