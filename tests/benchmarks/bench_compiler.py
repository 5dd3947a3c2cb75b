"""Compiler benchmark: ours vs gltfpack -cc vs gltf-transform optimize on ../shared/corpus, side by side in one run.

`python -m tests.benchmarks.bench_compiler [--repeats N] [--samples N] [--only NAME ...] [--no-docs]`

Each tool runs in its own subprocess under /usr/bin/time (wall time and peak RSS), alternating tools in every
round (A B C A B C ...); times are medians. Outputs are measured by tests.benchmarks.glb_reader, which decodes
EXT_meshopt_compression with meshoptimizer's decoders, dequantizes KHR_mesh_quantization accessors and expands
EXT_mesh_gpu_instancing, so every tool's output is read the same way. Geometric error: points sampled on the source
surface are matched to the output surface with trimesh.proximity.closest_point, and the other way round; RMS and
maximum (Hausdorff) over both directions, relative to the source's bounding-box diagonal.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.benchmarks.doc_section import write_section

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
NODE_MODULES = REPO / "node_modules"
MODEL_EXTENSIONS = (".glb", ".gltf", ".obj", ".ply", ".stl")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".ktx2")
TOOLS = ("ours", "gltfpack", "gltf-transform")
# Errors this close count as equal: two files on the same integer grid differ by this much from how float32
# arithmetic rounds vertices that sit halfway between two grid points.
TIE = 0.001
TOOL_READS = {"gltfpack": (".glb", ".gltf", ".obj"), "gltf-transform": (".glb", ".gltf")}


# ---- the tool subprocesses -----------------------------------------------------------------------------------


def compile_ours(source: Path, out: Path, optimize: bool = True) -> None:
    """ingest → default transforms → write_glb with meshopt; optimize=False writes a plain GLB for the references."""
    from pipeline.gltf import GltfOptions, write_glb
    from pipeline.ingest import load_asset
    from pipeline.transforms.presets import GeometryOptions, apply_transforms, default_transforms

    scene = load_asset(source)
    if optimize:
        options = GeometryOptions()
        apply_transforms(scene, default_transforms(options))
        out.write_bytes(write_glb(scene, GltfOptions(meshopt=options.meshopt)))
    else:
        out.write_bytes(write_glb(scene, GltfOptions()))


def tool_command(tool: str, source: Path, out: Path) -> list[str]:
    if tool == "ours":
        return [sys.executable, "-m", "tests.benchmarks.bench_compiler", "--compile", str(source), str(out)]
    if tool == "gltfpack":
        return ["node", str(NODE_MODULES / "gltfpack" / "cli.js"), "-i", str(source), "-o", str(out), "-cc"]
    return [str(NODE_MODULES / ".bin" / "gltf-transform"), "optimize", str(source), str(out),
            "--compress", "meshopt", "--simplify", "false", "--texture-compress", "false"]


@dataclass
class Run:
    seconds: float
    peak_rss_kb: int
    returncode: int
    message: str


def run_timed(command: list[str]) -> Run:
    """One subprocess under /usr/bin/time: its wall time, peak RSS and first line of complaint."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", timing.name, *command], capture_output=True,
                              text=True, cwd=REPO, timeout=900, check=False)
        wall = time.perf_counter() - started
        fields_ = timing.read().split()
    rss = int(fields_[-1]) if fields_ and fields_[-1].isdigit() else 0
    complaint = (done.stderr.strip() or done.stdout.strip()).splitlines()
    relevant = [line for line in complaint if "rror" in line or "ailed" in line] or complaint
    return Run(wall, rss, done.returncode, relevant[-1][:160] if relevant else "")


# ---- measuring outputs ----------------------------------------------------------------------------------------


@dataclass
class Measure:
    file_bytes: int = 0
    geometry_bytes: int = 0
    json_bytes: int = 0
    gzip_bytes: int = 0
    draw_calls: int = 0
    triangles: int = 0
    rms: float | None = None
    hausdorff: float | None = None
    validator: str = ""
    failure: str = ""
    seconds: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)


def geometry_part(path: Path) -> tuple[int, bytes]:
    """(image bytes, everything else) of a GLB: the JSON chunk and the binary chunk minus embedded images."""
    from tests.helpers import glb_parts

    data = path.read_bytes()
    doc, binary = glb_parts(data)
    ranges = sorted((doc["bufferViews"][img["bufferView"]].get("byteOffset", 0),
                     doc["bufferViews"][img["bufferView"]]["byteLength"])
                    for img in doc.get("images", []) if "bufferView" in img)
    kept, cursor = bytearray(), 0
    for start, length in ranges:
        kept += binary[cursor:start]
        cursor = max(cursor, start + length)
    kept += binary[cursor:]
    images = sum(length for _, length in ranges)
    return images, json.dumps(doc, separators=(",", ":")).encode() + bytes(kept)


def source_geometry_bytes(model: Path) -> int:
    """Source bytes without images: the model file and its buffers, minus images embedded in a GLB."""
    if model.suffix == ".glb":
        images, _ = geometry_part(model)
        return model.stat().st_size - images
    return sum(f.stat().st_size for f in model.parent.iterdir()
               if f.is_file() and f.suffix.lower() not in IMAGE_EXTENSIONS and f.name != "SOURCE.md")


def surface(path: Path) -> object:
    import trimesh

    from tests.benchmarks.glb_reader import read_glb

    geometry = read_glb(path)
    return trimesh.Trimesh(geometry.vertices, geometry.faces, process=False), geometry


def _canonical(mesh: object, low: np.ndarray, unit: float) -> object:
    """The mesh as a triangle soup in a fixed order, in a frame scaled by `unit` from `low`.

    Each triangle starts at its smallest corner (winding kept) and triangles are sorted, because seeded sampling
    picks triangles by their place in the list: two files that hold the same triangles in another order, or with
    other vertex sharing, get the very same sample points and the same error figures.
    """
    import trimesh

    assert isinstance(mesh, trimesh.Trimesh)
    corners = (np.asarray(mesh.vertices, dtype=np.float64)[mesh.faces] - low) * unit  # (F, 3, 3)
    flat = corners.reshape(-1, 3)
    rank = np.empty(len(flat), dtype=np.int64)
    rank[np.lexsort((flat[:, 2], flat[:, 1], flat[:, 0]))] = np.arange(len(flat))
    first = rank.reshape(-1, 3).argmin(axis=1)
    corners = corners[np.arange(len(corners))[:, None], (first[:, None] + np.arange(3)) % 3]
    corners = corners[np.lexsort(corners.reshape(-1, 9).T[::-1])]
    return trimesh.Trimesh(corners.reshape(-1, 3), np.arange(corners.shape[0] * 3).reshape(-1, 3), process=False)


def surface_error(reference: object, candidate: object, samples: int) -> tuple[float, float]:
    """RMS and maximum of two-way surface distances, relative to the reference's bbox diagonal.

    The points of each direction are `samples` seeded surface samples plus every vertex: a quantized surface is
    farthest from the source at its vertices (the offset is linear across a triangle), so the maximum is the true
    Hausdorff distance rather than a sampled guess at it, and a small mesh is not judged by lucky samples.
    """
    import trimesh

    assert isinstance(reference, trimesh.Trimesh) and isinstance(candidate, trimesh.Trimesh)
    low = reference.bounds[0]
    # trimesh's closest-point search has absolute tolerances: on a 7 cm scan a point on the surface itself came
    # back 1.6e-3 diagonals away. Measured in a frame where the diagonal is 1000 units, self-distance is 1e-16.
    unit = 1000.0 / float(np.linalg.norm(reference.bounds[1] - low))
    ref, out = _canonical(reference, low, unit), _canonical(candidate, low, unit)
    distances = []
    for a, b in ((ref, out), (out, ref)):
        vertices = np.unique(np.asarray(a.vertices), axis=0)  # type: ignore[attr-defined]
        points = np.concatenate([a.sample(samples, seed=7), vertices])  # type: ignore[attr-defined]
        distances.append(trimesh.proximity.closest_point(b, points)[1])
    both = np.concatenate(distances) / 1000.0
    return float(np.sqrt(np.mean(both ** 2))), float(both.max())


def measure_output(path: Path, reference: object, samples: int) -> Measure:
    found = Measure()
    if not path.exists() or path.stat().st_size == 0:
        found.failure = "empty output" if path.exists() else "no output"
        return found
    found.file_bytes = path.stat().st_size
    images, rest = geometry_part(path)
    found.geometry_bytes = found.file_bytes - images
    found.json_bytes = int.from_bytes(path.read_bytes()[12:16], "little")
    found.gzip_bytes = len(gzip.compress(rest, 9, mtime=0))
    try:
        mesh, geometry = surface(path)
    except Exception as error:  # a reader failure is a result to report, not a crash of the benchmark
        found.failure = f"unreadable: {error}"
        return found
    found.draw_calls, found.triangles = geometry.draw_calls, geometry.triangles  # type: ignore[attr-defined]
    if found.triangles == 0:
        found.failure = "no triangles"
        return found
    found.rms, found.hausdorff = surface_error(reference, mesh, samples)
    return found


def validate(paths: list[Path]) -> list[str]:
    from tests.gltf_validator import validate_many

    reports = validate_many(paths)
    return [f"{r['issues']['numErrors']} errors" for r in reports]


# ---- the run --------------------------------------------------------------------------------------------------


def corpus_models(only: list[str] | None) -> list[tuple[str, Path]]:
    models = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        if only and folder.name not in only:
            continue
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in MODEL_EXTENSIONS)
        if files:
            models.append((folder.name, files[0]))
    return models


def benchmark(only: list[str] | None, repeats: int, samples: int, work: Path) -> tuple[list[dict[str, object]], str]:
    rows: list[dict[str, object]] = []
    for name, model in corpus_models(only):
        print(f"-- {name}", flush=True)
        plain = work / f"{name}.plain.glb"
        compile_ours(model, plain, optimize=False)  # the reference surface, and the input for tools that need it
        reference, _ = surface(plain)
        inputs: dict[str, tuple[Path, str]] = {"ours": (model, model.suffix)}
        for tool, reads in TOOL_READS.items():
            inputs[tool] = (model, model.suffix) if model.suffix in reads else (plain, "plain GLB by our ingest")
        measures = {tool: Measure() for tool in TOOLS}
        outputs = {tool: work / f"{name}.{tool}.glb" for tool in TOOLS}
        failures: dict[str, str] = {}
        for _ in range(repeats):
            for tool in TOOLS:  # A B C A B C: every tool sees the same machine load
                outputs[tool].unlink(missing_ok=True)
                run = run_timed(tool_command(tool, inputs[tool][0], outputs[tool]))
                measures[tool].seconds.append(run.seconds)
                measures[tool].rss_kb.append(run.peak_rss_kb)
                if run.returncode != 0:
                    failures[tool] = f"exit {run.returncode}: {run.message}"
        for tool in TOOLS:
            found = measure_output(outputs[tool], reference, samples)
            found.seconds, found.rss_kb = measures[tool].seconds, measures[tool].rss_kb
            found.failure = failures.get(tool, found.failure)
            measures[tool] = found
        readable = [tool for tool in TOOLS if not measures[tool].failure]
        for tool, verdict in zip(readable, validate([outputs[t] for t in readable]), strict=True):
            measures[tool].validator = verdict
        for tool in TOOLS:
            m = measures[tool]
            rows.append({
                "model": name, "input": model.suffix, "tool": tool, "fed": inputs[tool][1],
                "source_geometry_bytes": source_geometry_bytes(model), "geometry_bytes": m.geometry_bytes,
                "json_bytes": m.json_bytes,
                "gzip_bytes": m.gzip_bytes, "draw_calls": m.draw_calls, "triangles": m.triangles,
                "rms": m.rms, "hausdorff": m.hausdorff, "validator": m.validator, "failure": m.failure,
                "seconds": statistics.median(m.seconds), "rss_mb": statistics.median(m.rss_kb) / 1024,
            })
            print(f"   {tool:15} {m.geometry_bytes:>9} B  {m.failure or m.validator}", flush=True)
    command = (f"python -m tests.benchmarks.bench_compiler --repeats {repeats} --samples {samples}"
               + (f" --only {' '.join(only)}" if only else ""))
    return rows, command


def _error(value: object) -> str:
    return "–" if value is None else f"{float(value):.1e}"  # type: ignore[arg-type]


def markdown(rows: list[dict[str, object]], command: str, repeats: int) -> str:
    lines = [
        "| model | tool (input) | geometry bytes | vs gltfpack | of which JSON | gzip | draw calls | triangles "
        "| RMS err | Hausdorff | validator | time | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    by_model: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        by_model.setdefault(str(row["model"]), {})[str(row["tool"])] = row
    for model, tools in by_model.items():
        pack = tools.get("gltfpack", {})
        pack_bytes = int(pack.get("geometry_bytes", 0) or 0) if not pack.get("failure") else 0  # type: ignore[call-overload]
        for tool in TOOLS:
            row = tools[tool]
            fed = "" if row["fed"] == row["input"] else f" ({row['fed']})"
            if row["failure"]:
                lines.append(f"| {model} | {tool}{fed} | **failed**: {row['failure']} | | | | | | | | | "
                             f"{float(row['seconds']):.2f} s | {float(row['rss_mb']):.0f} MB |")  # type: ignore[arg-type]
                continue
            geometry = int(row["geometry_bytes"])  # type: ignore[call-overload]
            ratio = f"{geometry / pack_bytes:.3f}" if pack_bytes else "–"
            lines.append(
                f"| {model} | {tool}{fed} | {geometry:,} | {ratio} | {int(row['json_bytes']):,} | "  # type: ignore[call-overload]
                f"{int(row['gzip_bytes']):,} | "  # type: ignore[call-overload]
                f"{row['draw_calls']} | {int(row['triangles']):,} | {_error(row['rms'])} | "  # type: ignore[call-overload]
                f"{_error(row['hausdorff'])} | {row['validator']} | {float(row['seconds']):.2f} s | "  # type: ignore[arg-type]
                f"{float(row['rss_mb']):.0f} MB |")  # type: ignore[arg-type]
    summary = summarize(rows)
    return "\n".join([
        "## Compiler: ours vs gltfpack -cc vs gltf-transform optimize",
        "",
        f"`{command}` ({repeats} alternating rounds per model; time and RSS are medians, each tool in its own "
        "process under /usr/bin/time). Geometry bytes are the file minus embedded image bytes (JSON included); gzip "
        "is that part after gzip -9. Errors are two-way surface distances (trimesh.proximity) from seeded samples "
        "plus every vertex, relative to the source's bounding-box diagonal, with each file's triangles put in one "
        "canonical order first (so equal geometry measures equal), read back through meshoptimizer's own "
        "decoders. Settings: ours = default preset (animations, prune, weld (normals within half an 8-bit step "
        "count as equal), dedup, merge (same material into one primitive, then a region's other static meshes "
        "joined into one mesh), instance, quantize 14/12/8 bits on gltfpack's grid or a phase of it that is no "
        "worse in worst and RMS offset, weld again, reorder) + EXT_meshopt_compression; "
        "`gltfpack -cc`; `gltf-transform optimize --compress meshopt --simplify false --texture-compress false`. "
        "Inputs the references cannot read are fed as a plain GLB made by our ingest and writer (marked). "
        "Textures pass through untouched in all three.",
        "",
        *lines,
        "",
        *summary,
    ])


def summarize(rows: list[dict[str, object]]) -> list[str]:
    totals: dict[str, list[int]] = {tool: [0, 0] for tool in TOOLS}
    beaten, compared, binary_beaten = [], 0, []
    by_model: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        by_model.setdefault(str(row["model"]), {})[str(row["tool"])] = row
    for tools in by_model.values():
        if any(tools[t]["failure"] for t in TOOLS):
            continue
        for tool in TOOLS:
            totals[tool][0] += int(tools[tool]["geometry_bytes"])  # type: ignore[call-overload]
            totals[tool][1] += int(tools[tool]["source_geometry_bytes"])  # type: ignore[call-overload]
    for model, tools in by_model.items():
        ours, pack = tools["ours"], tools["gltfpack"]
        if ours["failure"] or pack["failure"]:
            continue
        compared += 1
        if int(ours["geometry_bytes"]) > int(pack["geometry_bytes"]):  # type: ignore[call-overload]
            beaten.append(model)
        ours_binary = int(ours["geometry_bytes"]) - int(ours["json_bytes"])  # type: ignore[call-overload]
        pack_binary = int(pack["geometry_bytes"]) - int(pack["json_bytes"])  # type: ignore[call-overload]
        if ours_binary > pack_binary:
            binary_beaten.append(f"{model} ({ours_binary / pack_binary:.2f}×)")
    lines = ["Over the models every tool read, geometry bytes as a share of the source's: " + ", ".join(
        f"{tool} {100 * b / s:.1f} %" for tool, (b, s) in totals.items() if s)]
    lines.append(f"Ours at or below gltfpack -cc in geometry bytes on {compared - len(beaten)} of {compared} models "
                 f"it read" + (f"; above on {', '.join(beaten)}." if beaten else "."))
    lines.append(f"Without the JSON chunk (buffers only): at or below on {compared - len(binary_beaten)} of {compared}"
                 + (f"; above on {', '.join(binary_beaten)}." if binary_beaten else "."))
    json_totals = {tool: sum(int(t[tool]["json_bytes"]) for t in by_model.values()  # type: ignore[call-overload]
                             if not t["ours"]["failure"] and not t["gltfpack"]["failure"]) for tool in ("ours", "gltfpack")}
    lines.append(f"JSON chunks over those models: ours {json_totals['ours']:,} bytes, gltfpack {json_totals['gltfpack']:,}.")
    for measure, label in (("rms", "RMS"), ("hausdorff", "Hausdorff")):
        ratios = {m: float(t["ours"][measure]) / float(t["gltfpack"][measure])  # type: ignore[arg-type]
                  for m, t in by_model.items() if not t["ours"]["failure"] and not t["gltfpack"]["failure"]}
        above = [f"{m} ({r:.3f}×)" for m, r in ratios.items() if r > 1 + TIE]
        tied = [f"{m} (+{100 * (r - 1):.3f} %)" for m, r in ratios.items() if 1 < r <= 1 + TIE]
        lines.append(f"{label} error above gltfpack's on: " + (", ".join(above) if above else "none")
                     + (f"; within {100 * TIE:.1f} % above (float32 rounding on the same grid): {', '.join(tied)}"
                        if tied else "") + ".")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20000, help="surface points per direction")
    parser.add_argument("--only", nargs="*", help="corpus folder names")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--from-json", type=Path, help="rebuild the table from a --json file without running")
    args = parser.parse_args(argv)
    if args.compile:
        compile_ours(Path(args.compile[0]), Path(args.compile[1]))
        return 0
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        section = markdown(saved["rows"], saved["command"], saved["repeats"])
        print(section)
        if not args.no_docs:
            write_section("compiler", section)
        return 0
    if not CORPUS.is_dir() or shutil.which("node") is None or not NODE_MODULES.is_dir():
        print(f"needs {CORPUS} and node with node_modules (make setup)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-") as tmp:
        rows, command = benchmark(args.only, args.repeats, args.samples, Path(tmp))
    section = markdown(rows, command, args.repeats)
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"command": command, "repeats": args.repeats, "rows": rows}, indent=1))
    if not args.no_docs and not args.only:
        write_section("compiler", section)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
