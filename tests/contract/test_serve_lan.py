"""`vitrina serve --lan`: the page over HTTPS and the tours over wss:// on one port, trusted through the local CA.

Bound and connected on 127.0.0.1 only: the certificate is also valid for it, so no LAN address is ever used.
"""

from __future__ import annotations

import asyncio
import io
import json
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline import lan, preview
from tests.viewer.tours.conftest import write_site


def test_page_and_tour_socket_over_https_with_the_generated_ca(tmp_path: Path) -> None:
    server_module = pytest.importorskip("viewer.tours.server")
    websockets_client = pytest.importorskip("websockets.sync.client")
    exhibit = tmp_path / "exhibit"
    exhibit.mkdir()
    config = tmp_path / "config"
    tls, ca_file = lan.server_tls(config, ["127.0.0.1"])
    assert ca_file.parent == config and not list(exhibit.rglob("*.pem")), "the CA never lands in the exhibit"

    def builder(out_dir: Path) -> None:
        (out_dir / "index.html").write_text("<html><body><h1>on the headset</h1></body></html>")
        write_site(out_dir)  # one exhibit with a tour, so the guide and visitor links are printed

    links = io.StringIO()
    loops: list[asyncio.AbstractEventLoop] = []
    stop: list[asyncio.Event] = []
    urls: list[str] = []
    ready = threading.Event()

    async def tours(site_dir: Path, host: str, port: int, **kwargs: Any) -> None:
        loops.append(asyncio.get_running_loop())
        stop.append(asyncio.Event())
        await server_module.serve_tours(site_dir, host, port, secret=b"s" * 32, stop=stop[0], handle_signals=False,
                                        links_log=links, links_host="192.168.1.20", **kwargs)

    def started(url: str) -> None:
        urls.append(url)
        ready.set()

    thread = threading.Thread(target=preview.run, args=(builder, exhibit), daemon=True, kwargs=dict(
        host="127.0.0.1", port=0, out=tmp_path / "site", watch=False, tours=tours, tls=tls, ready=started,
        log=open(tmp_path / "log.txt", "w")))  # noqa: SIM115 - closed with the process; the thread owns it
    thread.start()
    try:
        assert ready.wait(20), "the server did not start"
        base = urls[0].rstrip("/")
        assert base.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(ca_file))
        with urllib.request.urlopen(f"{base}/", context=trusting, timeout=10) as response:
            page = response.read()
        assert b"<h1>on the headset</h1>" in page and b"/__vitrina/reload.js" in page
        with urllib.request.urlopen(f"{base}{preview.STATUS_PATH}", context=trusting, timeout=10) as response:
            assert json.loads(response.read())["ok"] is True

        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"{base}/", context=ssl.create_default_context(), timeout=10)

        wss = base.replace("https://", "wss://") + "/tours"
        with websockets_client.connect(wss, ssl=trusting, origin=base, open_timeout=10) as socket:
            socket.send(json.dumps({"type": "ping"}))
            assert json.loads(socket.recv(timeout=5))["type"], "a framed reply from the tour server"
    finally:
        if loops:
            loops[0].call_soon_threadsafe(stop[0].set)
        thread.join(timeout=20)
    assert not thread.is_alive()
    printed = links.getvalue()
    assert "guide https://192.168.1.20:" in printed and "0.0.0.0" not in printed, printed
