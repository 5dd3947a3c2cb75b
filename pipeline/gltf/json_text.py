"""glTF JSON text: compact, float32-shortest numbers, defaults left out, the designer's own data verbatim."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def floats(values: Any) -> list[float]:
    # Equivalent mutants (make mutants): without the dtype, float() widens each float32 or int to the same double;
    # numpy reads reshape(-2) as reshape(-1).
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]  # pragma: no mutate


def without_defaults(values: Any, defaults: dict[str, Any]) -> Any:
    if not isinstance(values, dict):
        return values
    return {k: v for k, v in values.items() if k not in defaults or not is_default(v, defaults[k])}


def is_default(value: Any, default: Any) -> bool:
    """Equal once written: numbers are compared as the float32 values the JSON will hold."""
    try:
        return bool(np.array_equal(np.asarray(value, dtype=np.float32), np.asarray(default, dtype=np.float32)))
    except (TypeError, ValueError):
        return bool(value == default)


def json_text(value: Any) -> str:
    """Compact glTF JSON: no whitespace, and every float as the shortest text that reads back as the same
    float32 (glTF numbers are single precision; 17-digit doubles made a third of our JSON). Extras and XMP
    packets (`Verbatim`) are the designer's data and keep full double precision."""
    parts: list[str] = []
    emit(value, parts)
    return "".join(parts)


def emit(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            if position:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            emit(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            emit(item, out)
        out.append("]")
    elif isinstance(value, Verbatim):
        out.append(json.dumps(value.value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
    elif value is None or isinstance(value, bool):
        out.append(json.dumps(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        raise TypeError(f"cannot write {type(value).__name__} into glTF JSON")


def number(value: float) -> str:
    """The shortest decimal that parses back to float32(value); "0" for either zero, so -0.0 reads back the same."""
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value} into glTF JSON")
    with np.errstate(over="ignore"):  # beyond float32's range is handled below, not worth a warning
        single = np.float32(value)
    if single == 0:
        return "0"
    if not np.isfinite(single):
        return repr(value)  # beyond float32's range: keep the double rather than write infinity
    # Equivalent mutants: unique=True is numpy's default, said here because it is the point.
    positional = np.format_float_positional(single, unique=True, trim="-")  # pragma: no mutate
    scientific = np.format_float_scientific(single, unique=True, trim="-", exp_digits=1)  # pragma: no mutate
    return min(positional, scientific, key=len)


class Verbatim:
    """A JSON value written exactly as given: pygltflib's dict cleaning drops empty strings and lists inside
    dicts, which would silently change a designer's extras, and `json_text` would shorten its floats."""

    def __init__(self, value: Any) -> None:
        self.value = value


def extras_json(extras: dict[str, Any]) -> Any:
    return Verbatim(plain_json(extras)) if extras else {}


def plain_json(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays become Python numbers and lists; NaN and inf are refused."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            raise ValueError(f"cannot write {value} into glTF JSON")
        return float(value)
    return value


def plain_copy(value: Any) -> Any:
    """Deep copy of JSON read from a file as plain dicts and lists, for the IR (which outlives the reader)."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    return value
