"""KHR_mesh_quantization: positions, normals, tangents and UVs stored as integers. Reading needs nothing of its
own (accessors are dequantized by the core); writing declares the extension when such data is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipeline.gltf.extensions import Extension

if TYPE_CHECKING:
    from pipeline.gltf.writer import _GlbWriter

NAME = "KHR_mesh_quantization"

# Attributes whose integer (quantized) storage is only legal with this extension.
QUANTIZABLE_PREFIXES = ("POSITION", "NORMAL", "TANGENT", "TEXCOORD_")


class MeshQuantization(Extension):
    name = NAME

    def write_attribute(self, writer: _GlbWriter, name: str, values: np.ndarray) -> None:
        if values.dtype.kind != "f" and name.startswith(QUANTIZABLE_PREFIXES):
            writer.used.add(NAME)
            writer.required.add(NAME)
