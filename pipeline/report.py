"""BuildReport: per-stage timings, per-room sizes against every target's budget; text, JSON, SVG plans, progress."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any, TextIO

# The metrics every room is measured on, in table order, with how each is shown.
METRICS = ("triangles", "draw_calls", "bytes", "texture_bytes_gpu")
METRIC_LABELS = {"triangles": "triangles", "draw_calls": "draw calls", "bytes": "bytes", "texture_bytes_gpu": "GPU tex"}


@dataclass
class BudgetCheck:
    """One room against one target: each metric's value and limit, and what the build did about an excess."""

    room: str
    target: str
    values: dict[str, int]
    limits: dict[str, int]
    action: str = "ok"  # "ok", "lod" (a lower level of detail was generated), "over" (reported, build failed)
    lod_error: float | None = None  # geometric error of the LOD relative to the bounding-box diagonal

    @property
    def over(self) -> list[str]:
        return [m for m in METRICS if m in self.limits and self.values.get(m, 0) > self.limits[m]]


@dataclass
class RoomReport:
    room: str
    glb: str
    triangles: int
    draw_calls: int
    bytes: int
    texture_bytes_gpu: int
    artifacts: int


@dataclass
class BuildReport:
    """What one build did: returned by build(), printed by the CLI, written as report.json and report.html."""

    exhibit: str
    out_dir: str
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds, in stage order
    rooms: list[RoomReport] = field(default_factory=list)
    budgets: list[BudgetCheck] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    assets: int = 0
    textures_encoded: int = 0  # textures re-encoded (KTX2, WebP) in this build
    textures_from_cache: int = 0  # re-encoded textures taken from the cache instead
    shells_from_cache: int = 0  # rooms whose composed shell was unchanged: GLBs taken from the cache, not rewritten
    files: int = 0
    total_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    # per room: seconds, cached, bytes, size, texel; contact_shadows (how many) and contact_seconds
    bakes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the build repaired or resized, one plain sentence each

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as published beside the site: without out_dir, the build machine's own path."""
        data = asdict(self)
        del data["out_dir"]
        data["total_seconds"] = round(self.total_seconds, 4)
        data["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        for check in data["budgets"]:
            check["over"] = [m for m in METRICS if m in check["limits"] and check["values"].get(m, 0) > check["limits"][m]]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self, published: bool = False) -> str:
        """A plain table: rooms with their sizes, then each room against each target, then stage timings.

        `published` leaves out where the site was written (a path on the build machine) for report.html.
        """
        where = "" if published else f" into {self.out_dir}"
        lines = [f"built {self.exhibit}{where}: {self.files} files, {human_bytes(self.total_bytes)}"]
        rows = [["room", "triangles", "draw calls", "bytes", "GPU tex", "artifacts"]]
        rows += [[r.room, f"{r.triangles:,}", str(r.draw_calls), human_bytes(r.bytes),
                  human_bytes(r.texture_bytes_gpu), str(r.artifacts)] for r in self.rooms]
        lines += _table(rows)
        if self.budgets:
            lines.append("")
            rows = [["room", "target", *[METRIC_LABELS[m] for m in METRICS], "result"]]
            for check in self.budgets:
                cells = [_against(check, m) for m in METRICS]
                result = {"ok": "ok", "lod": f"LOD (error {check.lod_error or 0:.4f})", "over": "OVER"}[check.action]
                rows.append([check.room, check.target, *cells, result])
            lines += _table(rows)
        lines.append("")
        lines.append("stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
                     + f"; total {self.total_seconds:.2f}s")
        lines.append(f"assets: {self.assets} ({self.cache_hits} from cache, {self.cache_misses} processed)")
        lines.append(f"room shells: {len(self.rooms)} ({self.shells_from_cache} unchanged, from cache)")
        if self.textures_encoded or self.textures_from_cache:
            lines.append(f"re-encoded textures: {self.textures_encoded + self.textures_from_cache} "
                         f"({self.textures_from_cache} from cache, {self.textures_encoded} encoded)")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _against(check: BudgetCheck, metric: str) -> str:
    value = check.values.get(metric, 0)
    limit = check.limits.get(metric)
    show = human_bytes if metric in ("bytes", "texture_bytes_gpu") else (lambda n: f"{n:,}")
    text = show(value) if limit is None else f"{show(value)}/{show(limit)}"
    return text + (" !" if limit is not None and value > limit else "")


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append("  ".join(c.ljust(w) if i == 0 or n == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    return out


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def floor_plan_svg(room: dict[str, Any], artifacts: list[dict[str, Any]], language: str) -> str:
    """A top view of one room from its manifest entry: walls, door openings, and each artifact's footprint."""
    low, high = room["bounds"]["min"], room["bounds"]["max"]
    width, depth = high[0] - low[0], high[2] - low[2]
    scale = 40.0  # pixels per metre
    pad = 20.0

    def x(v: float) -> float:
        return round(pad + (v - low[0]) * scale, 1)

    def z(v: float) -> float:
        return round(pad + (v - low[2]) * scale, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="floor-plan" role="img" '
        f'viewBox="0 0 {round(width * scale + 2 * pad, 1)} {round(depth * scale + 2 * pad, 1)}">',
        f"<title>{escape(_text(room.get('name'), language) or room['id'])}: floor plan</title>",
        f'<rect class="room" x="{x(low[0])}" y="{z(low[2])}" width="{round(width * scale, 1)}" '
        f'height="{round(depth * scale, 1)}" fill="#f7f5f0" stroke="#333" stroke-width="3"/>',
    ]
    for door in room.get("doors", []):
        px, _, pz = door["position"]
        half = door["width"] / 2
        if door["wall"] in ("north", "south"):
            a, b = (x(px - half), z(pz)), (x(px + half), z(pz))
        else:
            a, b = (x(px), z(pz - half)), (x(px), z(pz + half))
        parts.append(f'<line class="door" x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}" stroke="#f7f5f0" '
                     f'stroke-width="5"><title>door to {escape(door["to"])}</title></line>')
    for artifact in artifacts:
        if artifact["room"] != room["id"]:
            continue
        bmin, bmax = artifact["bounds"]["min"], artifact["bounds"]["max"]
        w = max((bmax[0] - bmin[0]) * scale, 3.0)
        h = max((bmax[2] - bmin[2]) * scale, 3.0)
        label = escape(_text(artifact.get("record", {}).get("title"), language) or artifact["id"])
        colour = {"model": "#8a5a2b", "image": "#2b5a8a", "panel": "#5a8a2b"}.get(artifact["kind"], "#555")
        parts.append(f'<g class="artifact {escape(artifact["kind"])}"><title>{escape(artifact["id"])}: {label}</title>'
                     f'<rect x="{x(bmin[0])}" y="{z(bmin[2])}" width="{round(w, 1)}" height="{round(h, 1)}" '
                     f'fill="{colour}" fill-opacity="0.7"/>'
                     f'<text x="{x(bmin[0])}" y="{round(z(bmin[2]) - 3, 1)}" font-size="10">{escape(artifact["id"])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or next(iter(value.values()), ""))
    return "" if value is None else str(value)


class Progress:
    """Build progress on stderr: a redrawn line on a terminal, plain lines otherwise, nothing when quiet.

    Long steps (pipeline.progress.task) show what they do and, once some work is done, the time left: redrawn at
    most every `redraw` seconds on a terminal, and as a plain line at most every `every` seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False,
                 clock: Callable[[], float] = time.monotonic, redraw: float = 1.0, every: float = 10.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.timings: dict[str, float] = {}
        self.clock = clock
        self.interval = redraw if self.tty else every
        self._stage = ""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage (always, for the report) and announce it (unless quiet)."""
        self._stage = name
        self._say(f"{name}…")
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.timings[name] = self.timings.get(name, 0.0) + elapsed
            if self.tty and not self.quiet:
                # The bar's line becomes the stage's summary, so the terminal keeps one line per stage.
                self.stream.write(f"\r\x1b[K{name} {elapsed:.2f} s\n")
                self.stream.flush()

    def step(self, done: int, total: int, label: str) -> None:
        if self.quiet:
            return
        if self.tty:
            filled = int(24 * done / max(total, 1))
            self.stream.write(f"\r\x1b[K{self._stage} [{'#' * filled}{'.' * (24 - filled)}] {done}/{total} {label}")
            self.stream.flush()
        else:
            self.stream.write(f"{self._stage} {done}/{total} {label}\n")
            self.stream.flush()

    def task(self, label: str, total: float) -> ProgressTask:
        """A long step (see pipeline.progress.task); announced now, then as it advances."""
        started = self.clock()
        task = ProgressTask(self, label, float(total), started)
        self._say(f"{self._stage}: {label}…")
        task.shown = started
        return task

    def _say(self, text: str) -> None:
        if self.quiet:
            return
        self.stream.write(f"\r\x1b[K{text}" if self.tty else f"{text}\n")
        self.stream.flush()


@dataclass
class ProgressTask:
    """A long step's state: how much of `total` is done, and when it was last shown."""

    progress: Progress
    label: str
    total: float
    started: float
    done: float = 0.0
    shown: float = 0.0

    def advance(self, amount: float = 1.0) -> None:
        self.done = min(self.total, self.done + amount)
        now = self.progress.clock()
        if now - self.shown < self.progress.interval or self.done >= self.total:
            return
        self.shown = now
        self.progress._say(f"{self.progress._stage}: {self.label}, {self.eta(now)}")

    def describe(self, label: str) -> None:
        """A new label, shown at once when it names a new part of the step (level 2 of 5 has begun)."""
        if label == self.label:
            return
        self.label = label
        now = self.progress.clock()
        self.shown = now
        self.progress._say(f"{self.progress._stage}: {self.label}, {self.eta(now)}")

    def eta(self, now: float) -> str:
        """"38 s left" (or "3 min left") from the pace so far; "starting" before anything is done."""
        if self.done <= 0 or self.total <= 0:
            return "starting"
        left = (now - self.started) * (self.total - self.done) / self.done
        return f"{left:.0f} s left" if left < 120 else f"{left / 60:.0f} min left"
