"""The build report stays private: visitor pages do not link it unless asked, and it never names the build machine's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.build import BuildOptions, build
from tests.pipeline.tiny_exhibit import write_tiny_exhibit


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_exhibit(tmp_path_factory.mktemp("private") / "tiny")


def test_report_is_not_linked_and_carries_no_absolute_path(tiny_spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = build(tiny_spec, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    assert str(out) in report.to_text(), "the terminal still says where the site went"
    folder = out / "tiny"
    for name in ("report.json", "report.html"):
        text = (folder / name).read_text(encoding="utf-8")
        assert str(tmp_path) not in text and str(tiny_spec.parent) not in text, name
    assert "out_dir" not in (folder / "report.json").read_text(encoding="utf-8")
    assert "report.html" not in (folder / "index.html").read_text(encoding="utf-8")


def test_link_report_links_it_from_the_exhibit_page(tiny_spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build(tiny_spec, out, BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache", link_report=True))
    assert 'href="report.html"' in (out / "tiny" / "index.html").read_text(encoding="utf-8")


def test_warnings_in_the_report_name_files_from_the_exhibit_folder(tmp_path: Path) -> None:
    """A spec outside the working folder is shown with its absolute path in the terminal, never in report.json."""
    import json

    spec = write_tiny_exhibit(tmp_path / "tiny")
    text = (spec / "exhibit.yaml").read_text(encoding="utf-8")
    (spec / "exhibit.yaml").write_text(text.replace("    alt: {en: A red rectangle, zh: 红色长方形}\n", "", 1),
                                       encoding="utf-8")
    build(spec, tmp_path / "site", BuildOptions(quiet=True, jobs=1, cache_dir=tmp_path / "cache"))
    warnings = json.loads((tmp_path / "site" / "tiny" / "report.json").read_text(encoding="utf-8"))["warnings"]
    assert warnings and all(w.startswith("tiny/exhibit.yaml:") for w in warnings), warnings
    assert str(tmp_path) not in (tmp_path / "site" / "tiny" / "report.html").read_text(encoding="utf-8")
