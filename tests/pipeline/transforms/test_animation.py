"""CompactAnimations drops only keyframes interpolation reproduces where that saves bytes, and stores rotations as int16."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.gltf import GltfOptions, write_glb
from pipeline.scene import Animation, AnimationChannel, AnimationSampler, Node, Scene
from pipeline.transforms.animation import CompactAnimations, _slerp
from tests.pipeline.test_gltf import glb_parts


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


def shared_scene(tracks: dict[str, np.ndarray], times: np.ndarray, compressed: bool = True) -> Scene:
    """One node per track, every track on its own copy of the same times (as ingest reads a shared accessor)."""
    nodes, channels = [], []
    for name, values in tracks.items():
        path = "rotation" if values.shape[1] == 4 else "translation"
        nodes.append(node := Node(name))
        channels.append(AnimationChannel(AnimationSampler(times.astype(np.float32).copy(), values.astype(np.float32)),
                                         node, path))
    scene = Scene("s", nodes=nodes, animations=[Animation("a", channels)])
    CompactAnimations(compressed=compressed)(scene)
    return scene


def wobble(times: np.ndarray, seed: int) -> np.ndarray:
    """Motion no interpolation reproduces: every key is needed."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, 1, (len(times), 3)), axis=0)


@pytest.mark.parametrize("compressed", [True, False])
def test_tracks_that_need_most_keys_keep_the_shared_times(compressed: bool) -> None:
    times = np.arange(301) / 30
    # One key in ten of this track lies on the line between its neighbours: dropping those saves less than times
    # of its own for the other nine would cost.
    mostly = wobble(times, 1)
    mostly[5:-1:10] = (mostly[4:-2:10] + mostly[6::10]) / 2
    scene = shared_scene({"a": wobble(times, 0), "b": mostly, "c": wobble(times, 2)}, times, compressed)
    inputs = [c.sampler.input for c in scene.animations[0].channels]
    assert all(len(i) == len(times) and np.array_equal(i, times.astype(np.float32)) for i in inputs)
    written, _ = glb_parts(write_glb(scene, GltfOptions(meshopt=compressed)))
    samplers = written["animations"][0]["samplers"]
    assert len({s["input"] for s in samplers}) == 1  # the writer stores the shared times once


def test_tracks_that_reduce_a_lot_get_their_own_times_and_replay_within_tolerance() -> None:
    times = np.arange(301) / 30
    line = np.stack([times * 2, -times, np.zeros_like(times)], 1)
    corners = times[::15]  # piecewise linear with a corner every half second: 21 keys
    curve = np.stack([np.interp(times, corners, np.sin(3 * corners)), np.interp(times, corners, corners ** 2),
                      0 * times], 1)
    constant = np.tile([1.0, 2.0, 3.0], (len(times), 1))
    scene = shared_scene({"busy": wobble(times, 0), "line": line, "curve": curve, "still": constant}, times)
    kept = {c.node.name: c.sampler for c in scene.animations[0].channels}
    assert len(kept["busy"].input) == len(times)
    assert len(kept["line"].input) == 2 and len(kept["still"].input) == 1
    assert len(kept["curve"].input) == len(corners)
    for name, values in (("line", line), ("curve", curve)):
        sampler = kept[name]
        replayed = play(sampler.input.astype(np.float64), sampler.output.astype(np.float64), times)
        spread = (values.max(0) - values.min(0)).max()
        assert np.abs(replayed - values).max() <= 1e-5 * spread + 1e-5  # + float32 storage


def test_shared_times_go_when_every_track_reduces_well() -> None:
    times = np.arange(301) / 30
    scene = shared_scene({"x": np.stack([times, 0 * times, 0 * times], 1),
                          "y": np.stack([0 * times, np.abs(times % 2 - 1), 0 * times], 1)}, times)
    assert all(len(c.sampler.input) < len(times) // 4 for c in scene.animations[0].channels)
