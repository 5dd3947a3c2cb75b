"""Asset cache: keyed by content (sidecars too), options and code; corrupt entries are rebuilt; warm builds skip work."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import pipeline
from pipeline.build import BuildOptions, build
from pipeline.cache import AssetCache, asset_key, sidecar_files
from pipeline.scene import Scene
from tests.helpers import image_bytes
from tests.pipeline.tiny_exhibit import write_spec, write_tiny_exhibit


def options(cache: Path) -> BuildOptions:
    return BuildOptions(quiet=True, jobs=1, cache_dir=cache)


def test_obj_sidecars_are_its_mtl_and_textures_even_with_spaces(tmp_path: Path) -> None:
    folder = write_tiny_exhibit(tmp_path)
    sidecars = sidecar_files(folder / "models" / "cube.obj", folder)
    assert [p.name for p in sidecars] == ["cube parts.mtl", "cube skin.png"]


def test_a_texture_named_by_a_path_on_another_machine_is_the_sidecar_beside_the_model(tmp_path: Path) -> None:
    # What the build reads (see spec.measure.sidecar_name) is what the key hashes.
    folder = write_tiny_exhibit(tmp_path)
    mtl = folder / "models" / "cube parts.mtl"
    mtl.write_text(mtl.read_text(encoding="utf-8").replace("map_Kd cube skin.png", "map_Kd C:\\scans\\cube skin.png"),
                   encoding="utf-8")
    assert [p.name for p in sidecar_files(folder / "models" / "cube.obj", folder)] == ["cube parts.mtl",
                                                                                        "cube skin.png"]


def test_gltf_sidecars_are_its_buffers_and_images(tmp_path: Path) -> None:
    (tmp_path / "a b.bin").write_bytes(b"\0" * 4)
    (tmp_path / "tex.png").write_bytes(b"png")
    document = {"asset": {"version": "2.0"}, "buffers": [{"uri": "a%20b.bin", "byteLength": 4}],
                "images": [{"uri": "tex.png"}, {"uri": "data:image/png;base64,AAAA"}]}
    (tmp_path / "m.gltf").write_text(json.dumps(document), encoding="utf-8")
    assert [p.name for p in sidecar_files(tmp_path / "m.gltf", tmp_path)] == ["a b.bin", "tex.png"]


def test_key_changes_with_content_sidecars_and_options_but_not_with_location(tmp_path: Path) -> None:
    folder = write_tiny_exhibit(tmp_path / "one")
    obj = folder / "models" / "cube.obj"
    key = asset_key(obj, "opts", folder)
    copy = tmp_path / "two"
    shutil.copytree(folder, copy)
    assert asset_key(copy / "models" / "cube.obj", "opts", copy) == key  # content-addressed, not path-addressed
    assert asset_key(obj, "other opts", folder) != key
    assert asset_key(obj, "opts", folder, version="other code") != key
    (folder / "models" / "cube skin.png").write_bytes(b"changed texture")
    assert asset_key(obj, "opts", folder) != key


def test_damaged_entries_are_misses(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path)
    key = "ab" * 32
    cache.store(key, b"level bytes")
    entry = tmp_path / "ab" / f"{key}.bin"
    assert AssetCache(tmp_path).stored(key) == b"level bytes"
    whole = entry.read_bytes()
    entry.write_bytes(whole[:-3])  # truncated
    assert AssetCache(tmp_path).stored(key) is None
    entry.write_bytes(whole[:-1] + b"X")  # one byte changed, header intact
    assert AssetCache(tmp_path).stored(key) is None


def test_an_entry_stored_under_another_key_is_not_trusted(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path)
    cache.store("cd" * 32, b"x")
    (tmp_path / "cd" / f"{'cd' * 32}.bin").rename(tmp_path / "cd" / f"{'cd' * 31}ce.bin")
    assert cache.stored("cd" * 31 + "ce") is None


def test_prune_drops_the_least_recently_used_entries_first(tmp_path: Path) -> None:
    import os

    cache = AssetCache(tmp_path / "cache")
    keys = [f"{n:02x}" * 32 for n in (1, 2, 3)]
    for age, key in enumerate(keys):
        cache.store(key, f"s{age}".encode() * 10)
        entry = tmp_path / "cache" / key[:2] / f"{key}.bin"
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))  # written in the order 1, 2, 3
    blob = cache.encoded("ab" * 32, lambda: b"x" * 10)  # the newest entry
    assert cache.stored(keys[0]) is not None  # a hit makes the oldest the most recently used
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "cache").glob("*/*")}
    keep = sizes[f"{keys[0]}.bin"] + sizes[f"{'ab' * 32}.bin"]
    assert cache.prune(max_bytes=keep) == 2  # keys[1] and keys[2], used longest ago
    assert cache.stored(keys[0]) is not None and cache.stored(keys[1]) is None and cache.stored(keys[2]) is None
    assert cache.encoded("ab" * 32, lambda: b"never called") == blob == b"x" * 10
    assert cache.prune(max_bytes=keep) == 0


def test_disabled_cache_never_stores(tmp_path: Path) -> None:
    cache = AssetCache(None)
    cache.store("ef" * 32, b"x")
    assert cache.stored("ef" * 32) is None


@pytest.fixture
def warm(tmp_path: Path) -> tuple[Path, Path, Path]:
    spec = write_tiny_exhibit(tmp_path / "tiny")
    out, cache = tmp_path / "site", tmp_path / "cache"
    cold = build(spec, out, options(cache))
    assert (cold.cache_hits, cold.cache_misses) == (0, 1)
    return spec, out, cache


def test_a_second_build_reprocesses_nothing(warm: tuple[Path, Path, Path]) -> None:
    spec, out, cache = warm
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (1, 0)


def test_a_second_build_and_an_uncached_one_write_the_same_files(warm: tuple[Path, Path, Path]) -> None:
    spec, out, cache = warm
    before = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["files"]
    build(spec, out, options(cache))
    after = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["files"]
    assert after == before
    build(spec, tmp := out.parent / "uncached", replace(options(cache), use_cache=False))
    assert json.loads((tmp / "tiny" / "exhibit.json").read_text(encoding="utf-8"))["files"] == before


def test_changing_only_text_in_the_yaml_reprocesses_nothing(warm: tuple[Path, Path, Path]) -> None:
    spec, out, cache = warm
    write_spec(spec, intro="A different welcome.")
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (1, 0)
    manifest = json.loads((out / "tiny" / "exhibit.json").read_text(encoding="utf-8"))
    intro = next(a for a in manifest["artifacts"] if a["id"] == "intro")
    assert intro["text"]["en"] == "A different welcome."


def test_changing_a_texture_beside_the_model_reprocesses_it(warm: tuple[Path, Path, Path]) -> None:
    from PIL import Image

    spec, out, cache = warm
    Image.new("RGB", (16, 16), (10, 200, 90)).save(spec / "models" / "cube skin.png")
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (0, 1)


def test_a_model_edited_to_the_same_size_with_its_mtime_restored_is_built_again(
        warm: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # Digests are remembered by stat; `touch -d` puts size and mtime back, and only ctime tells the edit apart.
    import os

    from pipeline import source_facts

    monkeypatch.setattr(source_facts, "RACY_NS", -(10 ** 12))  # the fixture's files count as settled
    spec, out, cache = warm
    model = spec / "models" / "cube.obj"
    assert build(spec, out, options(cache)).cache_hits == 1  # now its digest is remembered
    assert list((source_facts.facts_dir() / "stat").rglob("*.json"))
    before = model.stat()
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace("v 0.5 1 -0.5", "v 0.5 2 -0.5", 1), encoding="utf-8")
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (model.stat().st_size, model.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (0, 1)

def test_no_cache_believes_no_remembered_digest(warm: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # A remembered digest can be wrong and still look right (stat unchanged): --no-cache hashes every file again
    # and puts the truth back, so the next cached build finds its entry.
    from pipeline import source_facts

    monkeypatch.setattr(source_facts, "RACY_NS", -(10 ** 12))
    spec, out, cache = warm
    assert build(spec, out, options(cache)).cache_hits == 1  # now its digests are remembered
    for entry in (source_facts.facts_dir() / "stat").rglob("*.json"):
        fact = json.loads(entry.read_bytes())
        fact["sha256"] = "0" * 64
        entry.write_text(json.dumps(fact), encoding="utf-8")
    build(spec, out, replace(options(cache), use_cache=False))
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (1, 0)


def test_a_corrupt_cache_entry_is_rebuilt_to_the_same_output(warm: tuple[Path, Path, Path]) -> None:
    spec, out, cache = warm
    before = (out / "tiny" / "exhibit.json").read_bytes()
    for entry in cache.rglob("*.bin"):
        entry.write_bytes(b"not an entry")
    report = build(spec, out, options(cache))
    assert (report.cache_hits, report.cache_misses) == (0, 1)
    assert (out / "tiny" / "exhibit.json").read_bytes() == before
    assert build(spec, out, options(cache)).cache_hits == 1


@pytest.mark.corpus
def test_sidecars_of_real_models(corpus: Path) -> None:
    fuze = sidecar_files(corpus / "Fuze" / "fuze.obj", corpus)  # `mtllib ./fuze.obj.mtl`, `map_Kd fuze uv.jpg`
    assert [p.name for p in fuze] == ["fuze uv.jpg", "fuze.obj.mtl"]
    avocado = sidecar_files(corpus / "Avocado" / "Avocado.gltf", corpus)
    assert [p.name for p in avocado] == ["Avocado.bin", "Avocado_baseColor.png", "Avocado_normal.png",
                                         "Avocado_roughnessMetallic.png"]
    lamp = {p.name for p in sidecar_files(corpus / "StainedGlassLamp" / "StainedGlassLamp.gltf", corpus)}
    assert "StainedGlassLamp.bin" in lamp and len(lamp) > 5
    assert sidecar_files(corpus / "Duck" / "Duck.glb", corpus) == []  # a GLB carries everything inside


def test_content_digest_follows_content_not_identity() -> None:
    import copy

    import numpy as np

    from pipeline.cache import content_digest
    from pipeline.scene import Mesh, Node, Primitive

    def scene(x: float) -> Scene:
        primitive = Primitive(attributes={"POSITION": np.array([[0, 0, 0], [x, 0, 0], [0, 1, 0]], np.float32)})
        return Scene(name="r", nodes=[Node(name="n", mesh=Mesh(name="m", primitives=[primitive]))])

    assert content_digest(scene(1.0)) == content_digest(copy.deepcopy(scene(1.0)))
    assert content_digest(scene(1.0)) != content_digest(scene(1.5))
    renamed = scene(1.0)
    renamed.nodes[0].name = "other"
    assert content_digest(renamed) != content_digest(scene(1.0))
    as_float64 = scene(1.0)
    as_float64.nodes[0].mesh.primitives[0].attributes["POSITION"] = np.zeros((3, 3))  # type: ignore[union-attr]
    assert content_digest(as_float64) != content_digest(scene(0.0))
    shared = Node(name="a")
    assert content_digest([shared, shared]) != content_digest([Node(name="a"), Node(name="a")])  # sharing counts


def test_a_ply_texture_named_in_its_header_is_part_of_the_key(tmp_path: Path) -> None:
    """RealityCapture and Metashape PLYs name their texture in a `comment TextureFile` line: ingest reads it, so
    the key must change with it (the same list `check` makes of the files a model loads)."""
    import struct

    header = (b"ply\nformat binary_little_endian 1.0\ncomment TextureFile skin.png\nelement vertex 3\n"
              b"property float x\nproperty float y\nproperty float z\nproperty float s\nproperty float t\n"
              b"element face 1\nproperty list uchar int vertex_indices\nend_header\n")
    body = b"".join(struct.pack("<5f", *v) for v in ((0, 0, 0, 0, 0), (1, 0, 0, 1, 0), (0, 1, 0, 0, 1)))
    (tmp_path / "scan.ply").write_bytes(header + body + struct.pack("<B3i", 3, 0, 1, 2))
    (tmp_path / "skin.png").write_bytes(b"first texture")
    assert [p.name for p in sidecar_files(tmp_path / "scan.ply", tmp_path)] == ["skin.png"]
    key = asset_key(tmp_path / "scan.ply", "opts", tmp_path)
    (tmp_path / "skin.png").write_bytes(b"second texture")
    assert asset_key(tmp_path / "scan.ply", "opts", tmp_path) != key


# Modules an asset job loads that shape nothing it caches (why, for each).
SHAPES_NOTHING_CACHED = {
    "pipeline": "the package's version is in the key by name",
    "pipeline.errors": "exception classes",
    "pipeline.progress": "what the terminal shows",
    "pipeline.heap": "malloc's policy",
    "pipeline.source_facts": "remembers digests and measures under their own keys",
    "pipeline.spec": "package",
    "pipeline.spec.model": "the spec's data classes: what they hold (units, up) comes in the job",
    "pipeline.manifest": "the site's exhibit.json",
    "pipeline.publish": "swapping the built site in",
    "pipeline.report": "the build's report",
    "pipeline.standards": "package",
    "pipeline.standards.common": "the standards exports",
}


def test_every_module_an_asset_job_runs_is_part_of_the_code_version(tmp_path: Path) -> None:
    # The OBJ reader, the spatial parts and the surface fit were not: an edit to them kept serving the ladders the
    # old code had made, until some other hashed file changed.
    import subprocess
    import sys

    from pipeline.cache import code_files

    (tmp_path / "skin.png").write_bytes(image_bytes((8, 8), (200, 30, 30)))
    (tmp_path / "m.mtl").write_text("newmtl skin\nKd 0.8 0.8 0.8\nmap_Kd skin.png\n")
    (tmp_path / "m.obj").write_text("mtllib m.mtl\nv 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nv 1 1 0 1 1 0\n"
                                    "vt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\nusemtl skin\nf 1/1 2/2 4/4 3/3\n")
    script = (
        "import sys\nfrom pathlib import Path\nfrom pipeline import build\n"
        "asset, room = build._transform_lists(build.BuildOptions())\n"
        f"folder = Path({str(tmp_path)!r})\n"
        "job = build.AssetJob(path=folder / 'm.obj', metres_per_unit=1.0, up='y', transforms=asset, root=folder,\n"
        "                     room_transforms=room, texture_format='webp', draco=False, cache_root=folder / 'cache',\n"
        "                     ar_body=True)\n"
        "assert type(build.process_asset(job)).__name__ == 'BuiltLadder'\n"
        "print('\\n'.join(sorted(name for name in sys.modules if name.split('.')[0] == 'pipeline')))\n")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert "pipeline.obj_text" in loaded and "pipeline.spatial_parts" in loaded
    hashed = {".".join(("pipeline", *file.relative_to(Path(pipeline.__file__).parent).with_suffix("").parts))
              for file in code_files()}
    hashed |= {name.removesuffix(".__init__") for name in hashed}
    unaccounted = [name for name in loaded if name not in hashed and name not in SHAPES_NOTHING_CACHED]
    assert unaccounted == []
