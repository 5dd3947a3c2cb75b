"""Animation: drop keyframes that linear interpolation already gives, collapse constant tracks, store rotations
as normalized int16 (core glTF allows it), so keyframe data stops dominating animated files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True)
class CompactAnimations:
    """Keyframe reduction within `tolerance` (relative to each track's value range; absolute for quaternion
    components), one key for constant tracks, and int16 normalized rotations. CUBICSPLINE tracks are kept as read.
    """

    tolerance: float = 1e-5
    quantize_rotations: bool = True

    def __call__(self, scene: Scene) -> Scene:
        paths: dict[int, set[str]] = {}
        samplers: dict[int, AnimationSampler] = {}
        for animation in scene.animations:
            for channel in animation.channels:
                paths.setdefault(id(channel.sampler), set()).add(channel.path)
                samplers[id(channel.sampler)] = channel.sampler
        for key, sampler in samplers.items():
            if len(paths[key]) != 1 or sampler.interpolation == "CUBICSPLINE":
                continue
            path = next(iter(paths[key]))
            if path == "weights" or sampler.output.dtype.kind != "f" or len(sampler.input) < 2:
                continue
            self._compact(sampler, path == "rotation")
        return scene

    def _compact(self, sampler: AnimationSampler, rotation: bool) -> None:
        times = np.asarray(sampler.input, dtype=np.float64).reshape(-1)
        values = np.asarray(sampler.output, dtype=np.float64).reshape(len(times), -1)
        spread = float((values.max(axis=0) - values.min(axis=0)).max())
        tolerance = self.tolerance if rotation else self.tolerance * max(spread, 1e-12)
        if spread <= tolerance:
            keep = np.array([0])  # a constant track: one key holds the value for the whole animation
        elif sampler.interpolation == "STEP":
            changed = np.abs(np.diff(values, axis=0)).max(axis=1) > tolerance
            keep = np.concatenate([[0], np.nonzero(changed)[0] + 1])
        else:
            keep = reduce_keys(times, values, tolerance, rotation)
        if len(keep) < len(times):
            sampler.input = np.ascontiguousarray(sampler.input[keep])
            sampler.output = np.ascontiguousarray(np.asarray(sampler.output).reshape(len(times), -1)[keep])
        if rotation and self.quantize_rotations:
            quats = np.asarray(sampler.output, dtype=np.float64)
            quats /= np.linalg.norm(quats, axis=1, keepdims=True)
            sampler.output = np.round(quats * 32767).astype(np.int16)
