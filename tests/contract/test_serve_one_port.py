"""`vitrina serve`'s one port: the tour server answers /tours and /healthz, the preview's responder the rest."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from pathlib import Path

import pytest

from pipeline.preview import STATUS_PATH, Preview


def test_site_status_and_tours_share_one_port(tmp_path: Path):
    server_module = pytest.importorskip("viewer.tours.server")
    websockets_client = pytest.importorskip("websockets.sync.client")

    def builder(out_dir: Path) -> None:
        (out_dir / "index.html").write_text("<html><body><h1>site</h1></body></html>")

    preview = Preview(builder, tmp_path, tmp_path / "site")
    preview.build()
    ports: list[int] = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        def on_ready(port: int) -> None:
            ports.append(port)
            ready.set()

        loop.run_until_complete(server_module.serve_tours(
            tmp_path / "site", "127.0.0.1", 0, http_handler=preview.site.respond, secret=b"s" * 32,
            ready=on_ready, stop=stop, handle_signals=False))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(15), "the tour server did not start"
        base = f"http://127.0.0.1:{ports[0]}"
        with urllib.request.urlopen(f"{base}/") as response:
            page = response.read()
        assert b"<h1>site</h1>" in page and b"/__vitrina/reload.js" in page
        with urllib.request.urlopen(f"{base}{STATUS_PATH}") as response:
            assert json.loads(response.read())["generation"] == 1
        with urllib.request.urlopen(f"{base}/healthz") as response:
            assert json.loads(response.read())["status"] == "ok"
        with websockets_client.connect(f"ws://127.0.0.1:{ports[0]}/tours", origin=base) as socket:
            socket.send(json.dumps({"type": "ping"}))
            assert json.loads(socket.recv(timeout=5))["type"]  # any framed reply: the socket is the tour server's
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
