"""KHR_materials_variants: scene → GLB → scene keeps the variant names in order and each primitive's mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline import scene as ir
from pipeline.errors import AssetError
from pipeline.gltf import read_gltf, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene, with_json


def test_variants_round_trip(tmp_path: Path) -> None:
    found, restored = ir.Material(name="found"), ir.Material(name="restored")
    scene = triangle_scene(found)
    scene.variants = ["restored", "found"]
    primitive = scene.nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    primitive.variants = {"found": found, "restored": restored, "museum": restored}
    document = glb_json(write_glb(scene))
    assert document["extensions"]["KHR_materials_variants"]["variants"] == [
        {"name": "restored"}, {"name": "found"}, {"name": "museum"}]
    assert document["meshes"][0]["primitives"][0]["extensions"]["KHR_materials_variants"]["mappings"] == [
        {"material": 0, "variants": [1]}, {"material": 1, "variants": [0, 2]}]
    back = round_trip(tmp_path, scene)
    assert back.variants == ["restored", "found", "museum"]
    mapping = back.nodes[0].mesh.primitives[0].variants  # type: ignore[union-attr]
    assert {name: m.name for name, m in mapping.items()} == {"found": "found", "restored": "restored",
                                                              "museum": "restored"}
    assert mapping["restored"] is mapping["museum"]


@pytest.mark.parametrize("variant", [3, "0", None])
def test_a_mapping_to_a_variant_that_does_not_exist_is_refused(tmp_path: Path, variant: object) -> None:
    material = ir.Material(name="m")
    scene = triangle_scene(material)
    scene.nodes[0].mesh.primitives[0].variants = {"only": material}  # type: ignore[union-attr]

    def break_mapping(doc: dict[str, Any]) -> None:
        doc["meshes"][0]["primitives"][0]["extensions"]["KHR_materials_variants"]["mappings"][0]["variants"] = [
            variant]

    (tmp_path / "x.glb").write_bytes(with_json(write_glb(scene), break_mapping))
    with pytest.raises(AssetError, match=f"mesh 0 maps a material to variant {variant}, which does not exist"):
        read_gltf(tmp_path / "x.glb", tmp_path)
