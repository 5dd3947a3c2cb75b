"""Scene-to-scene geometry transforms, one per module; `presets.default_transforms` fixes their order."""

from __future__ import annotations

from typing import Protocol

from pipeline.scene import Scene


class Transform(Protocol):
    """A frozen dataclass of options whose repr goes into logs and cache keys; calling it rewrites a scene."""

    def __call__(self, scene: Scene) -> Scene: ...
