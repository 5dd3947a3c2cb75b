"""A museum's own translation in the built site: caption cues from `i18n import` play, and its interface words show."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.preview import StaticSite, serving
from pipeline.spec.translate import export, import_file
from tests.conftest import REPO

# The translator's interface words for French, which the viewer does not ship.
WORDS = {"ui/artifacts": "Objets", "ui/close": "Fermer", "ui/objectCount/one": "{n} objet",
         "ui/objectCount/other": "{n} objets"}


@pytest.fixture(scope="module")
def french_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """bronze-age (zh, en) translated into French through a CSV round trip, built, and served."""
    from pipeline.build import BuildOptions, build

    work = tmp_path_factory.mktemp("french")
    folder = work / "bronze-age"
    shutil.copytree(REPO / "exhibits" / "bronze-age", folder, ignore=shutil.ignore_patterns(".vitrina-cache"))
    export(folder, "fr", work / "fr.csv", "csv")
    rows = list(csv.DictReader(io.StringIO((work / "fr.csv").read_text(encoding="utf-8-sig"))))
    with (work / "fr.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            target = WORDS.get(row["id"]) or ("" if row["id"].startswith("ui/") else f"FR {row['source']}")
            writer.writerow({**row, "target": target})
    assert import_file(folder, work / "fr.csv")[0] == "fr"
    build(folder, work / "site", BuildOptions(quiet=True))
    with serving(StaticSite(work / "site")) as base:
        yield f"{base}/bronze-age/index.html"


def test_a_translated_caption_cue_shows_in_the_captions(open_page, french_site):
    page = open_page(french_site)
    page.select_option("#language-select", "fr")
    page.wait_for_function("__viewer.language === 'fr'")
    page.evaluate("__viewer.selectArtifact('ding')")
    assert page.locator("#panel audio track[kind=captions]").get_attribute("srclang") == "fr"
    page.evaluate("document.querySelector('#panel audio').play()")
    page.wait_for_function("__viewer.caption.length > 0", timeout=15000)
    assert page.evaluate("__viewer.caption").startswith("FR 这是一件青铜鼎")
    assert page.locator("#captions").inner_text().strip().startswith("FR ")
    assert not page.log.lines, page.log.lines


def test_the_exhibit_s_interface_words_show_in_the_page(open_page, french_site):
    page = open_page(french_site)
    title = page.locator("#artifact-list-title")
    assert title.inner_text() == "展品", "the default language keeps the viewer's own words"
    page.select_option("#language-select", "fr")
    page.wait_for_function("__viewer.language === 'fr'")
    assert title.inner_text() == "Objets"
    page.evaluate("__viewer.selectArtifact('ding')")
    assert page.locator("#panel-close").get_attribute("aria-label") == "Fermer"
    english_only = page.evaluate("document.querySelector('[data-i18n=\"language\"]').textContent")
    assert english_only == "Language", "a word the translator left out falls back to English"
    assert not page.log.lines, page.log.lines
