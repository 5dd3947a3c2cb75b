"""The layout editor's endpoints in `serve --edit`: only the page served here may write, and bad changes are refused."""

from __future__ import annotations

import http.client
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.preview import (
    EDIT_CHECK_PATH,
    EDIT_LAYOUT_PATH,
    EDIT_PATH,
    MAX_EDIT_BYTES,
    BuildStatus,
    EditGate,
    StaticSite,
    answered_hosts,
    serving,
)
from pipeline.spec.edit import LayoutEditor
from tests.conftest import REPO, read_until

TOKEN = "page-token"


@pytest.fixture
def served(tmp_path: Path):
    exhibit = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", exhibit, ignore=shutil.ignore_patterns(".vitrina-cache"))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<html><body><h1>x</h1></body></html>")

    site = StaticSite(tmp_path / "site", BuildStatus(), EditGate(LayoutEditor(exhibit), TOKEN))
    with serving(site) as base:
        yield base, exhibit / "exhibit.yaml"


def _request(base: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             host: str | None = None) -> tuple[int, Any]:
    netloc = base.split("://")[1]
    connection = http.client.HTTPConnection(netloc, timeout=10)
    sent = {"Host": host or netloc, **(headers or {})}
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload


def _edit_headers(base: str, **overrides: str) -> dict[str, str]:
    return {"Origin": base, "Content-Type": "application/json", "X-Vitrina-Edit": TOKEN, **overrides}


MOVE = json.dumps({"target": "artifact", "id": "vase", "key": "place.at", "value": [1, -0.5]}).encode()


def test_the_page_served_here_moves_an_artifact_and_gets_the_warnings(served) -> None:
    base, spec = served
    status, result = _request(base, "POST", EDIT_PATH, MOVE, _edit_headers(base))
    assert status == 200, result
    assert (result["file"], result["before"], result["after"], result["changed_lines"]) == \
        ("exhibit.yaml", [0.5, -0.5], [1, -0.5], 1)
    assert "place: {room: room, at: [1, -0.5], plinth: {height: 0.9}}" in spec.read_text()
    status, layout = _request(base, "GET", EDIT_LAYOUT_PATH, headers={"Origin": base})
    assert status == 200 and layout["artifacts"]["vase"]["at"] == [1, -0.5]


def test_pages_carry_the_token_only_in_edit_mode(served, tmp_path: Path) -> None:
    base, _ = served
    status, page = _request(base, "GET", "/")
    assert status == 200 and f'window.__vitrinaEdit = {{"token": "{TOKEN}"}}'.encode() in page
    plain = StaticSite(tmp_path / "site")
    assert b"__vitrinaEdit" not in plain.respond("/")[2]  # type: ignore[index]
    assert plain.respond(EDIT_LAYOUT_PATH)[0] == 404  # type: ignore[index]
    assert plain.respond_post(EDIT_PATH, {}, MOVE)[0] == 405  # type: ignore[index]


@pytest.mark.parametrize("why, headers, host, message", [
    ("another site's page", {"Origin": "http://evil.example"}, None, "only accepted from the editor's own page"),
    ("no Origin (not a page of ours)", {"Origin": ""}, None, "only accepted from the editor's own page"),
    ("a form post", {"Content-Type": "text/plain"}, None, "application/json"),
    ("no token", {"X-Vitrina-Edit": ""}, None, "edit token"),
    ("a stale token", {"X-Vitrina-Edit": "old"}, None, "edit token"),
    ("DNS rebinding", {}, "evil.example:80", "unknown Host"),
])
def test_requests_not_from_the_editor_page_are_refused_and_nothing_is_written(
        served, why: str, headers: dict[str, str], host: str | None, message: str) -> None:
    base, spec = served
    before = spec.read_text()
    sent = {k: v for k, v in _edit_headers(base, **headers).items() if v}
    if host:
        sent["Origin"] = f"http://{host}"
    status, result = _request(base, "POST", EDIT_PATH, MOVE, sent, host=host)
    assert status == 403 and message in result["error"], why
    assert spec.read_text() == before


def test_the_layout_is_not_readable_by_another_site(served) -> None:
    base, _ = served
    assert _request(base, "GET", EDIT_LAYOUT_PATH, headers={"Origin": "http://evil.example"})[0] == 403
    assert _request(base, "GET", EDIT_LAYOUT_PATH, host="evil.example:80")[0] == 403


@pytest.mark.parametrize("body, status, message", [
    (b"{not json", 400, "not JSON"),
    (json.dumps({"target": "artifact", "id": "vase", "key": "place.at", "value": [1e9, 0]}).encode(), 422,
     "between -100 and 100"),
    (json.dumps({"target": "artifact", "id": "vase", "key": "model", "value": "/etc/passwd"}).encode(), 422,
     "cannot be edited"),
])
def test_bad_changes_are_refused_with_the_reason(served, body: bytes, status: int, message: str) -> None:
    base, spec = served
    before = spec.read_text()
    got, result = _request(base, "POST", EDIT_PATH, body, _edit_headers(base))
    assert got == status and message in result["error"]
    assert spec.read_text() == before


def test_a_body_over_the_limit_is_not_read(served) -> None:
    base, _ = served
    status, _ = _request(base, "POST", EDIT_PATH, b" " * (MAX_EDIT_BYTES + 1), _edit_headers(base))
    assert status == 413
    padded = MOVE + b" " * (MAX_EDIT_BYTES - len(MOVE))
    assert _request(base, "POST", EDIT_PATH, padded, _edit_headers(base))[0] == 200, "exactly at the limit is fine"


def test_answered_hosts_are_the_bound_names_and_the_lan_addresses() -> None:
    assert answered_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000"}
    assert answered_hosts("0.0.0.0", 8443, ["192.168.1.20"]) == {"127.0.0.1:8443", "localhost:8443",
                                                                 "192.168.1.20:8443"}
    assert answered_hosts("192.168.1.20", 9000) == {"192.168.1.20:9000"}


def test_vitrina_serve_edit_lan_serves_https_and_writes_through_the_cli(tmp_path: Path) -> None:
    """The CLI composition of --edit and --lan, with live tours on the same port, bound on loopback only, stopped by
    SIGTERM. The tour server reads no request bodies: the change travels in a header, as editor.js sends it."""
    import os
    import re
    import signal
    import ssl
    import subprocess
    import sys
    import urllib.error
    import urllib.request
    from urllib.parse import quote

    exhibit = tmp_path / "minimal"
    shutil.copytree(REPO / "exhibits" / "minimal", exhibit, ignore=shutil.ignore_patterns(".vitrina-cache"))
    config = tmp_path / "config"
    command = [sys.executable, "-m", "pipeline.cli", "serve", str(exhibit), "--edit", "--lan", "--host", "127.0.0.1",
               "--port", "0", "--no-watch"]
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, "VITRINA_CONFIG_DIR": str(config)})
    try:
        found, lines = read_until(process.stderr, r"serving \S+ on (https://127\.0\.0\.1:(\d+))/ "
                                                  r"\(live tours on /tours\) \(layout editor on\)")
        assert any("local CA" in line and str(config) in line for line in lines)
        base = found.group(1)
        context = ssl.create_default_context(cafile=str(config / "vitrina-local-ca.pem"))
        page = urllib.request.urlopen(f"{base}/minimal/index.html", context=context, timeout=10).read().decode()
        token = re.search(r'window.__vitrinaEdit = \{"token": "([^"]+)"\}', page)
        assert token
        request = urllib.request.Request(f"{base}{EDIT_PATH}", method="POST", headers=_edit_headers(
            base, **{"X-Vitrina-Edit": token.group(1), "X-Vitrina-Change": quote(MOVE.decode())}))
        result = json.loads(urllib.request.urlopen(request, context=context, timeout=10).read())
        assert result["changed_lines"] == 1
        assert "at: [1, -0.5]" in (exhibit / "exhibit.yaml").read_text()
        forged = urllib.request.Request(f"{base}{EDIT_PATH}", method="POST", headers=_edit_headers(
            base, **{"X-Vitrina-Edit": "guess", "X-Vitrina-Change": quote(MOVE.decode())}))
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(forged, context=context, timeout=10)
        from websockets.sync.client import connect

        with connect(base.replace("https://", "wss://") + "/tours", ssl=context, origin=base, open_timeout=10) as tour:
            tour.send(json.dumps({"type": "ping"}))
            assert json.loads(tour.recv(timeout=5))["type"], "the live tour server answers beside the editor"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0


def test_serve_edit_refuses_to_bind_beyond_loopback_without_lan(capsys) -> None:
    from pipeline.cli import main

    assert main(["serve", str(REPO / "exhibits" / "minimal"), "--edit", "--host", "0.0.0.0", "--no-watch"]) == 2
    assert "binds loopback only" in capsys.readouterr().err


def test_a_dry_run_answers_the_problems_a_change_would_bring_and_writes_nothing(served) -> None:
    base, spec = served
    before = spec.read_text()
    into_the_wall = json.dumps({"target": "artifact", "id": "vase", "key": "place.at", "value": [2.9, -0.5]}).encode()
    status, result = _request(base, "POST", EDIT_CHECK_PATH, into_the_wall, _edit_headers(base))
    assert status == 200, result
    assert (result["target"], result["after"], result["changed_lines"]) == ("artifact:vase", [2.9, -0.5], 1)
    messages = [problem["message"] for problem in result["problems"].get("artifact:vase", [])]
    assert any("outside" in message or "wall" in message for message in messages), messages
    assert spec.read_text() == before, "a dry run never writes"
    status, result = _request(base, "POST", EDIT_CHECK_PATH, MOVE, _edit_headers(base))
    assert status == 200 and "artifact:vase" not in result["problems"], result
    status, refused = _request(base, "POST", EDIT_CHECK_PATH, into_the_wall, _edit_headers(base, **{"X-Vitrina-Edit": "x"}))
    assert status == 403, "the same gate as a write"


def test_a_change_in_the_header_of_a_bodyless_post_is_written_like_a_body(served) -> None:
    """editor.js sends its changes so, because the live tour server on the same port reads no bodies."""
    from urllib.parse import quote

    base, spec = served
    status, result = _request(base, "POST", EDIT_PATH, b"", _edit_headers(base, **{"X-Vitrina-Change": quote(
        MOVE.decode())}))
    assert status == 200 and result["changed_lines"] == 1, result
    assert "at: [1, -0.5]" in spec.read_text()
    status, _ = _request(base, "POST", EDIT_PATH, b"", _edit_headers(base, **{"X-Vitrina-Change": "%7Bnot json"}))
    assert status == 400
