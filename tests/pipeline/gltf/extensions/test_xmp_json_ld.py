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
