"""EXT_meshopt_compression: scene → GLB → scene keeps the geometry; views are compressed, the fallback buffer
has no bytes in the file, and the extension is required."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.gltf import GltfOptions, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene


def test_meshopt_round_trips(tmp_path: Path) -> None:
    scene = triangle_scene()
    data = write_glb(scene, GltfOptions(meshopt=True))
    document = glb_json(data)
    assert document["buffers"][1] == {"byteLength": document["buffers"][1]["byteLength"],
                                      "extensions": {"EXT_meshopt_compression": {"fallback": True}}}
    assert all(v["buffer"] == 1 and "EXT_meshopt_compression" in v["extensions"]
               for v in document["bufferViews"])
    assert "EXT_meshopt_compression" in document["extensionsRequired"]
    original = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    back = round_trip(tmp_path, scene, GltfOptions(meshopt=True)).nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    np.testing.assert_allclose(back.attributes["POSITION"], original.attributes["POSITION"])
    np.testing.assert_allclose(back.attributes["NORMAL"], original.attributes["NORMAL"], atol=1e-2)
    np.testing.assert_array_equal(back.indices, original.indices)
    assert "EXT_meshopt_compression" not in glb_json(write_glb(scene)).get("extensionsUsed", [])
