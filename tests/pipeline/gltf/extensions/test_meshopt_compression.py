"""EXT_meshopt_compression: scene → GLB → scene keeps the geometry; views are compressed, the fallback buffer
has no bytes in the file, and the extension is required."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.gltf import GltfOptions, write_glb
from tests.helpers import glb_json, traced_peak
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


def test_a_meshs_pages_are_compressed_into_one_view_each_without_copying_their_arrays_first(tmp_path: Path) -> None:
    # A scan's texture pages are a primitive each; their indices share one view. Each accessor's bytes used to be
    # copied as it was added and again when the view joined them: a 3M-triangle level held its indices three
    # times at once.
    from pipeline import scene as ir

    rng = np.random.default_rng(1)
    pages = [ir.Primitive(attributes={"POSITION": rng.random((70_000, 3), dtype=np.float32)},
                          indices=rng.integers(0, 70_000, 300_000).astype(np.uint32)) for _ in range(4)]
    scene = ir.Scene(name="s", nodes=[ir.Node(name="n", mesh=ir.Mesh(name="m", primitives=pages))])
    raw = sum(page.indices.nbytes + page.attributes["POSITION"].nbytes for page in pages)  # type: ignore[union-attr]
    data, peak = traced_peak(lambda: write_glb(scene, GltfOptions(meshopt=True)))
    assert peak < 2.3 * raw  # 2.1 now, 2.5 with the copies
    back = round_trip(tmp_path, scene, GltfOptions(meshopt=True)).nodes[0].mesh.primitives  # type: ignore[union-attr]
    assert len(data) > 0 and len(back) == 4
    for page, read in zip(pages, back, strict=True):
        # The codec may start a triangle at another corner; it keeps the triangles, their order and winding.
        assert np.array_equal(_rotated_to_lowest(read.indices), _rotated_to_lowest(page.indices))
        assert np.allclose(read.attributes["POSITION"], page.attributes["POSITION"])


def _rotated_to_lowest(indices: np.ndarray) -> np.ndarray:
    triangles = np.asarray(indices).reshape(-1, 3)
    first = np.argmin(triangles, axis=1)
    return triangles[np.arange(len(triangles))[:, None], (first[:, None] + np.arange(3)) % 3]
