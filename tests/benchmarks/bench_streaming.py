"""Viewer streaming benchmark: 10- and 40-room exhibits of 1M–4M-triangle synthetic scans, served locally.

Measures, in headless Chromium with a fresh HTTP cache: the time until every artifact in the first room shows a
level, the bytes transferred before that moment, the time until the streamer settles at full quality for the
start view, peak JS heap and the streamer's GPU texture estimate. The scans come from scan_generator (seeded);
each room shows three of them, so the ladders are built once per scan and the rooms differ in placement only.

    python -m tests.benchmarks.bench_streaming --rooms 10 40
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.doc_section import write_section
from tests.benchmarks.headless import chromium_or_skip, visits

VIEWPORT = {"width": 1280, "height": 720}
SCANS = ((1_000_000, 2048), (2_000_000, 4096), (4_000_000, 4096))  # triangles, texture side
PER_ROOM = 3

MEASURE = """() => {
  const visible = __viewer.firstRoomVisibleMs;
  let before = 0, total = 0;
  for (const entry of performance.getEntriesByType('resource')) {
    total += entry.transferSize;
    if (entry.responseEnd <= visible) before += entry.transferSize;
  }
  const nav = performance.getEntriesByType('navigation')[0];
  return {first_room_visible_ms: visible, first_frame_ms: __viewer.firstFrameMs,
          full_quality_ms: __viewer.streaming.fullQualityMs, all_rooms_ms: __viewer.allRoomsLoadedMs,
          bytes_before_visible: before + nav.transferSize, bytes_total: total + nav.transferSize,
          gpu_bytes: __viewer.streaming.gpuBytes, triangles: __viewer.streaming.triangles,
          levels: {...__viewer.streaming.levels}, errors: __viewer.errors.slice()};
}"""


def exhibit_yaml(rooms: int, models: list[str]) -> str:
    """A chain of rooms joined by doors, three scans on plinths in each."""
    lines = ["exhibit:", "  id: scans", "  title: {en: Scans}", "  languages: [en]",
             "  rights: http://creativecommons.org/licenses/by/4.0/", "  targets: [quest2, phone, desktop]",
             "rooms:"]
    for r in range(rooms):
        doors = [f"{{wall: east, to: room{r + 1}, width: 1.6}}"] if r + 1 < rooms else []
        lines += [f"  - id: room{r}", "    size: [8, 6, 3.5]", f"    doors: [{', '.join(doors)}]"]
        if r == 0:
            lines.append("    start: {at: [0, 2.4], facing: 0}")
    lines.append("artifacts:")
    for r in range(rooms):
        for k in range(PER_ROOM):
            lines += [f"  - id: scan-{r}-{k}", f"    model: {models[(r + k) % len(models)]}", "    height: 0.6",
                      f"    place: {{room: room{r}, at: [{-2.5 + 2.5 * k}, -1], plinth: {{height: 0.9}}}}",
                      f"    record: {{title: {{en: Scan {r}.{k}}}}}", "    alt: {en: A synthetic scan}"]
    return "\n".join(lines) + "\n"


def one_visit(browser: Any, url: str) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        client = context.new_cdp_session(page)
        client.send("Performance.enable")
        peak = 0.0
        page.goto(url)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            metrics = {m["name"]: m["value"] for m in client.send("Performance.getMetrics")["metrics"]}
            peak = max(peak, metrics.get("JSHeapUsedSize", 0.0))
            done = page.evaluate("() => !!(window.__viewer && __viewer.streaming && __viewer.streaming.fullQualityMs)")
            if done:
                break
            time.sleep(0.2)
        row = dict(page.evaluate(MEASURE))
        row["peak_heap"] = peak
        return row
    finally:
        context.close()


def table(results: dict[int, list[dict[str, Any]]], build_seconds: dict[int, float], load: tuple[float, ...]) -> str:
    def median(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(row[key] or 0) for row in rows)

    lines = [
        "## Viewer: streaming scan ladders",
        "",
        "`python -m tests.benchmarks.bench_streaming --rooms " + " ".join(str(r) for r in results) + "`: exhibits "
        f"of N rooms with {PER_ROOM} synthetic scans each (1M/2k, 2M/4k and 4M/4k triangles/texture from "
        "tests/benchmarks/scan_generator.py), built by the compiler and served by `pipeline.preview.StaticSite` on "
        f"127.0.0.1; headless Debian Chromium (SwiftShader) at {VIEWPORT['width']}×{VIEWPORT['height']}, a fresh "
        f"HTTP cache per visit, medians of the visits; load average before the run {load[0]:.2f}. Targets (issue 11): "
        "every artifact of the first room visible in < 1.5 s, ≤ 3 MB before that moment.",
        "",
        "| rooms | build (the first row builds the scans' ladders cold; later rows take them from the cache) | first frame | every artifact in room 1 visible | bytes before then "
        "| full quality (start view) | bytes in all | peak JS heap | GPU texture estimate | triangles held |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rooms, rows in results.items():
        lines.append(
            f"| {rooms} | {build_seconds[rooms]:.1f} s | {median(rows, 'first_frame_ms'):,.0f} ms "
            f"| {median(rows, 'first_room_visible_ms'):,.0f} ms | {median(rows, 'bytes_before_visible') / 1e6:.2f} MB "
            f"| {median(rows, 'full_quality_ms'):,.0f} ms | {median(rows, 'bytes_total') / 1e6:.1f} MB "
            f"| {median(rows, 'peak_heap') / 1e6:.0f} MB | {median(rows, 'gpu_bytes') / 1e6:.1f} MB "
            f"| {median(rows, 'triangles'):,.0f} |")
    lines += ["", "Times are from navigation start. SwiftShader draws on the CPU, so frame times here say nothing "
              "about a headset; what matters is the order of loading and the bytes."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_streaming", description=__doc__)
    parser.add_argument("--rooms", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="print the table without updating docs/benchmarks.md")
    args = parser.parse_args(argv)
    chromium = chromium_or_skip("bench_streaming")
    if chromium is None:
        return 0
    from pipeline.build import BuildOptions, build
    from tests.benchmarks.scan_generator import generate

    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="vitrina-bench-streaming-"))
    cache = tmp / "cache"
    results: dict[int, list[dict[str, Any]]] = {}
    build_seconds: dict[int, float] = {}
    try:
        for rooms in args.rooms:
            spec = tmp / f"exhibit-{rooms}"
            (spec / "models").mkdir(parents=True)
            models = []
            for triangles, texture in SCANS:
                paths = generate(tmp / "scans", triangles, texture, formats=("glb",))
                target = spec / "models" / paths["glb"].name
                shutil.copyfile(paths["glb"], target)
                models.append(f"models/{target.name}")
            (spec / "exhibit.yaml").write_text(exhibit_yaml(rooms, models), encoding="utf-8")
            started = time.perf_counter()
            build(spec, tmp / f"site-{rooms}", BuildOptions(quiet=True, cache_dir=cache))
            build_seconds[rooms] = time.perf_counter() - started
            rows = visits(chromium, tmp / f"site-{rooms}", "scans/index.html", args.visits, one_visit)
            errors = [e for row in rows for e in row["errors"]]
            if errors:
                print(f"page errors: {errors[:5]}", file=sys.stderr)
                return 1
            results[rooms] = rows
            print(f"{rooms} rooms: {[round(r['first_room_visible_ms']) for r in rows]} ms to room 1 visible", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(results, build_seconds, load)
    print(text)
    if not args.no_doc:
        write_section("streaming", text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
