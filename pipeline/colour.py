"""sRGB and linear colour values: what designers, scanners and MTL files write, and what glTF's factors and vertex colours hold."""

from __future__ import annotations

from typing import Any

import numpy as np


def srgb_to_linear(values: Any) -> np.ndarray:
    """sRGB-encoded channel values (0-1) as linear ones (IEC 61966-2-1), in the values' own float type (float64 for
    plain numbers)."""
    srgb = np.asarray(values)
    if srgb.dtype.kind != "f":
        srgb = srgb.astype(np.float64)
    small = srgb <= srgb.dtype.type(0.04045)
    return np.where(small, srgb / srgb.dtype.type(12.92),
                    ((srgb + srgb.dtype.type(0.055)) / srgb.dtype.type(1.055)) ** srgb.dtype.type(2.4))


def linear_to_srgb(values: Any) -> np.ndarray:
    """Linear channel values (0-1) sRGB-encoded (the inverse of srgb_to_linear), in the values' own float type."""
    linear = np.asarray(values)
    if linear.dtype.kind != "f":
        linear = linear.astype(np.float64)
    linear = np.maximum(linear, linear.dtype.type(0))
    small = linear <= linear.dtype.type(0.0031308)
    return np.where(small, linear * linear.dtype.type(12.92),
                    linear.dtype.type(1.055) * linear ** linear.dtype.type(1 / 2.4) - linear.dtype.type(0.055))
