"""build(): valid GLBs named by artifact id, deterministic bytes, and an output folder replaced atomically."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from pipeline import compose
from pipeline.build import BuildOptions, build
from pipeline.errors import AssetError, SpecError
from pipeline.report import Progress
from tests.gltf_validator import errors_of, validate_many
from tests.pipeline.tiny_exhibit import write_tiny_exhibit

QUIET = BuildOptions(quiet=True, jobs=1)


def glb_json(data: bytes) -> dict[str, Any]:
    magic, _, _ = struct.unpack_from("<4sII", data)
    assert magic == b"glTF"
    length, _ = struct.unpack_from("<I4s", data, 12)
    document: dict[str, Any] = json.loads(data[20:20 + length])
    return document


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under folder."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    root = tmp_path_factory.mktemp("build")
    spec = write_tiny_exhibit(root / "tiny")
    out = root / "site"
    report = build(spec, out, BuildOptions(quiet=True, cache_dir=root / "cache"))
    return spec, out, report


def test_build_writes_the_exhibit_the_index_and_static_files(built: tuple[Path, Path, Any]) -> None:
    _, out, report = built
    exhibit = out / "tiny"
    assert (exhibit / "exhibit.json").is_file()
    assert (exhibit / "index.html").is_file() and (out / "index.html").is_file()
    assert {p.name for p in (exhibit / "objects").iterdir()} == {"cube.html", "cube2.html", "red.html", "intro.html"}
    assert (out / "static").is_dir()
    assert (exhibit / "report.json").is_file() and (exhibit / "report.html").is_file()
    assert [r.room for r in report.rooms] == ["hall", "side"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_every_room_glb_validates_and_names_its_artifacts(built: tuple[Path, Path, Any]) -> None:
    _, out, _ = built
    manifest = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    paths = [out / "tiny" / room["glb"] for room in manifest["rooms"]]
    for report in validate_many(paths):
        assert report["issues"]["numErrors"] == 0, errors_of(report)
    for room in manifest["rooms"]:
        document = glb_json((out / "tiny" / room["glb"]).read_bytes())
        names = [node.get("name") for node in document["nodes"]]
        expected = {a["node"] for a in manifest["artifacts"] if a["room"] == room["id"]}
        for name in expected:
            assert names.count(name) == 1, f"{name} must name exactly one node"
        for node in document["nodes"]:
            if node.get("name") in expected:
                packet = node["extensions"]["KHR_xmp_json_ld"]["packet"]
                assert "dc:title" in document["extensions"]["KHR_xmp_json_ld"]["packets"][packet]
                assert node["extras"]["vitrina"]["id"] == node["name"]


def test_glb_names_carry_their_content_hash(built: tuple[Path, Path, Any]) -> None:
    _, out, _ = built
    for glb in (out / "tiny" / "rooms").glob("*.glb"):
        digest = glb.name.split(".")[-2]
        assert hashlib.sha256(glb.read_bytes()).hexdigest().startswith(digest)


def test_two_builds_of_the_same_input_are_byte_identical(built: tuple[Path, Path, Any], tmp_path: Path) -> None:
    spec, out, _ = built
    # No cache and another folder: everything is recomputed from scratch, in parallel this time.
    build(spec, tmp_path / "again", BuildOptions(quiet=True, use_cache=False, jobs=2))
    first = {k: v for k, v in snapshot(out).items() if not k.endswith(("report.json", "report.html"))}
    second = {k: v for k, v in snapshot(tmp_path / "again").items() if not k.endswith(("report.json", "report.html"))}
    assert first == second


def test_a_failed_build_leaves_the_previous_site_byte_identical(built: tuple[Path, Path, Any], tmp_path: Path) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    other = site / "other-exhibit"
    other.mkdir()
    (other / "exhibit.json").write_text("{}", encoding="utf-8")
    before = snapshot(site)
    broken = tmp_path / "broken"
    shutil.copytree(spec, broken, ignore=shutil.ignore_patterns(".vitrina-cache"))
    (broken / "models" / "cube.obj").write_text("v 0 0 0\nv 1 0 0\n", encoding="utf-8")  # no faces at all
    with pytest.raises(AssetError) as caught:
        build(broken, site, BuildOptions(quiet=True, use_cache=False, jobs=1))
    assert "cube.obj" in str(caught.value)
    assert snapshot(site) == before
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_an_interrupted_build_leaves_the_previous_site(built: tuple[Path, Path, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    before = snapshot(site)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(compose, "compose", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(spec, site, QUIET)
    assert snapshot(site) == before
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_a_spec_error_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "exhibit.yaml").write_text("exhibit: {id: x, title: {en: X}}\nrooms: []\n", encoding="utf-8")
    with pytest.raises(SpecError):
        build(tmp_path, tmp_path / "out", QUIET)
    assert not (tmp_path / "out").exists()


def test_rebuilding_replaces_the_exhibit_and_keeps_other_exhibits(built: tuple[Path, Path, Any],
                                                                 tmp_path: Path) -> None:
    spec, out, _ = built
    site = tmp_path / "site"
    shutil.copytree(out, site)
    second = write_tiny_exhibit(tmp_path / "second", exhibit_id="second")
    build(second, site, QUIET)
    stale = site / "tiny" / "stale.txt"
    stale.write_text("left over", encoding="utf-8")
    build(spec, site, QUIET)
    assert not stale.exists()  # the exhibit folder is replaced, not merged into
    assert (site / "second" / "exhibit.json").is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "second/" in index and "tiny/" in index


def test_progress_is_plain_lines_off_a_terminal_and_silent_when_quiet(built: tuple[Path, Path, Any],
                                                                      tmp_path: Path) -> None:
    spec, _, _ = built
    stream = io.StringIO()
    build(spec, tmp_path / "a", BuildOptions(progress=stream, jobs=1))
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert any(line.startswith("assets") for line in lines) and any(line.startswith("write") for line in lines)
    quiet = io.StringIO()
    build(spec, tmp_path / "b", BuildOptions(progress=quiet, quiet=True, jobs=1))
    assert quiet.getvalue() == ""


def test_progress_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream)
    with progress.stage("assets"):
        progress.step(1, 4, "a.glb")
        progress.step(2, 4, "b.glb")
    text = stream.getvalue()
    assert "\r" in text and "[############............] 2/4 b.glb" in text
    assert "assets" in progress.timings
