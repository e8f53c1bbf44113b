"""click2graph.discovery.backdrop: the share of the subject lying on a still track's keyframe pixels, and a still
track the frame cuts."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.discovery.backdrop import is_backdrop, is_out_of_view, stays_put, subject_share
from click2graph.masks import rle_decode, rle_encode

H, W = 60, 100


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def track(masks: list[np.ndarray]) -> dict[int, dict]:
    return {t: rle_encode(m) for t, m in enumerate(masks)}


def walker(num_frames: int, x_at) -> dict[int, dict]:
    """A 10x30 subject whose left edge is at ``x_at(t)``."""
    return track([box(x_at(t), 20, x_at(t) + 10, 50) for t in range(num_frames)])


def behind(region: np.ndarray, subject: dict[int, dict], num_frames: int) -> dict[int, dict]:
    """A still region's track as a segmenter sees it: hidden where the subject stands in front of it."""
    return track([region & ~rle_decode(subject[t]) for t in range(num_frames)])


def test_a_still_panel_the_subject_walks_into_holds_most_of_it():
    subject = walker(12, lambda t: 10 + 5 * t)  # from x 10 to x 65
    panel = behind(box(55, 10, 85, 50), subject, 12)
    assert subject_share(panel, subject, 0) == pytest.approx(1.0)
    assert is_backdrop(panel, subject, 0, 0.5)


def test_a_small_region_the_subject_passes_in_front_of_holds_a_small_part_of_it():
    subject = walker(12, lambda t: 10 + 5 * t)
    stool = behind(box(55, 40, 75, 50), subject, 12)  # 10 of the subject's 30 rows
    assert subject_share(stool, subject, 0) == pytest.approx(1 / 3)
    assert not is_backdrop(stool, subject, 0, 0.5)


def test_an_object_moved_away_is_not_still_wherever_the_subject_comes_to_stand():
    subject = walker(12, lambda t: 10 + 5 * t)
    # a box carried off to the right ahead of the subject: the subject comes over the pixels it left
    moved = track([box(55 + 8 * t, 20, 65 + 8 * t, 50) if t < 5 else box(95, 0, 100, 5) for t in range(12)])
    assert subject_share(moved, subject, 0) is None
    assert not is_backdrop(moved, subject, 0, 0.5)


def test_what_the_subject_touches_from_beside_never_has_it_on_its_pixels():
    subject = walker(12, lambda t: 40)
    ball = track([box(50, 40, 60, 50)] * 12)
    assert subject_share(ball, subject, 0) == 0.0


def test_a_track_without_its_keyframe_mask_says_nothing():
    subject = walker(3, lambda t: 40)
    assert subject_share({0: rle_encode(np.zeros((H, W), bool))}, subject, 0) is None
    assert subject_share(track([box(0, 0, 5, 5)] * 3), subject, 7) is None


def test_a_still_region_the_frame_cuts_is_out_of_view():
    subject = walker(12, lambda t: 40)
    shelf = track([box(70, 10, 100, 50)] * 12)  # along the right edge: 40 of its box's 140 px of perimeter
    assert stays_put(shelf, subject, 0)
    assert is_out_of_view(shelf, subject, 0, 0.1)
    assert not is_out_of_view(shelf, subject, 0, 0.3)


def test_a_region_within_the_view_or_moved_is_not_out_of_view():
    subject = walker(12, lambda t: 40)
    inside = track([box(70, 10, 95, 50)] * 12)
    assert stays_put(inside, subject, 0) and not is_out_of_view(inside, subject, 0, 0.1)
    # a box at the edge carried off to the left by the subject: it does not stay put
    carried = track([box(70 - 5 * t, 20, 100 - 5 * t, 50) for t in range(12)])
    assert not stays_put(carried, subject, 0)
    assert not is_out_of_view(carried, subject, 0, 0.1)
    assert not is_out_of_view(inside, subject, 7, 0.1)  # no keyframe mask
