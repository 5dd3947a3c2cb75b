"""Small validators for spec values (ids, colours, URIs, language tags) and the "did you mean" helper."""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
# BCP-47 in the shape people write it (language, optional script, region, variants); a full grammar is overkill.
LANG_PATTERN = r"^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?(-([a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*$"
URI_PATTERN = r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$"
MAX_ID_LENGTH = 64

_ID = re.compile(ID_PATTERN)
_COLOR = re.compile(COLOR_PATTERN)
_LANG = re.compile(LANG_PATTERN)
_URI = re.compile(URI_PATTERN)


def quote(value: object) -> str:
    """A value as a designer wrote it, in single quotes, shortened so one bad value cannot flood the output."""
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return "'" + text.replace("\n", " ") + "'"


MAX_SUGGESTION_POOL = 100


class Suggestions:
    """Suggests the closest of a fixed set of choices for a misspelt word: ' (did you mean 'hall'?)' or ''."""

    def __init__(self, choices: Iterable[str]) -> None:
        self.choices = sorted(set(choices))
        # difflib compares a word with every choice; thousands of ids times thousands of typos would take
        # minutes. A typo keeps roughly its length and usually its first or last letters, so big sets are
        # indexed by those and only the matching few are compared.
        self.by_start: dict[str, list[str]] = {}
        self.by_end: dict[str, list[str]] = {}
        if len(self.choices) > MAX_SUGGESTION_POOL:
            for choice in self.choices:
                self.by_start.setdefault(choice[:1], []).append(choice)
                self.by_end.setdefault(choice[-2:], []).append(choice)

    def __call__(self, word: str) -> str:
        pool = self.choices
        if len(pool) > MAX_SUGGESTION_POOL:
            near = {*self.by_start.get(word[:1], ()), *self.by_end.get(word[-2:], ())}
            near = {c for c in near if abs(len(c) - len(word)) <= 2}
            pool = sorted(near, key=lambda c: (-_shared_ends(c, word), c))[:MAX_SUGGESTION_POOL]
        close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
        return f" (did you mean {quote(close[0])}?)" if close else ""


def _shared_ends(a: str, b: str) -> int:
    """How many leading plus trailing characters two words share: a cheap closeness to rank candidates by."""
    prefix = len(os.path.commonprefix([a, b]))
    suffix = len(os.path.commonprefix([a[::-1], b[::-1]]))
    return prefix + suffix


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'hall'?)' when a choice is close to `word`, else ''."""
    return Suggestions(choices)(word)


def check_id(value: str) -> str | None:
    """Why `value` is not a usable id (ids become glTF node names and file names), or None."""
    if not _ID.match(value):
        return (f"{quote(value)} is not a valid id: use lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit")
    if len(value) > MAX_ID_LENGTH:
        return f"id is too long ({len(value)} characters; at most {MAX_ID_LENGTH})"
    return None


def check_color(value: str) -> str | None:
    if not _COLOR.match(value):
        return f"{quote(value)} is not a colour: write it as \"#rrggbb\", e.g. \"#e8e4dc\""
    return None


def check_uri(value: str) -> str | None:
    if value and not _URI.match(value):
        return f"{quote(value)} is not a URI: write it in full, e.g. https://creativecommons.org/licenses/by/4.0/"
    return None


def check_lang(value: str) -> str | None:
    if not _LANG.match(value):
        return f"{quote(value)} is not a BCP-47 language tag (such as en, zh, zh-Hant, fr-CA)"
    return None


VALIDATORS = {"id": check_id, "color": check_color, "uri": check_uri, "lang": check_lang}
PATTERNS = {"id": ID_PATTERN, "color": COLOR_PATTERN, "lang": LANG_PATTERN, "uri": URI_PATTERN}


def check_number(value: float, low: float | None, high: float | None) -> str | None:
    """Why `value` is out of range (bounds inclusive), or None."""
    if not math.isfinite(value):
        return "must be a finite number"
    if low is not None and value < low:
        return f"must be at least {format_number(low)} (got {format_number(value)})"
    if high is not None and value > high:
        return f"must be at most {format_number(high)} (got {format_number(value)})"
    return None


def format_number(value: float) -> str:
    """A number the way a person writes it: 2 not 2.0, 0.05 not 5e-02."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"
