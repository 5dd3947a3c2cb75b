"""glTF JSON text (pipeline/gltf/json_text.py): compact, float32-shortest numbers, defaults left out, extras verbatim."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.gltf.json_text import (
    Verbatim,
    extras_json,
    floats,
    is_default,
    json_text,
    number,
    plain_copy,
    plain_json,
    without_defaults,
)


@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (1.0, "1"), (100.0, "100"), (-2.5, "-2.5"), (1e5, "1e+5"), (1e-7, "1e-7"),
    (123456789.0, "123456790"),  # the float32 nearest, positional where that is shorter
    (0.0, "0"), (-0.0, "0"), (1e-46, "0"),  # below float32's smallest: zero
    (3.4e39, "3.4e+39"),  # beyond float32's range: the double, never "inf"
])
def test_numbers_are_the_shortest_text_of_their_float32(value: float, text: str) -> None:
    assert number(value) == text
    if value and abs(value) < 3e38 and text != "0":
        assert np.float32(float(text)) == np.float32(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_that_json_cannot_hold_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        number(value)


def test_json_text_is_compact_and_exact() -> None:
    text = json_text({"a": [1, 2.0, True, False, None, "é"], 1: (0.1, 0.30000001192092896), "n": {}, "l": []})
    assert text == '{"a":[1,2,true,false,null,"é"],"1":[0.1,0.3],"n":{},"l":[]}'
    assert json.loads(text)["a"][2] is True
    assert json_text(np.int64(7).item()) == "7"
    assert json_text("a\"b\n") == '"a\\"b\\n"'
    with pytest.raises(TypeError, match="cannot write ndarray"):
        json_text({"x": np.zeros(2)})


def test_verbatim_values_keep_full_precision_and_empty_members() -> None:
    designer = {"weight": 0.1234567890123, "tags": [], "note": "", "nested": {"k": None}}
    assert json.loads(json_text({"extras": Verbatim(designer)})) == {"extras": designer}
    assert json_text(Verbatim({"a": 1.5})) == '{"a":1.5}'  # compact separators
    with pytest.raises(ValueError):
        json_text(Verbatim({"a": float("nan")}))
    assert json_text(Verbatim("é")) == '"é"'


def test_extras_become_verbatim_plain_json_or_nothing() -> None:
    assert extras_json({}) == {}
    written = extras_json({"count": np.int32(3), "scale": np.float32(0.5), "ok": np.bool_(True)})
    assert isinstance(written, Verbatim)
    assert json_text(written) == '{"count":3,"scale":0.5,"ok":true}'


def test_plain_json_turns_numpy_into_python_and_refuses_non_finite() -> None:
    plain = plain_json({1: (np.float64(1.5), np.array([[1, 2], [3, 4]], np.int16)), "b": [np.bool_(False)], "s": "x"})
    assert plain == {"1": [1.5, [[1, 2], [3, 4]]], "b": [False], "s": "x"}
    assert type(plain["b"][0]) is bool and type(plain["1"][1][0][0]) is int and type(plain["1"][0]) is float
    assert plain_json(True) is True and type(plain_json(np.int8(1))) is int
    for bad in (float("nan"), np.float32("inf")):
        with pytest.raises(ValueError, match="cannot write"):
            plain_json({"x": [bad]})


def test_plain_copy_is_deep() -> None:
    original = {"a": [{"b": [1]}], "c": (1, 2)}
    copied = plain_copy(original)
    assert copied == original
    copied["a"][0]["b"].append(2)
    copied["a"].append(3)
    assert original == {"a": [{"b": [1]}], "c": (1, 2)}


def test_defaults_are_left_out_as_the_float32_the_json_would_hold() -> None:
    defaults = {"metallicFactor": 1.0, "baseColorFactor": [1, 1, 1, 1], "alphaMode": "OPAQUE"}
    written = {"metallicFactor": np.float32(1.0), "baseColorFactor": [1.0, 1.0, 1.0, 0.5], "alphaMode": "OPAQUE",
               "roughnessFactor": 1.0}
    assert without_defaults(written, defaults) == {"baseColorFactor": [1.0, 1.0, 1.0, 0.5], "roughnessFactor": 1.0}
    assert without_defaults([1, 2], defaults) == [1, 2]  # not an object: as it is
    assert is_default(0.1, np.float32(0.1)) and not is_default(0.1, 0.2)
    assert is_default("BLEND", "BLEND") and not is_default("BLEND", "OPAQUE")
    assert not is_default([1, 1, 1], [1, 1, 1, 1])
    assert is_default({"a": 1}, {"a": 1}) and not is_default({"a": 1}, {"a": 2})  # not numbers: plain equality


def test_floats_flatten_to_python_floats() -> None:
    assert floats(np.array([[1, 2], [3, 4]], np.int32)) == [1.0, 2.0, 3.0, 4.0]
    assert all(type(v) is float for v in floats([np.float32(0.5)]))
    assert floats(2) == [2.0]
