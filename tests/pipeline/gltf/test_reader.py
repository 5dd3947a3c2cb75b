"""Every reference in a glTF is checked the same way, and a bug in the reader is not mistaken for a broken file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import AssetError
from pipeline.gltf import read_gltf, reader, write_glb
from tests.pipeline.gltf.scenes import triangle_scene, with_json


def broken(tmp_path: Path, edit: Any) -> Path:
    path = tmp_path / "broken.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), edit))
    return path


@pytest.mark.parametrize(("edit", "cause"), [
    (lambda doc: doc["nodes"][0].update(mesh=9), "(mesh 9 does not exist)"),
    (lambda doc: doc["nodes"][0].update(mesh="0"), "(mesh '0' does not exist)"),
    (lambda doc: doc["nodes"][0].update(mesh=True), "(mesh True does not exist)"),
    (lambda doc: doc["meshes"][0]["primitives"][0].update(indices=-1), "(accessor -1 does not exist)"),
    (lambda doc: doc["meshes"][0]["primitives"][0].update(material=3), "(material 3 does not exist)"),
    (lambda doc: doc["scenes"][0].update(nodes=[4]), "(node 4 does not exist)"),
    (lambda doc: doc["accessors"][0].update(bufferView=[0]), "(bufferView [0] does not exist)"),
    (lambda doc: doc["bufferViews"][0].update(buffer=2), "(buffer 2 does not exist)"),
    (lambda doc: doc["nodes"].__setitem__(0, 5), "(node 0 does not exist)"),
])
def test_a_dangling_or_mistyped_index_names_its_kind_and_value(tmp_path: Path, edit: Any, cause: str) -> None:
    with pytest.raises(AssetError) as caught:
        read_gltf(broken(tmp_path, edit), tmp_path)
    assert caught.value.cause == f"malformed glTF: an index points at nothing {cause}"


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
