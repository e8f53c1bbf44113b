"""Where a discovered object's track leaves it: a jump far across the frame within a shot.

An object moves by at most a small share of the frame between two of its frames in one shot, even across a few
frames where its track was lost or cut (a cup carried behind the subject's hands comes back a few centimetres
away). A tracker that lost an object and re-acquired "it" elsewhere, or drifted along a look-alike, lands on
another thing: the window blind's track that turns up at the table's far corner. From the first such jump,
walking away from the keyframe where the object was found (where its track surely is the object), the frames are
not the object's and are cut. Across a shot cut anything may change, so a jump there is no evidence.

Only masks are read (as RLE; centroids of decoded masks), so the cut is the same on every backend.
"""

from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

from click2graph.masks import centroid_xy, rle_decode, rle_encode


def steady_track(
    object_masks: Mapping[int, dict], keyframe: int, shot_starts: Collection[int], max_jump: float
) -> dict[int, dict]:
    """The object's track (working frame -> COCO RLE) with an empty mask on every frame beyond its first jump
    away from ``keyframe``, either way: a step between two consecutive frames where it has pixels, with no frame
    of ``shot_starts`` (frames that begin a new shot) in between, whose centroids lie more than ``max_jump`` of
    the frame's diagonal apart. Other frames unchanged; a track without pixels on ``keyframe`` is unchanged."""
    centres = {t: c for t, rle in object_masks.items() if (c := centroid_xy(rle_decode(rle))) is not None}
    if keyframe not in centres:
        return dict(object_masks)
    height, width = next(iter(object_masks.values()))["size"]
    reach = max_jump * float(np.hypot(height, width))
    before = sorted((t for t in centres if t < keyframe), reverse=True)
    after = sorted(t for t in centres if t > keyframe)
    gone = set()
    for path in (before, after):
        last = keyframe
        for t in path:
            cut = any(min(last, t) < s <= max(last, t) for s in shot_starts)
            if not cut and np.hypot(*np.subtract(centres[t], centres[last])) > reach:
                gone |= {u for u in object_masks if (u - t) * (t - keyframe) >= 0}
                break
            last = t
    empty = rle_encode(np.zeros((height, width), bool))
    return {t: empty if t in gone else rle for t, rle in object_masks.items()}
