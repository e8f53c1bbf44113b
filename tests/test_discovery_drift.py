"""click2graph.discovery.drift: cutting the frames where a discovered object's track lies on its subject."""

from __future__ import annotations

import numpy as np

from click2graph.discovery.drift import apart_track, on_subject_share
from click2graph.masks import rle_decode, rle_encode


def box(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((40, 60), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_the_share_on_the_subject_is_the_fraction_of_the_object_on_it():
    subject = rle_encode(box(10, 30, 10, 30))
    assert on_subject_share(rle_encode(box(10, 20, 25, 35)), subject) == 0.5
    assert on_subject_share(rle_encode(box(12, 18, 12, 18)), subject) == 1.0
    assert on_subject_share(rle_encode(box(0, 5, 40, 50)), subject) == 0.0
    assert on_subject_share(rle_encode(np.zeros((40, 60), bool)), subject) == 0.0  # an empty mask
    assert on_subject_share(rle_encode(box(12, 18, 12, 18)), None) == 0.0  # no subject on that frame


def test_only_the_frames_mostly_on_the_subject_are_emptied():
    subject = {t: rle_encode(box(10, 30, 10, 30)) for t in range(4)}
    track = {
        0: rle_encode(box(10, 20, 31, 41)),  # beside the subject
        1: rle_encode(box(12, 18, 12, 18)),  # slid onto it
        2: rle_encode(box(10, 20, 25, 35)),  # half on it: not more than 0.5
        3: rle_encode(box(10, 20, 22, 32)),  # 0.8 on it
        4: rle_encode(box(10, 20, 31, 41)),  # no subject mask on this frame
    }
    out = apart_track(track, subject, 0.5)
    assert sorted(out) == sorted(track)
    assert [int(rle_decode(out[t]).sum()) for t in range(5)] == [100, 0, 100, 0, 100]
    assert out[0] == track[0] and out[4] == track[4]  # frames apart are unchanged
