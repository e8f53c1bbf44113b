"""click2graph.discovery.jumps: a discovered track is cut from its first jump far across the frame, away from its
keyframe, unless a shot cut lies in between."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.discovery.jumps import steady_track
from click2graph.masks import rle_area, rle_encode

H, W = 60, 80  # diagonal 100 px


def square(x: int, y: int, side: int = 6) -> dict:
    mask = np.zeros((H, W), bool)
    mask[y : y + side, x : x + side] = True
    return rle_encode(mask)


def present(track: dict[int, dict]) -> list[int]:
    return [t for t, rle in sorted(track.items()) if rle_area(rle)]


# A square creeping right along the top by 2 px a frame (frames 0-19), found on frame 8.
CREEPING = {t: square(2 + 2 * t, 2) for t in range(20)}


def jumped(frame: int, x: int, y: int, *, backward: bool = False) -> dict[int, dict]:
    """:data:`CREEPING` whose track lands on the square at (x, y) from ``frame`` on (or up to it, ``backward``)."""
    moved = range(frame + 1) if backward else range(frame, 20)
    return {t: square(x, y) if t in moved else rle for t, rle in CREEPING.items()}


@pytest.mark.parametrize(
    "track, shot_starts, kept",
    [
        (CREEPING, (), list(range(20))),  # no jump: all kept
        (jumped(14, 74, 54), (), list(range(14))),  # 0.69 of the diagonal away from frame 13: 14-19 cut
        (jumped(3, 74, 54, backward=True), (), list(range(4, 20))),  # the same before the keyframe: 0-3 cut
        (jumped(14, 74, 54), (14,), list(range(20))),  # the same across a shot cut: no evidence, kept
        (jumped(14, 74, 54), (11,), list(range(14))),  # a cut elsewhere does not excuse the jump
        (jumped(14, 50, 30), (), list(range(20))),  # 0.36 of the diagonal: an object's move, kept
    ],
)
def test_a_track_is_cut_from_its_first_far_jump_away_from_the_keyframe(track, shot_starts, kept):
    assert present(steady_track(track, 8, shot_starts, 0.5)) == kept


def test_frames_lost_before_the_jump_do_not_excuse_it():
    """The track is lost on frames 10-13 and comes back at the far corner: the gap is no shot cut."""
    track = {t: rle_encode(np.zeros((H, W), bool)) if 10 <= t < 14 else rle for t, rle in jumped(14, 74, 54).items()}
    assert present(steady_track(track, 8, (), 0.5)) == list(range(10))


def test_a_track_without_pixels_on_its_keyframe_is_unchanged():
    track = {**jumped(14, 74, 54), 8: rle_encode(np.zeros((H, W), bool))}
    assert steady_track(track, 8, (), 0.5) == track
