"""editor.js's snapping, run in Node: a dragged footprint's edge catches a wall or another object's edge within
15 cm (inclusive), and otherwise its centre goes to the 25 cm grid."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import NODE_MODULES, REPO

CASES = [
    # (centre, half width, edges, expected)
    (2.71, 0.3, [-3, 3], 2.7),        # flush against the east wall (3 - 0.3)
    (2.55, 0.3, [-3, 3], 2.7),        # 15 cm away: still caught
    (2.549, 0.3, [-3, 3], 2.5),       # 15.1 cm away: the grid instead
    (1.1, 0.3, [-3, 3], 1.0),         # far from everything: the grid
    (0.62, 0.2, [0.4], 0.6),          # its left edge meets another object's right edge
    (0.23, 0.2, [0.4, 0.45], 0.25),   # the nearest of two edges wins (0.45 - 0.2 is 2 cm away)
]


def test_snapping_to_walls_edges_and_the_grid() -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "three").is_dir():
        pytest.skip("node and node_modules/three are needed")
    script = ("import { snapAxis } from './viewer/static/js/editor.js';\n"
              f"const cases = {json.dumps([case[:3] for case in CASES])};\n"
              "console.log(JSON.stringify(cases.map(([c, h, e]) => snapAxis(c, h, e, 0.25))));\n")
    done = subprocess.run([node, "--input-type=module", "-e", script], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == pytest.approx([case[3] for case in CASES])
