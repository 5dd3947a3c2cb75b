"""Test helper: an exhibit composed with its models' ladders built (as the build does), for the bake's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import build, compose, textures
from pipeline.cache import AssetCache
from pipeline.report import Progress
from pipeline.spec import load_exhibit


def composed_with_ladders(spec: Path, cache_dir: Path) -> tuple[Any, compose.Composition, dict[str, build.BuiltLadder]]:
    """(exhibit, composition, ladders by artifact id): what bake_rooms gets in a build."""
    loaded = load_exhibit(spec)
    options = build.BuildOptions(quiet=True, jobs=1, cache_dir=cache_dir)
    cache = AssetCache(cache_dir)
    asset_transforms, room_transforms = build._transform_lists(options)

    def job(artifact: Any) -> build.AssetJob | None:
        if artifact.model is None or artifact.place is None:
            return None
        return build.AssetJob(path=artifact.model.path, metres_per_unit=artifact.metres_per_unit, up=artifact.up,
                              transforms=asset_transforms, root=loaded.root, room_transforms=room_transforms,
                              texture_format="keep", draco=False, cache_root=cache.root)

    ladders, _, _ = build.load_ladders(loaded.exhibit, options, cache, Progress(None, quiet=True), job)
    composition = compose.compose(loaded.exhibit, {k: v.shape for k, v in ladders.items()},
                                  textures.load_textures(loaded.exhibit))
    return loaded.exhibit, composition, ladders
