"""Reader behaviour that the sampled mutation run (docs/benchmarks.md, mutants) found untested after main's
changes: a primitive's extras, and where broken glTF JSON is broken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import AssetError
from pipeline.gltf import write_glb
from pipeline.gltf.reader import read_gltf
from tests.pipeline.gltf.scenes import triangle_scene, with_json


def test_a_primitives_extras_are_read(tmp_path: Path) -> None:
    def add_extras(document: dict[str, Any]) -> None:
        document["meshes"][0]["primitives"][0]["extras"] = {"layer": "glaze", "pass": [1, 2]}

    path = tmp_path / "extras.glb"
    path.write_bytes(with_json(write_glb(triangle_scene()), add_extras))
    primitive = read_gltf(path, tmp_path).nodes[0].mesh.primitives[0]  # type: ignore[union-attr]
    assert primitive.extras == {"layer": "glaze", "pass": [1, 2]}


def test_broken_gltf_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.gltf"
    path.write_text('{"asset": {"version": "2.0"},\n "scenes": [}\n', encoding="utf-8")
    with pytest.raises(AssetError) as raised:
        read_gltf(path, tmp_path)
    assert raised.value.cause.startswith("invalid glTF JSON at line 2, column 13: ")
