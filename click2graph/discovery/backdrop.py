"""What the subject stands in front of: a discovered track that is the subject's backdrop, read over the clip.

In a still shot every region is still, so nothing on one frame tells an object the subject interacts with from
background it stands in front of. The clip does: a region that stays where it was found, in the image, while
much of the subject comes to lie on the pixels it covered (the subject is in front of it, and it is as large as
the subject there: the subject stands within it) is the backdrop behind the subject, a door, a wall panel, not
something it handles. A chair the subject walks past in front of stays: at most a small part of the subject lies
on it. What the subject holds or touches from beside it, or what stands in front of it (hiding it), never has the
subject on its pixels, and what it moves does not stay where it was. Likewise a region that stays put and that the
frame's border cuts is a piece of a surface continuing out of view (a wall, a shelf, the deck beside a table):
a thing the subject interacts with either lies within the view or is moved, while a still wall or shelf is
seen through the frame's window (:func:`is_out_of_view`).

Only masks are read (the object's and its subject's tracks), so the test is the same on every backend; a track
that stays put in the image is either still in a still shot or moves with the camera, background either way.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from click2graph.masks import border_fraction, rle_decode

STILL_IOU = 0.5  # a track stays where it was found when its visible pixels overlap its keyframe's this much


def subject_share(object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], keyframe: int) -> float | None:
    """The largest fraction of the subject's pixels lying on the object's keyframe pixels over the clip, or None
    when the object's track does not stay where it was found (:func:`stays_put`).

    Args:
        object_masks, subject_masks: working frame -> COCO RLE mask of the object's and its subject's tracks.
        keyframe: the frame where the object was found; its mask there is the region the subject may come over.
    """
    read = _read(object_masks, subject_masks, keyframe)
    return None if read is None or not read[0] else read[1]


def stays_put(object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], keyframe: int) -> bool:
    """True when, on most of the frames where the object's track is present, its pixels off the subject overlap
    (IoU) its keyframe's pixels off the subject by ``STILL_IOU`` or more (the subject hides part of a region it
    stands in front of, which does not make the region move); False without a keyframe mask."""
    read = _read(object_masks, subject_masks, keyframe)
    return read is not None and read[0]


def _read(
    object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], keyframe: int
) -> tuple[bool, float] | None:
    """(:func:`stays_put`, the share of :func:`subject_share`), or None without a keyframe mask."""
    footprint = rle_decode(object_masks[keyframe]) if keyframe in object_masks else None
    if footprint is None or not footprint.any():
        return None
    overlaps, share = [], 0.0
    for t, rle in object_masks.items():
        mask = rle_decode(rle)
        if not mask.any():
            continue
        subject = rle_decode(subject_masks[t]) if t in subject_masks else np.zeros_like(mask)
        visible, seen = mask & ~subject, footprint & ~subject
        union = int((visible | seen).sum())
        overlaps.append(int((visible & seen).sum()) / union if union else 1.0)
        if subject.any():
            share = max(share, int((subject & footprint).sum()) / int(subject.sum()))
    return bool(np.median(overlaps) >= STILL_IOU), share


def is_backdrop(
    object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], keyframe: int, min_share: float
) -> bool:
    """True when the object's track stays where it was found and, on some frame, at least ``min_share`` of the
    subject's pixels lie on its keyframe pixels (:func:`subject_share`): the subject stands in front of it."""
    share = subject_share(object_masks, subject_masks, keyframe)
    return share is not None and share >= min_share


def is_out_of_view(
    object_masks: Mapping[int, dict], subject_masks: Mapping[int, dict], keyframe: int, min_border: float
) -> bool:
    """True when the object's keyframe mask lies along the frame border over at least ``min_border`` of its box's
    perimeter (:func:`~click2graph.masks.border_fraction`) and its track stays where it was found
    (:func:`stays_put`): a still region that the frame cuts, a piece of a surface continuing out of view (a wall, a
    shelf, a deck), not a thing. What the subject moves or carries out of view does not stay put."""
    if keyframe not in object_masks or border_fraction(rle_decode(object_masks[keyframe])) < min_border:
        return False
    return stays_put(object_masks, subject_masks, keyframe)
