"""Shared test fixtures: where the repo and ../shared are, and skips that turn into failures in CI."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
NODE_MODULES = REPO / "node_modules"

# Builds that name no cache folder use the user's cache directory: a test session never touches the real one.
os.environ.setdefault("VITRINA_CACHE_DIR", tempfile.mkdtemp(prefix="vitrina-test-cache-"))


@pytest.fixture(autouse=True)
def _own_default_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a fresh default cache, as each got a fresh exhibit folder when the cache lived there."""
    monkeypatch.setenv("VITRINA_CACHE_DIR", str(tmp_path_factory.mktemp("default-cache")))


def _required(env: str) -> bool:
    return os.environ.get(env, "") not in ("", "0")


def need_or_skip(ok: bool, reason: str, env: str) -> None:
    """Skip when a dependency is missing, unless CI set `env`: then a missing dependency fails the test."""
    if ok:
        return
    if _required(env):
        pytest.fail(f"{reason} (and {env}=1 says it must be here)")
    pytest.skip(reason)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus: public models for tests (never shipped inside an exhibit)."""
    need_or_skip(CORPUS.is_dir(), f"{CORPUS} is absent (a user's own clone); corpus tests run in CI", "VITRINA_REQUIRE_SHARED")
    return CORPUS


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    need_or_skip(path is not None, "Debian's chromium is not installed", "VITRINA_REQUIRE_BROWSER")
    need_or_skip((NODE_MODULES / "iwer").is_dir(), "node_modules is missing: run `make setup`", "VITRINA_REQUIRE_BROWSER")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def node_modules() -> Path:
    need_or_skip(shutil.which("node") is not None and NODE_MODULES.is_dir(),
                 "node and node_modules are needed: run `make setup`", "VITRINA_REQUIRE_BROWSER")
    return NODE_MODULES


def installed_program(name: str, env: str, also_in: str = "/usr/sbin:/usr/local/sbin") -> str:
    """The path of a system program (also looked for in sbin, which a user's PATH may lack), or a skip/failure."""
    path = shutil.which(name) or shutil.which(name, path=also_in)
    need_or_skip(path is not None, f"{name} is not installed", env)
    assert path is not None
    return path


def read_until(stream: Any, pattern: str) -> tuple[re.Match[str], list[str]]:
    """Read a child process's text stream line by line until `pattern` matches; (the match, the lines read)."""
    lines: list[str] = []
    while True:
        line = stream.readline()
        assert line, f"the process stopped first: {''.join(lines)}"
        lines.append(line)
        found = re.search(pattern, line)
        if found:
            return found, lines


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    return installed_program("redis-server", "VITRINA_REQUIRE_REDIS")


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    return installed_program("nginx", "VITRINA_REQUIRE_NGINX")


@pytest.fixture(scope="session")
def openssl_binary() -> str:
    return installed_program("openssl", "VITRINA_REQUIRE_NGINX")
