"""Browser fixtures: one headless Chromium per package, a served site, IWER-emulated XR pages and axe-core."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.preview import StaticSite, serving
from tests.conftest import NODE_MODULES, REPO

# The flags proven by shared/guides/webxr-harness: WebGL 2 on SwiftShader, quiet on a machine without network.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 900, "height": 600}

# Runs after iwer.min.js (and iwer-sem.min.js for AR), before any page script.
IWER_SETUP = """
(() => {
  // IWER 2.5.0 stores the XRRigidTransform itself as the offset matrix (upstream #204), which makes teleport
  // through getOffsetReferenceSpace a no-op. Patch it only while a probe shows the bug.
  const RS = IWER.XRReferenceSpace.prototype, orig = RS.getOffsetReferenceSpace;
  const probe = orig.call(new IWER.XRReferenceSpace('local', new IWER.GlobalSpace()),
                          new IWER.XRRigidTransform({ x: 1, y: 0, z: 0, w: 1 }));
  if (Number.isNaN(probe[IWER.P_SPACE].offsetMatrix[12])) {
    RS.getOffsetReferenceSpace = function (t) { return orig.call(this, t && t.matrix ? t.matrix : t); };
    window.__iwerOffsetShim = true;
  }
  const device = new IWER.XRDevice(IWER.metaQuest3);
  // Chromium always has a native navigator.xr; IWER leaves it alone unless forced.
  device.installRuntime({ forceInstall: true });
  if (window.IWER_SEM) device.installSEM(IWER_SEM.SyntheticEnvironmentModule);
  window.__xrDevice = device;
})();
"""


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[Any]:
    """One Chromium for the whole browser package (launching costs about a second on 2 cores)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


EXHIBIT = "bronze-age"


@pytest.fixture(scope="package")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rich example built once by the real compiler: the site every viewer test looks at."""
    from pipeline.build import BuildOptions, build

    out = tmp_path_factory.mktemp("bronze-age-site")
    build(REPO / "exhibits" / EXHIBIT, out, BuildOptions(quiet=True))
    return out


@pytest.fixture(scope="package")
def site_url(built_site: Path) -> Iterator[str]:
    with serving(StaticSite(built_site)) as base:
        yield base


@pytest.fixture(scope="package")
def exhibit_url(site_url: str) -> str:
    return f"{site_url}/{EXHIBIT}/index.html"


def watched_minimal(tmp_path: Path, edit_token: str | None = None,
                    rewrite: Callable[[str], str] | None = None) -> tuple[Path, Any]:
    """A copy of exhibits/minimal built by the real compiler and watched by a Preview (stop it when done).

    With an edit token the preview is `serve --edit`'s, writing into the copy; `rewrite` changes its exhibit.yaml
    text before the first build.
    """
    import shutil

    from pipeline.build import BuildOptions, build
    from pipeline.preview import EditGate, Preview
    from pipeline.spec.edit import LayoutEditor

    spec = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", spec, ignore=shutil.ignore_patterns(".vitrina-cache"))
    if rewrite is not None:
        (spec / "exhibit.yaml").write_text(rewrite((spec / "exhibit.yaml").read_text(encoding="utf-8")), "utf-8")
    edit = EditGate(LayoutEditor(spec), edit_token) if edit_token else None
    options = BuildOptions(quiet=True, cache_dir=tmp_path / "cache", jobs=1)
    preview = Preview(lambda out: build(spec, out, options), spec, tmp_path / "site",
                      poll_seconds=0.1, debounce_seconds=0.15, edit=edit)
    assert preview.build(), preview.status.error
    preview.start_watching()
    return spec, preview


def nearest_artifact(page: Any, condition: str = "true") -> dict[str, Any]:
    """The artifact closest to the start position among those for which the JS expression `condition` (on a) holds."""
    return page.evaluate(f"""() => {{
        const m = __viewer.manifest, s = m.start.position;
        const centre = (a) => a.bounds.min.map((v, i) => (v + a.bounds.max[i]) / 2);
        const far = (a) => {{ const c = centre(a); return Math.hypot(c[0] - s[0], c[2] - s[2]); }};
        return m.artifacts.filter((a) => {condition}).sort((a, b) => far(a) - far(b))[0];
    }}""")


class PageLog:
    """Console errors, page errors and failed requests of one page: a test asserts it stays empty."""

    def __init__(self, page: Any) -> None:
        self.lines: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.lines.append(f"console: {m.text}"[:400]))
        page.on("pageerror", lambda e: self.lines.append(f"pageerror: {e}"[:400]))
        page.on("response", lambda r: r.status >= 400 and self.lines.append(f"http {r.status}: {r.url}"))
        # The site must work offline on a museum LAN: nothing may be fetched from anywhere but the site's server.
        page.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                or self.lines.append(f"off-site request: {r.url}"))


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """open_page(url, xr=False, sem=False, reduced_motion=False) -> page (its context closes after the test)."""
    contexts: list[Any] = []

    def opener(url: str, *, xr: bool = False, sem: bool = False, reduced_motion: bool = False,
               wait_ready: bool = True) -> Any:
        context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce" if reduced_motion else "no-preference")
        contexts.append(context)
        if xr:
            context.add_init_script(path=str(NODE_MODULES / "iwer/build/iwer.min.js"))
            if sem:
                context.add_init_script(path=str(NODE_MODULES / "@iwer/sem/build/iwer-sem.min.js"))
            context.add_init_script(script=IWER_SETUP)
        page = context.new_page()
        page.log = PageLog(page)
        page.goto(url)
        if wait_ready:
            page.wait_for_function("window.__viewer && window.__viewer.ready && window.__viewer.frames > 2",
                                   timeout=60000)
        return page

    yield opener
    for context in contexts:
        context.close()


def viewer_state(page: Any, *keys: str) -> dict[str, Any]:
    """Plain-data fields of window.__viewer (its functions stay in the page)."""
    return page.evaluate("(keys) => JSON.parse(JSON.stringify(Object.fromEntries(keys.map(k => [k, window.__viewer[k]]))))",
                         list(keys))


def wait_frames(page: Any, counter: str = "frames", count: int = 3, timeout: int = 20000) -> None:
    start = page.evaluate(f"window.__viewer.{counter}")
    page.wait_for_function(f"window.__viewer.{counter} >= {start + count}", timeout=timeout)


def quaternion_looking(direction: tuple[float, float, float]) -> tuple[float, float, float, float]:
    """The (x, y, z, w) rotation taking -Z onto direction (shortest arc)."""
    dx, dy, dz = direction
    length = math.sqrt(dx * dx + dy * dy + dz * dz)
    dx, dy, dz = dx / length, dy / length, dz / length
    # Shortest arc from a = -Z to d: axis cross(a, d) = (dy, -dx, 0), w = 1 + dot(a, d) = 1 - dz.
    w = 1.0 - dz
    if w < 1e-6:
        return (0.0, 1.0, 0.0, 0.0)
    cx, cy, cz = dy, -dx, 0.0
    norm = math.sqrt(cx * cx + cy * cy + cz * cz + w * w)
    return (cx / norm, cy / norm, cz / norm, w / norm)


def load_sem_room(page: Any, name: str = "office_small") -> None:
    capture = json.loads((NODE_MODULES / "@iwer/sem/captures" / f"{name}.json").read_text())
    page.evaluate("(room) => window.__xrDevice.sem.loadEnvironment(room)", capture)
