"""The IR's node transform maths: quaternions and T·R·S matrices agree with trimesh.transformations."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh.transformations as reference

from pipeline.scene import Node, local_matrix, matrix_quaternion, node_matrix, quaternion_matrix


def _random_quaternions(count: int) -> np.ndarray:
    """Unit quaternions (x, y, z, w), both signs of w, plus the half-turns where the trace is negative."""
    rng = np.random.default_rng(7)
    quaternions = rng.normal(size=(count, 4))
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    half_turns = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0.6, 0.8, 0, 0]])
    return np.vstack([quaternions, half_turns])


def _wxyz(quaternion: np.ndarray) -> np.ndarray:
    return np.roll(quaternion, 1)  # trimesh orders quaternions (w, x, y, z); glTF (x, y, z, w)


@pytest.mark.parametrize("quaternion", list(_random_quaternions(40)))
def test_quaternion_matrix_is_trimeshs(quaternion: np.ndarray) -> None:
    assert np.allclose(quaternion_matrix(quaternion), reference.quaternion_matrix(_wxyz(quaternion))[:3, :3],
                       atol=1e-12)


def test_quaternion_matrix_normalizes_and_takes_zero_as_no_rotation() -> None:
    assert np.allclose(quaternion_matrix((0.0, 0.0, 2.0, 2.0)), quaternion_matrix((0.0, 0.0, 0.5**0.5, 0.5**0.5)))
    assert np.array_equal(quaternion_matrix((0.0, 0.0, 0.0, 0.0)), np.eye(3))


@pytest.mark.parametrize("quaternion", list(_random_quaternions(40)))
def test_matrix_quaternion_inverts_and_is_trimeshs_with_w_not_negative(quaternion: np.ndarray) -> None:
    found = matrix_quaternion(quaternion_matrix(quaternion))
    expected = np.roll(reference.quaternion_from_matrix(reference.quaternion_matrix(_wxyz(quaternion))), -1)
    expected = -expected if expected[3] < 0 else expected
    assert found[3] >= 0
    assert np.allclose(found, expected, atol=1e-9)
    assert np.allclose(np.abs(found @ quaternion), 1.0, atol=1e-9)  # the same rotation, up to sign


def test_local_matrix_is_translate_rotate_scale_in_that_order() -> None:
    translation, rotation, scale = (1.0, -2.0, 3.5), _random_quaternions(1)[0], (2.0, 0.5, -1.0)
    expected = (reference.translation_matrix(translation) @ reference.quaternion_matrix(_wxyz(rotation))
                @ np.diag([*scale, 1.0]))
    assert np.allclose(local_matrix(translation, rotation, scale), expected, atol=1e-12)
    node = Node(name="n", translation=translation, rotation=tuple(rotation), scale=scale)
    assert np.array_equal(node_matrix(node), local_matrix(translation, rotation, scale))
