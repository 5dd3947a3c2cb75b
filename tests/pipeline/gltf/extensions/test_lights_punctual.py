"""KHR_lights_punctual: scene → GLB → scene keeps every light, shared lights stay shared."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline import scene as ir
from pipeline.gltf import read_gltf, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene, with_json


def lit_scene() -> ir.Scene:
    scene = triangle_scene()
    spot = ir.Light(type="spot", color=(1.0, 0.5, 0.25), intensity=3.0, range=12.0, inner_cone_angle=0.25,
                    outer_cone_angle=0.5, name="spot")
    sun = ir.Light(type="directional", intensity=2.0)
    scene.nodes += [ir.Node(name="a", light=spot), ir.Node(name="b", light=spot), ir.Node(name="c", light=sun)]
    return scene


def test_lights_round_trip(tmp_path: Path) -> None:
    back = round_trip(tmp_path, lit_scene())
    a, b, c = back.nodes[1:]
    assert a.light is b.light and a.light is not None and c.light is not None
    assert (a.light.type, a.light.name, a.light.range) == ("spot", "spot", 12.0)
    assert a.light.color == pytest.approx((1.0, 0.5, 0.25)) and a.light.intensity == pytest.approx(3.0)
    assert (a.light.inner_cone_angle, a.light.outer_cone_angle) == pytest.approx((0.25, 0.5))
    assert (c.light.type, c.light.intensity, c.light.outer_cone_angle) == ("directional", 2.0, math.pi / 4)


def test_lights_are_listed_once_with_defaults_left_out() -> None:
    document = glb_json(write_glb(lit_scene()))
    assert document["extensions"]["KHR_lights_punctual"]["lights"][1] == {"type": "directional", "intensity": 2}
    assert [n.get("extensions") for n in document["nodes"][1:]] == [
        {"KHR_lights_punctual": {"light": 0}}, {"KHR_lights_punctual": {"light": 0}},
        {"KHR_lights_punctual": {"light": 1}}]
    assert "KHR_lights_punctual" in document["extensionsUsed"]
    assert "KHR_lights_punctual" not in glb_json(write_glb(triangle_scene())).get("extensionsUsed", [])


@pytest.mark.parametrize("light", [5, "0", [0], True])
def test_a_light_index_that_points_at_nothing_is_ignored(tmp_path: Path, light: object) -> None:
    data = with_json(write_glb(lit_scene()),
                     lambda doc: doc["nodes"][1]["extensions"]["KHR_lights_punctual"].update(light=light))
    (tmp_path / "x.glb").write_bytes(data)
    assert read_gltf(tmp_path / "x.glb", tmp_path).nodes[1].light is None


def test_a_light_written_by_another_tool_gets_the_specs_defaults(tmp_path: Path) -> None:
    def lights(doc: dict[str, object]) -> None:
        doc["extensions"]["KHR_lights_punctual"]["lights"] = [  # type: ignore[index]
            {}, {"type": "spot", "spot": {}}, {"type": "point", "range": 4}]
        doc["nodes"][2]["extensions"]["KHR_lights_punctual"]["light"] = 1  # type: ignore[index]
        doc["nodes"][3]["extensions"]["KHR_lights_punctual"]["light"] = 2  # type: ignore[index]
    (tmp_path / "x.glb").write_bytes(with_json(write_glb(lit_scene()), lights))
    nodes = read_gltf(tmp_path / "x.glb", tmp_path).nodes
    bare, spot, point = nodes[1].light, nodes[2].light, nodes[3].light
    assert bare is not None and spot is not None and point is not None
    assert (bare.type, bare.color, bare.intensity, bare.range, bare.name) == ("point", (1.0, 1.0, 1.0), 1.0, None, "")
    assert (spot.type, spot.inner_cone_angle, spot.outer_cone_angle) == ("spot", 0.0, math.pi / 4)
    assert (point.range, point.intensity) == (4, 1.0)


def test_only_what_differs_from_the_defaults_is_written() -> None:
    scene = triangle_scene()
    scene.nodes += [ir.Node(name="p", light=ir.Light(type="point", range=6.0)),
                    ir.Node(name="d", light=ir.Light(type="directional", range=6.0, color=(1.0, 0.9, 0.8))),
                    ir.Node(name="s", light=ir.Light(type="spot", outer_cone_angle=math.pi / 4)),
                    ir.Node(name="t", light=ir.Light(type="spot", inner_cone_angle=0.1, name="key"))]
    written = glb_json(write_glb(scene))["extensions"]["KHR_lights_punctual"]["lights"]
    assert written[0] == {"type": "point", "range": 6}
    assert written[1] == {"type": "directional", "color": [1, 0.9, 0.8]}  # a range means nothing to the sun
    assert written[2] == {"type": "spot", "spot": {}}
    assert written[3] == {"type": "spot", "name": "key", "spot": {"innerConeAngle": 0.1}}
