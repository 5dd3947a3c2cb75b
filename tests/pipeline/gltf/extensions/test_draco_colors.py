"""Draco carries float vertex colours as 8-bit values, clipped to [0, 1] first (found untested by the sampled
mutation run, docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np

from pipeline.gltf.extensions.draco_mesh_compression import encode_draco


def test_float_colours_are_clipped_and_stored_as_bytes() -> None:
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float32)
    colours = np.array([[1.5, 0, 0.5, 1], [0, 1, 0, 1], [0, 0, 1, 1], [-0.2, 0.5, 0.25, 1]], dtype=np.float32)
    encoded = encode_draco({"POSITION": positions, "COLOR_0": colours}, np.array([0, 1, 2, 1, 3, 2], dtype=np.uint32))
    assert encoded is not None
    decoded = encoded.decoded["COLOR_0"]
    assert decoded.dtype == np.uint8
    expected = {(0, 0): [255, 0, 128, 255], (1, 0): [0, 255, 0, 255], (0, 1): [0, 0, 255, 255],
                (1, 1): [0, 128, 64, 255]}
    # Draco reorders vertices: match each decoded colour to its vertex by position.
    for position, colour in zip(encoded.decoded["POSITION"], decoded, strict=True):
        assert colour.tolist() == expected[(round(float(position[0])), round(float(position[1])))]
