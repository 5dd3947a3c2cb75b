"""Headless Chromium for the viewer benchmarks: whether it can run here, and visits of a site served locally."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, chromium_path


def chromium_or_skip(program: str) -> str | None:
    """Debian Chromium's path when it and the viewer's node_modules are here; else None, after saying so."""
    chromium = chromium_path()
    if chromium is None or not (REPO / "node_modules" / "three").is_dir():
        print(f"{program}: needs Debian chromium and node_modules (make setup); skipped", file=sys.stderr)
        return None
    return chromium


def visits(chromium: str, site: Path, page: str, count: int, visit: Callable[[Any, str], dict[str, Any]],
           warm_up: bool = False) -> list[dict[str, Any]]:
    """Serve `site` on 127.0.0.1 and run visit(browser, url of `page`) `count` times in one headless Chromium,
    after one visit left out when `warm_up` (to warm the OS file cache and the server); the visits' rows."""
    from playwright.sync_api import sync_playwright

    from pipeline.preview import StaticSite, serving
    from tests.browser.conftest import CHROMIUM_FLAGS

    with serving(StaticSite(site)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            if warm_up:
                visit(browser, f"{base}/{page}")
            return [visit(browser, f"{base}/{page}") for _ in range(count)]
        finally:
            browser.close()
