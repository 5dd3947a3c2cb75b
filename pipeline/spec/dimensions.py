"""A record's dimensions text read as lengths, and the check that it agrees with the model's measured size."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.spec.fields import format_number
from pipeline.spec.model import UNIT_METRES

# Unit words as records write them, in metres. Longer spellings first, so "mm" is not read as "m".
UNIT_WORDS: dict[str, float] = {
    "millimetres": 0.001, "millimeters": 0.001, "mm": 0.001, "毫米": 0.001,
    "centimetres": 0.01, "centimeters": 0.01, "cm": 0.01, "厘米": 0.01, "公分": 0.01,
    "metres": 1.0, "meters": 1.0, "m": 1.0, "米": 1.0,
    "inches": 0.0254, "inch": 0.0254, "in": 0.0254, '"': 0.0254, "″": 0.0254,
    "feet": 0.3048, "foot": 0.3048, "ft": 0.3048, "'": 0.3048, "′": 0.3048,
}
_UNIT = "|".join(re.escape(word) for word in sorted(UNIT_WORDS, key=len, reverse=True))
_NUMBER = r"\d+(?:[.,]\d+)?"
# A run of numbers joined by x/×/by, then one unit: "38 x 30 x 25 cm", "45 cm", "1,2 m", "高38厘米".
_LENGTHS = re.compile(rf"((?:{_NUMBER}\s*(?:x|×|by)\s*)*{_NUMBER})\s*({_UNIT})(?![a-z])", re.IGNORECASE)
_HEIGHT_LABEL = re.compile(r"(?:\bh\.?|\bheight|\bhigh|高)\s*[:.]?\s*$", re.IGNORECASE)
MISMATCH = 5.0  # a factor between record and model beyond which it is a unit error, not a measuring difference


def stated_lengths(text: str) -> list[tuple[float, bool]]:
    """Every length in a dimensions text, in metres, each with whether the text labels it a height."""
    found: list[tuple[float, bool]] = []
    for match in _LENGTHS.finditer(text):
        scale = UNIT_WORDS[match.group(2).lower()]
        numbers = re.findall(_NUMBER, match.group(1))
        is_height = len(numbers) == 1 and bool(_HEIGHT_LABEL.search(text[: match.start()]))
        for number in numbers:
            found.append((float(number.replace(",", ".")) * scale, is_height))
    return found


def _metres(value: float) -> str:
    if value >= 1:
        return f"{format_number(round(value, 2))} m"
    if value >= 0.01:
        return f"{format_number(round(value * 100, 1))} cm"
    return f"{format_number(round(value * 1000, 2))} mm"


def dimensions_warning(dimensions: Mapping[str, str], measured: tuple[float, float, float], model: str,
                       metres_per_unit: float, picture: bool = False) -> str | None:
    """A warning when the record's size and the model's measured (width, depth, height) in metres differ by more
    than MISMATCH times (the usual cause: the wrong `units`), naming both and the units that would agree.

    This is the one place the comparison lives; `check` calls it with whatever measured the model (today
    pipeline.spec.layout.model_size, from the file's header or accessor bounds).
    """
    for text in dimensions.values():
        lengths = stated_lengths(text)
        if not lengths or max(measured) <= 0:
            continue
        heights = [value for value, is_height in lengths if is_height]
        stated, actual, what = ((heights[0], measured[2], "tall") if heights
                                else (max(v for v, _ in lengths), max(measured), "across"))
        if stated <= 0 or actual <= 0:
            return None
        ratio = actual / stated
        if 1 / MISMATCH <= ratio <= MISMATCH:
            return None
        wanted = metres_per_unit / ratio
        unit = min(UNIT_METRES, key=lambda name: abs(UNIT_METRES[name] / wanted - 1))
        hint = ""
        if picture:  # a picture has no units: its `size` is in metres
            agreeing = ", ".join(format_number(round(v / ratio, 3)) for v in (measured[0], measured[2]))
            hint = f"; size is in metres, so size: [{agreeing}] would agree"
        elif 0.67 < UNIT_METRES[unit] / wanted < 1.5:
            hint = f"; with units: {unit} it would be {_metres(actual * UNIT_METRES[unit] / metres_per_unit)}"
        return (f"the record says {text.strip()!r} but {model} measures {_metres(actual)} {what}: "
                f"probably the wrong units{hint}")
    return None
