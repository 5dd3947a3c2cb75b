"""Every reference in a glTF is checked the same way, and a bug in the reader is not mistaken for a broken file."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.errors import AssetError
from pipeline.gltf import read_gltf, reader, write_glb
from pipeline.scene import local_matrix
from tests.pipeline.gltf.scenes import triangle_scene, with_json


def broken(tmp_path: Path, edit: Any) -> Path:
    path = tmp_path / "broken.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), edit))
    return path


@pytest.mark.parametrize(("edit", "cause"), [
    (lambda doc: doc["nodes"][0].update(mesh=9), "an index points at nothing (mesh 9 does not exist)"),
    (lambda doc: doc["meshes"][0]["primitives"][0].update(indices=-1),
     "an index points at nothing (accessor -1 does not exist)"),
    (lambda doc: doc["meshes"][0]["primitives"][0].update(material=3),
     "an index points at nothing (material 3 does not exist)"),
    (lambda doc: doc["scenes"][0].update(nodes=[4]), "an index points at nothing (node 4 does not exist)"),
    (lambda doc: doc["bufferViews"][0].update(buffer=2), "an index points at nothing (buffer 2 does not exist)"),
    (lambda doc: doc["meshes"][0]["primitives"][0]["attributes"].update(NORMAL=[1]),
     "an index points at nothing (accessor [1] does not exist)"),
    (lambda doc: doc["nodes"][0].update(mesh="0"), "nodes[0].mesh should be an integer"),
    (lambda doc: doc["nodes"][0].update(mesh=True), "nodes[0].mesh should be an integer"),
    (lambda doc: doc["accessors"][0].update(bufferView=[0]), "accessors[0].bufferView should be an integer"),
    (lambda doc: doc["nodes"].__setitem__(0, 5), "nodes[0] should be an object"),
    (lambda doc: doc["nodes"][0].update(translation=[1, 2]), "nodes[0].translation should hold 3 values, not 2"),
    (lambda doc: doc["nodes"][0].update(scale=[1, None, 1]), "nodes[0].scale[1] should be a number"),
    (lambda doc: doc["meshes"][0].update(primitives=None), "meshes[0].primitives should be a list"),
    (lambda doc: doc["bufferViews"][0].update(byteOffset={}), "bufferViews[0].byteOffset should be an integer"),
    (lambda doc: doc.update(asset=0.5), "asset should be an object"),
])
def test_a_dangling_or_mistyped_property_is_named(tmp_path: Path, edit: Any, cause: str) -> None:
    with pytest.raises(AssetError) as caught:
        read_gltf(broken(tmp_path, edit), tmp_path)
    assert caught.value.cause == f"malformed glTF: {cause}"


@pytest.mark.parametrize(("sparse", "cause"), [
    ({"count": 1, "indices": {"bufferView": 0, "componentType": 5126}, "values": {"bufferView": 0}},
     "accessor 0 has sparse indices of componentType 5126; glTF allows 5121, 5123 or 5125 (unsigned integers)"),
    ({"count": 10**6, "indices": {"bufferView": 0, "componentType": 5125}, "values": {"bufferView": 0}},
     "accessor 0 has sparse data that runs past its bufferViews"),
])
def test_broken_sparse_accessors_are_named(tmp_path: Path, sparse: dict[str, Any], cause: str) -> None:
    with pytest.raises(AssetError) as caught:
        read_gltf(broken(tmp_path, lambda doc: doc["accessors"][0].update(sparse=sparse)), tmp_path)
    assert caught.value.cause == cause


def test_a_missing_required_property_is_named(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="the required property 'componentType' is missing|accessor 0 is missing"):
        read_gltf(broken(tmp_path, lambda doc: doc["accessors"][0].pop("componentType")), tmp_path)
    with pytest.raises(AssetError, match="the required property 'byteLength' is missing"):
        read_gltf(broken(tmp_path, lambda doc: doc["bufferViews"][0].pop("byteLength")), tmp_path)


@pytest.mark.parametrize("error", [IndexError, TypeError, KeyError, AttributeError])
def test_a_bug_in_the_reader_keeps_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 error: type[Exception]) -> None:
    def buggy(self: Any, index: Any, entry: Any) -> Any:
        raise error("a reader bug")

    monkeypatch.setattr(reader._GltfReader, "_load_material", buggy)
    path = tmp_path / "fine.glb"
    from pipeline import scene as ir
    path.write_bytes(write_glb(triangle_scene(ir.Material(name="m"))))
    with pytest.raises(error, match="a reader bug"):
        read_gltf(path, tmp_path)


def test_each_object_is_read_once_and_shared(tmp_path: Path) -> None:
    def two_nodes(doc: dict[str, Any]) -> None:
        doc["nodes"].append({"name": "again", "mesh": 0})
        doc["scenes"][0]["nodes"].append(1)

    scene = read_gltf(broken(tmp_path, two_nodes), tmp_path)
    assert scene.nodes[0].mesh is scene.nodes[1].mesh


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, inner in items:
        found.append(prefix + (key,))
        found += json_paths(inner, prefix + (key,))
    return found


def test_any_property_of_the_wrong_type_is_an_asset_error_never_a_crash(tmp_path: Path) -> None:
    """Every property of a scene with a texture, a light, instancing, XMP and variants, replaced in turn by
    values of other types: reading succeeds or raises AssetError, never a TypeError or the like."""
    import numpy as np

    from pipeline import scene as ir
    from tests.helpers import glb_json
    from tests.pipeline.gltf.scenes import png_texture

    material = ir.Material(name="m", base_color_texture=ir.TextureRef(png_texture(), transform={"rotation": 1.0}))
    scene = triangle_scene(material)
    scene.nodes[0].mesh.primitives[0].variants = {"v": material}  # type: ignore[union-attr]
    scene.nodes.append(ir.Node(name="lamp", light=ir.Light(type="spot"), xmp={"dc:title": "t"}))
    scene.nodes.append(ir.Node(name="many", mesh=scene.nodes[0].mesh,
                               instances={"TRANSLATION": np.zeros((2, 3), dtype=np.float32)}))
    data = write_glb(scene)
    path = tmp_path / "mutant.glb"
    wrong_values: list[Any] = ["x", -1, None, [], {}, True, 0.5]
    for where in json_paths(glb_json(data)):
        if where[0] == "buffers":
            continue
        for value in wrong_values:
            def mutate(doc: dict[str, Any], where: tuple[Any, ...] = where, value: Any = value) -> None:
                target = doc
                for key in where[:-1]:
                    target = target[key]
                target[where[-1]] = value

            path.write_bytes(with_json(data, mutate))
            with contextlib.suppress(AssetError):
                read_gltf(path, tmp_path)


@pytest.mark.parametrize(("edit", "cause"), [
    (lambda doc: doc["accessors"][0].update(count=-1), "accessor 0 has a negative count (-1)"),
    (lambda doc: (doc["accessors"][0].pop("bufferView"), doc["accessors"][0].update(count=10**12)),
     "accessor 0 has no bufferView and 1,000,000,000,000 elements; Vitrina reads such accessors up to 1024 MiB"),
    (lambda doc: doc["accessors"][0].update(count=1e30), "accessor 0 is missing or malformed"),
    (lambda doc: doc["bufferViews"][doc["accessors"][0]["bufferView"]].update(byteStride=4),
     "accessor 0: its 12-byte elements do not fit its bufferView's byteStride 4 (byteOffset 0)"),
])
def test_accessors_that_cannot_be_laid_out_are_named(tmp_path: Path, edit: Any, cause: str) -> None:
    with pytest.raises(AssetError) as caught:
        read_gltf(broken(tmp_path, edit), tmp_path)
    assert caught.value.cause == cause


def test_a_fan_of_one_vertex_has_no_triangles(tmp_path: Path) -> None:
    def one_vertex_fan(doc: dict[str, Any]) -> None:
        indices = dict(doc["accessors"][doc["meshes"][0]["primitives"][0]["indices"]], count=1)
        doc["accessors"].append(indices)
        doc["meshes"][0]["primitives"].append({"attributes": {"POSITION": 0}, "mode": 6,
                                               "indices": len(doc["accessors"]) - 1})

    mesh = read_gltf(broken(tmp_path, one_vertex_fan), tmp_path).nodes[0].mesh
    assert mesh is not None and mesh.primitives[1].triangle_count == 0


def test_a_node_matrix_becomes_the_same_rotation_with_w_not_negative(tmp_path: Path) -> None:
    """A half-plus turn (negative trace) took w < 0 from the reader's own copy of the matrix → quaternion maths."""
    rotation = np.array([0.9, 0.1, 0.0, -0.4]) / np.linalg.norm([0.9, 0.1, 0.0, -0.4])
    matrix = local_matrix((1.0, 2.0, 3.0), rotation, (2.0, 2.0, 2.0))
    path = tmp_path / "matrix.glb"

    def give_matrix(doc: dict[str, Any]) -> None:
        doc["nodes"][0].pop("translation", None)
        doc["nodes"][0]["matrix"] = [float(v) for v in matrix.T.reshape(-1)]  # glTF stores it column by column

    path.write_bytes(with_json(write_glb(triangle_scene()), give_matrix))
    node = read_gltf(path, tmp_path).nodes[0]
    assert node.rotation[3] >= 0
    assert np.allclose(node.rotation, -rotation) and np.allclose(node.translation, (1, 2, 3))
    assert np.allclose(node.scale, (2, 2, 2))


def test_a_primitives_big_accessors_are_read_on_two_threads_with_the_same_arrays_and_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fine.glb"
    path.write_bytes(write_glb(triangle_scene()))
    one_by_one = read_gltf(path, tmp_path)
    on_main: list[bool] = []
    real = reader._GltfReader.accessor

    def spy(self: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        on_main.append(threading.current_thread() is threading.main_thread())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(reader._GltfReader, "accessor", spy)
    monkeypatch.setattr(reader, "PARALLEL_ACCESSOR_BYTES", 0)  # every primitive counts as big
    together = read_gltf(path, tmp_path)
    assert len(on_main) >= 2 and not any(on_main)
    [before], [after] = ([p for m in s.meshes() for p in m.primitives] for s in (one_by_one, together))
    assert before.attributes.keys() == after.attributes.keys()
    assert all(np.array_equal(before.attributes[k], after.attributes[k]) for k in before.attributes)
    assert np.array_equal(before.indices, after.indices) and after.indices.dtype == np.uint32
    # A broken accessor is named as when read one by one.
    with pytest.raises(AssetError) as caught:
        read_gltf(broken(tmp_path, lambda doc: doc["accessors"][0].update(count=10**6)), tmp_path)
    assert caught.value.cause == "accessor 0 reads past the end of its bufferView (truncated file?)"
