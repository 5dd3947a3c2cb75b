"""KHR_draco_mesh_compression: scene → GLB → scene keeps the triangles (within Draco's quantization); what Draco
cannot carry is written plainly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.gltf import GltfOptions, encode_draco, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene

DRACO = GltfOptions(draco=True, draco_encoder=encode_draco)


def test_draco_round_trips(tmp_path: Path) -> None:
    scene = triangle_scene()
    document = glb_json(write_glb(scene, DRACO))
    primitive = document["meshes"][0]["primitives"][0]
    assert set(primitive["extensions"]["KHR_draco_mesh_compression"]["attributes"]) == {
        "POSITION", "NORMAL", "TEXCOORD_0"}
    assert "KHR_draco_mesh_compression" in document["extensionsRequired"]
    original = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    back = round_trip(tmp_path, scene, DRACO).nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert back.triangle_count == 1
    corners = back.attributes["POSITION"][back.indices]
    np.testing.assert_allclose(np.sort(corners, axis=0), np.sort(original.attributes["POSITION"], axis=0),
                               atol=1e-3)


def test_what_draco_cannot_carry_is_written_plainly() -> None:
    scene = triangle_scene()
    primitive = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    primitive.attributes["TANGENT"] = np.tile(np.array([1, 0, 0, 1], dtype=np.float32), (3, 1))
    document = glb_json(write_glb(scene, DRACO))
    assert "extensions" not in document["meshes"][0]["primitives"][0]
    assert "KHR_draco_mesh_compression" not in document.get("extensionsUsed", [])
