"""EXT_mesh_gpu_instancing: scene → GLB → scene keeps the per-instance transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.gltf import GltfOptions, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene


def test_instances_round_trip_plain_and_with_meshopt(tmp_path: Path) -> None:
    scene = triangle_scene()
    translations = np.arange(12, dtype=np.float32).reshape(4, 3)
    rotations = np.tile(np.array([0, 0, 0.6, 0.8], dtype=np.float32), (4, 1))
    scene.nodes[0].instances = {"TRANSLATION": translations, "ROTATION": rotations}
    for options in (GltfOptions(), GltfOptions(meshopt=True)):
        back = round_trip(tmp_path, scene, options).nodes[0].instances
        assert back is not None and sorted(back) == ["ROTATION", "TRANSLATION"]
        np.testing.assert_allclose(back["TRANSLATION"], translations)
        np.testing.assert_allclose(back["ROTATION"], rotations, atol=1e-4)
    document = glb_json(write_glb(scene))
    assert sorted(document["nodes"][0]["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]) == [
        "ROTATION", "TRANSLATION"]
    assert "EXT_mesh_gpu_instancing" in document["extensionsUsed"]
