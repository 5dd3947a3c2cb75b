"""KHR_materials_variants: scene → GLB → scene keeps the variant names in order and each primitive's mapping."""

from __future__ import annotations

from pathlib import Path

from pipeline import scene as ir
from pipeline.gltf import write_glb
from tests.pipeline.gltf.scenes import glb_json, round_trip, triangle_scene


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
