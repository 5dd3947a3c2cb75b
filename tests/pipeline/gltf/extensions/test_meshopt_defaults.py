"""EXT_meshopt_compression details found untested by the sampled mutation run (docs/benchmarks.md): the fallback
buffer covers every padded view, and a view may leave out byteOffset and mode, which then default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.gltf import GltfOptions, read_gltf, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import triangle_scene, with_json

NAME = "EXT_meshopt_compression"


def test_the_fallback_buffer_covers_every_view() -> None:
    document = glb_json(write_glb(triangle_scene(), GltfOptions(meshopt=True)))
    ends = [view.get("byteOffset", 0) + view["byteLength"] for view in document["bufferViews"]]
    assert len(ends) == 4 and ends[-1] % 4 != 0, "the index view (three uint16) needs padding"
    assert document["buffers"][1]["byteLength"] == ends[-1] + (-ends[-1] % 4)


def test_byte_offset_and_mode_may_be_left_to_their_defaults(tmp_path: Path) -> None:
    def leave_defaults_out(document: dict[str, Any]) -> None:
        for view in document["bufferViews"]:
            compressed = view["extensions"][NAME]
            if compressed["byteOffset"] == 0:
                del compressed["byteOffset"]
            if compressed["mode"] == "ATTRIBUTES":
                del compressed["mode"]

    path = tmp_path / "defaults.glb"
    path.write_bytes(with_json(write_glb(triangle_scene(), GltfOptions(meshopt=True)), leave_defaults_out))
    document = glb_json(path.read_bytes())
    assert "byteOffset" not in document["bufferViews"][0]["extensions"][NAME]
    assert sum("mode" in view["extensions"][NAME] for view in document["bufferViews"]) == 1
    mesh = read_gltf(path, tmp_path).nodes[0].mesh
    assert mesh is not None
    np.testing.assert_allclose(mesh.primitives[0].attributes["POSITION"], [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(mesh.primitives[0].indices, [0, 1, 2])
