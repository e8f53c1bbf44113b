"""click2graph.discovery.pieces: two discovered tracks that touch and both move around a keyframe are one object."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.discovery.pieces import are_pieces, merged_track
from click2graph.masks import rle_decode, rle_encode

H, W = 60, 100
FRAMES = range(9)


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def track(boxes: dict[int, tuple[int, int, int, int]]) -> dict[int, dict]:
    return {t: rle_encode(box(*b)) for t, b in boxes.items()}


def flow_moving(regions: list[tuple[int, int, int, int]], px: float):
    """A flow getter: the pixels of ``regions`` move ``px`` to the right on every frame, the rest is still."""
    flow = np.zeros((H, W, 2), np.float32)
    for region in regions:
        flow[box(*region), 0] = px
    return lambda t: flow


TOP, FOOT, FAR = (40, 10, 50, 30), (38, 30, 52, 36), (70, 10, 80, 30)
SUBJECT = track({t: (5, 5, 15, 50) for t in FRAMES})


def judge(a, b, flow_at) -> bool:
    return are_pieces(a, b, SUBJECT, FRAMES, flow_at, min_touching=0.75, contact_px=2, motion_px=2.0)


@pytest.mark.parametrize(
    "b_box, touching_frames, moving, pieces",
    [
        (FOOT, FRAMES, [TOP, FOOT], True),  # touching on every frame, both moving
        (FOOT, range(6), [TOP, FOOT], False),  # touching on 6 of 9 frames (gone after): a moment's contact
        (FOOT, FRAMES, [], False),  # a still pair: no evidence
        (FOOT, FRAMES, [TOP], False),  # one moving along the other, which stays still
        (FAR, FRAMES, [TOP, FAR], False),  # both moving but apart
    ],
)
def test_tracks_are_pieces_when_they_touch_on_most_frames_and_both_move(b_box, touching_frames, moving, pieces):
    a = track({t: TOP for t in FRAMES})
    b = track({t: b_box for t in touching_frames})
    assert judge(a, b, flow_moving(moving, 3.0)) is pieces
    assert not judge(a, b, flow_moving(moving, 1.0))  # moving under the motion limit: no evidence either


def test_no_flow_is_no_evidence():
    a, b = track({t: TOP for t in FRAMES}), track({t: FOOT for t in FRAMES})
    assert not judge(a, b, lambda t: None)


def test_the_merged_track_is_the_union_where_they_touch_and_the_first_track_where_they_lie_apart():
    a = track({0: TOP, 1: TOP, 2: TOP})
    b = track({1: FOOT, 2: FAR, 3: FOOT})  # on frame 2 the piece's track has left the object
    merged = merged_track(a, b, contact_px=2)
    assert sorted(merged) == [0, 1, 2, 3]
    np.testing.assert_array_equal(rle_decode(merged[1]), box(*TOP) | box(*FOOT))
    np.testing.assert_array_equal(rle_decode(merged[0]), box(*TOP))
    np.testing.assert_array_equal(rle_decode(merged[2]), box(*TOP))
    np.testing.assert_array_equal(rle_decode(merged[3]), box(*FOOT))
