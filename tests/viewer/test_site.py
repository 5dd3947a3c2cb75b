"""pipeline.site: the pages it writes, relative URLs only, the vendored three.js closure, transcripts, strictness."""

from __future__ import annotations

import copy
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from pipeline import site as site_module
from pipeline.site import (
    TEMPLATES_DIR,
    THREE_VENDOR_PATH,
    compile_templates,
    parse_vtt,
    render_page,
    vendor_three,
    write_site,
)
from tests.browser.fixture_site import EXHIBIT_ID, fixture_manifest, make_fixture_site
from tests.conftest import NODE_MODULES

needs_three = pytest.mark.skipif(not (NODE_MODULES / "three").is_dir(), reason="node_modules is missing: run make setup")


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.langs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.urls.append(value)
            if name == "lang" and value:
                self.langs.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    make_fixture_site(root)
    return root


@needs_three
def test_writes_index_exhibit_and_one_text_page_per_object(site: Path):
    assert (site / "index.html").is_file()
    assert (site / EXHIBIT_ID / "index.html").is_file()
    for artifact in fixture_manifest()["artifacts"]:
        assert (site / EXHIBIT_ID / "objects" / f"{artifact['id']}.html").is_file()
    assert (site / "static/js/app.js").is_file()
    assert (site / THREE_VENDOR_PATH / "examples/jsm/libs/meshopt_decoder.module.js").is_file()


@needs_three
def test_every_url_is_relative_and_resolves(site: Path):
    for page in site.rglob("*.html"):
        collector = LinkCollector()
        collector.feed(page.read_text(encoding="utf-8"))
        for url in collector.urls:
            if re.match(r"^(https?:|data:|#)", url):
                assert not url.startswith(("http://127", "https://cdn")), url
                continue
            assert not url.startswith("/"), f"{page}: absolute URL {url}"
            target = (page.parent / url.split("#")[0]).resolve()
            assert target.exists(), f"{page.relative_to(site)}: {url} does not resolve"


@needs_three
def test_import_map_points_at_vendored_three(site: Path):
    html = (site / EXHIBIT_ID / "index.html").read_text(encoding="utf-8")
    imports = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    assert imports
    for url in re.findall(r'"(\.\./[^"]+)"', imports.group(1)):
        assert (site / EXHIBIT_ID / url).resolve().exists(), url


@needs_three
def test_vendored_three_is_closed_under_relative_imports(tmp_path: Path):
    written = vendor_three(NODE_MODULES / "three", tmp_path)
    assert written
    specifier = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]+)['"]""")
    # KTX2Loader fetches its Basis transcoder relative to itself (new URL(..., import.meta.url)): that must resolve too.
    asset = re.compile(r"""new\s+URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url""")
    modules = [path for path in written if "basis" not in path.parts]  # the transcoder is a worker script and wasm
    for module in modules:
        text = module.read_text(encoding="utf-8")
        for relative in specifier.findall(text) + asset.findall(text):
            assert (module.parent / relative).resolve().is_file(), f"{module}: {relative} was not vendored"
    assert not list(tmp_path.rglob("*.cjs")), "only the ES modules the viewer uses are copied"
    basis = tmp_path / "examples/jsm/libs/basis"
    assert sorted(path.name for path in basis.iterdir()) == ["basis_transcoder.js", "basis_transcoder.wasm"]


def test_only_a_whole_word_from_or_import_names_a_module_to_vendor():
    from pipeline.site import _specifiers

    text = ("import { a } from './a.js';\nconst b = await import( './b.js' );\nexport * from \"./c.js\";\n"
            "xfrom './no.js'; my_import('./no.js'); $import('./no.js'); reimport './no.js';")
    assert _specifiers(text) == ["./a.js", "./b.js", "./c.js"]


@needs_three
def test_viewer_modules_import_only_vendored_or_relative_modules():
    static_js = Path(__file__).resolve().parents[2] / "viewer/static/js"
    for module in static_js.glob("*.js"):
        text = module.read_text(encoding="utf-8")
        for imported in re.findall(r"""(?:\bfrom\s*|\bimport\(\s*)['"]([^'"]+)['"]""", text):  # static and dynamic
            assert imported == "three" or imported.startswith(("three/addons/", "./")), f"{module.name}: {imported}"
            if imported.startswith("three/addons/"):
                assert (NODE_MODULES / "three/examples/jsm" / imported.removeprefix("three/addons/")).is_file()


@needs_three
def test_object_page_has_each_language_and_the_transcript(site: Path):
    html = (site / EXHIBIT_ID / "objects/ding.html").read_text(encoding="utf-8")
    collector = LinkCollector()
    collector.feed(html)
    assert collector.langs[0] == "zh" and "en" in collector.langs
    assert '<section id="lang-en" lang="en"' in html
    assert "Gift of a friend of the museum" in html and "某某捐赠" in html
    assert '<track kind="captions" src="../media/ding-en.vtt" srclang="en"' in html
    assert "<p>This is a ding.</p><p>Look at its motif.</p>" in html
    assert "rightsstatements.org/vocab/InC/1.0/" in html


@needs_three
def test_text_is_escaped(tmp_path: Path):
    manifest = copy.deepcopy(fixture_manifest())
    manifest["artifacts"][0]["record"]["title"]["zh"] = "<script>alert(1)</script>"
    write_site(tmp_path, [manifest])
    html = (tmp_path / EXHIBIT_ID / "objects/ding.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_a_missing_manifest_key_is_an_error_not_a_blank(tmp_path: Path):
    manifest = fixture_manifest()
    del manifest["exhibit"]["title"]
    with pytest.raises(jinja2.UndefinedError):
        write_site(tmp_path, [manifest])


def test_render_page_is_available_to_other_templates():
    html = render_page("base.html", page_lang="en")
    assert html.startswith("<!doctype html>") and '<html lang="en">' in html


def _template_copy(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates, ignore=shutil.ignore_patterns("__pycache__"))
    return templates


def test_compiled_templates_write_the_same_pages_as_their_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    templates, compiled = _template_copy(tmp_path), tmp_path / "compiled"
    compile_templates(templates, compiled)
    pages = {}
    for name, environment in (("compiled", site_module._environment(templates, compiled)),
                              ("source", site_module._environment(templates, None))):
        monkeypatch.setattr(site_module, "_ENV", environment)
        write_site(tmp_path / name, [fixture_manifest()])
        pages[name] = {path.relative_to(tmp_path / name): path.read_bytes()
                       for path in (tmp_path / name).rglob("*.html")}
        # Each template came from where it should: a compiled module, or the template itself.
        found = Path(environment.get_template("exhibit.html").filename or "")
        assert found.parent == (compiled if name == "compiled" else templates), found
    assert len(pages["compiled"]) >= 3 and pages["compiled"] == pages["source"]


def test_compiled_templates_are_not_used_once_a_template_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    templates, compiled = _template_copy(tmp_path), tmp_path / "compiled"
    compile_templates(templates, compiled)
    assert Path(site_module._environment(templates, compiled).get_template("index.html").filename or "").parent \
        == compiled
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("<!doctype html>", "<!doctype html><!-- edited -->"),
                    encoding="utf-8")
    environment = site_module._environment(templates, compiled)
    assert Path(environment.get_template("index.html").filename or "") == templates / "index.html"
    monkeypatch.setattr(site_module, "_ENV", environment)
    assert "<!-- edited -->" in render_page("base.html", page_lang="en")
    # Compiling again brings them back; a folder without its digest (half written) is never used.
    compile_templates(templates, compiled)
    assert Path(site_module._environment(templates, compiled).get_template("index.html").filename or "").parent \
        == compiled
    (compiled / "digest.txt").unlink()
    assert Path(site_module._environment(templates, compiled).get_template("index.html").filename or "") \
        == templates / "index.html"


def test_vtt_cues_become_a_transcript():
    text = "WEBVTT\n\nNOTE a comment\n\n1\n00:00.000 --> 00:01.500\n<v Guide>Hello</v>\nthere\n\n00:00:01.500 --> 00:00:03.000 align:start\nBye\n"
    assert parse_vtt(text) == ["Hello there", "Bye"]
