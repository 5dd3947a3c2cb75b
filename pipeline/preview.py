"""The designer's dev loop: build, serve, watch and live-reload; gets a builder callable and imports no other stage."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import mimetypes
import re
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import unquote, urlsplit

from pipeline.errors import VitrinaError

Builder = Callable[[Path], object]
"""Builds the watched exhibit into the given site folder; raises VitrinaError for problems a designer can fix.
It must leave the previous site in place when it fails (pipeline.build.build publishes atomically)."""

HttpResult = tuple[int, dict[str, str], bytes] | None
TourRunner = Callable[..., Coroutine[Any, Any, None]]
"""serve_tours(site_dir, host, port, *, http_handler, ready, tls, ...): websockets on /tours, the rest to http_handler."""

STATUS_PATH = "/__vitrina/status"
RELOAD_SCRIPT_PATH = "/__vitrina/reload.js"
EDIT_PATH = "/__vitrina/edit"
EDIT_LAYOUT_PATH = "/__vitrina/edit/layout"
EDIT_CHECK_PATH = "/__vitrina/edit/check"  # a dry run: the problems a change would bring, nothing written
# The tour server (websockets) reads no request bodies, so with live tours on the editor sends its change,
# percent-encoded JSON, in this header of a bodyless request; it passes the same gate as a POST body.
EDIT_CHANGE_HEADER = "x-vitrina-change"
EDIT_TOKEN_HEADER = "x-vitrina-edit"
MAX_EDIT_BYTES = 16 << 10  # one change is a few hundred bytes of JSON
COMPRESSIBLE = {".js", ".mjs", ".css", ".json", ".svg", ".vtt", ".txt", ".gltf"}
IGNORED_PARTS = {".git", ".vitrina-cache", "__pycache__", "node_modules", ".venv"}

MIME_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json", ".vtt": "text/vtt; charset=utf-8", ".wasm": "application/wasm", ".ktx2": "image/ktx2",
    ".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".wav": "audio/wav", ".m4a": "audio/mp4",
    ".txt": "text/plain; charset=utf-8",
}

# Polls the status endpoint; reloads after a good rebuild and shows the formatted problems of a failed one.
RELOAD_SCRIPT = r"""// vitrina serve: live reload and build-error overlay (never part of a built site)
(() => {
  let seen = null;
  const overlay = document.createElement('div');
  overlay.id = 'vitrina-build-error';
  overlay.setAttribute('role', 'alert');
  overlay.style.cssText = 'position:fixed;inset:1rem;z-index:2147483647;overflow:auto;background:#2b0b0b;color:#fff;' +
    'border:3px solid #ff6b6b;border-radius:8px;padding:1rem 1.25rem;font:14px/1.5 ui-monospace,monospace;display:none';
  const heading = document.createElement('h2');
  heading.textContent = 'Build failed — the last good build is still shown';
  heading.style.cssText = 'margin:0 0 .5rem;font:600 1.1rem system-ui,sans-serif';
  const text = document.createElement('pre');
  text.style.cssText = 'white-space:pre-wrap;margin:0';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Hide';
  close.style.cssText = 'position:absolute;top:.75rem;right:.75rem;font:inherit;background:#fff;color:#000;border:0;border-radius:4px;padding:.2rem .6rem';
  close.addEventListener('click', () => { overlay.style.display = 'none'; overlay.dataset.hidden = text.textContent; });
  overlay.append(heading, text, close);
  document.body.append(overlay);
  window.__vitrinaPreview = { status: null, overlay };
  async function poll() {
    try {
      const response = await fetch('/__vitrina/status', { cache: 'no-store' });
      const status = await response.json();
      window.__vitrinaPreview.status = status;
      if (seen === null) seen = status.generation;
      if (status.generation > seen && status.ok) { location.reload(); return; }
      if (status.error) {
        text.textContent = status.error;
        if (overlay.dataset.hidden !== status.error) overlay.style.display = '';
      } else {
        overlay.style.display = 'none';
      }
    } catch (error) { /* the server is restarting: try again */ }
    setTimeout(poll, 500);
  }
  poll();
})();
"""
RELOAD_TAG = f'<script src="{RELOAD_SCRIPT_PATH}" defer></script>'

FAILED_FIRST_BUILD_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Build failed · vitrina serve</title>
</head><body><main><h1>The exhibit did not build yet</h1><p>Fix the problems shown and save: this page reloads.</p></main>
</body></html>"""


@dataclass
class BuildStatus:
    """What the open pages poll: the generation of the last good build and the latest build's problems."""

    generation: int = 0  # increases with every successful build
    attempts: int = 0
    ok: bool = False
    building: bool = False
    error: str | None = None
    last_seconds: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_json(self) -> bytes:
        with self.lock:
            data = {"generation": self.generation, "attempts": self.attempts, "ok": self.ok,
                    "building": self.building, "error": self.error, "seconds": self.last_seconds}
        return json.dumps(data).encode()


class LayoutEditor(Protocol):
    """What `serve --edit` writes through (pipeline.spec.edit.LayoutEditor): the exhibit's layout, one change at a time."""

    def layout(self) -> dict[str, Any]:
        """Every artifact's and room's editable values, where they are declared, and check's layout warnings."""

    def apply(self, change: Any) -> dict[str, Any]:
        """Validate one change (untrusted JSON) and write it; raise VitrinaError to refuse it."""

    def check(self, change: Any) -> dict[str, Any]:
        """The same change as a dry run: check's problems as they would be after it; nothing is written."""


class EditGate:
    """Who may write through the editor: pages this server served, on a host name it answers to, with its token.

    A page of another site cannot forge this: a JSON POST from another origin needs a CORS preflight that is never
    granted, the Origin must match the Host, the Host must be one this server was started on (which stops DNS
    rebinding), and the token is only in pages served here.
    """

    def __init__(self, editor: LayoutEditor, token: str) -> None:
        self.editor = editor
        self.token = token
        self.hosts: set[str] = set()  # host:port values this server answers to, filled in once it is bound
        self.scheme = "http"

    def refusal(self, headers: Mapping[str, str] | None, *, writing: bool) -> str | None:
        host = _header(headers, "host")
        if host not in self.hosts:
            return f"unknown Host {host!r}"
        origin = _header(headers, "origin")
        if writing and origin != f"{self.scheme}://{host}":
            return "edits are only accepted from the editor's own page"
        if origin and origin != f"{self.scheme}://{host}":
            return "cross-origin request"
        if writing and _header(headers, "content-type").split(";")[0].strip() != "application/json":
            return "an edit is sent as application/json"
        if writing and _header(headers, EDIT_TOKEN_HEADER) != self.token:
            return "missing or wrong edit token (reload the page)"
        return None


class StaticSite:
    """The HTTP responder for a built site: MIME types, index.html for folders, no way out of the site root.

    With a BuildStatus it is in preview mode: it answers /__vitrina/status and adds the reload script to HTML.
    With an EditGate it also serves the layout editor's endpoints and marks its pages for editor.js.
    """

    def __init__(self, root: Path, status: BuildStatus | None = None, edit: EditGate | None = None) -> None:
        self.root = Path(root).resolve()
        self.status = status
        self.edit = edit
        self._gzip_cache: dict[tuple[str, int, int], bytes] = {}

    def respond(self, raw_path: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        path = unquote(urlsplit(raw_path).path)
        if self.status is not None:
            if path == STATUS_PATH:
                return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, self.status.to_json()
            if path == RELOAD_SCRIPT_PATH:
                return 200, {"Content-Type": MIME_TYPES[".js"], "Cache-Control": "no-store"}, RELOAD_SCRIPT.encode()
        if self.edit is not None and path in (EDIT_PATH, EDIT_CHECK_PATH) and _header(headers, EDIT_CHANGE_HEADER):
            return self.respond_post(raw_path, headers, b"")
        if self.edit is not None and path == EDIT_LAYOUT_PATH:
            refused = self.edit.refusal(headers, writing=False)
            if refused:
                return _json(403, {"error": refused})
            return _json(200, self.edit.editor.layout())
        target = self.resolve(path)
        if target is None:
            if self.status is not None and path in ("/", "/index.html") and not self.status.ok:
                return self._html(FAILED_FIRST_BUILD_PAGE.encode())
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n"
        if target.is_dir():
            # A folder URL without its slash would break the pages' relative links.
            return 301, {"Location": urlsplit(raw_path).path + "/", "Content-Length": "0"}, b""
        try:
            body = target.read_bytes()
        except OSError:  # swapped away by a rebuild between resolve and read
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found\n"
        if target.suffix == ".html":
            return self._html(body)
        content_type = MIME_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
        response_headers = {"Content-Type": content_type or "application/octet-stream", "Cache-Control": "no-cache"}
        requested = _header(headers, "range")
        if requested:
            return _byte_range(requested, body, response_headers)
        if self.accepts_gzip(headers) and target.suffix.lower() in COMPRESSIBLE and len(body) > 1024:
            body = self.compressed(target, body)
            response_headers["Content-Encoding"] = "gzip"
            response_headers["Vary"] = "Accept-Encoding"
        else:
            response_headers["Accept-Ranges"] = "bytes"
        return 200, response_headers, body

    def respond_post(self, raw_path: str, headers: Mapping[str, str] | None, body: bytes) -> HttpResult:
        """POST /__vitrina/edit: one layout change, checked by the gate and then by the editor; POST
        /__vitrina/edit/check: the same change as a dry run, answered with `check`'s problems after it."""
        path = unquote(urlsplit(raw_path).path)
        if self.edit is None or path not in (EDIT_PATH, EDIT_CHECK_PATH):
            return 405, {"Content-Type": "text/plain; charset=utf-8", "Allow": "GET, HEAD"}, b"method not allowed\n"
        refused = self.edit.refusal(headers, writing=True)
        if refused:
            return _json(403, {"error": refused})
        try:
            change = json.loads(body.decode("utf-8") if body else unquote(_header(headers, EDIT_CHANGE_HEADER)))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _json(400, {"error": "the body is not JSON"})
        try:
            if path == EDIT_CHECK_PATH:
                return _json(200, self.edit.editor.check(change))
            return _json(200, self.edit.editor.apply(change))
        except VitrinaError as error:
            return _json(422, {"error": str(error)})

    @staticmethod
    def accepts_gzip(headers: Mapping[str, str] | None) -> bool:
        return "gzip" in _header(headers, "accept-encoding").lower()

    def compressed(self, target: Path, body: bytes) -> bytes:
        """gzip once per file version: three.js is 2.4 MB as sent raw and about a quarter of that gzipped."""
        stat = target.stat()
        key = (str(target), stat.st_mtime_ns, stat.st_size)
        cached = self._gzip_cache.get(key)
        if cached is None:
            cached = gzip.compress(body, compresslevel=6, mtime=0)
            self._gzip_cache[key] = cached
        return cached

    def _html(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.status is not None:
            marker = body.rfind(b"</body>")
            tag = RELOAD_TAG.encode()
            if self.edit is not None:  # app.js loads editor.js when it sees this; the token proves the page is ours
                tag = f"<script>window.__vitrinaEdit = {json.dumps({'token': self.edit.token})};</script>".encode() + tag
            body = body[:marker] + tag + body[marker:] if marker >= 0 else body + tag
        return 200, {"Content-Type": MIME_TYPES[".html"], "Cache-Control": "no-cache"}, body

    def resolve(self, url_path: str) -> Path | None:
        """The file a URL path names inside the root, or None (missing, hidden, or outside the root)."""
        parts = [part for part in url_path.split("/") if part not in ("", ".")]
        if any(part == ".." or part.startswith(".") or "\\" in part or "\0" in part for part in parts):
            return None
        candidate = self.root.joinpath(*parts)
        if url_path.endswith("/") or not parts:
            candidate = candidate / "index.html"
        try:
            resolved = candidate.resolve()
            # exists() raises on a name too long for the file system (a 5,000-character path was an HTTP 500).
            if not resolved.is_relative_to(self.root) or not resolved.exists():
                return None
        except (OSError, RuntimeError):
            return None
        return resolved


def _json(status: int, data: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(data).encode()


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    if not headers:
        return ""
    return next((value for key, value in headers.items() if key.lower() == name), "")


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(requested: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One byte range (RFC 9110 §14): browsers need it to seek in audio, e.g. to start narration in sync."""
    match = _RANGE.match(requested.strip())
    size = len(body)
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:  # a suffix: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start <= end:
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"}
            return 206, headers, body[start:end + 1]
    return 416, {"Content-Range": f"bytes */{size}", "Content-Type": "text/plain"}, b""


def snapshot(folder: Path, ignore: tuple[Path, ...] = ()) -> dict[str, tuple[int, int]]:
    """mtime and size of every file under folder (hidden and cache folders skipped): cheap change detection."""
    state: dict[str, tuple[int, int]] = {}
    ignored = tuple(path.resolve() for path in ignore)
    for path in folder.rglob("*"):
        if IGNORED_PARTS.intersection(path.parts) or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if ignored and any(path.resolve().is_relative_to(root) for root in ignored):
            continue
        with contextlib.suppress(OSError):
            info = path.stat()
            if path.is_file():
                state[str(path)] = (info.st_mtime_ns, info.st_size)
    return state


class Preview:
    """Builds into site_dir, rebuilds when the watched folder changes, and keeps the last good build served."""

    def __init__(self, builder: Builder, watched: Path, site_dir: Path, *, log: TextIO | None = None,
                 poll_seconds: float = 0.3, debounce_seconds: float = 0.25, edit: EditGate | None = None) -> None:
        self.builder = builder
        self.watched = Path(watched)
        self.site_dir = Path(site_dir)
        self.site_dir.mkdir(parents=True, exist_ok=True)
        self.status = BuildStatus()
        self.site = StaticSite(self.site_dir, self.status, edit)
        self.log = log or sys.stderr
        self.poll_seconds = poll_seconds
        self.debounce_seconds = debounce_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def build(self) -> bool:
        """Run the builder once; on failure keep the previous site and publish the formatted problems."""
        with self.status.lock:
            self.status.building = True
            self.status.attempts += 1
        started = time.perf_counter()
        error: str | None = None
        try:
            self.builder(self.site_dir)
        except VitrinaError as problem:
            error = str(problem)
        except Exception:  # a bug in the compiler: the designer still sees it in the page, with its traceback
            error = traceback.format_exc()
        seconds = round(time.perf_counter() - started, 3)
        with self.status.lock:
            self.status.building = False
            self.status.last_seconds = seconds
            self.status.error = error
            if error is None:
                self.status.generation += 1
                self.status.ok = True
        if error is None:
            print(f"built in {seconds:.2f} s (generation {self.status.generation})", file=self.log, flush=True)
        else:
            print(f"build failed after {seconds:.2f} s; still serving the last good build:\n{error}",
                  file=self.log, flush=True)
        return error is None

    def changes(self) -> Iterator[None]:
        """Yield once per settled batch of changes (debounced: editors write files in several steps)."""
        ignore = (self.site_dir,)
        before = snapshot(self.watched, ignore)
        while not self._stop.wait(self.poll_seconds):
            now = snapshot(self.watched, ignore)
            if now == before:
                continue
            while not self._stop.wait(self.debounce_seconds):
                settled = snapshot(self.watched, ignore)
                if settled == now:
                    break
                now = settled
            before = now
            if not self._stop.is_set():
                yield None

    def watch_forever(self) -> None:
        for _ in self.changes():
            print("change detected; rebuilding…", file=self.log, flush=True)
            self.build()

    def start_watching(self) -> None:
        self._thread = threading.Thread(target=self.watch_forever, name="vitrina-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(http.server.BaseHTTPRequestHandler):
    site: StaticSite

    def do_GET(self) -> None:
        self._send(self.site.respond(self.path, dict(self.headers.items())), body=True)

    def do_HEAD(self) -> None:
        self._send(self.site.respond(self.path, dict(self.headers.items())), body=False)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_EDIT_BYTES:
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            self._send((413, {"Content-Type": "text/plain; charset=utf-8"}, b"request too large\n"), body=True)
            return
        payload = self.rfile.read(length)
        self._send(self.site.respond_post(self.path, dict(self.headers.items()), payload), body=True)

    def _send(self, result: HttpResult, body: bool) -> None:
        status, headers, payload = result or (404, {"Content-Type": "text/plain"}, b"not found\n")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A visitor who closes the page mid-download is no server error; anything else is still printed.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def static_http_server(site: StaticSite, host: str, port: int,
                       tls: ssl.SSLContext | None = None) -> http.server.HTTPServer:
    """A plain threaded http.server over a StaticSite (no tours), HTTPS with `tls`; port 0 picks a free one."""
    handler = type("SiteHandler", (_Handler,), {"site": site})
    server = _Server((host, port), handler)
    if tls is not None:
        # The handshake then happens in the request's own thread, so one slow client cannot stall accept().
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def answered_hosts(host: str, port: int, public_hosts: Sequence[str] = ()) -> set[str]:
    """The Host header values a server bound to host:port is reached by (loopback names, and the LAN addresses)."""
    names = {host, *public_hosts}
    if host in ("127.0.0.1", "0.0.0.0", "::", "localhost"):
        names |= {"127.0.0.1", "localhost"}
    names.discard("0.0.0.0")
    names.discard("::")
    return {f"{name}:{port}" for name in names}


@contextlib.contextmanager
def serving(site: StaticSite, host: str = "127.0.0.1", port: int = 0,
            tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve a StaticSite in a background thread; yields the base URL and stops the server on exit."""
    server = static_http_server(site, host, port, tls)
    bound = server.server_address[1]
    if site.edit is not None:
        site.edit.hosts |= answered_hosts(host, bound)
        site.edit.scheme = "https" if tls else "http"
    thread = threading.Thread(target=server.serve_forever, name="vitrina-http", daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{bound}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _stop_on_sigterm() -> None:
    """SIGTERM ends the plain server like Ctrl-C does, so the temporary site is removed (the tour server does its own)."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def run(builder: Builder, watched: Path, *, host: str = "127.0.0.1", port: int = 8000, out: Path | None = None,
        watch: bool = True, tours: TourRunner | None = None, log: TextIO | None = None,
        ready: Callable[[str], None] | None = None, editor: LayoutEditor | None = None,
        tls: ssl.SSLContext | None = None, public_hosts: Sequence[str] = (),
        run_loop: Callable[[Coroutine[Any, Any, None]], object] | None = None) -> int:
    """`vitrina serve`: build, serve (with live tours on the same port when `tours` is given), watch, reload.

    With `editor` the pages become a layout editor (its changes travel in a header, which the tour server passes on). With
    `tls` everything, tours included, is served over HTTPS and wss://; `public_hosts` are the LAN addresses that
    other devices use, printed as links (`ready` gets the first). `run_loop` runs the tours' event loop (default
    asyncio.run; the CLI passes the tour server's own, uvloop when asked for).
    """
    import secrets

    log = log or sys.stderr
    site_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="vitrina-serve-"))
    gate = EditGate(editor, secrets.token_urlsafe(24)) if editor is not None else None
    if gate is not None:
        gate.scheme = "https" if tls else "http"
    preview = Preview(builder, watched, site_dir, log=log, edit=gate)
    preview.build()
    if watch:
        preview.start_watching()
    scheme = "https" if tls else "http"

    def announce(bound_port: int) -> None:
        if gate is not None:
            gate.hosts |= answered_hosts(host, bound_port, public_hosts)
        shown = list(public_hosts) or ["127.0.0.1" if host in ("0.0.0.0", "::") else host]
        urls = [f"{scheme}://{name}:{bound_port}/" for name in shown]
        extra = " (live tours on /tours)" if tours else ""
        extra += " (layout editor on)" if gate else ""
        print(f"serving {site_dir} on {', '.join(urls)}{extra}", file=log, flush=True)
        if ready is not None:
            ready(urls[0])

    try:
        if tours is not None:
            import asyncio

            (run_loop or asyncio.run)(tours(site_dir, host, port, http_handler=preview.site.respond, ready=announce,
                                            tls=tls))
        else:
            server = static_http_server(preview.site, host, port, tls)
            announce(server.server_address[1])
            _stop_on_sigterm()
            try:
                server.serve_forever()
            finally:
                server.server_close()
    except KeyboardInterrupt:
        pass
    finally:
        preview.stop()
        if out is None:  # a temporary site is only useful while it is served
            import shutil

            shutil.rmtree(site_dir, ignore_errors=True)
    return 0
