"""click2graph.discovery.specks: the frames where a discovered track holds only a speck of its usual size are cut."""

from __future__ import annotations

import numpy as np

from click2graph.discovery.specks import without_specks
from click2graph.masks import rle_area, rle_encode


def block(area: int) -> dict:
    """An RLE mask of 40x40 px holding ``area`` pixels (a band of whole rows plus a partial one)."""
    mask = np.zeros((40, 40), bool)
    mask.ravel()[:area] = True
    return rle_encode(mask)


def areas(track: dict[int, dict]) -> dict[int, int]:
    return {t: rle_area(rle) for t, rle in sorted(track.items())}


def test_a_frame_under_the_share_of_the_median_area_is_emptied_and_the_others_kept():
    track = {0: block(400), 1: block(380), 2: block(30), 3: block(0), 4: block(420), 5: block(60)}
    # median of the frames with pixels (400, 380, 30, 420, 60) is 380: the floor at 0.1 is 38 px
    assert areas(without_specks(track, 0.1)) == {0: 400, 1: 380, 2: 0, 3: 0, 4: 420, 5: 60}


def test_an_empty_track_and_a_steady_one_come_back_unchanged():
    empty = {0: block(0), 1: block(0)}
    steady = {t: block(300 + 10 * t) for t in range(5)}
    assert areas(without_specks(empty, 0.1)) == areas(empty)
    assert areas(without_specks(steady, 0.1)) == areas(steady)
    assert without_specks(steady, 0.1)[2]["size"] == [40, 40]
