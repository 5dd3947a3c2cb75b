"""Animation: drop keyframes that linear interpolation already gives, collapse constant tracks, store rotations
as normalized int16 (core glTF allows it), so keyframe data stops dominating animated files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import meshopt
from pipeline.scene import AnimationSampler, Scene


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (rows), as glTF LINEAR rotation tracks are played."""
    dot = np.sum(a * b, axis=1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot).clip(-1.0, 1.0)
    angle = np.arccos(dot)
    sin = np.sin(angle)
    small = sin < 1e-6
    t = t.reshape(-1, 1)
    wa = np.where(small, 1 - t, np.sin((1 - t) * angle) / np.where(small, 1, sin))
    wb = np.where(small, t, np.sin(t * angle) / np.where(small, 1, sin))
    return wa * a + wb * b


def _interpolate(times: np.ndarray, values: np.ndarray, start: int, end: int, rotation: bool) -> np.ndarray:
    """Values at times[start+1:end] as the player would compute them from keys start and end."""
    span = times[end] - times[start]
    t = (times[start + 1:end] - times[start]) / span if span > 0 else np.zeros(end - start - 1)
    a = np.repeat(values[start:start + 1], len(t), axis=0)
    b = np.repeat(values[end:end + 1], len(t), axis=0)
    if rotation:
        return _slerp(a, b, t)
    return a + (b - a) * t.reshape(-1, 1)


def _greedy(times: np.ndarray, values: np.ndarray, tolerance: float, rotation: bool) -> list[int]:
    """Keys to keep within one run so every dropped key is reproduced within tolerance.

    From each kept key, gallop then bisect to the farthest key whose segment reproduces every key in between;
    only segments that pass the check drop keys, so the tolerance holds even where the search guesses.
    """
    count = len(times)

    def fits(start: int, end: int) -> bool:
        return end - start < 2 or bool(
            np.abs(_interpolate(times, values, start, end, rotation) - values[start + 1:end]).max() <= tolerance)

    kept = [0]
    anchor = 0
    while anchor < count - 1:
        good, step = anchor + 1, 1
        while good + step <= count - 1 and fits(anchor, good + step):
            good, step = good + step, step * 2
        bad = min(good + step, count)
        while bad - good > 1:
            middle = (good + bad) // 2
            if fits(anchor, middle):
                good = middle
            else:
                bad = middle
        kept.append(good)
        anchor = good
    return kept


def reduce_keys(times: np.ndarray, values: np.ndarray, tolerance: float, rotation: bool) -> np.ndarray:
    """Indices of the keys to keep; every dropped key is reproduced within tolerance by its kept neighbours.

    A key its own neighbours cannot reproduce is kept outright (one vectorized test); only the runs between such
    keys go through the exact greedy check, which keeps this fast on busy tracks.
    """
    count = len(times)
    if count <= 2:
        return np.arange(count)
    span = times[2:] - times[:-2]
    t = np.where(span > 0, (times[1:-1] - times[:-2]) / np.where(span > 0, span, 1.0), 0.0)
    if rotation:
        middle = _slerp(values[:-2], values[2:], t)
    else:
        middle = values[:-2] + (values[2:] - values[:-2]) * t.reshape(-1, 1)
    needed = np.abs(middle - values[1:-1]).max(axis=1) > tolerance
    anchors = np.concatenate([[0], np.nonzero(needed)[0] + 1, [count - 1]])
    kept: list[int] = []
    for start, end in zip(anchors[:-1], anchors[1:], strict=True):
        if end - start > 1:
            kept.extend(int(start) + k for k in _greedy(times[start:end + 1], values[start:end + 1], tolerance,
                                                          rotation)[:-1])
        else:
            kept.append(int(start))
    kept.append(count - 1)
    return np.array(kept)


@dataclass
class _Plan:
    """One sampler's choice: the keys reduction keeps (None: not compacted, e.g. cubic spline or weights)."""

    sampler: AnimationSampler
    path: str
    keep: np.ndarray | None


@dataclass(frozen=True)
class CompactAnimations:
    """Keyframe reduction within `tolerance` (relative to each track's value range; absolute for quaternion
    components), one key for constant tracks, and int16 normalized rotations. CUBICSPLINE tracks are kept as read.

    Tracks sampled on the same times share one time accessor in the output, and a reduced track needs times of
    its own. So a track is reduced only where that makes the file smaller: its kept keys and their times must
    cost fewer bytes than all its keys on the shared times, and the shared times go only when no track keeps
    them. Costs are the bytes the writer will store: meshopt-encoded with its keyframe filters when `compressed`,
    raw otherwise. (VC's 73 tracks on one 30 Hz array came out 78 KB larger, with 69 time arrays, without this.)
    """

    tolerance: float = 1e-5
    quantize_rotations: bool = True
    compressed: bool = True  # the writer's EXT_meshopt_compression setting, for the byte costs

    def __call__(self, scene: Scene) -> Scene:
        paths: dict[int, set[str]] = {}
        samplers: dict[int, AnimationSampler] = {}
        for animation in scene.animations:
            for channel in animation.channels:
                paths.setdefault(id(channel.sampler), set()).add(channel.path)
                samplers[id(channel.sampler)] = channel.sampler
        groups: dict[bytes, list[_Plan]] = {}
        for key, sampler in samplers.items():
            path = next(iter(paths[key]))
            times = np.asarray(sampler.input, dtype=np.float32).reshape(-1)
            plan = _Plan(sampler, path, None)
            if not (len(paths[key]) != 1 or sampler.interpolation == "CUBICSPLINE" or path == "weights"
                    or sampler.output.dtype.kind != "f" or len(times) < 2):
                plan.keep = self._keys(sampler, path == "rotation")
            groups.setdefault(times.tobytes(), []).append(plan)
        for plans in groups.values():
            self._choose(plans)
            for plan in plans:
                if plan.keep is not None:
                    plan.sampler.input, plan.sampler.output = self._stored(plan, plan.keep)
        return scene

    def _keys(self, sampler: AnimationSampler, rotation: bool) -> np.ndarray:
        """The keys to keep so every dropped key is reproduced within tolerance."""
        times = np.asarray(sampler.input, dtype=np.float64).reshape(-1)
        values = np.asarray(sampler.output, dtype=np.float64).reshape(len(times), -1)
        spread = float((values.max(axis=0) - values.min(axis=0)).max())
        tolerance = self.tolerance if rotation else self.tolerance * max(spread, 1e-12)
        if spread <= tolerance:
            return np.array([0])  # a constant track: one key holds the value for the whole animation
        if sampler.interpolation == "STEP":
            changed = np.abs(np.diff(values, axis=0)).max(axis=1) > tolerance
            return np.concatenate([[0], np.nonzero(changed)[0] + 1])
        return reduce_keys(times, values, tolerance, rotation)

    def _stored(self, plan: _Plan, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sampler's input and output with only these keys, rotations as int16 if asked."""
        sampler = plan.sampler
        count = len(sampler.input)
        times, values = sampler.input, np.asarray(sampler.output)
        if len(keep) < count:
            times = np.ascontiguousarray(times[keep])
            values = np.ascontiguousarray(values.reshape(count, -1)[keep])
        if plan.path == "rotation" and self.quantize_rotations:
            quats = np.asarray(values, dtype=np.float64)
            quats = quats / np.linalg.norm(quats, axis=1, keepdims=True)
            values = np.round(quats * 32767).astype(np.int16)
        return times, values

    def _bytes(self, path: str, values: np.ndarray) -> int:
        """What the writer will spend on these keyframe values (path) or times (path "time")."""
        values = np.asarray(values)
        if values.dtype == np.float64:
            values = values.astype(np.float32)
        if not self.compressed:
            return int(values.nbytes)
        stream = meshopt.vertex_stream("", values, False) if path == "time" else meshopt.keyframe_stream(path, values)
        return len(meshopt.encode_vertex_buffer(stream.rows))

    def _choose(self, plans: list[_Plan]) -> None:
        """Per group of tracks on identical times: put back every key of the tracks reduction does not pay for.

        Keeping a track whole costs its values at every key; reducing it costs its kept values plus its own times.
        The shared times cost once if any track keeps them. Constant tracks always collapse to one key: their
        one-key time arrays are identical and the writer stores one.
        """
        if len(plans) == 1:
            return  # times of its own either way: reducing never costs more
        full = np.arange(len(plans[0].sampler.input))
        shared_paid = any(plan.keep is None or len(plan.keep) == len(full) for plan in plans)
        wanted: list[tuple[_Plan, int]] = []
        for plan in plans:
            if plan.keep is None or len(plan.keep) == 1 or len(plan.keep) == len(full):
                continue
            times, values = self._stored(plan, plan.keep)
            reduced = self._bytes(plan.path, values) + self._bytes("time", times)
            whole = self._bytes(plan.path, self._stored(plan, full)[1])
            if reduced > whole:
                wanted.append((plan, reduced - whole))
        if not wanted:
            return
        if not shared_paid and sum(gain for _, gain in wanted) <= self._bytes("time", plans[0].sampler.input):
            return  # the shared times would cost more than keeping these tracks whole saves
        for plan, _ in wanted:
            plan.keep = full
