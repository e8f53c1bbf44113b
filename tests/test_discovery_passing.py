"""The temporal evidence of discovery (:mod:`click2graph.discovery.passing`): does the subject come to a candidate
or only move past it? Unit tests on hand-made offsets and flows; the rule inside discovery is tested in
``tests/test_discovery_rejection.py``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from click2graph.discovery.passing import Window, passes_by, shift, window_steps

H, W = 60, 80


def _box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


SUBJECT = _box(20, 20, 40, 40)
DIST = cv2.distanceTransform((~SUBJECT).astype(np.uint8), cv2.DIST_L2, 3)
ABOVE = _box(25, 5, 35, 12)  # 8 px above the subject


def test_shift_moves_pixels_and_drops_what_leaves_the_frame():
    moved = shift(ABOVE, np.array([3.4, -2.0]))
    assert moved.sum() == ABOVE.sum() and moved[3:10, 28:38].all()
    assert not shift(ABOVE, np.array([0.0, -12.0])).any()  # all of it above the frame
    assert shift(ABOVE, np.array([0.0, -10.0])).sum() == 2 * 10  # its last two rows still in
    assert not shift(ABOVE, np.array([float(W), 0.0])).any()


@pytest.mark.parametrize(
    "relative, passed",
    [
        ([[12.0 * k, 0.0] for k in range(1, 6)], True),  # the subject slides under it: the gap stays 8 px
        ([[0.0, 2.0 * k] for k in range(1, 6)], False),  # it comes toward the subject: the gap closes
        ([[1.0, 0.0], [2.0, 0.0]], False),  # moved 2 px, a quarter of the gap: no evidence either way
        ([], False),  # no other frame
    ],
)
def test_passes_by_needs_motion_past_the_candidate_without_approach(relative, passed):
    assert passes_by(ABOVE, DIST, np.asarray(relative, float).reshape(-1, 2), 0.5, 4) is passed


def test_a_touching_candidate_is_never_passed_by():
    touching = _box(25, 17, 35, 20)  # 1 px off the subject
    assert not passes_by(touching, DIST, np.array([[30.0, 0.0]]), 0.5, 4)


class _ConstantFlows:
    """Flow fields moving every pixel by ``(dx, dy)`` per frame forward (and back backward); counts fetches."""

    def __init__(self, dx: float, dy: float) -> None:
        self.step = np.array([dx, dy], np.float32)
        self.fetched: list[tuple[int, int]] = []

    def get(self, frame_from: int, frame_to: int) -> np.ndarray:
        self.fetched.append((frame_from, frame_to))
        return np.broadcast_to(self.step * (frame_to - frame_from), (H, W, 2)).copy()


def test_window_chains_the_median_flow_both_ways_within_the_video():
    flows = _ConstantFlows(2.0, -1.0)
    window = Window(flows, frame_idx=1, num_frames=10, steps=3)
    offsets = window.offsets(SUBJECT)
    # 3 steps forward (frames 2, 3, 4), 1 back (frame 0: the video starts there)
    np.testing.assert_allclose(offsets, [[2, -1], [4, -2], [6, -3], [-2, 1]], atol=1e-6)
    fetched = len(flows.fetched)
    np.testing.assert_allclose(window.offsets(ABOVE), offsets, atol=1e-6)
    assert len(flows.fetched) == fetched, "the window keeps its flows: a second mask fetches none"
    assert window_steps(24.0, 1.0) == 24 and window_steps(10.0, 0.01) == 1


def test_window_ends_at_a_shot_cut():
    """No flow follows anything across a cut: the window stops there as it does at the video's ends."""
    flows = _ConstantFlows(2.0, -1.0)
    window = Window(flows, frame_idx=3, num_frames=10, steps=3, cuts=frozenset({3, 5}))
    # forward 3 -> 4 only (4 -> 5 enters the next shot); backward none (3 starts its shot)
    np.testing.assert_allclose(window.offsets(SUBJECT), [[2, -1]], atol=1e-6)
    assert set(flows.fetched) == {(3, 4)}
