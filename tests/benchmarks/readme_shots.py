"""The README's before/after pictures: the rich example built with --no-bake and baked, seen by the viewer itself.

python -m tests.benchmarks.readme_shots  (writes docs/img/hall-{before,after}.jpg and ding-{before,after}.jpg)
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.build import BuildOptions, build
from pipeline.posters import SETTLE_STREAMING
from pipeline.preview import StaticSite, serving
from tests.browser.conftest import CHROMIUM_FLAGS
from tests.conftest import REPO, chromium_path

EXAMPLE = REPO / "exhibits" / "bronze-age"
OUT = REPO / "docs" / "img"
# The start view, then the ding from above its plinth: where the contact shadow and the spotlight pool are.
VIEWS: dict[str, dict[str, list[float]] | None] = {
    "hall": None, "ding": {"target": [0.0, 0.95, 0.0], "position": [0.55, 1.65, 0.95]}}


def shoot(page: Any, view: dict[str, list[float]] | None) -> bytes:
    page.evaluate("__viewer.setHotspotsVisible(false)")
    if view is not None:
        page.evaluate("(view) => __viewer.flyTo(view, {durationMs: 0})", view)
    page.evaluate(SETTLE_STREAMING)
    page.wait_for_timeout(1500)
    png = page.locator("#stage canvas").screenshot()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, "JPEG", quality=86, optimize=True)
    return buffer.getvalue()


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vitrina-shots-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        for label, bake in (("before", False), ("after", True)):
            site = Path(folder) / label
            build(EXAMPLE, site, BuildOptions(quiet=True, bake=bake, jobs=1))
            with serving(StaticSite(site)) as base:
                for name, view in VIEWS.items():
                    page = browser.new_context(viewport={"width": 1200, "height": 750},
                                               reduced_motion="reduce").new_page()
                    page.goto(f"{base}/{EXAMPLE.name}/index.html")
                    page.wait_for_function("window.__viewer && __viewer.ready && __viewer.frames > 2", timeout=90000)
                    page.add_style_tag(content="#stage > :not(canvas) { visibility: hidden !important; }")
                    (OUT / f"{name}-{label}.jpg").write_bytes(shoot(page, view))
                    page.context.close()
                    print(f"docs/img/{name}-{label}.jpg")
        browser.close()


if __name__ == "__main__":
    main()
