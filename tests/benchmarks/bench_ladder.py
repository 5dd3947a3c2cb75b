"""Ladder benchmark: each level's error against the source, next to gltfpack -si at the same triangle count; and the
warm rebuild of a 10-room, 200-artifact exhibit after one title edit.

`python -m tests.benchmarks.bench_ladder [--samples N] [--only NAME ...] [--no-docs]`

Quality: every scan of ../shared/corpus named in SCANS is ingested, its ladder built with the real level settings
(pipeline.ladder.LEVELS) and each level's GLB measured as bench_compiler measures outputs: two-way surface distances
(seeded samples plus every vertex) relative to the source's bounding-box diagonal, RMS and maximum (Hausdorff).
gltfpack simplifies the same source with `-si R -se 1` (R = our level's triangles / the source's, its error limit
lifted so that it reaches the count), and is measured the same way. `reported` is the error the manifest lists
(error_relative), which should bound the measured Hausdorff distance.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.benchmarks.bench_compiler import CORPUS, NODE_MODULES, compile_ours, run_timed, surface_error
from tests.benchmarks.bench_compiler import surface as _surface
from tests.benchmarks.doc_section import write_section


def surface(path: Path) -> Any:
    """(trimesh surface, decoded geometry) of a GLB, as bench_compiler reads every tool's output."""
    return _surface(path)


SCANS = {"Igea": "igea.ply", "Nefertiti": "nefertiti.obj", "Gargoyle": "gargo.ply"}


def build_levels(source: Path, work: Path) -> tuple[list[dict[str, Any]], float]:
    """Our ladder of one model (offset 0, so every level shares the source's frame); rows per level, and seconds."""
    from pipeline import ladder
    from pipeline.build import BuildOptions, _transform_lists, glb_bytes, level_finishers
    from pipeline.ingest import load_asset
    from pipeline.textures import fit_textures

    started = time.perf_counter()
    asset_transforms, room_transforms = _transform_lists(BuildOptions())
    scene = load_asset(source)
    for transform in asset_transforms:
        scene = transform(scene)

    finish, finish_simplified = level_finishers(room_transforms)
    tools = ladder.LadderTools(write=lambda level: glb_bytes(level, BuildOptions()), fit_textures=fit_textures,
                               encode_textures=lambda level: None, finish=finish, finish_simplified=finish_simplified)
    built = ladder.build_ladder(scene, (0.0, 0.0, 0.0), tools)
    seconds = time.perf_counter() - started
    rows = []
    for level in built.levels:
        path = work / f"{source.stem}.{level.name}.glb"
        path.write_bytes(level.data)
        rows.append({"level": level.name, "path": path, "triangles": level.triangles, "bytes": len(level.data),
                     "reported": level.error_relative})
    return rows, seconds


def colour_error(reference: Any, candidate: Any, samples: int) -> float | None:
    """RMS distance, in 8-bit sRGB steps (Euclidean over R, G, B), between the source's vertex colour at seeded
    points of its surface and the level's at the nearest point of the level's surface; None for a source without
    vertex colours. What a visitor sees of a scan coloured per vertex, level by level."""
    import trimesh

    from pipeline.colour import linear_to_srgb

    if reference.colours is None:
        return None
    low = reference.vertices.min(axis=0)
    unit = 1000.0 / float(np.linalg.norm(reference.vertices.max(axis=0) - low))  # as surface_error, for trimesh
    source = trimesh.Trimesh((reference.vertices - low) * unit, reference.faces, process=False)
    level = trimesh.Trimesh((candidate.vertices - low) * unit, candidate.faces, process=False)
    level_colours = candidate.colours if candidate.colours is not None else np.ones((len(candidate.vertices), 3))

    def colour_at(mesh: Any, colours: np.ndarray, points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        weights = trimesh.triangles.points_to_barycentric(mesh.triangles[triangles], points)
        return linear_to_srgb(np.einsum("ij,ijk->ik", weights, colours[mesh.faces[triangles]]))

    points, triangles = trimesh.sample.sample_surface(source, samples, seed=7)
    nearest, _, near_triangles = trimesh.proximity.closest_point(level, points)
    difference = (colour_at(source, reference.colours, points, triangles)
                  - colour_at(level, level_colours, nearest, near_triangles)) * 255
    return float(np.sqrt(np.mean(np.sum(difference ** 2, axis=1))))


def gltfpack(source: Path, ratio: float, out: Path, *extra: str) -> None:
    command = ["node", str(NODE_MODULES / "gltfpack" / "cli.js"), "-i", str(source), "-o", str(out), "-cc",
               "-si", f"{ratio:.6f}", "-se", "1", *extra]
    run = run_timed(command)
    if run.returncode != 0:
        raise RuntimeError(f"gltfpack failed: {run.message}")


def quality(only: list[str] | None, samples: int, work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, file in SCANS.items():
        if only and name not in only:
            continue
        plain = work / f"{name}.source.glb"
        compile_ours(CORPUS / name / file, plain, optimize=False)  # the reference, and gltfpack's input
        reference, geometry = surface(plain)
        source_triangles = int(geometry.triangles)  # type: ignore[attr-defined]
        levels, seconds = build_levels(plain, work)
        for level in levels:
            mesh, level_geometry = surface(level["path"])
            rms, hausdorff = surface_error(reference, mesh, samples)
            row = {"model": name, "source_triangles": source_triangles, "ladder_seconds": seconds, **level,
                   "rms": rms, "hausdorff": hausdorff, "colour": colour_error(geometry, level_geometry, samples)}
            if level["triangles"] < source_triangles:
                theirs = work / f"{name}.{level['level']}.gltfpack.glb"
                gltfpack(plain, level["triangles"] / source_triangles, theirs)
                their_mesh, their_geometry = surface(theirs)
                row["gltfpack_triangles"] = int(their_geometry.triangles)  # type: ignore[attr-defined]
                row["gltfpack_bytes"] = theirs.stat().st_size
                row["gltfpack_rms"], row["gltfpack_hausdorff"] = surface_error(reference, their_mesh, samples)
                row["gltfpack_colour"] = colour_error(geometry, their_geometry, samples)
                if row["colour"] is not None:  # gltfpack weighs vertex colours only with -sv
                    weighed = work / f"{name}.{level['level']}.gltfpack-sv.glb"
                    gltfpack(plain, level["triangles"] / source_triangles, weighed, "-sv")
                    row["gltfpack_sv_colour"] = colour_error(geometry, surface(weighed)[1], samples)
            row.pop("path")
            rows.append(row)
            print(row, flush=True)
    return rows


def incremental(work: Path) -> dict[str, float]:
    """Cold build, warm build, then a one-title edit, of 10 rooms × (19 models + 1 picture) = 200 artifacts, with
    one 76,800-triangle model file per room (each used 19 times)."""
    from pipeline.build import BuildOptions, build
    from tests.pipeline.test_incremental import big_exhibit

    spec = big_exhibit(work / "big", rings=160, segments=240)
    out, cache = work / "site", work / "cache"
    timings = {}
    for label in ("cold", "warm", "title edit"):
        if label == "title edit":
            big_exhibit(work / "big", title="Picture three", rings=160, segments=240)
        started = time.perf_counter()
        report = build(spec, out, BuildOptions(quiet=True, cache_dir=cache))
        timings[label] = time.perf_counter() - started
        timings[f"{label} rooms rewritten"] = 10 - report.shells_from_cache
        print(label, round(timings[label], 2), {k: round(v, 2) for k, v in report.timings.items()}, flush=True)
    return timings


def _e(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _steps(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def markdown(rows: list[dict[str, Any]], big: dict[str, float] | None, command: str) -> str:
    lines = [
        "## Artifact ladder: error per level, next to gltfpack at the same triangle count",
        "",
        f"`{command}`",
        "",
        "Errors are relative to the source's bounding-box diagonal (two-way surface distance: seeded samples plus "
        "every vertex). `reported` is what exhibit.json lists as `error_relative` (a conservative estimate); "
        "gltfpack ran `-cc -si R -se 1` with R = our triangles / the source's. Colour, for a source coloured per "
        "vertex: RMS distance in 8-bit sRGB steps between the source's colour at seeded points of its surface and "
        "the level's at the nearest point; gltfpack weighs vertex colours only with `-sv`, run for that column.",
        "",
        "| model | level | triangles | bytes | reported | RMS | Hausdorff | colour | gltfpack triangles | gltfpack RMS | "
        "gltfpack Hausdorff | gltfpack colour | gltfpack -sv colour |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} ({row['source_triangles']:,}; ladder {row['ladder_seconds']:.1f} s) | {row['level']} | "
            f"{row['triangles']:,} | {row['bytes']:,} | {_e(row['reported'])} | {_e(row['rms'])} | "
            f"{_e(row['hausdorff'])} | {_steps(row['colour'])} | {row.get('gltfpack_triangles', '—')} | "
            f"{_e(row.get('gltfpack_rms'))} | {_e(row.get('gltfpack_hausdorff'))} | "
            f"{_steps(row.get('gltfpack_colour'))} | {_steps(row.get('gltfpack_sv_colour'))} |")
    if big:
        lines += [
            "",
            "### 10 rooms, 200 artifacts (one 76,800-triangle model file per room, 19 uses each, one picture)",
            "",
            "| build | seconds | room shells optimized and written |",
            "|---|---:|---:|",
        ]
        for label in ("cold", "warm", "title edit"):
            lines.append(f"| {label} | {big[label]:.2f} | {int(big[f'{label} rooms rewritten'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000, help="surface points per direction")
    parser.add_argument("--only", nargs="*", help="corpus folder names (skips the big-exhibit rebuild)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir() or shutil.which("node") is None or not NODE_MODULES.is_dir():
        print(f"needs {CORPUS} and node with node_modules (make setup)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-ladder-") as tmp:
        rows = quality(args.only, args.samples, Path(tmp))
        big = None if args.only else incremental(Path(tmp))
    command = "python -m tests.benchmarks.bench_ladder" + (f" --samples {args.samples}" if args.samples != 20000
                                                            else "")
    section = markdown(rows, big, command)
    print(section)
    if args.no_docs or args.only:
        return 0  # a partial run never replaces the recorded table
    write_section("ladder", section)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
