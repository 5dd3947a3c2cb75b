"""The texture stage's own helpers: halving to a GPU budget for LODs, scene copies that share their textures, and
the ladder's texture fits made early, beside it."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pipeline import budgets, images
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from pipeline.textures import (
    EarlyFits,
    copy_sharing_textures,
    fit_textures,
    fit_to_gpu_budget,
    scene_textures,
)
from tests.helpers import image_bytes


def textured_scene(side: int, data: bytes | None = None, mime_type: str = "image/png") -> Scene:
    texture = Texture("skin", data or image_bytes((side, side), (200, 120, 40)), mime_type, side, side)
    primitive = Primitive({"POSITION": np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32),
                           "TEXCOORD_0": np.array([[0, 0], [1, 0], [0, 1]], np.float32)},
                          np.array([0, 1, 2], np.uint32), material=Material("m", base_color_texture=TextureRef(texture)))
    return Scene("room", [Node("n", mesh=Mesh("m", [primitive]))])


def sides(scene: Scene) -> list[int]:
    return [max(budgets.image_size(texture)) for texture in scene_textures(scene)]


def test_textures_halve_until_they_fit_the_gpu_budget_but_not_below_256_px() -> None:
    profile = replace(budgets.PROFILES["phone"], max_texture_size=2048)
    at_512 = budgets.measure(textured_scene(512)).texture_bytes_gpu
    scene = textured_scene(2048)
    fit_to_gpu_budget(scene, replace(profile, texture_bytes_gpu=at_512))  # exactly what 512 px takes
    assert sides(scene) == [512]
    scene = textured_scene(2048)
    fit_to_gpu_budget(scene, replace(profile, texture_bytes_gpu=at_512 - 1))  # one byte less: one more halving
    assert sides(scene) == [256]
    scene = textured_scene(2048)
    fit_to_gpu_budget(scene, replace(profile, texture_bytes_gpu=1))  # never fits: stops at 256 px
    assert sides(scene) == [256]


def test_textures_within_the_budget_keep_their_bytes() -> None:
    scene = textured_scene(64)
    before = scene_textures(scene)[0]
    fit_to_gpu_budget(scene, budgets.PROFILES["desktop"])
    assert scene_textures(scene)[0] is before


def test_a_copy_shares_textures_but_not_geometry() -> None:
    scene = textured_scene(8)
    copied = copy_sharing_textures(scene)
    assert scene_textures(copied)[0] is scene_textures(scene)[0]
    original, duplicate = scene.nodes[0].mesh, copied.nodes[0].mesh
    assert original is not None and duplicate is not None
    assert duplicate.primitives[0].attributes["POSITION"] is not original.primitives[0].attributes["POSITION"]


def noise_jpeg(side: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def ladder_fits(scene: Scene, sides: tuple[int, ...], early: EarlyFits | None = None) -> list[bytes]:
    """The textures of each rung, fitted as the ladder fits them: each side from the rung above's."""
    out = []
    for side in sides:
        scene = copy_sharing_textures(scene)
        fit_textures(scene, side, early=early)
        out.append(scene_textures(scene)[0].data)
    return out


def test_early_fits_make_the_ladders_resizes_beside_it_and_the_ladder_takes_them(monkeypatch: pytest.MonkeyPatch):
    sides = (4096, 1024, 512, 256)  # 4096 leaves the 2048 px source as it is: the chain starts at 1024
    scene = textured_scene(2048, noise_jpeg(2048, seed=1), "image/jpeg")
    monkeypatch.setattr(images, "_RESIZED", {})  # nothing kept from elsewhere
    expected = ladder_fits(scene, sides)
    monkeypatch.setattr(images, "_RESIZED", {})
    made_on: list[str] = []
    resize = images._resized
    monkeypatch.setattr(images, "_resized", lambda *args: made_on.append(threading.current_thread().name)
                        or resize(*args))
    with ThreadPoolExecutor(1, "early-fits") as beside:
        early = EarlyFits(scene, sides, beside)
        assert ladder_fits(scene, sides, early) == expected
    assert len(made_on) == 3 and all(name.startswith("early-fits") for name in made_on), made_on
    # A side the chain does not make (the thumb's byte budget may ask for one) is resized by the ladder itself.
    made_on.clear()
    assert ladder_fits(scene, (300,), early) == ladder_fits(scene, (300,))
    assert made_on and not any(name.startswith("early-fits") for name in made_on)


def test_a_texture_that_cannot_be_resized_fails_the_ladder_as_it_did_without_early_fits():
    broken = textured_scene(2048, b"\xff\xd8\xff\xe0 not a JPEG after all", "image/jpeg")
    with pytest.raises(OSError) as alone:
        ladder_fits(broken, (1024,))
    with ThreadPoolExecutor(1) as beside, pytest.raises(OSError) as early:
        ladder_fits(broken, (1024,), EarlyFits(broken, (1024,), beside))
    assert str(early.value) == str(alone.value)


def test_a_master_replaced_while_it_is_converted_is_not_kept_under_the_digest_taken_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A TIFF's conversion is cached under the file's digest, taken before the file is decoded: a file replaced in
    # between would otherwise leave its conversion under the old content's key.
    from pipeline.cache import AssetCache
    from pipeline.errors import AssetError
    from pipeline.textures import read_texture

    master = tmp_path / "master.tif"
    master.write_bytes(image_bytes((8, 8), (200, 30, 30), fmt="TIFF"))
    cache = AssetCache(tmp_path / "cache")
    assert read_texture(master, "images/master.tif", cache).mime_type == "image/jpeg"  # opaque: as its room hangs it
    master.write_bytes(image_bytes((8, 8), (30, 200, 30), fmt="TIFF"))
    convert = images.as_texture_bytes

    def replaced_meanwhile(*args: Any, **kwargs: Any) -> tuple[bytes, str, int, int]:
        made = convert(*args, **kwargs)
        master.write_bytes(image_bytes((9, 8), (30, 30, 200), fmt="TIFF"))
        return made

    monkeypatch.setattr(images, "as_texture_bytes", replaced_meanwhile)
    with pytest.raises(AssetError, match=r"images/master\.tif.*changed while the build read it"):
        read_texture(master, "images/master.tif", cache)
    monkeypatch.setattr(images, "as_texture_bytes", convert)
    again = read_texture(master, "images/master.tif", cache)  # the file as it is now, converted anew
    assert (again.width, again.height) == (9, 8)


def test_colour_pngs_are_the_pngs_sampled_only_as_colour_extensions_included() -> None:
    from pipeline.textures import colour_pngs

    def texture(name: str, mime_type: str = "image/png") -> Texture:
        return Texture(name, image_bytes((4, 4), (200, 120, 40)), mime_type, 4, 4)

    base, glow, sheen, packed, photo, variant = (texture("base"), texture("glow"), texture("sheen"), texture("packed"),
                                                 texture("photo", "image/jpeg"), texture("variant"))
    triangle = {"POSITION": np.zeros((3, 3), np.float32), "TEXCOORD_0": np.zeros((3, 2), np.float32)}
    first = Material("first", base_color_texture=TextureRef(base), emissive_texture=TextureRef(glow),
                     occlusion_texture=TextureRef(glow),  # glow is data too: it stays lossless
                     extensions={"KHR_materials_sheen": {"sheenColorTexture": TextureRef(sheen),
                                                         "sheenRoughnessTexture": TextureRef(packed)}})
    second = Material("second", base_color_texture=TextureRef(photo),
                      extensions={"KHR_materials_specular": {"specularColorTexture": TextureRef(packed)}})
    primitives = [Primitive(dict(triangle), np.arange(3, dtype=np.uint32), material=first,
                            variants={"gold": Material("gold", base_color_texture=TextureRef(variant))}),
                  Primitive(dict(triangle), np.arange(3, dtype=np.uint32), material=second)]
    scene = Scene("s", [Node("n", mesh=Mesh("m", primitives))])
    assert [t.name for t in colour_pngs(scene)] == ["base", "sheen", "variant"]
