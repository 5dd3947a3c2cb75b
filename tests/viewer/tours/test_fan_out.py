"""The pose fan-out's hot path against a real server: one frame serialized per pose, whatever the audience."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.frames import Frame

from tests.viewer.tours.conftest import TourServerHandle
from tests.viewer.tours.test_server import pose


async def test_a_pose_is_serialized_once_for_all_its_visitors(tour_server: TourServerHandle,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    guide = await tour_server.guide()
    visitors = [await tour_server.visitor(f"V{i}") for i in range(4)]
    serialized: list[bytes] = []
    original = Frame.serialize

    def counting(frame: Frame, *args: Any, **kwargs: Any) -> bytes:
        if not kwargs.get("mask", True) and b'"pose"' in bytes(frame.data):  # server-side pose frames only
            serialized.append(bytes(frame.data))
        return original(frame, *args, **kwargs)

    monkeypatch.setattr(Frame, "serialize", counting)
    await guide.send(**pose(t=7.0, x=3.0))
    for visitor in visitors:
        received = await visitor.expect("pose")
        assert received["t"] == 7.0 and received["head"]["p"] == [3.0, 1.6, 2.0]
    assert len(serialized) == 1  # websockets.broadcast built one frame per visitor (4)
    # The raw frame and websockets' own frames interleave cleanly on each connection.
    await visitors[0].send(type="ping")
    assert (await visitors[0].expect("pong"))["type"] == "pong"
