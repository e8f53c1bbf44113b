"""The bilateral colour memory (click2graph.segment.classic_bilateral) on generated images."""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.cv.colour import lab_codes
from click2graph.segment.classic_bilateral import BilateralMemory, Samples, bilateral_costs
from click2graph.segment.classic_energy import BINS

H, W = 96, 192
RED, BLUE, GREY = (200, 40, 40), (40, 60, 200), (128, 128, 128)


def _codes(frame: np.ndarray) -> np.ndarray:
    return lab_codes(cv2.cvtColor(frame, cv2.COLOR_RGB2LAB), BINS)


def _scene(shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red square on grey at the left, and a red strip of background at the right: one object histogram
    against one background histogram calls the strip object."""
    rng = np.random.default_rng(shift)
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = GREY
    frame[:, 150:170] = RED
    mask = np.zeros((H, W), bool)
    mask[30:62, 30 + shift : 62 + shift] = True
    frame[mask] = RED
    frame[:, :, :] = np.clip(frame.astype(int) + rng.integers(-10, 10, (H, W, 1)), 0, 255)
    return frame, mask


def test_a_colour_is_object_in_one_place_and_background_in_another():
    frame, mask = _scene()
    codes = _codes(frame)
    # The prompted frame knows the strip as background: its window reaches it.
    memory = BilateralMemory(Samples.take(codes, mask, np.s_[0:H, 0:W], 2, 1.0))
    f, b = memory.counts(codes, (0, 0), cell_px=8.0)
    inside = f[34:58, 34:58] / (f[34:58, 34:58] + b[34:58, 34:58])
    strip = f[:, 154:166] / (f[:, 154:166] + b[:, 154:166] + 1e-6)
    assert inside.min() > 0.9
    assert strip.max() < 0.1
    assert (f[:, 100:140] + b[:, 100:140]).min() > 0  # grey there: background, seen nearby


def test_remembered_samples_move_with_the_object_and_the_camera():
    frame, mask = _scene()
    memory = BilateralMemory(Samples.take(_codes(frame), mask, np.s_[0:H, 0:W], 2, 1.0))
    obj = np.array([[1.0, 0.0, 20.0], [0.0, 1.0, 0.0]])  # the object moves 20 px right, the camera stands still
    moved = memory.moved(obj, np.eye(2, 3), np.zeros((H, W, 2), np.float32), np.zeros((H, W), bool), mask)
    new_frame, new_mask = _scene(shift=20)
    codes = _codes(new_frame)
    f, b = moved.counts(codes, (0, 0), cell_px=8.0)
    p = f / (f + b + 1e-6)
    assert p[34:58, 54:78].min() > 0.9  # the square where it went
    assert p[34:58, 34:46].max() < 0.5  # grey it uncovered: background that stayed
    # The costs: object cheaper inside, background cheaper on the strip, whatever the given term said.
    zeros = np.zeros((H, W), np.float32)
    cost_fg, cost_bg = bilateral_costs(zeros, zeros, moved, codes, (0, 0), 8.0, pseudo=0.01, strength=1.0, max_nats=6.0)
    assert (cost_bg[new_mask] - cost_fg[new_mask]).mean() > 1.0
    assert (cost_fg[:, 154:166] - cost_bg[:, 154:166]).mean() > 1.0


def test_empty_cells_keep_the_given_term_and_old_frames_fade():
    frame, mask = _scene()
    codes = _codes(frame)
    memory = BilateralMemory(Samples.take(codes, mask, np.s_[20:72, 20:72], 2, 1.0))
    given = np.full((H, W), 3.0, np.float32)
    cost_fg, cost_bg = bilateral_costs(
        given, 0 * given, memory, codes, (0, 0), 8.0, pseudo=0.01, strength=1.0, max_nats=6.0
    )
    assert np.allclose(cost_fg[:, 120:], 3.0) and np.allclose(cost_bg[:, 120:], 0.0)  # nothing remembered there
    for _ in range(5):
        memory.remember(Samples.take(codes, mask, np.s_[0:H, 0:W], 2, 1.0), frames=3, decay=0.5)
    assert len(memory.recent) == 3
    assert [s.weight / memory.recent[0].weight for s in memory.recent] == [1.0, 0.5, 0.25]
