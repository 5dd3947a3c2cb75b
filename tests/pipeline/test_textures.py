"""The texture stage's own helpers: halving to a GPU budget for LODs, and scene copies that share their textures."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline import budgets
from pipeline.scene import Material, Mesh, Node, Primitive, Scene, Texture, TextureRef
from pipeline.textures import copy_sharing_textures, fit_to_gpu_budget, scene_textures
from tests.helpers import image_bytes


def textured_scene(side: int) -> Scene:
    texture = Texture("skin", image_bytes((side, side), (200, 120, 40)), "image/png", side, side)
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
