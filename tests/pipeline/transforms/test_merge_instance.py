"""Merge joins static geometry per region without touching named nodes; instance turns repeats into one node."""

from __future__ import annotations

import numpy as np

from pipeline.scene import Animation, AnimationChannel, AnimationSampler, Material, Mesh, Node, Scene
from pipeline.transforms.instance import Instance
from pipeline.transforms.merge import Merge
from tests.pipeline.transforms.scenes import grid_primitive, world_triangles

STONE = Material("stone")
BRONZE = Material("bronze")


def leaf(name: str, material: Material, **trs: object) -> Node:
    return Node(name, mesh=Mesh(name, [grid_primitive(material, n=5)]), **trs)  # type: ignore[arg-type]


def room() -> tuple[Scene, Node, Node, Node]:
    ding = Node("ding", keep=True, translation=(2.0, 0.0, 3.0), rotation=(0.0, 0.3826834, 0.0, 0.9238795),
                children=[leaf("ding-body", BRONZE), leaf("ding-lid", BRONZE, translation=(0.0, 0.5, 0.0)),
                          leaf("ding-base", STONE, scale=(1.0, -1.0, 1.0))])
    scroll = Node("scroll", keep=True, translation=(-1.0, 1.5, 0.0),
                  children=[leaf("frame", BRONZE), leaf("canvas", BRONZE, translation=(0.0, 0.0, 0.01))])
    spinner = leaf("spinner", BRONZE, translation=(5.0, 0.0, 0.0))
    walls = [leaf(f"wall{i}", STONE, translation=(float(i), 0.0, -4.0), scale=(2.0, 2.0, 1.0)) for i in range(3)]
    scene = Scene("hall", nodes=[ding, scroll, spinner, *walls])
    sampler = AnimationSampler(np.array([0.0, 1.0], np.float32), np.array([[0, 0, 0, 1], [0, 1, 0, 0]], np.float32))
    scene.animations.append(Animation("spin", [AnimationChannel(sampler, spinner, "rotation")]))
    return scene, ding, scroll, spinner


def test_merge_keeps_named_nodes_and_draws_the_same_triangles() -> None:
    scene, ding, scroll, spinner = room()
    before = world_triangles(scene)
    ding_trs = (ding.translation, ding.rotation, ding.scale)
    Merge()(scene)
    assert np.allclose(world_triangles(scene), before, atol=1e-4)
    names = [n.name for n in scene.all_nodes()]
    assert "ding" in names and "scroll" in names and "spinner" in names
    assert (ding.translation, ding.rotation, ding.scale) == ding_trs
    assert ding in scene.nodes and scroll in scene.nodes
    # bronze body + lid became one primitive under ding; the mirrored stone base stays its own draw
    ding_prims = [p for n in ding.walk() if n.mesh for p in n.mesh.primitives]
    assert len(ding_prims) == 2
    assert {p.material.name for p in ding_prims if p.material} == {"bronze", "stone"}
    # nothing of the scroll moved into ding or the room and vice versa
    scroll_prims = [p for n in scroll.walk() if n.mesh for p in n.mesh.primitives]
    assert len(scroll_prims) == 1 and scroll_prims[0].vertex_count == 2 * 25
    # the animated node keeps its own mesh; the three walls became one draw
    assert spinner.mesh is not None and len(spinner.mesh.primitives) == 1
    root_draws = [n for n in scene.nodes if n.mesh is not None and not n.keep and n is not spinner]
    assert len(root_draws) == 1 and len(root_draws[0].mesh.primitives) == 1  # type: ignore[union-attr]


def test_merge_flips_winding_under_mirroring() -> None:
    mirrored = leaf("a", STONE, scale=(-1.0, 1.0, 1.0))
    plain = leaf("b", STONE, translation=(3.0, 0.0, 0.0))
    scene = Scene("s", nodes=[mirrored, plain])
    before = world_triangles(scene)
    Merge()(scene)
    assert len(scene.nodes) == 1
    assert np.allclose(world_triangles(scene), before, atol=1e-4)


def test_merge_leaves_shared_meshes_for_instancing() -> None:
    shared = Mesh("bolt", [grid_primitive(STONE, n=3)])
    scene = Scene("s", nodes=[Node("a", mesh=shared), Node("b", mesh=shared, translation=(1.0, 0.0, 0.0))])
    Merge()(scene)
    assert [n.mesh for n in scene.nodes] == [shared, shared]


def test_instance_replaces_repeats_with_one_instanced_node() -> None:
    bolt = Mesh("bolt", [grid_primitive(STONE, n=3)])
    nodes = [Node(f"bolt{i}", mesh=bolt, translation=(float(i), 0.0, 0.0), rotation=(0.0, 0.0, 0.7071068, 0.7071068),
                  scale=(1.0, 2.0, 1.0)) for i in range(5)]
    keeper = Node("named-bolt", mesh=bolt, keep=True, translation=(0.0, 9.0, 0.0))
    scene = Scene("s", nodes=[*nodes, keeper])
    before = world_triangles(scene)
    Instance()(scene)
    instanced = [n for n in scene.all_nodes() if n.instances is not None]
    assert len(instanced) == 1 and instanced[0].mesh is bolt
    assert len(instanced[0].instances["TRANSLATION"]) == 5  # type: ignore[index]
    assert keeper.mesh is bolt and keeper.instances is None  # the named node is untouched
    assert np.allclose(world_triangles(scene), before, atol=1e-4)


def test_instance_ignores_single_uses_and_animated_nodes() -> None:
    scene, _, _, spinner = room()
    Instance()(scene)
    assert not any(n.instances is not None for n in scene.all_nodes())
    assert spinner.mesh is not None


def test_join_draws_a_regions_other_static_meshes_from_one_mesh() -> None:
    parts = [leaf("glass", BRONZE), leaf("steel", STONE, translation=(0.0, 1.0, 0.0)),
             leaf("beads", Material("amber"), translation=(0.0, 2.0, 0.0), scale=(-1.0, 1.0, 1.0))]
    named = Node("lamp", keep=True, children=parts)
    scene = Scene("s", nodes=[named])
    before = world_triangles(scene)
    Merge()(scene)
    assert np.allclose(world_triangles(scene), before, atol=1e-4)
    drawing = [n for n in scene.all_nodes() if n.mesh is not None]
    assert len(drawing) == 1 and drawing[0] in named.children  # one node, inside the artifact that was named
    assert [p.material.name for p in drawing[0].mesh.primitives] == ["bronze", "stone", "amber"]  # type: ignore[union-attr]
    assert scene.nodes == [named] and named.name == "lamp"

    unjoined = Scene("s", nodes=[Node("lamp", keep=True, children=[leaf("glass", BRONZE), leaf("steel", STONE)])])
    Merge(join=False)(unjoined)
    assert len([n for n in unjoined.all_nodes() if n.mesh is not None]) == 2
