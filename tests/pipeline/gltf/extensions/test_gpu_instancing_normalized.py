"""EXT_mesh_gpu_instancing with integer instance data: the accessor must say it is normalized (found untested by the
sampled mutation run, docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np

from pipeline.gltf import write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import triangle_scene


def test_integer_instance_rotations_are_stored_normalized_and_floats_are_not() -> None:
    scene = triangle_scene()
    quarter_turn = np.array([0, 0, 23170, 23170], dtype=np.int16)  # (0, 0, 0.7071, 0.7071) as normalized int16
    scene.nodes[0].instances = {"TRANSLATION": np.arange(6, dtype=np.float32).reshape(2, 3),
                                "ROTATION": np.tile(quarter_turn, (2, 1))}
    document = glb_json(write_glb(scene))
    attributes = document["nodes"][0]["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]
    rotation, translation = (document["accessors"][attributes[name]] for name in ("ROTATION", "TRANSLATION"))
    assert rotation["componentType"] == 5122 and rotation["normalized"] is True  # SHORT, read as -1..1
    assert translation["componentType"] == 5126 and "normalized" not in translation
