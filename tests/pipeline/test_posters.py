"""Posters: which pictures are taken, the cache, and the fallback when no browser can render them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import images, posters

MANIFEST: dict[str, Any] = {
    "start": {"room": "hall", "position": [1.0, 0.0, 2.0], "yaw": -90.0},
    "rooms": [
        {"id": "hall", "bounds": {"min": [-6, 0, -4], "max": [6, 4, 4]}},
        {"id": "side", "bounds": {"min": [6, 0, -2], "max": [10, 4, 6]}},
    ],
    "artifacts": [
        {"id": "vase", "view": {"target": [0, 1, 0], "position": [0, 1.2, 2]}},
        {"id": "scroll", "view": {"target": [0, 1.5, -4], "position": [0, 1.5, -2]}},
    ],
}


def _picture() -> bytes:
    return images.png_from_rgb(np.tile(np.linspace(0, 1, 40)[None, :, None], (30, 1, 3)))  # dark to light


def test_a_poster_per_artifact_and_a_cover_per_room() -> None:
    shots = posters.shots(MANIFEST, {"vase": "Vase"}, {"scroll": _picture()})
    assert [s.name for s in shots] == ["artifact-vase", "artifact-scroll", "room-hall", "room-side"]
    assert shots[0].title == "Vase" and shots[1].title == "scroll"
    assert shots[0].view == MANIFEST["artifacts"][0]["view"]


def test_the_start_room_cover_is_the_start_view() -> None:
    view = posters.room_cover_view(MANIFEST["rooms"][0], MANIFEST["start"])
    assert view["position"] == [1.0, 1.6, 2.0]
    # yaw -90 looks down +x (three.js cameras look down -z, turned about +y).
    assert view["target"][0] > view["position"][0] and view["target"][2] == pytest.approx(2.0)


def test_another_room_is_seen_down_its_long_axis() -> None:
    view = posters.room_cover_view(MANIFEST["rooms"][1], MANIFEST["start"])  # 4 m wide, 8 m deep
    assert view["position"] == [8.0, 1.6, 5.4] and view["target"] == [8.0, 1.3, 2.0]


class MemoryCache:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def remembered(self, key: str, compute):  # type: ignore[no-untyped-def]
        if key not in self.entries:
            self.entries[key] = compute()
        return self.entries[key]


def _size(jpeg: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(jpeg)).size


def test_without_a_renderer_the_build_warns_and_uses_plain_posters(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(posters, "renderer_missing", lambda: "posters need Chromium")
    warnings: list[str] = []
    cache = MemoryCache()
    shots = posters.shots(MANIFEST, {"vase": "Vase"}, {"scroll": _picture()})
    made = posters.make_posters(tmp_path, "x", shots, "inputs", cache.remembered, warnings.append)
    assert warnings == ["posters need Chromium; using plain posters"]
    assert {_size(data) for data in made.values()} == {posters.POSTER_SIZE}
    # The hung picture stands in for its poster: a left-to-right gradient stays one.
    scroll = np.asarray(Image.open(io.BytesIO(made["artifact-scroll"])).convert("L"), dtype=float)
    assert scroll[:, -20:].mean() > scroll[:, :20].mean() + 50
    assert cache.entries == {}, "fallbacks are not cached, so a build with Chromium renders the real ones"


def test_rendered_posters_are_cached_and_not_rendered_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(posters, "renderer_missing", lambda: None)
    rendered: list[list[str]] = []

    def fake_render(site_root: Path, exhibit_id: str, todo: list[posters.Shot]) -> dict[str, bytes]:
        rendered.append([s.name for s in todo])
        return {s.name: images.fitted_jpeg(_picture(), posters.POSTER_SIZE) for s in todo}

    monkeypatch.setattr(posters, "render", fake_render)
    cache = MemoryCache()
    shots = posters.shots(MANIFEST, {}, {})
    first = posters.make_posters(tmp_path, "x", shots, "inputs", cache.remembered, lambda _: None)
    second = posters.make_posters(tmp_path, "x", shots, "inputs", cache.remembered, lambda _: None)
    assert first == second and len(rendered) == 1
    posters.make_posters(tmp_path, "x", shots, "other inputs", cache.remembered, lambda _: None)
    assert len(rendered) == 2 and len(rendered[1]) == len(shots)


def test_fitted_jpeg_covers_and_crops_to_the_poster_shape() -> None:
    tall = images.png_from_rgb(np.zeros((300, 100, 3)))
    assert _size(images.fitted_jpeg(tall, (960, 504))) == (960, 504)
