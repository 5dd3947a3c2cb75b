"""Benchmark helper: read any GLB's rendered triangles in world space (meshopt, quantization, instancing, Draco).

Independent of pipeline.gltf on purpose, so the compiler's output is measured by a reader it did not write.
EXT_meshopt_compression buffer views are decoded with pipeline.meshopt's decoders (meshoptimizer's own code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import meshopt
from pipeline.scene import local_matrix, quaternion_matrix
from tests.helpers import glb_parts

COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
NORMALIZE = {np.int8: 127.0, np.uint8: 255.0, np.int16: 32767.0, np.uint16: 65535.0}


@dataclass
class GlbGeometry:
    vertices: np.ndarray  # (n, 3) float64, world space
    faces: np.ndarray  # (m, 3)
    draw_calls: int
    triangles: int
    image_bytes: int
    json: dict[str, Any]
    colours: np.ndarray | None = None  # (n, 3) linear RGB per vertex (white where a primitive has none), or None


class _Reader:
    def __init__(self, doc: dict[str, Any], binary: bytes) -> None:
        self.doc, self.binary = doc, binary
        self.views: dict[int, bytes] = {}

    def view(self, index: int) -> bytes:
        if index not in self.views:
            view = self.doc["bufferViews"][index]
            ext = view.get("extensions", {}).get("EXT_meshopt_compression")
            if ext:
                start = ext.get("byteOffset", 0)
                encoded = self.binary[start: start + ext["byteLength"]]
                self.views[index] = meshopt.decode_buffer_view(encoded, ext["count"], ext["byteStride"], ext["mode"],
                                                               ext.get("filter", "NONE"))
            else:
                if view["buffer"] != 0:
                    raise ValueError("external buffers are not supported by the benchmark reader")
                start = view.get("byteOffset", 0)
                self.views[index] = self.binary[start: start + view["byteLength"]]
        return self.views[index]

    def accessor(self, index: int) -> np.ndarray:
        acc = self.doc["accessors"][index]
        dtype = np.dtype(DTYPES[acc["componentType"]])
        components = COMPONENTS[acc["type"]]
        count = acc["count"]
        if "bufferView" not in acc:
            out = np.zeros((count, components), dtype=dtype)
        else:
            data = self.view(acc["bufferView"])
            stride = self.doc["bufferViews"][acc["bufferView"]].get("byteStride") or dtype.itemsize * components
            base = acc.get("byteOffset", 0)
            raw = np.frombuffer(data, dtype=np.uint8)
            rows = np.lib.stride_tricks.as_strided(raw[base:], shape=(count, dtype.itemsize * components),
                                                   strides=(stride, 1))
            out = np.ascontiguousarray(rows).view(dtype).reshape(count, components)
        if acc.get("normalized"):
            return np.maximum(out.astype(np.float64) / NORMALIZE[dtype.type], -1.0)
        return out.astype(np.float64) if dtype.kind == "f" or acc["type"] != "SCALAR" else out


def read_glb(path: Path) -> GlbGeometry:
    doc, binary = glb_parts(path.read_bytes())
    reader = _Reader(doc, binary)
    image_views = {img["bufferView"] for img in doc.get("images", []) if "bufferView" in img}
    image_bytes = sum(doc["bufferViews"][i]["byteLength"] for i in image_views)
    vertices: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    draw_calls = triangles = 0
    offset = 0
    colours: list[np.ndarray | None] = []
    mesh_cache: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {}

    def mesh_triangles(index: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        if index not in mesh_cache:
            parts = []
            for prim in doc["meshes"][index]["primitives"]:
                if "KHR_draco_mesh_compression" in prim.get("extensions", {}):
                    raise ValueError("Draco output is not read by the benchmark reader")
                mode = prim.get("mode", 4)
                positions = reader.accessor(prim["attributes"]["POSITION"])
                indices = (reader.accessor(prim["indices"]).reshape(-1).astype(np.int64) if "indices" in prim
                           else np.arange(len(positions)))
                if mode == 4:
                    tris = indices.reshape(-1, 3)
                elif mode == 5:
                    tris = np.array([(indices[i], indices[i + 1], indices[i + 2]) if i % 2 == 0
                                     else (indices[i + 1], indices[i], indices[i + 2])
                                     for i in range(len(indices) - 2)], dtype=np.int64).reshape(-1, 3)
                else:
                    tris = np.zeros((0, 3), dtype=np.int64)
                colour = (reader.accessor(prim["attributes"]["COLOR_0"])[:, :3] if "COLOR_0" in prim["attributes"]
                          else None)
                parts.append((positions, tris, colour))
            mesh_cache[index] = parts
        return mesh_cache[index]

    def visit(node_index: int, parent: np.ndarray) -> None:
        nonlocal draw_calls, triangles, offset
        node = doc["nodes"][node_index]
        # Transforms as float32, the precision a renderer keeps them in: "-0.036391" and "-0.0363910012" are the
        # same number to a GPU, and should not measure as different geometry.
        if "matrix" in node:
            local = np.array(node["matrix"], dtype=np.float32).astype(np.float64).reshape(4, 4).T
        else:
            local = local_matrix(*(np.asarray(node.get(key, default), dtype=np.float32).astype(np.float64)
                                 for key, default in (("translation", [0, 0, 0]), ("rotation", [0, 0, 0, 1]),
                                                      ("scale", [1, 1, 1]))))
        world = parent @ local
        if "mesh" in node:
            matrices = [world]
            instancing = node.get("extensions", {}).get("EXT_mesh_gpu_instancing")
            if instancing:
                attrs = instancing["attributes"]
                t = reader.accessor(attrs["TRANSLATION"]) if "TRANSLATION" in attrs else None
                r = reader.accessor(attrs["ROTATION"]) if "ROTATION" in attrs else None
                s = reader.accessor(attrs["SCALE"]) if "SCALE" in attrs else None
                count = len(next(a for a in (t, r, s) if a is not None))
                matrices = [world @ local_matrix(t[i] if t is not None else [0, 0, 0],
                                               r[i] if r is not None else [0, 0, 0, 1],
                                               s[i] if s is not None else [1, 1, 1]) for i in range(count)]
            for positions, tris, colour in mesh_triangles(node["mesh"]):
                draw_calls += 1
                for matrix in matrices:
                    vertices.append(positions[:, :3] @ matrix[:3, :3].T + matrix[:3, 3])
                    colours.append(colour)
                    faces.append(tris + offset)
                    offset += len(positions)
                    triangles += len(tris)
        for child in node.get("children", []):
            visit(child, world)

    scene = doc["scenes"][doc.get("scene", 0)]
    for root in scene["nodes"]:
        visit(root, np.eye(4))
    return GlbGeometry(
        vertices=np.concatenate(vertices) if vertices else np.zeros((0, 3)),
        faces=np.concatenate(faces) if faces else np.zeros((0, 3), dtype=np.int64),
        draw_calls=draw_calls, triangles=triangles, image_bytes=image_bytes, json=doc,
        colours=(np.concatenate([np.ones((len(v), 3)) if c is None else c for v, c in zip(vertices, colours, strict=True)])
                 if any(c is not None for c in colours) else None),
    )


__all__ = ["GlbGeometry", "read_glb", "quaternion_matrix"]
