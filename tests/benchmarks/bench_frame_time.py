"""Frame time of the rich example before and after the bake: a VR session under IWER (the VR browser test's set-up),
built with --no-bake and baked (with contact shadows), plus the desktop's Shadows setting off and on (bench_frame_time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from pipeline.build import BuildOptions, build
from pipeline.posters import SETTLE_STREAMING
from pipeline.preview import StaticSite, serving
from tests.benchmarks.doc_section import write_section
from tests.browser.conftest import CHROMIUM_FLAGS, IWER_SETUP, NODE_MODULES
from tests.conftest import REPO, chromium_path

EXAMPLE = REPO / "exhibits" / "bronze-age"
DESKTOP_AGENT = ("Object.defineProperty(navigator, 'userAgent', {value: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140', "
                 "configurable: true});")
# Frames counted over this long a window, after the models' levels have settled.
WINDOW_MS = 4000


def _frame_ms(page: Any, counter: str) -> float:
    """Mean milliseconds per frame over WINDOW_MS, counted by the viewer's own frame counter."""
    return float(page.evaluate("""async ([counter, windowMs]) => {
        const start = __viewer[counter], t0 = performance.now();
        await new Promise((resolve) => setTimeout(resolve, windowMs));
        return (performance.now() - t0) / Math.max(1, __viewer[counter] - start);
    }""", [counter, WINDOW_MS]))


def measure(browser: Any, url: str, mode: str) -> float:
    """ms per frame: mode "vr" (IWER's Quest 3, in a VR session), "desktop" or "desktop-high" (?quality=high)."""
    context = browser.new_context(viewport={"width": 900, "height": 600}, reduced_motion="reduce")
    try:
        if mode == "vr":
            context.add_init_script(path=str(NODE_MODULES / "iwer/build/iwer.min.js"))
            context.add_init_script(script=IWER_SETUP)
        page = context.new_page()
        page.goto(url + ("?quality=high" if mode == "desktop-high" else ""))
        page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=90000)
        page.evaluate(SETTLE_STREAMING)
        if mode == "vr":
            page.wait_for_function("document.getElementById('VRButton').dataset.i18n === 'enterVr'")
            page.click("#VRButton")
            page.wait_for_function("__viewer.xrFrames >= 10", timeout=60000)
            return _frame_ms(page, "xrFrames")
        page.wait_for_timeout(1000)
        return _frame_ms(page, "frames")
    finally:
        context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    results: dict[tuple[str, str], list[float]] = {}
    rooms: dict[str, dict[str, tuple[int, int]]] = {}  # build → room → (draw calls, GPU texture bytes)
    with tempfile.TemporaryDirectory(prefix="vitrina-frames-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        for build_label, bake in (("--no-bake", False), ("baked", True)):
            site = Path(folder) / ("plain" if not bake else "baked")
            report = build(EXAMPLE, site, BuildOptions(quiet=True, bake=bake, jobs=1))
            rooms[build_label] = {r.room: (r.draw_calls, r.texture_bytes_gpu) for r in report.rooms}
            with serving(StaticSite(site)) as base:
                url = f"{base}/{EXAMPLE.name}/index.html"
                for _ in range(args.rounds):
                    for mode in ("vr", "desktop", "desktop-high"):
                        results.setdefault((build_label, mode), []).append(measure(browser, url, mode))
        browser.close()

    def cell(build_label: str, mode: str) -> str:
        values = results[(build_label, mode)]
        return f"{statistics.median(values):.1f} ms ({min(values):.1f}–{max(values):.1f})"

    lines = [
        "### Frame time before and after the bake",
        "",
        f"`python -m tests.benchmarks.bench_frame_time --rounds {args.rounds}`: exhibits/bronze-age built with "
        "`--no-bake` and baked (lightmaps and contact shadows), in headless Chromium on SwiftShader (a software "
        "rasteriser: the numbers are CPU-bound and only comparable within this table), 900×600, from the start "
        f"view with every model's level settled; mean ms per frame over {WINDOW_MS / 1000:.0f} s, median of "
        f"{args.rounds} rounds (min–max); load average before the run {load[0]:.2f}.",
        "",
        "| view | `--no-bake` | baked |",
        "|---|---:|---:|",
        f"| VR session (IWER, Meta Quest 3 emulation, as tests/browser/test_xr.py) | {cell('--no-bake', 'vr')} | "
        f"{cell('baked', 'vr')} |",
        f"| desktop, Shadows off (the default) | {cell('--no-bake', 'desktop')} | {cell('baked', 'desktop')} |",
        f"| desktop, `?quality=high` (key-light shadows from the 4 spotlights nearest the eye) | {cell('--no-bake', 'desktop-high')} | "
        f"{cell('baked', 'desktop-high')} |",
    ]
    for room, (calls, gpu) in rooms["--no-bake"].items():
        baked_calls, baked_gpu = rooms["baked"][room]
        lines.append(f"| room {room}: draw calls, GPU texture memory (the room shell) | {calls}, {gpu / 2**20:.1f} MB | "
                     f"{baked_calls}, {baked_gpu / 2**20:.1f} MB |")
    lines += [
        "",
        "Baked surfaces are unlit (one texture fetch for their light); the contact shadows add one draw call per "
        "room (all of a room's shadows share one quad mesh and one atlas). No frame-time budget is asserted: on "
        "this loaded 2-core machine a frame's time moves with whatever else runs. The robust budget is the one "
        "tests/browser/test_baked_light.py asserts: each baked room's draw calls and GPU texture bytes within "
        "every target's budget.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("bake-frames", text)


if __name__ == "__main__":
    main()
