"""Limits tested exactly at the limit and one past it: units, budgets, index widths and manifest precision.

Each test here kills a hand-made mutant that the rest of the suite let through (issue 11, item 7).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline import budgets
from pipeline.build import BuildOptions, build
from pipeline.gltf import write_glb
from pipeline.ingest import load_asset
from pipeline.scene import Mesh, Node, Primitive, Scene
from pipeline.spec.model import UNIT_METRES
from pipeline.transforms.common import compact_indices
from tests.pipeline.test_budgets import room
from tests.pipeline.test_gltf import glb_parts
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

UINT16, UINT32 = 5123, 5125
PRIMITIVE_RESTART_16 = 0xFFFF


@pytest.mark.parametrize(("unit", "metres"), [("m", 1.0), ("cm", 0.01), ("mm", 0.001), ("in", 0.0254), ("ft", 0.3048)])
def test_each_unit_is_its_exact_length_in_metres(tmp_path: Path, unit: str, metres: float) -> None:
    assert UNIT_METRES[unit] == metres
    stl = tmp_path / "ten.stl"
    # One triangle 10 units tall: its height after ingest is 10 of the unit, in metres.
    stl.write_text("solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 10 0\n"
                   "endloop\nendfacet\nendsolid t\n", encoding="ascii")
    scene = load_asset(stl, units=unit, up="y")
    node = scene.nodes[0]
    heights = []
    for primitive in node.mesh.primitives:
        positions = primitive.attributes["POSITION"].astype(np.float64) * node.scale[1]
        heights.append(positions[:, 1].max() - positions[:, 1].min())
    assert max(heights) == pytest.approx(10 * metres, rel=1e-6)


@pytest.mark.parametrize("metric", ["triangles", "draw_calls"])
def test_a_budget_is_met_exactly_at_its_limit_and_missed_one_past_it(metric: str) -> None:
    profile = budgets.PROFILES["quest2"]
    at_limit = room(triangles=200 * 10, draw_calls=10)
    values = budgets.measure(at_limit)
    limit = values.triangles if metric == "triangles" else values.draw_calls
    exact = budgets.DeviceProfile("edge", draw_calls=profile.draw_calls, triangles=profile.triangles,
                                  texture_bytes_gpu=profile.texture_bytes_gpu,
                                  max_texture_size=profile.max_texture_size, bytes=profile.bytes)
    exact = budgets.DeviceProfile(**{**exact.__dict__, metric: limit})
    assert budgets.check_budget(at_limit, exact).ok
    below = budgets.DeviceProfile(**{**exact.__dict__, metric: limit - 1})
    assert budgets.check_budget(at_limit, below).over == [metric]


def test_download_bytes_are_met_at_the_limit_and_missed_one_past_it() -> None:
    scene = room(triangles=300, draw_calls=3)
    profile = budgets.PROFILES["phone"]
    assert budgets.check_budget(scene, profile, download_bytes=profile.bytes).ok
    assert budgets.check_budget(scene, profile, download_bytes=profile.bytes + 1).over == ["bytes"]


@pytest.mark.parametrize("vertex_count", [65_534, 65_535, 65_536])
def test_uint16_indices_never_hold_the_primitive_restart_value(vertex_count: int) -> None:
    indices = np.array([0, vertex_count - 2, vertex_count - 1], dtype=np.uint32)
    compact = compact_indices(indices, vertex_count)
    assert compact.dtype == (np.uint16 if vertex_count <= 65_535 else np.uint32)
    assert int(compact.max()) == vertex_count - 1
    positions = np.zeros((vertex_count, 3), np.float32)
    positions[:, 0] = np.arange(vertex_count) % 256
    positions[:, 1] = np.arange(vertex_count) // 256
    primitive = Primitive({"POSITION": positions}, indices=compact)
    document, _ = glb_parts(write_glb(Scene("s", nodes=[Node("n", mesh=Mesh("m", [primitive]))])))
    accessor = document["accessors"][document["meshes"][0]["primitives"][0]["indices"]]
    written_max = vertex_count - 1  # the indices hold the last vertex
    if accessor["componentType"] == UINT16:
        assert written_max < PRIMITIVE_RESTART_16
    else:
        assert accessor["componentType"] == UINT32


def test_manifest_positions_keep_millimetres(tmp_path: Path) -> None:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    (spec / "exhibit.yaml").write_text(text.replace("at: [1, -1], rotate: 30", "at: [1.234, -0.987], rotate: 30"),
                                       encoding="utf-8")
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    manifest = json.loads((tmp_path / "site" / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    cube = next(a for a in manifest["artifacts"] if a["id"] == "cube")
    hall = next(r for r in manifest["rooms"] if r["id"] == "hall")
    centre = [(low + high) / 2 for low, high in zip(hall["bounds"]["min"], hall["bounds"]["max"], strict=True)]
    assert cube["position"][0] - centre[0] == pytest.approx(1.234, abs=1e-6)
    assert cube["position"][2] - centre[2] == pytest.approx(-0.987, abs=1e-6) or \
        cube["position"][2] - centre[2] == pytest.approx(0.987, abs=1e-6)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", repr(v)) for v in cube["position"])
