"""The documented deployment (docs/deploy/) run for real on loopback: nginx with TLS in front of the static site and
two tour servers, Redis with AOF. Mid-tour one tour server is killed and Redis crashes and restarts; no event
is lost."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.viewer.tours.conftest import (
    REPO_ROOT,
    SECRET,
    Client,
    RedisServer,
    ServerProcess,
    TourServerHandle,
    free_port,
    write_site,
)
from tests.viewer.tours.test_server import http_get
from viewer.tours.session import visitor_concerned

pytestmark = pytest.mark.redis

DEPLOY = REPO_ROOT / "docs" / "deploy"


def self_signed_certificate(openssl: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (fullchain.pem, privkey.pem), as the nginx config expects them."""
    folder.mkdir()
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def deployed_nginx_config(folder: Path, site: Path, tls: Path, https_port: int, upstreams: list[int]) -> Path:
    """docs/deploy/nginx/vitrina.conf with its ports and paths pointed at this test, inside a minimal nginx.conf."""
    text = (DEPLOY / "nginx" / "vitrina.conf").read_text(encoding="utf-8")
    replacements = {"listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
                    "listen 80;": f"listen 127.0.0.1:{free_port()};", "/etc/vitrina/tls/": f"{tls}/",
                    "/srv/vitrina/site": str(site), "127.0.0.1:8701": f"127.0.0.1:{upstreams[0]}",
                    "127.0.0.1:8702": f"127.0.0.1:{upstreams[1]}"}
    for old, new in replacements.items():
        assert old in text, f"docs/deploy/nginx/vitrina.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)  # loopback IPv4 only
    (folder / "vitrina.conf").write_text(text, encoding="utf-8")
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the test's private tmp folder
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                        "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log off;
    {temp}
    include {folder}/vitrina.conf;
}}
""", encoding="utf-8")
    return main


class Nginx:
    """nginx in the foreground with its own prefix folder, stopped by its PID."""

    def __init__(self, binary: str, config: Path, port: int) -> None:
        self.process = subprocess.Popen([binary, "-p", str(config.parent), "-e", str(config.parent / "error.log"),
                                         "-c", str(config), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    error = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"nginx did not start: {error}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class ProxiedTours(TourServerHandle):
    """The tour server as visitors reach it: wss:// through the proxy."""

    def __init__(self, port: int, site: Path, context: ssl.SSLContext) -> None:
        super().__init__(port, site)
        self.context = context

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/tours"

    async def connect(self, **kwargs: Any) -> Client:
        return await super().connect(ssl=self.context, **kwargs)


class Deployment:
    def __init__(self, redis: RedisServer, tours: list[ServerProcess], proxy: ProxiedTours) -> None:
        self.redis, self.tours, self.proxy = redis, tours, proxy


@pytest.fixture
def deployment(tmp_path: Path, nginx_binary: str, openssl_binary: str, redis_server_binary: str,
               ) -> Iterator[Deployment]:
    site = write_site(tmp_path / "site")
    (site / "index.html").write_text("<!doctype html><title>museum</title>", encoding="utf-8")
    secret_file = tmp_path / "tour-secret"
    secret_file.write_bytes(SECRET)
    (tmp_path / "redis").mkdir()
    redis = RedisServer(redis_server_binary, tmp_path / "redis", config=DEPLOY / "redis" / "vitrina.conf")
    redis.start()
    tours: list[ServerProcess] = []
    nginx: Nginx | None = None
    try:
        tours = [ServerProcess(site, secret_file, "--redis", redis.url, log=tmp_path / f"tours-{index}.log")
                 for index in range(2)]
        cert, _ = self_signed_certificate(openssl_binary, tmp_path / "tls")
        (tmp_path / "nginx").mkdir()
        https_port = free_port()
        config = deployed_nginx_config(tmp_path / "nginx", site, tmp_path / "tls", https_port,
                                       [server.handle.port for server in tours])
        nginx = Nginx(nginx_binary, config, https_port)
        yield Deployment(redis, tours, ProxiedTours(https_port, site, ssl.create_default_context(cafile=cert)))
    finally:
        if nginx is not None:
            nginx.stop()
        for server in tours:
            server.stop()
        redis.stop()


def last_seq(connections: list[Client]) -> int:
    return max(m["seq"] for client in connections for m in client.seen if m["type"] in ("event", "snapshot"))


def events(connections: list[Client]) -> list[dict[str, Any]]:
    return [m for client in connections for m in client.seen if m["type"] == "event"]


async def command_applied(guide: Client, kind: str, **command: Any) -> dict[str, Any]:
    """Send a command until its event comes back: a store still reconnecting answers `unavailable`, and a client
    retries (as the viewer does)."""
    for attempt in range(50):
        await guide.send(id=attempt, **command)
        deadline = time.monotonic() + 10
        while True:
            answer = await guide.recv(max(0.01, deadline - time.monotonic()))
            if answer["type"] == "event" and answer["kind"] == kind:
                return answer
            if answer["type"] == "error" and answer.get("re") == attempt:
                assert answer["code"] == "unavailable", answer
                break
        await asyncio.sleep(0.2)
    raise AssertionError(f"{command} was never applied")


async def test_the_documented_deployment_loses_no_event(deployment: Deployment) -> None:
    proxy, tours = deployment.proxy, deployment.tours
    context = proxy.context
    page = await asyncio.to_thread(lambda: urllib.request.urlopen(
        f"https://127.0.0.1:{proxy.port}/", context=context, timeout=5).read())
    assert page == b"<!doctype html><title>museum</title>"  # nginx serves the static site over TLS
    health = await asyncio.to_thread(lambda: urllib.request.urlopen(
        f"https://127.0.0.1:{proxy.port}/healthz", context=context, timeout=5).read())
    store = json.loads(health)["store"]  # /healthz reaches a tour server from this machine
    assert (store["backend"], store["up"]) == ("redis", True)

    names = ["guide", "V0", "V1", "V2", "V3"]
    sessions: dict[str, list[Client]] = {"guide": [await proxy.guide()]}
    for name in names[1:]:
        sessions[name] = [await proxy.visitor(name)]
    for connections in sessions.values():
        await connections[0].expect("snapshot")
    await sessions["guide"][0].send(type="start")
    for name in names[1:]:
        await sessions[name][0].expect("event", timeout=5, kind="tour_started")
    held = [json.loads((await http_get(server.handle.port, "/healthz"))[2])["connections"] for server in tours]
    assert sum(held) == 5 and min(held) >= 1, f"nginx did not spread the connections: {held}"

    # One tour server dies without a word: its clients see the proxy drop them, and resume through the proxy.
    tours[0].stop()
    deadline = time.monotonic() + 10
    while sum(c[-1].ws.close_code is not None for c in sessions.values()) < held[0]:
        assert time.monotonic() < deadline, "the clients of the killed server were not disconnected"
        await asyncio.sleep(0.05)
    for connections in sessions.values():
        if connections[-1].ws.close_code is not None:
            old = connections[0]
            resumed = await proxy.join({"resume": {"token": old.welcome["resume_token"],
                                                   "seq": last_seq(connections)}})
            assert resumed.welcome["member"] == old.welcome["member"] and resumed.welcome["resumed"]
            connections.append(resumed)

    # Redis crashes mid-tour and is started again; its AOF (fsync every second) brings the tours back.
    await asyncio.sleep(1.5)
    deployment.redis.restart(crash=True)
    guide = sessions["guide"][-1]
    visitors = [sessions[name][-1] for name in names[1:]]
    for stop in (1, 2):
        await command_applied(guide, "stop_changed", type="advance", **{"from": stop - 1})
        for visitor in visitors:
            await visitor.expect("event", timeout=10, kind="stop_changed", stop=stop)
    await visitors[1].send(type="hand", raised=True)
    await guide.expect("event", timeout=10, kind="hand_raised")

    # No event lost: the guide saw every seq once, across its connections; each visitor saw every tour event
    # published after its first snapshot.
    guide_seqs = [event["seq"] for event in events(sessions["guide"])]
    assert guide_seqs == list(range(guide_seqs[0], guide_seqs[-1] + 1))
    tour_events = {event["seq"] for event in events(sessions["guide"]) if visitor_concerned(event) is None}
    for name in names[1:]:
        first = next(m["seq"] for m in sessions[name][0].seen if m["type"] == "snapshot")
        seen = [event["seq"] for event in events(sessions[name]) if visitor_concerned(event) is None]
        assert seen == sorted(set(seen)) and {seq for seq in tour_events if seq > first} <= set(seen), name
    # The guide still leads, at the stop it moved to.
    await guide.send(type="sync")
    snapshot = await guide.expect("snapshot")
    assert (snapshot["tour"]["lead"], snapshot["tour"]["stop"]) == (sessions["guide"][0].welcome["member"], 2)
    # Redis kept the tour through its crash by itself (the AOF), so the tour server had nothing to re-publish.
    survivor = json.loads((await http_get(tours[1].handle.port, "/healthz"))[2])
    assert survivor["status"] == "ok" and survivor["store"]["reseeds"] == 0


@pytest.mark.parametrize("unit", ["vitrina-tours@.service", "vitrina-tours-single.service"])
def test_the_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    assert "LimitNOFILE=65536" in text and "KillSignal=SIGTERM" in text
    # Only the program's path differs on this machine; an instance name stands for the template's port.
    vitrina = Path(sys.executable).parent / "vitrina"
    name = unit.replace("@.", "@8701.")
    (tmp_path / name).write_text(text.replace("/opt/vitrina/venv/bin/vitrina", str(vitrina)), encoding="utf-8")
    result = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_compose_file_runs_the_tested_configs() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"redis", "nginx"} <= set(services) and len([name for name in services if name.startswith("tours")]) >= 2
    assert all(service["network_mode"] == "host" for service in services.values())  # so the configs apply unchanged
    mounted = {volume.split(":")[0] for service in services.values() for volume in service.get("volumes", [])}
    assert {"./nginx/vitrina.conf", "./redis/vitrina.conf"} <= mounted
    for name, service in services.items():
        if name.startswith("tours"):
            command = service["command"]
            port = command[command.index("--port") + 1]
            assert f"127.0.0.1:{port}" in (DEPLOY / "nginx" / "vitrina.conf").read_text(encoding="utf-8")
            assert "--redis" in command and "--origin" in command and service["ulimits"]["nofile"] >= 65536
