"""axe-core on every generated page: no serious or critical violations, with the panel open too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import NODE_MODULES

pytestmark = pytest.mark.browser

AXE = NODE_MODULES / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:4])
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def generated_pages(site_root: Path) -> list[str]:
    pages = sorted(path.relative_to(site_root).as_posix() for path in site_root.rglob("*.html")
                   if not any(part.startswith(".") for part in path.relative_to(site_root).parts))
    assert pages, f"no pages under {site_root}"
    return pages


def test_every_static_page_has_no_serious_violations(browser, built_site, site_url):
    context = browser.new_context(viewport={"width": 900, "height": 600})
    failures: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        for relative in generated_pages(built_site):
            if relative.endswith("/index.html") and relative.count("/") == 1:
                continue  # exhibit viewer pages: checked below once the 3D view is up
            page.goto(f"{site_url}/{relative}")
            found = serious_violations(page)
            if found:
                failures[relative] = found
    finally:
        context.close()
    assert failures == {}


def test_exhibit_page_has_no_serious_violations_with_the_panel_open(open_page, built_site, site_url):
    for viewer_page in (built_site / p for p in generated_pages(built_site)
                        if p.endswith("/index.html") and p.count("/") == 1):
        page = open_page(f"{site_url}/{viewer_page.relative_to(built_site).as_posix()}")
        assert serious_violations(page) == []
        first = page.evaluate("__viewer.manifest.artifacts.find(a => a.audio && Object.keys(a.audio).length) || __viewer.manifest.artifacts[0]")
        page.evaluate("(id) => __viewer.selectArtifact(id)", first["id"])
        page.wait_for_function("__viewer.openPanel === 'object'")
        assert serious_violations(page) == []


def test_the_check_catches_a_real_violation(browser, site_url):
    """Guards the guard: an unlabeled image and an unnamed button must be reported."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site_url}/index.html")
        page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"x.png\"><button></button>')")
        found = serious_violations(page)
        assert any(v.startswith("image-alt") for v in found) and any(v.startswith("button-name") for v in found), found
    finally:
        context.close()
