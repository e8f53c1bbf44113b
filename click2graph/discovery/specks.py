"""Where a discovered object's track holds only a speck: the frames its tracker lost it on.

A tracker that loses an object often keeps a few pixels where it was (a speck of grass where a trainer's shin
stood, a corner of a cushion behind a child), so the track has pixels on frames where the object is not found.
Shown and related, such a speck is a wrong object; judged by its size against the rest of the track it is easy to
tell: on the examples and held-out clips every frame under a tenth of its track's median area was a speck off its
object (0.001-0.065 of the median), while the smallest frames that showed the object held 0.126 of it.

Only areas are read (as RLE, never decoded), so the cut is the same on every backend.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from click2graph.masks import rle_area, rle_encode


def without_specks(object_masks: Mapping[int, dict], min_share: float) -> dict[int, dict]:
    """The object's track (working frame -> COCO RLE) with an empty mask on every frame whose area is below
    ``min_share`` of the track's median area over the frames where it has pixels; other frames unchanged."""
    areas = {t: rle_area(rle) for t, rle in object_masks.items()}
    present = [area for area in areas.values() if area]
    if not present:
        return dict(object_masks)
    floor = min_share * float(np.median(present))
    return {
        t: rle_encode(np.zeros(rle["size"], bool)) if 0 < areas[t] < floor else rle for t, rle in object_masks.items()
    }
