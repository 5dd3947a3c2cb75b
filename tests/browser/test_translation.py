"""A museum's languages in the built site: caption cues from `i18n import` play, its interface words show, and
the caption plate beside each object follows the visitor's language."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator

import pytest

from pipeline.preview import StaticSite, serving
from pipeline.spec.translate import export, import_file
from tests.conftest import REPO

# The translator's interface words for French, which the viewer does not ship.
WORDS = {"ui/artifacts": "Objets", "ui/close": "Fermer", "ui/objectCount/one": "{n} objet",
         "ui/objectCount/other": "{n} objets"}


@pytest.fixture(scope="module")
def french_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """bronze-age (zh, en) with caption plates, translated into French through a CSV round trip, built, served."""
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
    spec = folder / "exhibit.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("  rights:", "  captions: true\n  rights:", 1), "utf-8")
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


def test_the_caption_plate_follows_the_visitor_s_language(open_page, french_site):
    page = open_page(french_site)
    plates = page.evaluate("__viewer.manifest.artifacts.find((a) => a.id === 'ding').caption_plates")
    assert list(plates) == ["zh", "en", "fr"], "a plate per language, in the exhibit's order"
    page.wait_for_function("__viewer.captionPlates.ding?.language === 'zh'", timeout=20000)
    built = page.evaluate("__viewer.captionPlates.ding")
    assert built["image"] is None, "the room's own plate, in the default language"
    for language in ("en", "fr"):
        page.select_option("#language-select", language)
        page.wait_for_function(f"__viewer.captionPlates.ding.language === '{language}'", timeout=10000)
        shown = page.evaluate("__viewer.captionPlates.ding")
        assert shown["image"].endswith(plates[language])
        # The room's UVs are quantized: the new picture must be sampled through the same texture transform.
        assert (shown["repeat"], shown["offset"]) == (built["repeat"], built["offset"]) != ([1, 1], [0, 0])
    page.select_option("#language-select", "zh")
    page.wait_for_function("__viewer.captionPlates.ding.language === 'zh'", timeout=10000)
    assert page.evaluate("__viewer.captionPlates.ding.image") is None
    assert not page.log.lines, page.log.lines
