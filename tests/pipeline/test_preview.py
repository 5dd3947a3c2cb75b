"""pipeline.preview: the static responder, the build status, the debounced watcher and live rebuilds."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.errors import Problem, SpecError
from pipeline.preview import RELOAD_TAG, STATUS_PATH, Preview, StaticSite, serving, snapshot


def fake_builder(spec_dir: Path):
    """Writes a one-page site from spec_dir/exhibit.yaml; 'broken' in it is a spec error, like the real compiler's."""
    def build(out_dir: Path) -> None:
        text = (spec_dir / "exhibit.yaml").read_text(encoding="utf-8")
        if "broken" in text:
            raise SpecError([Problem(str(spec_dir / "exhibit.yaml"), 2, 7, "rooms[0].size", "expected 3 numbers")])
        (out_dir / "demo").mkdir(parents=True, exist_ok=True)
        (out_dir / "index.html").write_text(f"<!doctype html><html><body><h1>{text.strip()}</h1></body></html>")
        (out_dir / "demo" / "index.html").write_text("<html><body>demo</body></html>")
        (out_dir / "demo" / "app.js").write_text("export {};")
    return build


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "static" / "js").mkdir(parents=True)
    (root / "static" / "js" / "app.js").write_text("export const x = 1;")
    (root / "ex" / "rooms").mkdir(parents=True)
    (root / "ex" / "rooms" / "hall.1a2b.glb").write_bytes(b"glTF")
    (root / "ex" / "media").mkdir()
    (root / "ex" / "media" / "a.vtt").write_text("WEBVTT\n")
    (root / "ex" / "index.html").write_text("<html><body>viewer</body></html>")
    (root / "ex" / "exhibit.json").write_text("{}")
    (root / ".staging-ex-1").mkdir()
    (root / ".staging-ex-1" / "index.html").write_text("half-built")
    (tmp_path / "secret.txt").write_text("do not serve")
    return root


@pytest.mark.parametrize(("path", "content_type"), [
    ("/static/js/app.js", "text/javascript; charset=utf-8"),
    ("/ex/rooms/hall.1a2b.glb", "model/gltf-binary"),
    ("/ex/media/a.vtt", "text/vtt; charset=utf-8"),
    ("/ex/exhibit.json", "application/json"),
    ("/ex/", "text/html; charset=utf-8"),
    ("/ex/index.html?tour=abc", "text/html; charset=utf-8"),
])
def test_static_site_serves_with_the_right_mime_type(site: Path, path: str, content_type: str):
    status, headers, _ = StaticSite(site).respond(path)
    assert status == 200 and headers["Content-Type"] == content_type


def test_a_folder_without_its_slash_redirects_so_relative_links_work(site: Path):
    status, headers, _ = StaticSite(site).respond("/ex")
    assert status == 301 and headers["Location"] == "/ex/"


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/ex/../../secret.txt", "/ex/%2E%2E/%2E%2E/secret.txt",
    "/.staging-ex-1/index.html", "/ex/..%2f..%2fsecret.txt", "/nothing-here.html", "/ex\\..\\..\\secret.txt",
])
def test_static_site_never_leaves_its_root_or_shows_hidden_files(site: Path, path: str):
    status, _, body = StaticSite(site).respond(path)
    assert status == 404, body


def test_a_symlink_out_of_the_root_is_not_followed(site: Path):
    """Only the symlink check stops this one: the URL has no '..' and no hidden part."""
    (site / "ex" / "escape.txt").symlink_to(site.parent / "secret.txt")
    (site / "ex" / "outside").symlink_to(site.parent, target_is_directory=True)
    (site / "ex" / "inside.vtt").symlink_to(site / "ex" / "media" / "a.vtt")
    for path in ("/ex/escape.txt", "/ex/outside/secret.txt"):
        status, _, body = StaticSite(site).respond(path)
        assert status == 404 and b"do not serve" not in body, path
    assert StaticSite(site).respond("/ex/inside.vtt")[0] == 200  # a link that stays inside is fine


@pytest.mark.parametrize("path", ["/" + "a" * 5000, "/ex/" + "b" * 300 + ".html", "/" + "c/" * 2500])
def test_overlong_paths_are_not_found_not_a_server_error(site: Path, path: str):
    assert StaticSite(site).respond(path)[0] == 404
    with serving(StaticSite(site)) as base:
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{base}{path}")
        assert error.value.code == 404


def test_production_serving_has_no_preview_endpoint_or_script(site: Path):
    static = StaticSite(site)
    assert static.respond(STATUS_PATH)[0] == 404
    assert RELOAD_TAG.encode() not in static.respond("/ex/")[2]


def test_preview_build_status_and_reload_script(tmp_path: Path):
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "exhibit.yaml").write_text("Hall one")
    preview = Preview(fake_builder(spec), spec, tmp_path / "out")
    assert preview.build() is True
    status = json.loads(preview.site.respond(STATUS_PATH)[2])
    assert status["generation"] == 1 and status["ok"] and status["error"] is None
    body = preview.site.respond("/")[2]
    assert body.index(RELOAD_TAG.encode()) < body.index(b"</body>")

    (spec / "exhibit.yaml").write_text("broken")
    assert preview.build() is False
    status = json.loads(preview.site.respond(STATUS_PATH)[2])
    assert status["generation"] == 1 and status["attempts"] == 2
    assert "exhibit.yaml:2:7  rooms[0].size: expected 3 numbers" in status["error"]
    assert "1 error, 0 warnings; nothing was built." in status["error"]
    assert b"Hall one" in preview.site.respond("/")[2], "the last good build stays served"


def test_a_bug_in_the_builder_is_shown_with_its_traceback(tmp_path: Path):
    def crashing(out_dir: Path) -> None:
        raise ZeroDivisionError("compiler bug")

    preview = Preview(crashing, tmp_path, tmp_path / "out")
    assert preview.build() is False
    error = json.loads(preview.site.respond(STATUS_PATH)[2])["error"]
    assert "Traceback" in error and "ZeroDivisionError: compiler bug" in error
    assert b"did not build" in preview.site.respond("/")[2]


def test_snapshot_ignores_the_cache_hidden_files_and_the_output(tmp_path: Path):
    (tmp_path / "exhibit.yaml").write_text("a")
    (tmp_path / ".vitrina-cache").mkdir()
    (tmp_path / ".vitrina-cache" / "blob").write_text("x")
    (tmp_path / ".exhibit.yaml.swp").write_text("x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("x")
    assert list(snapshot(tmp_path, (tmp_path / "out",))) == [str(tmp_path / "exhibit.yaml")]


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_watcher_rebuilds_once_per_burst_of_changes(tmp_path: Path):
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "exhibit.yaml").write_text("first")
    builds: list[str] = []
    inner = fake_builder(spec)

    def counting(out_dir: Path) -> None:
        builds.append((spec / "exhibit.yaml").read_text())
        inner(out_dir)

    preview = Preview(counting, spec, tmp_path / "out", poll_seconds=0.05, debounce_seconds=0.3)
    preview.build()
    preview.start_watching()
    try:
        time.sleep(0.2)
        for text in ("second", "third", "fourth"):  # an editor saving in several quick writes
            (spec / "exhibit.yaml").write_text(text)
            time.sleep(0.05)
        assert wait_until(lambda: preview.status.generation == 2)
        time.sleep(0.5)
        assert builds == ["first", "fourth"]
        (spec / "models").mkdir()
        (spec / "models" / "new.obj").write_text("v 0 0 0")
        assert wait_until(lambda: preview.status.generation == 3), "a new asset file triggers a rebuild too"
    finally:
        preview.stop()


def test_http_server_answers_real_requests(site: Path):
    with serving(StaticSite(site)) as base:
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base}/static/js/app.js") as response:
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert response.read() == b"export const x = 1;"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{base}/../secret.txt")
        assert error.value.code == 404


def test_text_assets_are_gzipped_for_clients_that_ask(site: Path):
    import gzip

    big = site / "static" / "js" / "big.js"
    big.write_text("export const data = '" + "x" * 5000 + "';")
    static = StaticSite(site)
    status, headers, body = static.respond("/static/js/big.js", {"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == big.read_bytes()
    assert len(body) < 200
    _, plain_headers, plain = static.respond("/static/js/big.js", {})
    assert "Content-Encoding" not in plain_headers and plain == big.read_bytes()
    _, glb_headers, _ = static.respond("/ex/rooms/hall.1a2b.glb", {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in glb_headers, "meshopt GLBs are already compressed"


def test_byte_ranges_let_browsers_seek_in_audio(site: Path):
    audio = site / "ex" / "media" / "guide.mp3"
    audio.write_bytes(bytes(range(256)) * 4)
    static = StaticSite(site)
    status, headers, body = static.respond("/ex/media/guide.mp3", {"Range": "bytes=10-19"})
    assert status == 206 and body == audio.read_bytes()[10:20] and headers["Content-Range"] == "bytes 10-19/1024"
    status, headers, body = static.respond("/ex/media/guide.mp3", {"Range": "bytes=1000-"})
    assert status == 206 and len(body) == 24
    status, _, body = static.respond("/ex/media/guide.mp3", {"Range": "bytes=-4"})
    assert status == 206 and body == audio.read_bytes()[-4:]
    assert static.respond("/ex/media/guide.mp3", {"Range": "bytes=5000-"})[0] == 416
    assert static.respond("/ex/media/guide.mp3")[1]["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("tours", [True, False], ids=["with-tours", "no-tours"])
def test_vitrina_serve_builds_serves_and_cleans_up(tours: bool):
    """The CLI composition: build + preview (+ the tour server on the same port), stopped by SIGTERM."""
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO, read_until

    command = [sys.executable, "-m", "pipeline.cli", "serve", str(REPO / "exhibits" / "minimal"), "--port", "0"]
    process = subprocess.Popen([*command, *([] if tours else ["--no-tours"])], cwd=REPO, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    try:
        found, _ = read_until(process.stderr, r"serving (\S+) on (http://127\.0\.0\.1:\d+/)")
        site_dir, base = Path(found.group(1)), found.group(2)
        index = urllib.request.urlopen(base).read()
        assert b"/__vitrina/reload.js" in index
        status = json.loads(urllib.request.urlopen(base + STATUS_PATH.lstrip("/")).read())
        assert status["ok"] and status["generation"] == 1
        if tours:
            assert json.loads(urllib.request.urlopen(base + "healthz").read())["status"] == "ok"
        else:
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(base + "healthz")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
    assert not site_dir.exists(), "the temporary site is removed on exit"


def test_a_client_that_hangs_up_mid_download_is_not_reported_as_a_server_error(tmp_path: Path, capfd):
    import socket
    import struct

    from pipeline import preview

    (tmp_path / "big.bin").write_bytes(b"\0" * (32 << 20))  # far more than the socket buffers hold
    seen: list[type[BaseException] | None] = []
    original = preview._Server.handle_error

    def spy(self, request, client_address):
        import sys

        seen.append(sys.exc_info()[0])
        original(self, request, client_address)

    preview._Server.handle_error = spy  # type: ignore[method-assign]
    try:
        with serving(StaticSite(tmp_path)) as base:
            host, port = base.removeprefix("http://").split(":")
            client = socket.create_connection((host, int(port)))
            client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            client.recv(4096)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not close
            client.close()
            deadline = time.monotonic() + 10
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        preview._Server.handle_error = original  # type: ignore[method-assign]
    assert seen and issubclass(seen[0], ConnectionError)  # the hang-up did reach the server as an error
    assert "Exception occurred" not in capfd.readouterr().err  # and it printed nothing
