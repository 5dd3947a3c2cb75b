"""Build report: the printed table, report.json, the HTML page with an SVG floor plan per room, scene measures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pipeline.build import BuildOptions, build
from pipeline.report import (
    BudgetCheck,
    BuildReport,
    RoomReport,
    floor_plan_svg,
)
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildReport]:
    root = tmp_path_factory.mktemp("report")
    spec = write_tiny_exhibit(root / "tiny")
    report = build(spec, root / "site", BuildOptions(quiet=True, jobs=1, use_cache=False))
    return root / "site" / "tiny", report


def test_text_table_lists_rooms_targets_and_stages(built: tuple[Path, BuildReport]) -> None:
    _, report = built
    text = report.to_text()
    lines = text.splitlines()
    assert any(line.startswith("hall ") for line in lines) and any(line.startswith("side ") for line in lines)
    for stage in ("load", "assets", "compose", "write", "site"):
        assert f"{stage} " in text.split("stages:")[1]
    assert "1 processed" in text


def test_report_json_matches_the_report(built: tuple[Path, BuildReport]) -> None:
    folder, report = built
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["exhibit"] == "tiny"
    assert [r["room"] for r in data["rooms"]] == ["hall", "side"]
    manifest = json.loads((folder / "exhibit.json").read_text(encoding="utf-8"))
    for room, entry in zip(data["rooms"], manifest["rooms"], strict=True):
        assert room["triangles"] == entry["stats"]["triangles"]
        assert room["bytes"] == entry["stats"]["bytes"]
    assert set(data["timings"]) >= {"load", "assets", "compose", "optimize", "write", "manifest", "site"}


def test_report_html_has_a_floor_plan_per_room_with_its_artifacts(built: tuple[Path, BuildReport]) -> None:
    folder, _ = built
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2
    assert "<h1>Build report: tiny</h1>" in html
    for artifact in ("cube", "cube2", "red", "intro"):
        assert f"<title>{artifact}: " in html


def test_floor_plan_is_valid_svg_with_a_shape_per_artifact_and_door() -> None:
    room = {"id": "hall", "name": {"en": "Hall"}, "bounds": {"min": [-4, 0, -3], "max": [4, 3, 3]},
            "doors": [{"to": "side", "wall": "east", "position": [4, 0, 1], "width": 1.4}]}
    artifacts: list[dict[str, Any]] = [
        {"id": "ding", "kind": "model", "room": "hall", "record": {"title": {"en": "Ding <1>"}},
         "bounds": {"min": [0, 0, 0], "max": [1, 1, 1]}},
        {"id": "elsewhere", "kind": "model", "room": "gallery", "record": {},
         "bounds": {"min": [0, 0, 0], "max": [1, 1, 1]}},
    ]
    root = ET.fromstring(floor_plan_svg(room, artifacts, "en"))
    groups = root.findall(f"{SVG}g")
    assert len(groups) == 1  # only the hall's artifact
    assert groups[0].find(f"{SVG}title").text == "ding: Ding <1>"  # type: ignore[union-attr]
    rect = groups[0].find(f"{SVG}rect")
    assert rect is not None and float(rect.get("width", 0)) == pytest.approx(40.0)  # 1 m at 40 px/m
    doors = root.findall(f"{SVG}line")
    assert len(doors) == 1 and doors[0].get("x1") == doors[0].get("x2")  # an east door is vertical in plan


def test_budget_lines_mark_what_is_over() -> None:
    check = BudgetCheck(room="hall", target="phone", values={"triangles": 400_000, "draw_calls": 10},
                        limits={"triangles": 300_000, "draw_calls": 100}, action="over")
    assert check.over == ["triangles"]
    report = BuildReport(exhibit="x", out_dir="out", budgets=[check],
                         rooms=[RoomReport("hall", "rooms/hall.glb", 400_000, 10, 1000, 0, 1)])
    text = report.to_text()
    assert "400,000/300,000 !" in text and "OVER" in text
    assert report.to_dict()["budgets"][0]["over"] == ["triangles"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_long_task_shows_its_time_left_at_most_once_a_second_on_a_terminal() -> None:
    import io

    from pipeline import progress as hooks
    from pipeline.report import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream, clock = Terminal(), FakeClock()
    progress = Progress(stream, clock=clock)
    with progress.stage("optimize"), hooks.reporting_to(progress), hooks.task("quantizing 4.1M triangles", 4) as task:
        clock.now += 10.0
        task.advance()  # 1 of 4 in 10 s: 30 s left
        clock.now += 0.999
        task.advance()  # under a second since the last redraw: not shown
        clock.now += 0.001
        task.advance()  # 3 of 4 in 11 s: 3.7 s left
    lines = stream.getvalue().split("\r\x1b[K")
    assert "optimize: quantizing 4.1M triangles…" in lines
    assert [line for line in lines if "left" in line] == ["optimize: quantizing 4.1M triangles, 30 s left",
                                                          "optimize: quantizing 4.1M triangles, 4 s left"]


def test_off_a_terminal_a_task_is_a_plain_line_every_ten_seconds_and_nothing_when_quiet() -> None:
    import io

    from pipeline import progress as hooks
    from pipeline.report import Progress

    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, clock=clock)
    with progress.stage("write"), hooks.reporting_to(progress), hooks.task("scan: simplifying", 200) as task:
        for _ in range(199):
            clock.now += 1.0
            task.advance()
    assert "\r" not in stream.getvalue()
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["write…", "write: scan: simplifying…"]
    assert lines[2] == "write: scan: simplifying, 3 min left" and len(lines) == 2 + 19  # at 10, 20, …, 190 s
    assert lines[-1] == "write: scan: simplifying, 10 s left"
    silent = io.StringIO()
    quiet = Progress(silent, quiet=True, clock=clock)
    with quiet.stage("write"), hooks.reporting_to(quiet), hooks.task("scan: simplifying", 2) as task:
        clock.now += 60
        task.advance()
    assert silent.getvalue() == ""
    with hooks.task("outside a build", 2) as task:
        task.advance()  # no reporter: silent, no error
