"""The visitor's tour client when the server refuses its network (close 4007, 4001 slow_down, HTTP 429 at the
handshake): a translated message in every shipped language and a real wait, run in node (tour_client_cases.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.site import UI_STRINGS
from tests.conftest import REPO, need_or_skip


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    need_or_skip(shutil.which("node") is not None, "node is needed: run `make setup`", "VITRINA_REQUIRE_BROWSER")
    script = Path(__file__).with_name("tour_client_cases.mjs")
    result = subprocess.run(["node", "--no-warnings", str(script)], cwd=REPO, capture_output=True, text=True,
                            timeout=60, check=True)
    return dict(json.loads(result.stdout))


def busy_texts(case: dict[str, Any], seconds: int) -> None:
    assert set(case["texts"]) == set(UI_STRINGS)  # every shipped UI language
    for language, text in case["texts"].items():
        assert str(seconds) in text, language
        assert "busy" not in text and "{s}" not in text, language  # a real sentence, not the key
    assert case["texts"]["zh"] != case["texts"]["en"]


def test_the_per_source_cap_waits_and_says_why(cases: dict[str, Any]) -> None:
    case = cases["sourceLimit"]
    assert case["delays"] == [5000, 10000]  # doubling, not the 0.5 s reconnect of a dropped network
    assert case["refused"] and case["final"] is None  # it will try again
    busy_texts(case, 10)
    assert "refusing connections from your network" in case["texts"]["en"]


def test_a_failed_hello_backoff_is_a_wait_not_a_bad_code(cases: dict[str, Any]) -> None:
    assert cases["slowDown"]["final"] is None and cases["slowDown"]["delays"] == [5000]
    busy_texts(cases["slowDown"], 5)
    assert cases["badCode"]["final"] == {"code": 4001, "reason": "unauthorized"}


def test_a_handshake_refused_with_429_is_explained_by_a_plain_get(cases: dict[str, Any]) -> None:
    case = cases["handshake429"]
    assert case["probes"] == ["https://museum.example/tours"]
    assert case["delays"] == [40000]  # never earlier than the server's Retry-After
    busy_texts(case, 40)


def test_other_failures_keep_the_quick_reconnect(cases: dict[str, Any]) -> None:
    for name in ("serverDown", "drop"):
        assert cases[name]["delays"][0] < 1000 and not cases[name]["refused"], name
        assert cases[name]["texts"]["en"] == "Connection lost; reconnecting in 1 s…"
    assert cases["drop"]["probes"] == []  # a drop after the open is not a refusal: no probe
    assert cases["afterWelcome"] == {"refusals": 0, "refused": False}
    assert cases["probeUrls"] == ["https://a.example/tours", "http://127.0.0.1:8765/tours"]
