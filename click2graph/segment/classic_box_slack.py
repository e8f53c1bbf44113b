"""A user's box is not the object's tight box: when its cut collapses, the box is grown and the cut redone.

A drawn box misses the object's sides by a tenth of its size and more (the evaluation protocol draws each side with
Gaussian noise of 10 %). A side drawn inside the object puts the cut-off part in GrabCut's sure background, and a
box drawn loosely around a thin subject is mostly background: the background mixture then holds the object's
colours and the cut keeps a sliver (a flamingo's leg, a pole in front of a dog; DAVIS frame-0 IoU 0.00). A tight box
touches the object on its four sides, so the cut's main piece spans it; a sliver spans at most one of its sides.
When the main piece fits the box that badly (:func:`main_piece_fit` below ``MIN_PIECE_FIT``),
:func:`~click2graph.segment.classic_click.segment_prompt` cuts again in boxes grown by each of ``GROWTHS`` in turn
and keeps the first cut whose main piece fits the drawn box (the first one is kept when none does).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from click2graph.masks import bbox_xyxy, largest_component

# A cut whose largest piece's bounding box overlaps the drawn box (IoU) by less than this has collapsed. DAVIS boxes
# (exact and 10 % noise, 9 frames): collapsed cuts 0.01-0.10, the other 70 0.40 and up.
MIN_PIECE_FIT = 0.25
# Each side of the drawn box moves out by these fractions of its width / height for the cuts again: no single
# growth suits every draw (a side 20 px inside a flamingo's back needs 5 %; a dog whose legs the box cut needs 10 %
# and more, and a larger box takes the background around a thin subject).
GROWTHS = (0.05, 0.1, 0.15, 0.2)


def box_fit(mask: np.ndarray, box: np.ndarray) -> float:
    """IoU of the mask's bounding box with ``box`` (``x0, y0, x1, y1``); 0 for an empty mask."""
    tight = bbox_xyxy(mask)
    if tight is None:
        return 0.0
    x0, y0, x1, y1 = box
    inter = max(0.0, min(tight[2], x1) - max(tight[0], x0)) * max(0.0, min(tight[3], y1) - max(tight[1], y0))
    union = (tight[2] - tight[0]) * (tight[3] - tight[1]) + (x1 - x0) * (y1 - y0) - inter
    return inter / max(union, 1e-6)


def main_piece_fit(mask: np.ndarray, box: np.ndarray) -> float:
    """:func:`box_fit` of the mask's largest 8-connected piece (scattered slivers fit the box only together)."""
    return box_fit(largest_component(mask), box)


def grown_boxes(box: np.ndarray, shape_hw: tuple[int, int]) -> Iterator[np.ndarray]:
    """``box`` (``x0, y0, x1, y1``) with each side moved out by each of :data:`GROWTHS` of its width / height in
    turn, clipped to a frame of ``shape_hw``."""
    h, w = shape_hw
    x0, y0, x1, y1 = box
    for g in GROWTHS:
        dx, dy = g * (x1 - x0), g * (y1 - y0)
        yield np.array([max(0.0, x0 - dx), max(0.0, y0 - dy), min(w - 1.0, x1 + dx), min(h - 1.0, y1 + dy)])
