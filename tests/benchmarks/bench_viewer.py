"""Viewer load benchmark: the rich example on a local server — navigation to first frame, to all rooms, bytes."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.doc_section import write_section
from tests.benchmarks.headless import chromium_or_skip, visits
from tests.conftest import REPO

EXAMPLE = REPO / "exhibits" / "bronze-age"
VIEWPORT = {"width": 1280, "height": 720}

# Resource Timing, grouped by what the bytes are for (transferSize: headers + body as sent over the wire).
MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const groups = {page: nav.transferSize, three: 0, viewer: 0, rooms: 0, manifest: 0, other: 0};
  for (const entry of performance.getEntriesByType('resource')) {
    const url = entry.name;
    const group = url.includes('/vendor/three/') ? 'three' : url.includes('/static/') ? 'viewer'
      : url.endsWith('.glb') ? 'rooms' : url.endsWith('exhibit.json') ? 'manifest' : 'other';
    groups[group] += entry.transferSize;
  }
  return {first_frame_ms: __viewer.firstFrameMs, all_rooms_ms: __viewer.allRoomsLoadedMs,
          dom_content_loaded_ms: nav.domContentLoadedEventEnd, groups,
          requests: performance.getEntriesByType('resource').length + 1, gpu: __viewer.gpu.renderer,
          rooms: __viewer.loadedRooms.length, errors: __viewer.errors};
}"""


def build_site(out: Path) -> None:
    from pipeline.build import BuildOptions, build

    build(EXAMPLE, out, BuildOptions(quiet=True))


def one_load(browser: Any, url: str) -> dict[str, Any]:
    """A cold visit: a fresh context has an empty HTTP cache."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__viewer && __viewer.allRoomsLoadedMs !== null && __viewer.frames > 1",
                               timeout=120000)
        return dict(page.evaluate(MEASURE))
    finally:
        context.close()


def table(rows: list[dict[str, Any]], load: tuple[float, float, float], rounds: int, rooms: int) -> str:
    def stat(key: str) -> str:
        values = [row[key] for row in rows]
        return f"{statistics.median(values):,.0f} ms | {min(values):,.0f}–{max(values):,.0f} ms"

    bytes_by_group = rows[0]["groups"]
    total = sum(bytes_by_group.values())
    lines = [
        "## Viewer: loading the rich example",
        "",
        f"`python -m tests.benchmarks.bench_viewer --rounds {rounds}`: exhibits/bronze-age built by the compiler, served by "
        "`pipeline.preview.StaticSite` on 127.0.0.1 (gzip for text files, as `vitrina serve` does), headless Debian Chromium at "
        f"{VIEWPORT['width']}×{VIEWPORT['height']} with a fresh HTTP cache per visit; GL: {rows[0]['gpu']}; "
        f"{rooms} rooms; load average before the run {load[0]:.2f}. Times are from navigation start.",
        "",
        "| milestone | median | min–max |",
        "|---|---:|---:|",
        f"| DOMContentLoaded | {stat('dom_content_loaded_ms')} |",
        f"| first rendered frame | {stat('first_frame_ms')} |",
        f"| all rooms loaded | {stat('all_rooms_ms')} |",
        "",
        "| bytes transferred | bytes | share |",
        "|---|---:|---:|",
    ]
    labels = {"page": "exhibit page (HTML)", "manifest": "exhibit.json", "viewer": "viewer JS + CSS",
              "three": "three.js (vendored modules)", "rooms": "room GLBs", "other": "other"}
    for key, label in labels.items():
        if bytes_by_group.get(key):
            lines.append(f"| {label} | {bytes_by_group[key]:,} | {100 * bytes_by_group[key] / total:.0f} % |")
    lines += [f"| **total** ({rows[0]['requests']} requests) | **{total:,}** | 100 % |", "",
              "SwiftShader renders on the CPU, so frame times here say nothing about a headset; the viewer detects a "
              "software rasteriser and turns off MSAA, image-based lighting and the rooms' punctual lights. "
              "Room GLBs load one at a time, nearest first, so the first room appears before the others arrive."]
    return "\n".join(lines)


def update_doc(text: str) -> None:
    write_section("viewer", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_viewer", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true", help="print the table without updating docs/benchmarks.md")
    args = parser.parse_args(argv)
    chromium = chromium_or_skip("bench_viewer")
    if chromium is None:
        return 0
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="vitrina-bench-viewer-"))
    try:
        build_site(tmp)
        rows = visits(chromium, tmp, "bronze-age/index.html", args.rounds, one_load, warm_up=True)
        errors = [error for row in rows for error in row["errors"]]
        if errors:
            print(f"page errors: {errors[:5]}", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = table(rows, load, args.rounds, rows[0]["rooms"])
    print(text)
    if not args.no_doc:
        update_doc(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
