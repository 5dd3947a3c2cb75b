"""Content State 1.0 encoding, checked against the specification's own worked example."""

from __future__ import annotations

import json

import pytest

from pipeline.standards import content_state
from pipeline.standards.common import Urls

# Content State 1.0, §6.3: the condensed example and its encoded form, as the specification prints them.
SPEC_STATE = ('{"id":"https://example.org/object1/canvas7#xywh=1000,2000,1000,2000","type":"Canvas",'
              '"partOf":[{"id":"https://example.org/object1/manifest","type":"Manifest"}]}')
SPEC_ENCODED = ("JTdCJTIyaWQlMjIlM0ElMjJodHRwcyUzQSUyRiUyRmV4YW1wbGUub3JnJTJGb2JqZWN0MSUyRmNhbnZhczclMjN4eXdoJTNEMTAw"
                "MCUyQzIwMDAlMkMxMDAwJTJDMjAwMCUyMiUyQyUyMnR5cGUlMjIlM0ElMjJDYW52YXMlMjIlMkMlMjJwYXJ0T2YlMjIlM0ElNUIl"
                "N0IlMjJpZCUyMiUzQSUyMmh0dHBzJTNBJTJGJTJGZXhhbXBsZS5vcmclMkZvYmplY3QxJTJGbWFuaWZlc3QlMjIlMkMlMjJ0eXBl"
                "JTIyJTNBJTIyTWFuaWZlc3QlMjIlN0QlNUQlN0Q")


def test_encoding_matches_the_specification_example() -> None:
    assert content_state.encode(SPEC_STATE) == SPEC_ENCODED
    assert content_state.decode(SPEC_ENCODED) == SPEC_STATE


def test_unicode_and_the_characters_encodeuricomponent_keeps_round_trip() -> None:
    text = json.dumps({"label": "兽面纹鼎 (ding) — it's *the* one!"}, ensure_ascii=False)
    encoded = content_state.encode(text)
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert content_state.decode(encoded) == text
    # encodeURIComponent("(") is "(": the Python encoder must agree, or the same view gets two links.
    assert content_state.decode(content_state.encode("()")) == "()"
    assert content_state.encode("()") == "KCk"


def test_a_value_of_impossible_length_is_refused() -> None:
    with pytest.raises(ValueError):
        content_state.decode("abcde")


def test_targets_name_views_by_the_iiif_export_ids() -> None:
    urls = Urls("https://museum.example/bronze-age/")
    manifest = "https://museum.example/bronze-age/iiif/exhibit.json"
    assert content_state.target(urls, artifact="ding") == {
        "id": f"{manifest}#artifact/ding", "type": "Annotation", "partOf": [{"id": manifest, "type": "Manifest"}]}
    assert content_state.target(urls, annotation="ding/taotie")["id"] == f"{manifest}#annotation/ding/taotie"
    assert content_state.target(urls, tour="highlights", stop=2)["id"] == f"{manifest}#tour/highlights/stop/2"
    assert content_state.target(urls, room="hall")["type"] == "Scene"
    link = content_state.link("http://127.0.0.1:8000/bronze-age/index.html#artifact=bell",
                              content_state.target(urls, artifact="ding"))
    assert link.startswith("http://127.0.0.1:8000/bronze-age/index.html?iiif-content=")
    assert json.loads(content_state.decode(link.split("=", 1)[1]))["id"] == f"{manifest}#artifact/ding"
