"""WebVTT cues for translation: read with their keys and timings, written back with only the texts changed."""

from __future__ import annotations

from pipeline.spec.webvtt import read_cues, with_texts

CAPTIONS = """WEBVTT Kind: captions

NOTE the recording was cut at 1:02

STYLE
::cue { color: yellow }

intro
00:00:00.000 --> 00:00:02.500 line:90%
<v Curator>Welcome</v>
to the hall.

00:02.600 --> 00:04.000
Look up.
"""


def test_cues_have_their_identifier_or_number_timing_text_and_line() -> None:
    cues = read_cues(CAPTIONS)
    assert [(c.key, c.start, c.end, c.text, c.line) for c in cues] == [
        ("intro", "00:00:00.000", "00:00:02.500", "<v Curator>Welcome</v>\nto the hall.", 9),
        ("2", "00:02.600", "00:04.000", "Look up.", 13),
    ]


def test_new_texts_keep_header_notes_styles_identifiers_timings_and_settings() -> None:
    written = with_texts(CAPTIONS, {"intro": "<v Curator>Bienvenue</v>\n\ndans la salle.", "2": "Levez --> les yeux."})
    assert written == CAPTIONS.replace("<v Curator>Welcome</v>\nto the hall.",
                                       "<v Curator>Bienvenue</v>\ndans la salle.").replace(
        "Look up.", "Levez → les yeux."), "a blank line or an arrow in a text would break the cue"
    assert [c.text for c in read_cues(written)] == ["<v Curator>Bienvenue</v>\ndans la salle.", "Levez → les yeux."]


def test_a_cue_not_translated_keeps_its_text() -> None:
    assert with_texts(CAPTIONS, {}) == CAPTIONS
