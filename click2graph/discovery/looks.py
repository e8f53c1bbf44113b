"""Where a discovered object's track shows something else: the frames whose colours are not the object's.

A tracker that lost an object often keeps a mask on whatever lay there or beside it: a patch of bush where a shoe
was, the forearm beside the dough it kneads. Its size and place can pass for the object's (:mod:`.specks`,
:mod:`.jumps`), its colours do not: on such frames of the examples and held-out clips the mask's colour histogram is
nearly disjoint from the one on the keyframe, where the object was found (Bhattacharyya coefficient 0.04-0.42). The
true masks of the 12 DAVIS development subjects, turning, blurred, backlit, their frames encoded again (CRF 28),
never fell below 0.53 against any of their own frames. Such frames are cut; the others stay.

The histograms are not made blind to light: a flat-coloured object whose brightness changes by a fifth as a whole (a
red ball rolling into shade) scores about 0.35 and loses those frames. A lost frame leaves a gap in the object's
timeline; a kept wrong one draws a mask and relations on something else. Nor is it a background detector: it
catches a track that landed on other colours. The object's own shape moved onto the ground or road beside a DAVIS
subject scored 0.29-0.64 (motocross-bumps, car-shadow), often above the cut.

Colours are read from the working frames, so the cut is the same on every backend.
"""

from __future__ import annotations

from typing import Mapping

import cv2
import numpy as np

from click2graph.cv.colour import bhattacharyya, colour_histogram, lab_codes
from click2graph.discovery.evidence import COLOUR_BINS
from click2graph.masks import bbox_xyxy, rle_area, rle_decode, rle_encode


def alike_track(
    object_masks: Mapping[int, dict], keyframe: int, frames: np.ndarray, min_likeness: float
) -> dict[int, dict]:
    """The object's track (working frame -> COCO RLE) with an empty mask on every frame whose colours' likeness to
    the keyframe mask's (:func:`~click2graph.cv.colour.bhattacharyya` of Lab histograms) is below
    ``min_likeness``; other frames unchanged. ``frames``: the working frames (uint8 RGB (N, H, W, 3), indexed like
    the track).
    A track without pixels on ``keyframe`` is unchanged."""
    if keyframe not in object_masks or not rle_area(object_masks[keyframe]):
        return dict(object_masks)
    reference = mask_colours(frames[keyframe], rle_decode(object_masks[keyframe]))
    empty = rle_encode(np.zeros(object_masks[keyframe]["size"], bool))

    def unlike(t: int, rle: dict) -> bool:
        return bool(rle_area(rle)) and bhattacharyya(reference, mask_colours(frames[t], rle_decode(rle))) < min_likeness

    return {t: empty if t != keyframe and unlike(t, rle) else rle for t, rle in object_masks.items()}


def mask_colours(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Normalised Lab histogram (``COLOUR_BINS`` levels per channel, as discovery's evidence reads) of the pixels of
    ``frame`` (uint8 RGB) under ``mask`` (bool, not empty); only the mask's box is converted."""
    x0, y0, x1, y1 = bbox_xyxy(mask)
    box = np.s_[y0 : y1 + 1, x0 : x1 + 1]
    lab = cv2.cvtColor(np.ascontiguousarray(frame[box]), cv2.COLOR_RGB2LAB)
    return colour_histogram(lab_codes(lab[mask[box]], COLOUR_BINS), COLOUR_BINS)
