"""The GLB container: packed and split the same way everywhere, and readable without the glTF reader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.gltf import container, write_glb
from tests.helpers import glb_parts
from tests.pipeline.gltf.scenes import triangle_scene


def test_pack_pads_both_chunks_and_split_gives_them_back() -> None:
    packed = container.pack(b'{"asset":{"version":"2.0"}}', b"\x01\x02\x03")
    document, binary = glb_parts(packed)  # the layout the tests check independently
    assert document == {"asset": {"version": "2.0"}} and binary == b"\x01\x02\x03\x00"
    assert container.split(packed) == (b'{"asset":{"version":"2.0"}} ', b"\x01\x02\x03\x00")
    assert container.split(container.pack(b"{}")) == (b"{}  ", None)
    assert container.json_chunk_length(packed[:container.HEADER_BYTES]) == 28
    assert container.json_chunk_length(b"nope" + packed[4:container.HEADER_BYTES]) is None
    assert container.json_chunk_length(packed[:container.HEADER_BYTES - 1]) is None


@pytest.mark.parametrize(("data", "message"), [
    (b"glTF\x02\x00\x00\x00", "truncated GLB: the file ends inside its header"),
    (container.pack(b"{}")[:-1], "truncated GLB: the header declares 24 bytes but the file has 23"),
    (b"glTF\x01\x00\x00\x00" + bytes(12), "GLB container version 1 is not supported; Vitrina reads version 2"),
    (b"nope" + bytes(16), "not a GLB file (the 'glTF' magic bytes are missing)"),
])
def test_a_broken_container_is_named(data: bytes, message: str) -> None:
    with pytest.raises(container.ContainerError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        container.split(data)


def test_measuring_a_glb_loads_no_gltf_reader(tmp_path: Path) -> None:
    """`vitrina check` measures models from their JSON alone: the reader (and pygltflib) stay unimported."""
    path = tmp_path / "triangle.glb"
    path.write_bytes(write_glb(triangle_scene()))
    probe = ("import sys; from pathlib import Path; from pipeline.spec.measure import measure; "
             f"m = measure(Path({str(path)!r})); print(m.triangles, 'pygltflib' in sys.modules, "
             "'pipeline.gltf.reader' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["1", "False", "False"]


def test_a_glb_is_read_chunk_by_chunk_and_its_bytes_released_when_the_read_ends(tmp_path: Path) -> None:
    import gc
    import io

    from pipeline.gltf import read_gltf

    packed = container.pack(b'{"asset":{"version":"2.0"}}', b"\x01\x02\x03")
    assert container.read_split(io.BytesIO(packed), len(packed)) == container.split(packed)
    path = tmp_path / "triangle.glb"
    path.write_bytes(write_glb(triangle_scene()))
    gc.collect()
    gc.disable()  # only reference counts free things now: a reader kept by a cycle would outlive the read
    try:
        scene = read_gltf(path, tmp_path)
        readers = [o for o in gc.get_objects() if type(o).__name__ == "_GltfReader"]
    finally:
        gc.enable()
    assert scene.meshes() and readers == []
