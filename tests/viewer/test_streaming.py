"""The viewer's level choice (viewer/static/js/streaming.js), run in node with fixed camera numbers and budgets."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NODE_MODULES, REPO, need_or_skip


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    need_or_skip(shutil.which("node") is not None and (NODE_MODULES / "three").is_dir(),
                 "node and node_modules are needed: run `make setup`", "VITRINA_REQUIRE_BROWSER")
    script = Path(__file__).with_name("streaming_cases.mjs")
    result = subprocess.run(["node", "--no-warnings", str(script)], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=True)
    return json.loads(result.stdout)


def test_the_wanted_level_follows_distance_and_visibility(cases: dict[str, Any]) -> None:
    assert cases["far"] == 0  # 30 m away: the thumb
    assert cases["middle"] < cases["near"]
    assert cases["near"] == 3  # close up: 'high' projects its error under a pixel, so the 4M-triangle 'full' is not needed
    assert cases["hidden"] == 0  # outside the view: the thumb


def test_the_budget_caps_what_a_device_loads(cases: dict[str, Any]) -> None:
    assert cases["desktopNear"]["a0"] == 3
    assert cases["questNear"]["a0"] == 2  # quest2 takes no 4096 px textures
    assert cases["questTriangles"] <= cases["questLimit"]
    assert max(cases["smallTextureDevice"].values()) == 1  # MAX_TEXTURE_SIZE 1024: nothing above 'low'
    assert max(cases["scaledDown"].values()) <= 1
    assert cases["lowMemory"]["triangles"] == 150_000  # deviceMemory 2 GB: half the phone profile


def test_hysteresis_keeps_a_level_until_a_coarser_one_would_do_with_margin_for_a_while(cases: dict[str, Any]) -> None:
    assert cases["hysteresisSmallStep"] == 3
    assert cases["hysteresisFarEarly"] == 3
    assert cases["hysteresisFarLate"] == 0


def test_a_choice_afresh_keeps_no_finer_level_and_is_what_an_arriving_visitor_gets(cases: dict[str, Any]) -> None:
    assert cases["afreshSmallStep"] == cases["afreshArrivingSmallStep"] < cases["hysteresisSmallStep"]
    assert cases["afreshFar"] == 0


def test_device_profiles_and_the_frame_time_governor(cases: dict[str, Any]) -> None:
    assert cases["profiles"] == ["quest3", "quest2", "phone", "desktop"]
    assert cases["governorSlow"] < 0.5  # frames at 25 ms against 13.9 ms: the budget shrinks
    assert cases["governorSlow"] < cases["governorRecovered"] <= 1
