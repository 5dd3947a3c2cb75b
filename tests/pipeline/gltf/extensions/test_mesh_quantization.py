"""KHR_mesh_quantization: integer positions and normalized UVs are written as such (extension required) and read
back dequantized to float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.gltf import write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene


def test_quantized_attributes_round_trip(tmp_path: Path) -> None:
    scene = triangle_scene()
    primitive = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    primitive.attributes["POSITION"] = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0]], dtype=np.uint16)
    primitive.attributes["TEXCOORD_0"] = np.array([[0, 0], [65535, 0], [0, 65535]], dtype=np.uint16)
    primitive.normalized = {"TEXCOORD_0"}
    document = glb_json(write_glb(scene))
    assert "KHR_mesh_quantization" in document["extensionsRequired"]
    back = round_trip(tmp_path, scene).nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert back.attributes["POSITION"].dtype == np.float32
    np.testing.assert_array_equal(back.attributes["POSITION"][1], [100, 0, 0])
    np.testing.assert_allclose(back.attributes["TEXCOORD_0"], [[0, 0], [1, 0], [0, 1]])
    assert "KHR_mesh_quantization" not in glb_json(write_glb(triangle_scene())).get("extensionsUsed", [])
