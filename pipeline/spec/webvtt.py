"""WebVTT captions for translation: the cues of a file with their timings, and the same file with new cue texts."""

from __future__ import annotations

import re
from dataclasses import dataclass

TIMING = re.compile(r"^\s*((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})")


@dataclass(frozen=True)
class Cue:
    """One caption cue: its key (the cue's own identifier, else its 1-based number), timing and text."""

    key: str
    start: str
    end: str
    text: str
    line: int
    """1-based line of the cue's timing line, for the translator's location note."""


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """The file's blocks (separated by blank lines): each its first line's 1-based number and its lines."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if line.strip():
            if not current:
                blocks.append((number, current))
            current.append(line)
        else:
            current = []
    return blocks


def _timing_index(block: list[str]) -> int | None:
    """Where the timing line of a cue block is (0, or 1 after a cue identifier); None for other blocks."""
    if block[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
        return None
    for index in (0, 1):
        if index < len(block) and TIMING.match(block[index]):
            return index
    return None


def read_cues(text: str) -> list[Cue]:
    """The cues in order. Header, NOTE, STYLE and REGION blocks are not cues and are not returned."""
    cues: list[Cue] = []
    for first_line, block in _blocks(text):
        at = _timing_index(block)
        timing = TIMING.match(block[at]) if at is not None else None
        if at is None or timing is None:
            continue
        key = block[0].strip() if at == 1 else str(len(cues) + 1)
        cues.append(Cue(key, timing.group(1), timing.group(2), "\n".join(block[at + 1:]), first_line + at))
    return cues


def with_texts(text: str, texts: dict[str, str]) -> str:
    """The file again, each cue whose key is in `texts` given that text; timings, identifiers, settings, the
    header, NOTE and STYLE blocks kept as they were."""
    out: list[str] = []
    number = 0
    for _, block in _blocks(text):
        at = _timing_index(block)
        if at is None:
            out.append("\n".join(block))
            continue
        number += 1
        key = block[0].strip() if at == 1 else str(number)
        if key in texts:
            # A blank line would end the cue early (paragraph breaks become line breaks); "-->" would start a timing.
            lines = [line.replace("-->", "→") for line in texts[key].replace("\r\n", "\n").split("\n") if line.strip()]
            block = [*block[:at + 1], *lines]
        out.append("\n".join(block))
    return "\n\n".join(out) + "\n"
