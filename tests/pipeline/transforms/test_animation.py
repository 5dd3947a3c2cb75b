"""CompactAnimations drops only keyframes interpolation reproduces, and stores rotations as int16."""

from __future__ import annotations

import numpy as np

from pipeline.scene import Animation, AnimationChannel, AnimationSampler, Node, Scene
from pipeline.transforms.animation import CompactAnimations, _slerp


def animated(path: str, times: np.ndarray, values: np.ndarray, interpolation: str = "LINEAR",
             tolerance: float = 1e-5) -> AnimationSampler:
    sampler = AnimationSampler(times.astype(np.float32), values.astype(np.float32), interpolation)
    scene = Scene("s", nodes=[node := Node("n")])
    scene.animations.append(Animation("a", [AnimationChannel(sampler, node, path)]))
    CompactAnimations(tolerance=tolerance)(scene)
    return sampler


def play(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(at, times, values[:, k]) for k in range(values.shape[1])], axis=1)


def test_linear_motion_keeps_two_keys_and_constant_tracks_one() -> None:
    times = np.linspace(0, 3, 91)
    moving = animated("translation", times, np.stack([times * 2, times, np.zeros_like(times)], 1))
    assert len(moving.input) == 2 and len(moving.output) == 2
    still = animated("scale", times, np.ones((91, 3)))
    assert len(still.input) == 1 and np.allclose(still.output, 1)


def test_curved_motion_stays_within_tolerance() -> None:
    times = np.linspace(0, 4, 241)
    values = np.stack([np.sin(times), np.cos(2 * times), times ** 2], 1)
    sampler = animated("translation", times, values, tolerance=1e-3)
    assert 2 < len(sampler.input) < len(times) // 2
    replayed = play(sampler.input.astype(np.float64), sampler.output.astype(np.float64), times)
    spread = (values.max(0) - values.min(0)).max()
    assert np.abs(replayed - values).max() <= 1e-3 * spread + 1e-6  # + float32 storage


def test_rotations_become_int16_and_replay_within_tolerance() -> None:
    times = np.linspace(0, 2, 61)
    angles = 0.3 * np.sin(3 * times)
    quats = np.stack([np.zeros_like(angles), np.sin(angles / 2), np.zeros_like(angles), np.cos(angles / 2)], 1)
    sampler = animated("rotation", times, quats)
    assert sampler.output.dtype == np.int16
    kept_t = sampler.input.astype(np.float64)
    kept_q = sampler.output.astype(np.float64) / 32767
    index = np.clip(np.searchsorted(kept_t, times, side="right") - 1, 0, len(kept_t) - 2)
    t = (times - kept_t[index]) / (kept_t[index + 1] - kept_t[index])
    replayed = _slerp(kept_q[index], kept_q[index + 1], t)
    assert np.abs(replayed - quats).max() < 1e-5 + 1 / 32767  # tolerance plus int16 rounding


def test_cubic_spline_tracks_are_kept_as_read() -> None:
    times = np.linspace(0, 1, 5)
    sampler = animated("translation", times, np.zeros((15, 3)), interpolation="CUBICSPLINE")
    assert len(sampler.input) == 5 and sampler.output.shape == (15, 3)
