"""Test helper: run the Khronos glTF validator (npm gltf-validator) on GLB bytes or files, many per node process."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.conftest import NODE_MODULES, need_or_skip

SCRIPT = Path(__file__).resolve().parent / "validate_gltf.mjs"


def validator_available() -> bool:
    return shutil.which("node") is not None and (NODE_MODULES / "gltf-validator").is_dir()


def validate_many(items: Sequence[bytes | str | Path], timeout: float = 300.0) -> list[dict[str, Any]]:
    """One validator report per item (GLB bytes, or a path to a .glb/.gltf), in order, from one node process.

    Skips the calling test when node or node_modules is missing, unless VITRINA_REQUIRE_BROWSER=1.
    """
    need_or_skip(validator_available(), "node and node_modules/gltf-validator are needed: run `make setup`",
                 "VITRINA_REQUIRE_BROWSER")
    if not items:
        return []
    with tempfile.TemporaryDirectory(prefix="vitrina-validate-") as tmp:
        paths: list[str] = []
        for index, item in enumerate(items):
            if isinstance(item, bytes | bytearray):
                path = Path(tmp) / f"item{index}.glb"
                path.write_bytes(item)
                paths.append(str(path))
            else:
                paths.append(str(Path(item).resolve()))
        # Paths go through stdin, so a long list cannot overflow the command line.
        done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(paths), capture_output=True, text=True,
                              timeout=timeout, cwd=NODE_MODULES.parent, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gltf-validator failed (exit {done.returncode}): {done.stderr.strip()}")
    reports: list[dict[str, Any]] = json.loads(done.stdout)
    return reports


def validate_glb(data: bytes | str | Path) -> dict[str, Any]:
    """The validator's report for one GLB; assert `report["issues"]["numErrors"] == 0`."""
    return validate_many([data])[0]


def errors_of(report: dict[str, Any], severity: int = 0) -> list[str]:
    """Readable 'CODE at pointer: message' lines for issues of this severity (0 errors, 1 warnings), for asserts."""
    return [f"{m.get('code')} at {m.get('pointer', '')}: {m.get('message')}"
            for m in report["issues"].get("messages", []) if m.get("severity") == severity]
