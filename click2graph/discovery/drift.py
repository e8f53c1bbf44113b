"""Where a discovered object's track lies on its subject: the frames it cannot be told from the subject.

A discovered object is found apart from its subject on its keyframe, then tracked both ways. On a frame where most
of its mask lies on the subject's mask, the masks no longer tell it from the subject: either its track drifted onto
the subject (a shoe's track that slides onto the dog jumping past it, a window's onto the player in front of it)
or the subject's mask took it over (a cup under a mask that spilled over the table), and its region there is the
subject's, not an object's. Such frames are cut from the object's track; the frames where it lies apart stay.

Only masks are read (as RLE, never decoded), so the cut is the same on every backend.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from click2graph.masks import rle_area, rle_encode, rle_intersection_area


def on_subject_share(rle: dict, subject_rle: dict | None) -> float:
    """Fraction of the pixels of the RLE mask ``rle`` lying on ``subject_rle`` (0.0 for an empty mask or no
    subject)."""
    area = rle_area(rle)
    if not area or subject_rle is None:
        return 0.0
    return rle_intersection_area(rle, subject_rle) / area


def apart_track(
    object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], max_share: float
) -> dict[int, dict]:
    """The object's track (working frame -> COCO RLE) with an empty mask on every frame where more than
    ``max_share`` of its pixels lie on the subject's mask (:func:`on_subject_share`); other frames unchanged."""
    out = {}
    for t, rle in object_masks.items():
        if on_subject_share(rle, subject_masks.get(t)) > max_share:
            rle = rle_encode(np.zeros(rle["size"], bool))
        out[t] = rle
    return out
