"""Discovery reads no flow across a shot cut: the co-motion flow of a shot's last frame looks backwards."""

from __future__ import annotations

import numpy as np

from click2graph.discovery.training_free import flow_at
from click2graph.segment.base import SegmenterState
from click2graph.video import Video

H, W = 60, 80


def _two_shots(first: int, second: int) -> Video:
    """``first`` frames of a warm textured scene drifting right, then ``second`` of a cool one."""
    rng = np.random.default_rng(0)
    warm = (rng.integers(0, 60, size=(H, W + 20, 3)) + np.array([170, 90, 30])).astype(np.uint8)
    cool = (rng.integers(0, 60, size=(H, W + 20, 3)) + np.array([30, 90, 170])).astype(np.uint8)
    frames = [warm[:, t : t + W] for t in range(first)] + [cool[:, t : t + W] for t in range(second)]
    return Video.from_frames(np.ascontiguousarray(np.stack(frames)), fps=10.0)


def test_the_flow_of_a_shots_last_frame_is_the_backward_one_negated():
    state = SegmenterState(_two_shots(4, 3))
    assert state.flows.shot_starts() == frozenset({4})
    np.testing.assert_array_equal(flow_at(state, 2), state.flows.get(2, 3))
    np.testing.assert_array_equal(flow_at(state, 3), -state.flows.get(3, 2))  # not into the other shot
    np.testing.assert_array_equal(flow_at(state, 4), state.flows.get(4, 5))


def test_a_frame_alone_in_its_shot_has_no_flow():
    state = SegmenterState(_two_shots(3, 1))
    assert state.flows.shot_starts() == frozenset({3})
    assert flow_at(state, 3) is None
