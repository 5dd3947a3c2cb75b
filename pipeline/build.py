"""build(spec_path, out_dir, options) -> BuildReport: the one entry point, and the only module that knows the stage order."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipeline import budgets, compose, heap, ladder, manifest, source_facts, standards, textures, usdz
from pipeline.cache import AssetCache, asset_key, code_version, content_digest, default_cache_dir
from pipeline.errors import AssetError, BudgetError, BuildError, Problem
from pipeline.progress import reporting_to
from pipeline.publish import MediaWriter, existing_manifests, publish, remove_abandoned_staging, write_named
from pipeline.report import BudgetCheck, BuildReport, Progress, RoomReport, floor_plan_svg, human_bytes
from pipeline.scene import Node, Scene, Texture
from pipeline.spec import load_exhibit
from pipeline.spec.model import Artifact, Exhibit, LoadedSpec

RESERVED_NAMES = ("static",)  # OUT/static holds the viewer's JS and CSS that every exhibit shares


@dataclass(frozen=True)
class BuildOptions:
    """How to build; `vitrina build`'s flags map one to one onto these fields."""

    strict: bool = False  # warnings become errors
    use_cache: bool = True
    cache_dir: Path | None = None  # default: the user's cache directory, never the exhibit folder
    jobs: int = 0  # parallel asset jobs; 0 means one per core, 1 means in this process
    draco: bool = False  # Draco geometry instead of meshopt (slower to decode in browsers)
    texture_format: str = "keep"  # "keep", "webp" or "ktx2"
    base_url: str | None = None  # overrides exhibit.base_url: where the exhibit folder is served (standards exports)
    bake: bool = True  # bake light into each room's lightmap (--no-bake: real-time light only)
    posters: bool = False  # render posters and covers in headless Chromium (the CLI's default; --no-posters)
    quiet: bool = False
    progress: TextIO | None = None  # where progress goes (default stderr)
    link_report: bool = False  # link the build report from the exhibit page (it is private by default)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BuildOptions:
        return cls(strict=args.strict, use_cache=not args.no_cache,
                   cache_dir=Path(args.cache_dir) if args.cache_dir else None, jobs=args.jobs, draco=args.draco,
                   texture_format=args.texture_format, quiet=args.quiet,
                   link_report=getattr(args, "link_report", False), base_url=getattr(args, "base_url", None),
                   bake=not getattr(args, "no_bake", False), posters=not getattr(args, "no_posters", True))

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
    """One model file to ingest and make a ladder of; artifacts that use the same file with the same settings share it.

    Everything a worker process needs travels in the job (it is pickled to the worker: plain values only)."""

    path: Path
    metres_per_unit: float
    up: str
    transforms: tuple[Any, ...]
    root: Path  # the exhibit folder: the model's own references (buffers, images, MTL files) must stay inside it
    room_transforms: tuple[Any, ...] = ()
    texture_format: str = "keep"
    draco: bool = False
    cache_root: Path | None = None
    # Write the level a phone loads once more with its PNG/JPEG textures, for the AR package (usd-core is here and
    # the levels' textures are WebP or KTX2, which AR Quick Look cannot read). Not part of the ladder's key: a cached
    # ladder without that body is built again when usd-core comes.
    ar_body: bool = False

    def options_repr(self) -> str:
        return repr((self.metres_per_unit, self.up, self.transforms))

    def ladder_repr(self) -> str:
        """Everything besides the source that shapes the ladder's bytes: the key's second half."""
        return repr((self.options_repr(), self.room_transforms, self.texture_format, self.draco,
                     ladder.settings_repr()))


@dataclass(frozen=True)
class AssetFailure:
    """An AssetError sent back from a worker: AssetError itself does not survive pickling (two-argument init)."""

    path: str
    cause: str


@dataclass(frozen=True)
class BuiltLadder:
    """A model's ladder as data (JSON info and GLB bodies), as it is cached and sent back from a worker."""

    info: dict[str, Any]
    bodies: tuple[bytes, ...]
    key: str = ""  # the ladder's cache key: names its bodies' content
    ar_body: bytes | None = None  # the level a phone loads with PNG/JPEG textures, when its own body has others

    def phone_body(self) -> bytes:
        """The GLB the AR package is made from: the level a phone loads (info["usdz_level"]), with textures AR Quick
        Look reads. The package is made from it when first wanted, so a ladder does not depend on rights."""
        if self.ar_body is not None:
            return self.ar_body
        names = [level["name"] for level in self.info["ladder"]["levels"]]
        return self.bodies[names.index(self.info["usdz_level"])]

    @property
    def shape(self) -> compose.ModelShape:
        return compose.ModelShape.from_json(self.info["shape"])

    def as_ladder(self) -> ladder.Ladder:
        return ladder.ladder_from(self.info["ladder"], list(self.bodies))


def process_asset(job: AssetJob) -> BuiltLadder | AssetFailure:
    """Ingest one model, run the per-asset transforms and build its ladder. Runs in a worker process, so errors come
    back as values."""
    from pipeline.ingest import load_asset

    try:
        scene = load_asset(job.path, units=job.metres_per_unit, up=job.up, root=job.root)
    except AssetError as error:
        return AssetFailure(error.path, error.cause)
    # A worker of the asset pool already has a core of its own: its ladder writes levels inline, and its textures
    # are fitted as the ladder asks for them.
    if multiprocessing.parent_process() is not None:
        return _built_ladder(job, scene, None, 0)
    with concurrent.futures.ThreadPoolExecutor(1, "early-fits") as beside:
        return _built_ladder(job, scene, textures.EarlyFits(scene, ladder.TEXTURE_SIDES, beside), ladder.WRITERS)


def _built_ladder(job: AssetJob, scene: Scene, early: textures.EarlyFits | None, writers: int) \
        -> BuiltLadder | AssetFailure:
    """The read model's per-asset transforms, its place and its ladder (process_asset's second half)."""
    for transform in job.transforms:
        scene = transform(scene)
    shape = compose.model_shape(scene)
    if shape is None:
        return AssetFailure(str(job.path), "the model has no geometry to place")
    cache = AssetCache(job.cache_root)
    options = BuildOptions(draco=job.draco, texture_format=job.texture_format)

    finish, finish_simplified = level_finishers(job.room_transforms)
    tools = ladder.LadderTools(
        write=lambda level: glb_bytes(level, options),
        fit_textures=functools.partial(textures.fit_textures, early=early),
        encode_textures=lambda level: textures.encode_textures(level, job.texture_format, cache), finish=finish,
        finish_simplified=finish_simplified,
        derive_textures=lambda level: textures.colour_pictures_as_jpeg(level, cache))
    phone = usdz.PhoneLevel(keep_scene=job.ar_body)
    offset = compose.model_offset(shape)
    built = ladder.build_ladder(scene, offset, tools, label=job.path.name, writers=writers, consume=True,
                                on_level=phone.offer)
    info: dict[str, Any] = {"shape": shape.to_json(), "ladder": ladder.ladder_info(built), "notes": list(scene.notes),
                            "usdz_level": phone.name}
    ar_body = None
    if phone.scene is not None and phone.name is not None:
        ar_body = ladder.plain_level_body(phone.scene, phone.name, tools, offset)
    return BuiltLadder(info, tuple(level.data for level in built.levels), ar_body=ar_body)


def level_finishers(room_transforms: tuple[Any, ...]) -> tuple[Callable[[Scene], Scene], Callable[[Scene], Scene]]:
    """(what a ladder level goes through before it is written, what a simplified one goes through: the same with
    its quantization rounding to the surface)."""
    from pipeline.transforms.presets import apply_transforms

    to_surface = [dataclasses.replace(transform, rounding="surface") if _is_quantize(transform) else transform
                  for transform in room_transforms]
    return (functools.partial(apply_transforms, transforms=list(room_transforms)),
            functools.partial(apply_transforms, transforms=to_surface))


def _run_jobs(jobs: dict[str, AssetJob], options: BuildOptions, progress: Progress) -> dict[str, BuiltLadder]:
    """Run the jobs (key → job) in parallel or inline; results are keyed, so their order never matters."""
    results: dict[str, BuiltLadder] = {}
    errors: dict[str, AssetFailure] = {}
    total = len(jobs)
    workers = min(options.worker_count, total)
    ordered = sorted(jobs.items(), key=lambda item: str(item[1].path))

    def collect(key: str, result: BuiltLadder | AssetFailure, done: int) -> None:
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


def asset_jobs(exhibit: Exhibit, make_job: Callable[[Artifact], AssetJob | None]) -> dict[str, AssetJob]:
    """One job per distinct (file, units, up) among the model artifacts, in spec order."""
    jobs: dict[str, AssetJob] = {}
    for artifact in exhibit.artifacts:
        job = make_job(artifact)
        if job is not None:
            jobs.setdefault(_job_id(job), job)
    return jobs


def _job_id(job: AssetJob) -> str:
    return f"{job.path}|{job.options_repr()}"


def _ladder_key(job: AssetJob) -> str:
    return hashlib.sha256(f"ladder\0{asset_key(job.path, job.ladder_repr(), job.root)}".encode()).hexdigest()


def _cached_ladder(cache: AssetCache, key: str) -> BuiltLadder | None:
    """A ladder from the cache: its info, then every body it lists; any part missing makes the whole a miss."""
    stored = cache.stored(key)
    if stored is None:
        return None
    try:
        info = json.loads(stored)
        names = [level["name"] for level in info["ladder"]["levels"]]
    except (ValueError, KeyError, TypeError):
        return None
    bodies = []
    for name in names:
        body = cache.stored(_level_key(key, name))
        if body is None:
            return None
        bodies.append(body)
    return BuiltLadder(info, tuple(bodies), key, cache.stored(_level_key(key, AR_BODY)))


USDZ_BODY = "usdz"  # the AR package is cached beside the ladder's levels, as if it were one more
AR_BODY = "ar"  # and so is the phone's level with PNG/JPEG textures, when the levels have others


def _level_key(key: str, name: str) -> str:
    return hashlib.sha256(f"{key}\0{name}".encode()).hexdigest()


def job_maker(loaded: LoadedSpec, options: BuildOptions, cache: AssetCache) -> Callable[[Artifact], AssetJob | None]:
    """The asset job of a model artifact (None for the others) as this build makes it."""
    asset_transforms, room_transforms = _transform_lists(options)
    # Draco quantizes as it encodes, and the writer compresses only float primitives with it.
    finishing = tuple(t for t in room_transforms if not (options.draco and _is_quantize(t)))
    ar_body = usdz.available() and options.texture_format != "keep"

    def make_job(artifact: Artifact) -> AssetJob | None:
        if artifact.model is None or artifact.place is None:  # not placed yet: in no room, so no ladder yet
            return None
        return AssetJob(path=artifact.model.path, metres_per_unit=artifact.metres_per_unit, up=artifact.up,
                        transforms=asset_transforms, root=loaded.root, room_transforms=finishing,
                        texture_format=options.texture_format, draco=options.draco, cache_root=cache.root,
                        ar_body=ar_body)

    return make_job


def load_ladders(exhibit: Exhibit, options: BuildOptions, cache: AssetCache, progress: Progress,
                 make_job: Callable[[Artifact], AssetJob | None]) -> tuple[dict[str, BuiltLadder], int, int]:
    """Ladder per model artifact id, from the cache where the key matches, else built now; and (hits, misses).

    A hit loads no geometry at all: the ladder's bodies and the model's shape are all the build needs."""
    jobs = asset_jobs(exhibit, make_job)
    keys = {job_id: _ladder_key(job) for job_id, job in jobs.items()}
    built: dict[str, BuiltLadder] = {}
    missing: dict[str, AssetJob] = {}
    for job_id, job in jobs.items():
        cached = _cached_ladder(cache, keys[job_id])
        if cached is not None and (cached.ar_body is not None or not job.ar_body):
            built[job_id] = cached
        else:
            missing[job_id] = job
    if missing:
        fresh = _run_jobs(missing, options, progress)
        for job_id, result in fresh.items():
            for level, body in zip(result.info["ladder"]["levels"], result.bodies, strict=True):
                cache.store(_level_key(keys[job_id], level["name"]), body)
            if result.ar_body is not None:
                cache.store(_level_key(keys[job_id], AR_BODY), result.ar_body)
            cache.store(keys[job_id], json.dumps(result.info).encode())
            built[job_id] = dataclasses.replace(result, key=keys[job_id])
    out: dict[str, BuiltLadder] = {}
    for artifact in exhibit.artifacts:
        used = make_job(artifact)
        if used is not None:
            out[artifact.id] = built[_job_id(used)]
    return out, len(jobs) - len(missing), len(missing)


# ---------------------------------------------------------------------------------------------- output


def _published(problem: Problem, root: Path) -> str:
    """A warning as report.json carries it: the file named from the exhibit folder, never the machine's own path."""
    try:
        shown = (root.name / Path(problem.file).resolve().relative_to(root)).as_posix()
    except ValueError:
        shown = Path(problem.file).name
    return dataclasses.replace(problem, file=shown).format()


def glb_bytes(scene: Scene, options: BuildOptions) -> bytes:
    """The scene as GLB bytes: meshopt-compressed, or Draco on request."""
    from pipeline.gltf import GltfOptions, encode_draco, write_glb

    if options.draco:
        gltf_options = GltfOptions(draco=True, draco_encoder=encode_draco)
    else:
        gltf_options = GltfOptions(meshopt=True)
    return write_glb(scene, gltf_options)


def write_room_glb(folder: Path, name: str, scene: Scene, options: BuildOptions) -> tuple[str, int]:
    """Write a room's GLB under a content-hashed name; returns (path relative to the exhibit folder, bytes)."""
    data = glb_bytes(scene, options)
    return write_named(folder, "rooms", name, data, ".glb"), len(data)


# ---------------------------------------------------------------------------------------------- build


def build(spec_path: Path, out_dir: Path, options: BuildOptions | None = None) -> BuildReport:
    """Compile the exhibit at spec_path into out_dir/<exhibit-id> (and the shared index and static files).

    The output is built in a staging folder inside out_dir and swapped in at the end, so a failed or
    interrupted build leaves the previous site as it was. Raises SpecError, AssetError, BudgetError or
    BuildError for known problems.
    """
    options = options or BuildOptions()
    # --no-cache reprocesses every asset and believes no remembered digest or measure either.
    with contextlib.nullcontext() if options.use_cache else source_facts.recomputed():
        return _build(Path(spec_path), Path(out_dir), options)


def _build(spec_path: Path, out_dir: Path, options: BuildOptions) -> BuildReport:
    heap.one_arena()  # before the build's first thread
    progress = Progress(options.progress, quiet=options.quiet)
    with progress.stage("load"):
        loaded = load_exhibit(spec_path, strict=options.strict)
    exhibit = loaded.exhibit
    if exhibit.id in RESERVED_NAMES:
        raise BuildError(f"exhibit id '{exhibit.id}' is taken by the site's shared files; choose another id")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out_dir))
    try:
        # One thread beside the build's own, for the AR packages (see write_usdz); leaving the block waits for it.
        with reporting_to(progress), concurrent.futures.ThreadPoolExecutor(1, "ar-package") as beside:
            report = _build_into(loaded, staging, out_dir, options, progress, beside)
        with progress.stage("publish"):
            publish(staging, out_dir, [exhibit.id, "static", "index.html"])
        report.timings = dict(progress.timings)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_into(loaded: LoadedSpec, staging: Path, out_dir: Path, options: BuildOptions,
                progress: Progress, beside: concurrent.futures.Executor) -> BuildReport:
    exhibit = loaded.exhibit
    folder = staging / exhibit.id
    folder.mkdir(parents=True)
    report = BuildReport(exhibit=exhibit.id, out_dir=str(out_dir / exhibit.id))
    report.warnings = [problem.format() for problem in loaded.warnings]
    cache_root = None
    if options.use_cache:
        cache_root = options.cache_dir or default_cache_dir()
    cache = AssetCache(cache_root)

    _, room_transforms = _transform_lists(options)
    with progress.stage("assets"):
        ladders, hits, misses = load_ladders(exhibit, options, cache, progress, job_maker(loaded, options, cache))
        image_textures = textures.load_textures(exhibit, cache)
    report.notes += dict.fromkeys(note for built in ladders.values() for note in built.info.get("notes", []))
    report.assets = hits + misses
    report.cache_hits, report.cache_misses = hits, misses
    assets = {artifact_id: built.shape for artifact_id, built in ladders.items()}

    with progress.stage("usdz"):  # what the cache holds, or usd-core's import; the packages are made beside the bake
        usdz_files = write_usdz(folder, exhibit, ladders, cache, report, beside)
    with progress.stage("compose"):
        composition = compose.compose(exhibit, assets, image_textures, remembered=cache.remembered)
    base_url = options.base_url if options.base_url is not None else exhibit.exhibit.base_url
    if base_url and not re.match(r"^https?://[^/\s]+", base_url):
        raise BuildError(f"--base-url {base_url} is not an http:// or https:// URL")
    if options.bake:
        with progress.stage("bake"):
            from pipeline import bake, contact_shadows

            ambient = {room.id: room.lighting.ambient for room in exhibit.rooms}
            models = {room.id: placed_models(composition, room, ladders) for room in composition.rooms}
            to_bake = [bake.RoomToBake(room.id, room.scene, ambient[room.id], [node for _, node in models[room.id]])
                       for room in composition.rooms]
            texels = contact_shadows.texels_for(exhibit.exhibit.targets)
            # Rooms cast their shadows independently, beside the bake (see contact_shadows.cast), and Embree
            # releases the GIL: threads, as for the bake.
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.worker_count)) as pool:
                casting = {room.id: pool.submit(contact_shadows.cast, room.scene, room.id, models[room.id], texels,
                                                cache.remembered, time.perf_counter) for room in composition.rooms}
                report.bakes = bake.bake_rooms(to_bake, bake.settings_for(exhibit.exhibit.targets),
                                               cache.remembered, time.perf_counter, options.worker_count,
                                               progress.step)
                laid = {room.id: contact_shadows.lay(room.scene, casting[room.id].result())
                        for room in composition.rooms}
            for row in report.bakes:
                row.update(laid[row["room"]])
    shell_keys: dict[str, str] = {}
    rooms_out: dict[str, manifest.RoomOutput] = {}
    with progress.stage("optimize"):
        # A room whose composed shell is unchanged (same content, settings and code) takes its GLBs, stats and
        # budget checks from the cache: only the rooms an edit touched are optimized and written again.
        settings = repr((room_transforms, options.draco, options.texture_format, exhibit.exhibit.targets,
                         exhibit.exhibit.over_budget, exhibit.exhibit.max_error,
                         [budgets.PROFILES[t] for t in exhibit.exhibit.targets], code_version()))
        fresh = []
        for room in composition.rooms:
            shell_keys[room.id] = content_digest(("room shell", settings, room.scene))
            restored = _restore_shell(folder, cache, shell_keys[room.id], report)
            if restored is not None:
                rooms_out[room.id] = restored
                report.shells_from_cache += 1
            else:
                fresh.append(room)
        shell_notes: dict[str, list[str]] = {}
        hung = {id(image_textures[str(a.image.path)]) for a in exhibit.artifacts
                if a.image is not None and str(a.image.path) in image_textures}
        prepared = _prepare_shells(fresh, exhibit, options, cache, room_transforms, shell_notes, hung)
    report.textures_encoded, report.textures_from_cache = cache.stats.encoded_misses, cache.stats.encoded_hits
    with progress.stage("write"):
        for number, room in enumerate(fresh, start=1):
            progress.step(number, len(fresh), room.id)
            lod_source, quantize, variants = prepared[room.id]
            checks_before = len(report.budgets)
            rooms_out[room.id] = _write_room(folder, room, exhibit, options, report, lod_source, quantize, variants)
            report.notes += [n for n in shell_notes[room.id] if n not in report.notes]
            _keep_shell(folder, cache, shell_keys[room.id], rooms_out[room.id], report.rooms[-1],
                        report.budgets[checks_before:], shell_notes[room.id])
    # Rooms in spec order, whichever came from the cache.
    order = {room.id: index for index, room in enumerate(composition.rooms)}
    report.rooms.sort(key=lambda r: order[r.room])
    report.budgets.sort(key=lambda c: order[c.room])
    with progress.stage("ladders"):
        digests: dict[str, str] = {}
        artifact_levels = write_ladders(folder, exhibit, composition, ladders, options, cache, digests)
        check_thumbs(report, exhibit, composition, artifact_levels)
    with progress.stage("manifest"):
        media = MediaWriter(folder)
        artifact_audio = {a.id: media.audio(a.audio) for a in exhibit.artifacts}
        stop_audio = {(t.id, i): media.audio(s.audio) for t in exhibit.tours for i, s in enumerate(t.stops)}
        records = {a.id: compose.record_dict(a.record) for a in exhibit.artifacts}
        data = manifest.build_manifest(exhibit, composition, rooms_out, artifact_audio, stop_audio, records,
                                       artifact_levels)
        museum = exhibit.exhibit.museum
        if museum is not None and museum.logo is not None:  # copied like media, under a content-hashed name
            data["exhibit"]["museum"]["logo"] = media.add_image(museum.logo.path, museum.logo.written)
        for entry in data["artifacts"]:
            plates = composition.caption_plates.get(entry["id"])
            if plates:  # one image per language: the viewer swaps the room's plate to the visitor's language
                entry["caption_plates"] = {language: media.add_data(f"{entry['id']}-caption-{language}",
                                                                    textures.webp_bytes(plate.data, True, cache),
                                                                    ".webp")
                                           for language, plate in plates.items()}
        interface_words = _interface_words(loaded.root)
        if interface_words:
            data["exhibit"]["ui_strings"] = interface_words
        packaged = usdz_files.result()
        for entry in data["artifacts"]:
            if entry["id"] in packaged:
                entry["usdz"] = packaged[entry["id"]]
    with progress.stage("standards"):
        fronts = {artifact_id: placement.front for artifact_id, placement in composition.artifacts.items()}

        def add_picture(path: Path, written: str) -> str:
            texture = image_textures.get(str(path))
            shown = None if texture is None else functools.partial(textures.picture_as_hung, texture, cache)
            return media.add_image(path, written, shown)

        pictures = standards.picture_files(exhibit.artifacts, add_picture) if base_url else {}
        linked_data = standards.write_standards(folder, data, fronts, base_url, pictures)
    if base_url:  # what the exports leave out, as `check` says it (without a base URL, check says why none)
        from pipeline.spec.exports import export_notes

        published = dataclasses.replace(exhibit, exhibit=dataclasses.replace(exhibit.exhibit, base_url=base_url))
        report.notes += [f"exports: {note}" for note in export_notes(published)]
    with progress.stage("site"):
        _write_pages(staging, out_dir, folder, exhibit, data, linked_data, options.link_report, digests)
    if options.posters:
        with progress.stage("posters"):
            if add_posters(staging, folder, exhibit, data, image_textures, cache, report.warnings, digests):
                # Again, now with the pictures (the structured data and the IIIF thumbnails name them too).
                linked_data = standards.write_standards(folder, data, fronts, base_url, pictures)
                _write_pages(staging, out_dir, folder, exhibit, data, linked_data, options.link_report, digests)
    report.files = len(data["files"]) + 1
    report.total_bytes = sum(f["bytes"] for f in data["files"]) + (folder / manifest.MANIFEST_NAME).stat().st_size
    cache.prune()
    source_facts.prune()
    report.timings = dict(progress.timings)
    # The published report names files from the exhibit folder; the terminal keeps the paths as check shows them.
    _write_report(folder, dataclasses.replace(report, warnings=[_published(problem, loaded.root)
                                                                for problem in loaded.warnings]), exhibit)
    return report


def _write_pages(staging: Path, out_dir: Path, folder: Path, exhibit: Exhibit, data: dict[str, Any],
                 linked_data: dict[str, Any], link_report: bool, digests: dict[str, str]) -> None:
    from pipeline.site import write_site

    write_site(staging, [data, *existing_manifests(out_dir, exhibit.id)], {exhibit.id: linked_data},
               link_report=link_report)
    # Pages of the other exhibits were only written to build the shared index; theirs stay as they are.
    for other in staging.iterdir():
        if other.is_dir() and other.name not in (exhibit.id, "static"):
            shutil.rmtree(other)
    manifest.write_manifest(folder, data, digests)


def add_posters(staging: Path, folder: Path, exhibit: Exhibit, data: dict[str, Any], image_textures: dict[str, Texture],
                cache: AssetCache, warnings: list[str], digests: dict[str, str] | None = None) -> bool:
    """Render (or take from the cache) a poster per artifact and a cover per room with the viewer itself; list
    them in the manifest (artifact `poster`, room `cover`, exhibit `cover`). True when any was added."""
    from pipeline import posters
    from pipeline.site import STATIC_DIR

    language = exhibit.default_language
    titles = {a.id: compose.text_map(a.record.title).get(language) or compose.text_map(a.alt).get(language) or a.id
              for a in exhibit.artifacts}
    titles.update({r.id: compose.text_map(r.name).get(language) or r.id for r in exhibit.rooms})
    fallbacks = {a.id: image_textures[str(a.image.path)].data for a in exhibit.artifacts
                 if a.image is not None and str(a.image.path) in image_textures}
    shots = posters.shots(data, titles, fallbacks)
    if not shots:
        return False
    inputs = posters.poster_inputs(folder, STATIC_DIR, data, cache.remembered, digests)
    pictures = posters.make_posters(staging, exhibit.id, shots, inputs, cache.remembered, warnings.append)
    posters.list_in_manifest(data, {name: write_named(folder, "posters", name, jpeg, ".jpg")
                                    for name, jpeg in pictures.items()})
    return True


def write_usdz(folder: Path, exhibit: Exhibit, ladders: dict[str, BuiltLadder], cache: AssetCache,
               report: BuildReport, beside: concurrent.futures.Executor | None = None
               ) -> concurrent.futures.Future[dict[str, str]]:
    """A USDZ (AR Quick Look) per model artifact whose full level may be downloaded; artifact id → path, when done.

    Each is its ladder's package, made from the level a phone loads when first wanted and cached beside the ladder
    (an artifact whose rights come to allow downloads costs one package, not a ladder), then titled and scaled to
    the artifact's height; without usd-core the build warns. When the cache holds every package, they are read
    here. Otherwise usd-core is imported here and the packages are made on `beside`, while the build goes on."""
    allowed = [a for a in exhibit.artifacts if a.model is not None and may_download(a, exhibit)]
    if allowed and not usdz.available():
        report.warnings.append("no USDZ for AR Quick Look on iPhones and iPads: pip install vitrina[ar] (usd-core)")
        allowed = []
    # Not placed: no ladder, so no package either.
    titled = [(artifact, ladders[artifact.id],
               compose.text_map(artifact.record.title).get(exhibit.default_language) or artifact.id)
              for artifact in allowed if artifact.id in ladders]

    def package_all() -> dict[str, str]:
        bases: dict[str, bytes] = {}  # by ladder key: one package per model, however many artifacts show it
        sources = []
        for artifact, built, title in titled:
            if built.key not in bases:
                try:
                    bases[built.key] = cache.remembered(_level_key(built.key, USDZ_BODY),
                                                        functools.partial(usdz.package_from_level, built.phone_body()))
                except BuildError as error:
                    raise BuildError(f"artifact '{artifact.id}': {error}") from None
            sources.append(usdz.UsdzSource(artifact.id, title, artifact.height, built.key, bases[built.key]))
        return {artifact_id: write_named(folder, "usdz", artifact_id, data, ".usdz")
                for artifact_id, data in usdz.packages(sources, cache.remembered).items()}

    keys = [key for artifact, built, title in titled
            for key in (_level_key(built.key, USDZ_BODY), usdz.package_key(built.key, title, artifact.height))]
    if beside is None or all(cache.holds(key) for key in keys):  # an entry found damaged is made again here
        done: concurrent.futures.Future[dict[str, str]] = concurrent.futures.Future()
        done.set_result(package_all())
        return done
    usdz.load()
    return beside.submit(contextvars.copy_context().run, package_all)


def _interface_words(spec_root: Path) -> dict[str, dict[str, Any]]:
    """The exhibit's ui-strings.yaml (`vitrina i18n import` writes it), read only where there is one: the reader
    brings ruamel.yaml and the translation tools, 25 ms of every build otherwise."""
    from pipeline.spec.loader import UI_OVERRIDE_FILE

    if not (spec_root / UI_OVERRIDE_FILE).is_file():
        return {}
    from pipeline.spec.translate import read_ui_overrides

    return read_ui_overrides(spec_root)


def placed_models(composition: compose.Composition, room: compose.ComposedRoom,
                  ladders: dict[str, BuiltLadder]) -> list[tuple[str, Node]]:
    """(artifact id, its coarsest level where it stands) for the room's models: what casts their shadows."""
    from pipeline import contact_shadows

    out = []
    for artifact_id in room.artifact_ids:
        placement, built = composition.artifacts[artifact_id], ladders.get(artifact_id)
        if placement.kind == "model" and placement.node is not None and built is not None:
            coarsest = min(built.as_ladder().levels, key=lambda level: level.triangles)
            out.append((artifact_id, contact_shadows.model_node(coarsest.data, placement.node)))
    return out


DOWNLOADABLE_RIGHTS = ("creativecommons.org/licenses/", "creativecommons.org/publicdomain/")


def may_download(artifact: Artifact, exhibit: Exhibit) -> bool:
    """Whether the artifact's rights (else the exhibit's) are an open licence or a public-domain mark, so that its
    faithful `full` level is offered for download."""
    rights = artifact.record.rights or exhibit.exhibit.rights
    return any(marker in rights for marker in DOWNLOADABLE_RIGHTS)


def write_ladders(folder: Path, exhibit: Exhibit, composition: compose.Composition, ladders: dict[str, BuiltLadder],
                  options: BuildOptions, cache: AssetCache,
                  digests: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Write each model artifact's levels under artifacts/, with the artifact's own node grafted onto the cached
    bodies (no geometry work); returns the manifest's `levels` per artifact id, and notes each file's sha256 in
    `digests` (so the manifest need not read the files again)."""
    out: dict[str, list[dict[str, Any]]] = {}
    previous = folder.parent.parent / folder.name  # this exhibit as the last build published it (OUT/<id>)
    for artifact_id, built in ladders.items():
        placement = composition.artifacts[artifact_id]
        assert placement.node is not None  # compose gives every model artifact its node
        artifact = exhibit.artifact(artifact_id)
        assert artifact is not None
        header_scene = Scene(name=artifact_id, copyright=exhibit.exhibit.rights or "",
                             nodes=[dataclasses.replace(placement.node, children=[])])
        # The writer is slow for one node; the node's content names its bytes (an edited title changes them).
        header_key = content_digest(("artifact header", header_scene, options.draco, code_version()))
        header = cache.stored(header_key)
        if header is None:
            header = glb_bytes(header_scene, options)
            cache.store(header_key, header)
        full = built.as_ladder()
        diagonal_metres = full.diagonal * float(placement.node.scale[0])
        entries = []
        for level in ladder.listed(full.levels, may_download(artifact, exhibit)):
            relative, digest, size = _write_level_file(folder, previous, cache, built, level, header, header_key,
                                                       artifact_id)
            digests[relative] = digest
            entry: dict[str, Any] = {
                "name": level.name, "glb": relative, "triangles": level.triangles, "bytes": size,
                "texels": level.texels, "gpu_bytes": level.gpu_bytes, "max_texture": level.max_texture,
                "error": round(level.error_relative * diagonal_metres, 6) + 0.0,
                "error_relative": level.error_relative, "draw_calls": level.draw_calls}
            if level.name == "full":
                entry["download"] = True
            entries.append(entry)
        out[artifact_id] = entries
    return out


def _write_level_file(folder: Path, previous: Path, cache: AssetCache, built: BuiltLadder, level: ladder.Level,
                      header: bytes, header_key: str, artifact_id: str) -> tuple[str, str, int]:
    """Write one level GLB (the cached body with the artifact grafted on); returns (path, sha256, bytes).

    The file a body and a header make is known by their keys: when the last published build holds a file of that
    name and size, it is hard-linked instead of grafted, hashed and written again (a rebuild of a big exhibit
    would otherwise copy hundreds of megabytes it already has)."""
    stem = f"artifacts/{re.sub(r'[^A-Za-z0-9_.-]+', '-', artifact_id)}.{level.name}"
    made_key = hashlib.sha256(f"level file\0{built.key}\0{level.name}\0{header_key}".encode()).hexdigest()
    known = cache.stored(made_key) if built.key else None
    target = folder / "artifacts"
    target.mkdir(parents=True, exist_ok=True)
    if known is not None:
        digest, size = known.decode().split()
        relative = f"{stem}.{digest[:6]}.glb"
        with contextlib.suppress(OSError):
            if (previous / relative).stat().st_size == int(size):
                os.link(previous / relative, folder / relative)
                return relative, digest, int(size)
    data = ladder.placed(level.data, header, artifact_id)
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{stem}.{digest[:6]}.glb"
    (folder / relative).write_bytes(data)
    if built.key:
        cache.store(made_key, f"{digest} {len(data)}".encode())
    return relative, digest, len(data)


def check_thumbs(report: BuildReport, exhibit: Exhibit, composition: compose.Composition,
                 levels: dict[str, list[dict[str, Any]]]) -> None:
    """Each target must at least load every room's shell with the thumb of each of its models: add the thumbs to
    the room's budget check, and fail (or, with over_budget: simplify, warn) where even that is over.

    Finer levels may exceed a target: its budget caps what the viewer loads, not what the build writes."""
    thumbs: dict[str, dict[str, int]] = {}
    for artifact_id, entries in levels.items():
        room = composition.artifacts[artifact_id].room
        total = thumbs.setdefault(room, {"triangles": 0, "draw_calls": 0, "bytes": 0, "texture_bytes_gpu": 0})
        thumb = entries[0]
        for metric, key in (("triangles", "triangles"), ("draw_calls", "draw_calls"), ("bytes", "bytes"),
                            ("texture_bytes_gpu", "gpu_bytes")):
            total[metric] += int(thumb[key])
    failures: list[str] = []
    for check in report.budgets:
        added = thumbs.get(check.room)
        if not added:
            continue
        for metric, value in added.items():
            if metric in check.values:
                check.values[metric] += value
        if check.over and check.action != "over":
            check.action = "over"
            over = ", ".join(f"{m} ({check.values[m]:,} > {check.limits[m]:,})" for m in check.over)
            failures.append(f"room {check.room} on {check.target}: the shell and the thumb of every model in it "
                            f"are over budget in {over}; give the room fewer models or drop {check.target} from "
                            f"exhibit.targets")
    if not failures:
        return
    if exhibit.exhibit.over_budget == "simplify":
        report.warnings.extend(failures)
        return
    lines = [*failures, *(f"  {a}: thumb {e[0]['triangles']:,} triangles, {e[0]['gpu_bytes'] / budgets.MB:.1f} MB GPU "
                          f"textures" for a, e in sorted(levels.items(), key=lambda item: -item[1][0]['triangles']))]
    raise BudgetError(f"{len(failures)} room/target budget(s) exceeded; nothing was built", lines)


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


def _prepare_shells(rooms: list[compose.ComposedRoom], exhibit: Exhibit, options: BuildOptions, cache: AssetCache,
                    room_transforms: tuple[Any, ...], notes: dict[str, list[str]], pictures: set[int],
                    ) -> dict[str, tuple[Scene | None, tuple[Any, ...], dict[str, Scene]]]:
    """Optimize each room's shell in place; room id → (unquantized copy for LODs, quantize transforms, per-target
    texture variants). `notes` gets, per room, a sentence for each texture some target gets smaller; `pictures` are
    the ids of the hung pictures' textures (see textures.pictures_as_jpeg)."""
    limits: dict[str, int] = {t: budgets.PROFILES[t].max_texture_size for t in exhibit.exhibit.targets}
    texture_limit = max(limits.values())
    before_quantize = tuple(t for t in room_transforms if not _is_quantize(t))
    # Draco quantizes as it encodes, and the writer compresses only float primitives with it.
    quantize = () if options.draco else tuple(t for t in room_transforms if _is_quantize(t))
    out: dict[str, tuple[Scene | None, tuple[Any, ...], dict[str, Scene]]] = {}
    for room in rooms:
        for transform in before_quantize:
            room.scene = transform(room.scene)
        # The room's GLB carries textures up to the most generous target's limit; a target with a lower one
        # whose limit a texture exceeds gets its own GLB with the same geometry and smaller textures.
        notes[room.id] = textures.texture_size_notes(room.scene, limits)
        textures.pictures_as_jpeg(room.scene, pictures, cache)
        textures.fit_textures(room.scene, texture_limit, cache=cache)
        variants = textures.target_variants(room.scene, limits, texture_limit, options.texture_format, cache, quantize)
        textures.encode_textures(room.scene, options.texture_format, cache)
        lod_source = None
        if exhibit.exhibit.over_budget == "simplify":
            # Simplification needs float positions: keep an unquantized copy in case a target needs an LOD.
            lod_source = textures.copy_sharing_textures(room.scene)
        for transform in quantize:
            room.scene = transform(room.scene)
        out[room.id] = (lod_source, quantize, variants)
    return out


def _shell_files(output: manifest.RoomOutput) -> list[str]:
    return [output.glb, *(lod["glb"] for lod in output.lod)]


def _keep_shell(folder: Path, cache: AssetCache, key: str, output: manifest.RoomOutput, room: RoomReport,
                checks: list[BudgetCheck], notes: list[str]) -> None:
    """Cache what writing one room shell produced: its files' bytes, its manifest entry, report row and checks."""
    for relative in _shell_files(output):
        cache.store(_level_key(key, relative), (folder / relative).read_bytes())
    record = {"output": dataclasses.asdict(output), "room": dataclasses.asdict(room),
              "checks": [dataclasses.asdict(c) for c in checks], "notes": notes}
    cache.store(key, json.dumps(record).encode())


def _restore_shell(folder: Path, cache: AssetCache, key: str, report: BuildReport) -> manifest.RoomOutput | None:
    """A room shell's files written from the cache, its rows added to the report; None (nothing written) on a miss."""
    stored = cache.stored(key)
    if stored is None:
        return None
    try:
        record = json.loads(stored)
        output = manifest.RoomOutput(**record["output"])
        room, checks = RoomReport(**record["room"]), [BudgetCheck(**c) for c in record["checks"]]
        notes = [str(note) for note in record["notes"]]
    except (ValueError, KeyError, TypeError):
        return None
    files = {relative: cache.stored(_level_key(key, relative)) for relative in _shell_files(output)}
    if any(data is None for data in files.values()):
        return None
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data or b"")
    report.rooms.append(room)
    report.budgets.extend(checks)
    report.notes += [n for n in notes if n not in report.notes]
    return output


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
        textures.fit_to_gpu_budget(lighter, profile)  # the room's own textures follow the most generous target
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
    _drop_unloaded_room_glb(folder, output, report.rooms[-1], exhibit.exhibit.targets)
    return output


def _drop_unloaded_room_glb(folder: Path, output: manifest.RoomOutput, row: RoomReport, targets: tuple[str, ...]) -> None:
    """When every target loads a GLB of its own, the room's full GLB is loaded by none: delete it, and let the most
    generous target's GLB be the room's `glb` (that target then needs no `lod` entry)."""
    if not targets or not {lod["target"] for lod in output.lod} >= set(targets):
        return
    widest = max(output.lod, key=lambda lod: (budgets.PROFILES[lod["target"]].max_texture_size,
                                              budgets.PROFILES[lod["target"]].triangles))
    (folder / output.glb).unlink()
    output.glb, output.stats = widest["glb"], dict(widest["stats"])
    output.lod = [lod for lod in output.lod if lod["glb"] != widest["glb"]]
    row.glb = widest["glb"]
    for key in ("triangles", "draw_calls", "bytes", "texture_bytes_gpu"):
        setattr(row, key, output.stats[key])


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
                       manifest=data, text=report.to_text(published=True), size=human_bytes)
    (folder / "report.html").write_text(html, encoding="utf-8")

