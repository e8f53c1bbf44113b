"""Pieces of one object: two discovered tracks that are one thing, read around the later one's keyframe.

A candidate's mask stops where the colour changes, so one object can be discovered as several pieces (a leg in
jeans and its white shoe, two shades of one trouser leg), each tracked and related on its own: the graph lists the
same thing twice. Two separate things may touch for a moment (a ball kicked by a shoe), lie side by side
without moving (a mug by a kettle), or one may move along the other (a hand passing over a still shelf in the
image), but pieces of one object stay in contact while it moves: they touch on most frames around the keyframe
where the later of them was found (where both tracks are still reliable) and, on those frames, each of them
moves unlike the far background at some time (rigidly or not: a shin swings less than its foot). A still pair
gives no evidence (two still things side by side stay two). Such tracks are merged into one
(:func:`merged_track`), away from the keyframe only where they still touch.

Masks are read from the tracks (any backend) and motion from the flows discovery reads (``state.flows``).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from click2graph.masks import dilate, rle_decode, rle_encode

FlowAt = Callable[[int], "np.ndarray | None"]  # frame -> flow (H, W, 2) to the next frame, or None


def are_pieces(
    a_masks: Mapping[int, dict],
    b_masks: Mapping[int, dict],
    subject_masks: Mapping[int, dict],
    frames: range,
    flow_at: FlowAt,
    *,
    min_touching: float,
    contact_px: int,
    motion_px: float,
) -> bool:
    """True when tracks ``a`` and ``b`` (working frame -> COCO RLE) touch (within ``contact_px``) on at least
    ``min_touching`` of the ``frames`` and each of them, on one of the frames where they touch, moves by
    ``motion_px`` or more unlike the background away from both and their subject."""
    touching = [t for t in frames if _touch(a_masks.get(t), b_masks.get(t), contact_px)]
    if not touching or len(touching) < min_touching * len(frames):
        return False
    moved = np.zeros(2, bool)
    for t in touching:
        moved |= _motions(a_masks[t], b_masks[t], subject_masks.get(t), flow_at(t)) >= motion_px
        if moved.all():
            return True
    return False


def merged_track(a_masks: Mapping[int, dict], b_masks: Mapping[int, dict], contact_px: int) -> dict[int, dict]:
    """The track of ``a`` joined by its piece ``b``, frame by frame: their union where they touch (within
    ``contact_px``), ``a`` alone where both have pixels but lie apart (there ``b``'s track has left the object),
    and whichever has pixels elsewhere."""
    out = {}
    for t in sorted(set(a_masks) | set(b_masks)):
        a, b = (rle_decode(m[t]) if t in m else None for m in (a_masks, b_masks))
        if a is not None and b is not None and a.any() and b.any():
            out[t] = rle_encode(a | b) if _touching(a, b, contact_px) else a_masks[t]
        else:
            out[t] = a_masks[t] if a is not None and (b is None or a.any()) else b_masks[t]
    return out


def _touch(a_rle: dict | None, b_rle: dict | None, contact_px: int) -> bool:
    return a_rle is not None and b_rle is not None and _touching(rle_decode(a_rle), rle_decode(b_rle), contact_px)


def _touching(a: np.ndarray, b: np.ndarray, contact_px: int) -> bool:
    """True when a pixel of ``b`` lies within ``contact_px`` of one of ``a`` (bool masks)."""
    return bool(a.any() and (dilate(a, contact_px) & b).any())


def _motions(a_rle: dict, b_rle: dict, subject_rle: dict | None, flow: np.ndarray | None) -> np.ndarray:
    """(2,) how far (px/frame) ``a`` and ``b`` move unlike the pixels 8 px or more away from both and the subject
    (medians of the flow); zeros without flow or such background."""
    a, b = rle_decode(a_rle), rle_decode(b_rle)
    near = a | b
    if subject_rle is not None:
        near |= rle_decode(subject_rle)
    background = ~dilate(near, 8)
    if flow is None or not background.any():
        return np.zeros(2)
    still = np.median(flow[background], axis=0)
    return np.array([np.linalg.norm(np.median(flow[m], axis=0) - still) for m in (a, b)])
