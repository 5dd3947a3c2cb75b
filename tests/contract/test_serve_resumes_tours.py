"""`vitrina serve -o SITE` killed and started again: its links still work and a guide resumes its tour exactly."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]


class Serve:
    """`vitrina serve EXHIBIT -o SITE --no-watch --port 0`, reading its address and guide link from its log."""

    def __init__(self, exhibit: Path, site: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "serve", str(exhibit), "-o", str(site), "--no-watch", "--port", "0"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        self.port = int(self._line(self.process.stderr, r"serving .* on http://127\.0\.0\.1:(\d+)/"))
        self.guide_token = self._line(self.process.stderr, r"guide http://\S+#guide=(\S+)")

    def _line(self, stream: IO[str], pattern: str) -> str:
        deadline = time.monotonic() + 120  # the first run builds the exhibit
        while time.monotonic() < deadline:
            line = stream.readline()
            if not line and self.process.poll() is not None:
                break
            found = re.search(pattern, line)
            if found:
                return found.group(1)
        raise AssertionError(f"vitrina serve never printed {pattern!r}")

    def join(self, sockets: contextlib.ExitStack, hello: dict[str, Any]) -> tuple[ClientConnection, dict[str, Any]]:
        """Connect (closed with `sockets`) and say hello: the connection and the server's first reply."""
        socket = sockets.enter_context(connect(f"ws://127.0.0.1:{self.port}/tours"))
        socket.send(json.dumps({"type": "hello", "v": 1, **hello}))
        return socket, dict(json.loads(socket.recv(timeout=10)))

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def next_of(socket: ClientConnection, **match: Any) -> dict[str, Any]:
    while True:
        message = json.loads(socket.recv(timeout=10))
        if all(message.get(key) == value for key, value in match.items()):
            return dict(message)


def test_a_restarted_preview_keeps_its_links_and_tours(tmp_path: Path) -> None:
    exhibit, site = tmp_path / "show", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "new", str(exhibit)], cwd=REPO, check=True,
                   capture_output=True)
    first = Serve(exhibit, site)
    with contextlib.ExitStack() as sockets:
        try:
            guide, welcome = first.join(sockets, {"token": first.guide_token, "name": "Mei", "device": "desktop"})
            next_of(guide, type="snapshot")
            guide.send(json.dumps({"type": "start"}))
            guide.send(json.dumps({"type": "advance", "from": 0}))
            changed = next_of(guide, type="event", kind="stop_changed")
        finally:
            first.kill()  # no goodbye: as a crash or a power cut of the box would

    second = Serve(exhibit, site)
    with contextlib.ExitStack() as sockets:
        try:
            again, resumed = second.join(sockets, {"resume": {"token": welcome["resume_token"],
                                                              "seq": changed["seq"]}})
            assert resumed["type"] == "welcome" and resumed["member"] == welcome["member"] and resumed["resumed"]
            next_of(again, type="event", kind="member_back")
            again.send(json.dumps({"type": "sync"}))
            tour = next_of(again, type="snapshot")["tour"]
            assert (tour["status"], tour["stop"], tour["lead"]) == ("running", 1, welcome["member"])
            # The guide link printed by the first run still opens the tour (the secret was kept beside the site).
            _, other = second.join(sockets, {"token": first.guide_token, "name": "Lin", "device": "vr"})
            assert (other["type"], other["role"]) == ("welcome", "guide")
        finally:
            second.kill()
    assert (tmp_path / "site.tour-secret").is_file() and (tmp_path / "site.tours.sqlite3").is_file()
