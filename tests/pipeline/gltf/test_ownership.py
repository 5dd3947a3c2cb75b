"""pygltflib is used only inside pipeline/gltf, and DracoPy only by the Draco extension module (DESIGN §6)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def importers(library: str) -> set[str]:
    pattern = re.compile(rf"^\s*(import {library}\b|from {library}\b)", re.M)
    return {str(path.relative_to(ROOT)) for folder in ("pipeline", "viewer") for path in (ROOT / folder).rglob("*.py")
            if pattern.search(path.read_text(encoding="utf-8"))}


def test_pygltflib_stays_in_the_gltf_package() -> None:
    found = importers("pygltflib")
    assert "pipeline/gltf/writer.py" in found
    assert all(name.startswith("pipeline/gltf/") for name in found), found


def test_dracopy_has_one_owner() -> None:
    assert importers("DracoPy") == {"pipeline/gltf/extensions/draco_mesh_compression.py"}
