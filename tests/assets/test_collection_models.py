"""assets/make_collection_models.py: the import example's committed models are exactly what the script makes."""

from __future__ import annotations

import importlib.util
import sys

import trimesh

from tests.conftest import REPO


def test_committed_models_are_the_scripts_output_and_closed() -> None:
    spec = importlib.util.spec_from_file_location("vitrina_make_collection_models",
                                                  REPO / "assets" / "make_collection_models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    files = module.model_files()
    assert sorted(files) == ["exhibits/collection-import/models/bowl.obj", "exhibits/collection-import/models/vase.obj"]
    for relative, data in files.items():
        assert (REPO / relative).read_bytes() == data, f"{relative} is stale: run python assets/make_collection_models.py"
        mesh = trimesh.load(REPO / relative, force="mesh")
        assert isinstance(mesh, trimesh.Trimesh)
        assert mesh.is_watertight and mesh.volume > 0  # closed, faces outward
