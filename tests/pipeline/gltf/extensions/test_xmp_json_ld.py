"""KHR_xmp_json_ld: scene → GLB → scene keeps asset and node packets; equal packets are stored once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.gltf import read_gltf, write_glb
from tests.helpers import glb_json
from tests.pipeline.gltf.scenes import round_trip, triangle_scene, with_json


def test_packets_round_trip_and_are_shared(tmp_path: Path) -> None:
    scene = triangle_scene()
    rights = {"dc:rights": "CC-BY 4.0", "dc:creator": ["A. Maker"], "ex:weight": 0.1}
    scene.xmp = dict(rights)
    scene.nodes[0].xmp = dict(rights)
    back = round_trip(tmp_path, scene)
    assert back.xmp is not None and back.nodes[0].xmp == back.xmp
    assert {k: back.xmp[k] for k in rights} == rights  # 0.1 keeps full precision: packets are verbatim
    assert back.xmp["@context"]["dc"] == "http://purl.org/dc/elements/1.1/"
    document = glb_json(write_glb(scene))
    assert len(document["extensions"]["KHR_xmp_json_ld"]["packets"]) == 1
    assert document["asset"]["extensions"] == {"KHR_xmp_json_ld": {"packet": 0}}


@pytest.mark.parametrize("packet", [7, -1, "0", None, True])
def test_a_packet_index_out_of_range_or_not_an_integer_is_ignored(tmp_path: Path, packet: object) -> None:
    scene = triangle_scene()
    scene.nodes[0].xmp = {"dc:title": "x"}
    data = with_json(write_glb(scene),
                     lambda doc: doc["nodes"][0]["extensions"]["KHR_xmp_json_ld"].update(packet=packet))
    (tmp_path / "x.glb").write_bytes(data)
    assert read_gltf(tmp_path / "x.glb", tmp_path).nodes[0].xmp is None


def test_a_packets_own_context_is_merged_and_different_packets_are_kept_apart() -> None:
    from pipeline import scene as ir

    scene = triangle_scene()
    scene.xmp = {"@context": {"ex": "https://example.org/ns#", "dc": "https://mistaken.example/dc"}, "ex:id": 7}
    scene.nodes[0].xmp = {"dc:title": "Vase", "dc:rights": "CC0"}
    scene.nodes.append(ir.Node(name="same", xmp={"dc:rights": "CC0", "dc:title": "Vase"}))  # other key order
    scene.nodes.append(ir.Node(name="other", xmp={"dc:title": "Bowl", "dc:rights": "CC0"}))
    document = glb_json(write_glb(scene))
    packets = document["extensions"]["KHR_xmp_json_ld"]["packets"]
    assert len(packets) == 3  # the asset's, the vase's (twice, stored once) and the bowl's
    asset = packets[document["asset"]["extensions"]["KHR_xmp_json_ld"]["packet"]]
    assert asset["@context"]["ex"] == "https://example.org/ns#"  # its own prefix, beside the standard ones
    assert asset["@context"]["dc"] == "https://mistaken.example/dc"  # its own choice wins
    assert asset["@context"]["xmpRights"] == "http://ns.adobe.com/xap/1.0/rights/"
    assert asset["ex:id"] == 7 and list(asset)[0] == "@context"
    nodes = [n["extensions"]["KHR_xmp_json_ld"]["packet"] for n in document["nodes"] if n.get("extensions")]
    assert nodes[0] == nodes[1] != nodes[2]
