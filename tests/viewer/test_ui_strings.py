"""The interface's words (viewer/templates/ui-strings.json): complete in every shipped language, plurals, rights."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from pipeline.site import UI_STRINGS, plural_category, rights_label, ui_text, write_site
from tests.browser.fixture_site import EXHIBIT_ID, fixture_manifest
from tests.conftest import NODE_MODULES

JS_DIR = Path(__file__).resolve().parents[2] / "viewer" / "static" / "js"
CC_LICENCES = ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")
RIGHTS_STATEMENTS = ("InC", "InC-OW-EU", "InC-EDU", "InC-NC", "InC-RUU", "NoC-CR", "NoC-NC", "NoC-OKLR", "NoC-US",
                     "CNE", "UND", "NKC")
PLURAL_CATEGORIES = {"zero", "one", "two", "few", "many", "other"}


@pytest.mark.parametrize("language", sorted(UI_STRINGS))
def test_every_ui_string_exists_in_every_shipped_language(language: str) -> None:
    assert set(UI_STRINGS[language]) == set(UI_STRINGS["en"])
    for key, text in UI_STRINGS[language].items():
        if isinstance(text, dict):
            assert "other" in text and set(text) <= PLURAL_CATEGORIES, key
            values = list(text.values())
        else:
            values = [text]
        english = UI_STRINGS["en"][key]
        english_text = next(iter(english.values())) if isinstance(english, dict) else english
        for value in values:
            assert value.strip(), f"{language}.{key} is empty"
            # The same placeholders, or the translation would show a blank where a number or title belongs.
            assert set(re.findall(r"\{\w+\}", value)) == set(re.findall(r"\{\w+\}", english_text)), key


def test_every_key_the_viewer_uses_exists() -> None:
    """Keys the viewer's JS asks i18n.js for (t('key'), the XR button labels) are in the table (a typo shows the key).

    tour-ui.js keeps its own table of tour words and is left out here."""
    used: set[str] = set()
    for script in sorted(set(JS_DIR.glob("*.js")) - {JS_DIR / "tour-ui.js"}):
        used |= set(re.findall(r"\.t\('(\w+)'", script.read_text(encoding="utf-8")))
    used |= set(re.findall(r"'(\w+)'", re.search(r"XR_BUTTON_TEXTS = \{(.*?)\};", (JS_DIR / "i18n.js").read_text(
        encoding="utf-8"), re.S).group(1)))  # type: ignore[union-attr]
    assert used - set(UI_STRINGS["en"]) == set()


def test_chinese_credit_and_source_are_different_words() -> None:
    assert UI_STRINGS["zh"]["credit"] == "鸣谢"
    assert UI_STRINGS["zh"]["credit"] != UI_STRINGS["zh"]["source"]
    assert UI_STRINGS["zh"]["vrNotSupported"] != UI_STRINGS["en"]["vrNotSupported"]


@pytest.mark.parametrize(("language", "counts"), [
    ("en", {0: "other", 1: "one", 2: "other", 21: "other"}),
    ("zh", {0: "other", 1: "other", 2: "other"}),
    ("fr", {0: "one", 1: "one", 2: "other"}),
    ("ru", {1: "one", 2: "few", 5: "many", 11: "many", 21: "one", 22: "few", 112: "many"}),
    ("pl", {1: "one", 2: "few", 5: "many", 21: "many", 22: "few"}),
])
def test_plural_categories_follow_cldr(language: str, counts: dict[int, str]) -> None:
    assert {n: plural_category(language, n) for n in counts} == counts


def test_object_counts_are_plural_aware() -> None:
    assert [ui_text("objectCount", "en", n=n) for n in (0, 1, 2)] == ["0 objects", "1 object", "2 objects"]
    assert ui_text("objectCount", "zh-Hans", n=1) == "1 件展品"


@pytest.mark.parametrize("licence", CC_LICENCES)
@pytest.mark.parametrize("version", ["2.0", "3.0", "4.0"])
def test_every_creative_commons_licence_has_its_short_name(licence: str, version: str) -> None:
    for uri in (f"https://creativecommons.org/licenses/{licence}/{version}/",
                f"http://creativecommons.org/licenses/{licence}/{version}"):
        assert rights_label(uri, "en") == f"CC {licence.upper()} {version}"
    assert rights_label(f"https://creativecommons.org/licenses/{licence}/3.0/de/", "zh") == \
        f"CC {licence.upper()} 3.0 DE"


def test_public_domain_tools_and_rights_statements_have_names() -> None:
    assert rights_label("https://creativecommons.org/publicdomain/zero/1.0/", "en") == "CC0 1.0"
    assert rights_label("https://creativecommons.org/publicdomain/mark/1.0/", "en") == "Public domain mark 1.0"
    for statement in RIGHTS_STATEMENTS:
        for language in UI_STRINGS:
            label = rights_label(f"http://rightsstatements.org/vocab/{statement}/1.0/", language)
            assert label == UI_STRINGS[language][f"rs_{statement}"]
    assert rights_label("http://rightsstatements.org/vocab/InC/1.0/", "en") == "In copyright"
    assert rights_label("https://example.org/our-terms", "en") is None
    assert rights_label("http://rightsstatements.org/vocab/Nonsense/1.0/", "en") is None


@pytest.mark.skipif(not (NODE_MODULES / "three").is_dir(), reason="node_modules is missing: run make setup")
def test_pages_name_rights_and_count_objects_properly(tmp_path: Path) -> None:
    manifest = copy.deepcopy(fixture_manifest())
    manifest["artifacts"] = manifest["artifacts"][:1]
    manifest["artifacts"][0]["record"]["rights"] = "https://creativecommons.org/licenses/by/4.0/"
    english = copy.deepcopy(manifest)
    english["exhibit"].update(id="english", languages=["en"], default_language="en")
    write_site(tmp_path, [manifest, english])
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<p>1 件展品 ·" in index  # the zh exhibit counts in Chinese
    assert "<p>1 object ·" in index  # and the English one in the singular
    page = (tmp_path / EXHIBIT_ID / "objects" / f"{manifest['artifacts'][0]['id']}.html").read_text(encoding="utf-8")
    assert ('<a href="https://creativecommons.org/licenses/by/4.0/" title="https://creativecommons.org/licenses/by/4.0/">'
            'CC BY 4.0</a>') in page
    assert "<dt>鸣谢</dt>" in page


def test_the_tour_panels_own_table_is_complete_in_every_language() -> None:
    """tour-ui.js keeps the tour's words in its own table; it must not miss a word in any language either."""
    source = (JS_DIR / "tour-ui.js").read_text(encoding="utf-8")
    table = source[source.index("const STRINGS = {"):]
    table = table[:table.index("\n};")]
    parts = re.split(r"\n  (\w+): \{", table)
    keys = {parts[i]: set(re.findall(r"(?:^|[\s,{])(\w+):\s*['`\"]", parts[i + 1])) for i in range(1, len(parts), 2)}
    assert set(keys) == set(UI_STRINGS)  # the same languages as the rest of the interface
    assert len(keys["en"]) > 50  # the table was read, not an empty match
    for language, words in keys.items():
        assert words == keys["en"], language


def test_an_exhibit_s_own_words_lay_over_the_viewer_s_and_english_fills_the_rest() -> None:
    from pipeline.site import interface_tables, ui_language

    tables = interface_tables({"fr": {"close": "Fermer", "objectCount": {"one": "{n} objet", "other": "{n} objets"}},
                               "zh": {"credit": "致谢"}})
    assert tables["fr"]["close"] == "Fermer" and tables["fr"]["back"] == UI_STRINGS["en"]["back"]
    assert set(tables["fr"]) == set(UI_STRINGS["en"]), "a page template finds every key"
    assert tables["zh"]["credit"] == "致谢" and tables["zh"]["close"] == UI_STRINGS["zh"]["close"]
    assert UI_STRINGS["zh"]["credit"] == "鸣谢", "the shipped table itself is not changed"
    assert ui_text("objectCount", "fr", tables=tables, n=1) == "1 objet"
    assert ui_text("objectCount", "fr", tables=tables, n=3) == "3 objets"
    assert ui_language("fr-CA", tables) == "fr" and ui_language("fr-CA") == "en"
