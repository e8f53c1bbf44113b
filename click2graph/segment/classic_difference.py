"""The camera-compensated frame difference: how much each pixel of a frame changes once the camera's motion is
undone, a cue that tells a subject from its backdrop where colour cannot.

Each neighbour frame is warped onto frame ``t`` by the camera's affine (fitted to the flow as everywhere in the
classic backend) and compared colour to colour (CIELAB distance, both frames slightly blurred). The backdrop
lines up and changes little; the subject moves on it and changes wherever it has any texture or outline. The warp
is one affine per pair, so unlike the flow the cue is not smeared across the subject's edges (DIS's halo
gives a dancer's flow to the wall beside her); what it gets wrong instead is parallax (a pole near the camera) and
the pixels the subject will cover in the neighbour (its "ghost"): taking the median over neighbours at several
gaps, before and after ``t``, keeps a pixel bright only when it changes in most of them. A still subject on a
changing backdrop (rippling water) turns the cue around, and :func:`moves_against_backdrop` tells it.
"""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.masks import bbox_xyxy
from click2graph.segment.classic_features import FrameFeatures

GAPS = (1, 2, 4, 8)  # frames between ``t`` and its neighbours, on both sides (where the clip has them)
# Fewer neighbours than this give no cue: a median of one or two cannot outvote a ghost (on two-frame clips the
# cue of one neighbour lowered the DAVIS boxes' frame-0 mean, 0.716 -> 0.702: tennis 0.73 -> 0.63).
MIN_NEIGHBOURS = 3
_BLUR_SIGMA = 1.0  # px: the frames are blurred this much before the comparison (resampling and JPEG noise)
_BLUR_PAD = 8  # px around a box that the blur reads (its kernel reaches 3 px at that sigma)


def background_difference(feat: FrameFeatures, t: int, gaps: tuple[int, ...] = GAPS) -> np.ndarray | None:
    """float32 (h, w) in processing pixels, read-only: the median over the neighbours ``t +- gap`` in ``t``'s shot of
    the CIELAB distance between frame ``t`` and the neighbour warped onto it by the camera's motion; None with fewer
    than :data:`MIN_NEIGHBOURS` neighbours. Computed once per frame while ``feat`` keeps it
    (:meth:`FrameFeatures.derived`): a click's steps and motion neighbours read it several times (4-6 on a click
    between frames). A neighbour past a shot cut shows another scene, where every pixel "changes": it is left out."""
    n, cuts = len(feat.frames), feat.flows.shot_starts()
    neighbours = [
        t2
        for gap in gaps
        for t2 in (t + gap, t - gap)
        if 0 <= t2 < n and not any(min(t, t2) < cut <= max(t, t2) for cut in cuts)
    ]
    if len(neighbours) < MIN_NEIGHBOURS:
        return None

    def median_distance() -> np.ndarray:
        lab = _lab(feat.frame(t)[0])
        distances = [_distance(feat, lab, t2, feat.camera(t, t2)) for t2 in neighbours]
        return np.median(distances, axis=0).astype(np.float32)

    return feat.derived(("background_difference", t, tuple(gaps)), median_distance)


def frame_change(
    feat: FrameFeatures, t: int, t2: int, affine: np.ndarray, within: np.ndarray | None = None
) -> np.ndarray:
    """float32 (h, w) in processing pixels: the CIELAB distance between frame ``t`` and frame ``t2`` warped onto
    it by the camera's motion ``affine`` (``feat.camera(t, t2)``). One neighbour, so a thing that moved lights up
    both where it is and where it was. With ``within`` (bool (h, w)) the blur, the Lab conversion and the distance
    run over that mask's bounding box only (the warp stays whole: its per-pixel result then matches the whole
    frame's), 0 elsewhere: the same values there as over the whole frame (the blur reads a margin around the box),
    at a fraction of the cost for a small object (the tracker runs it on every step)."""
    rgb = feat.frame(t)[0]
    h, w = rgb.shape[:2]
    warped = _warped(feat, t2, affine, (h, w))
    if within is None:
        return _lab_distance(_lab(rgb), warped)
    x0, y0, x1, y1 = bbox_xyxy(within)
    outer = np.s_[
        max(0, y0 - _BLUR_PAD) : min(h, y1 + _BLUR_PAD + 1), max(0, x0 - _BLUR_PAD) : min(w, x1 + _BLUR_PAD + 1)
    ]
    inner = np.s_[y0 - outer[0].start : y1 + 1 - outer[0].start, x0 - outer[1].start : x1 + 1 - outer[1].start]
    out = np.zeros((h, w), np.float32)
    out[y0 : y1 + 1, x0 : x1 + 1] = _lab_distance(_lab(rgb[outer]), warped[outer])[inner]
    return out


def _distance(feat: FrameFeatures, lab: np.ndarray, t2: int, affine: np.ndarray) -> np.ndarray:
    """float32 (h, w): the CIELAB distance between ``lab`` (frame ``t``'s) and frame ``t2`` warped onto ``t`` by
    ``affine`` (:func:`_warped`)."""
    return _lab_distance(lab, _warped(feat, t2, affine, lab.shape[:2]))


def _warped(feat: FrameFeatures, t2: int, affine: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """uint8 (h, w, 3): frame ``t2`` warped onto frame ``t`` by ``affine`` (frame t's pixel x lies at
    affine @ (x, 1) on t2)."""
    h, w = shape_hw
    return cv2.warpAffine(
        feat.frame(t2)[0],
        affine.astype(np.float32),
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _lab_distance(lab: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """float32 (h, w): the CIELAB distance between ``lab`` and the RGB frame ``rgb`` of the same size."""
    return np.sqrt(((lab - _lab(rgb)) ** 2).sum(axis=-1)).astype(np.float32)


def moves_against_backdrop(cue: np.ndarray, mask: np.ndarray, region: np.ndarray) -> bool:
    """Whether the ``cue`` (:func:`background_difference`) is higher on ``mask`` than on the rest of ``region``
    (mean of log(1 + cue)): False for a still subject on a changing backdrop (a duck on rippling water), where the
    cue would point at the backdrop."""
    rest = region & ~mask
    if not mask.any() or not rest.any():
        return False
    log_cue = np.log1p(cue)
    return float(log_cue[mask].mean()) > float(log_cue[rest].mean())


def cue_agreement(cue: np.ndarray, mask: np.ndarray, region: np.ndarray) -> float:
    """How well ``mask`` follows the ``cue`` (:func:`background_difference`) over ``region``: the correlation of
    the mask (0/1) with log(1 + cue) there, in [-1, 1]; 0 when either is constant. Unlike the mean contrast of
    :func:`moves_against_backdrop` (which has the same sign) it also rewards taking all of the bright pixels, not
    only the brightest core."""
    inside = mask[region].astype(np.float64)
    log_cue = np.log1p(cue[region].astype(np.float64))
    p = float(inside.mean()) if inside.size else 0.0
    spread = float(log_cue.std()) if inside.size else 0.0
    if p in (0.0, 1.0) or spread == 0.0:
        return 0.0
    contrast = float(log_cue[inside > 0].mean() - log_cue[inside == 0].mean())
    return contrast * np.sqrt(p * (1.0 - p)) / spread


def _lab(rgb: np.ndarray) -> np.ndarray:
    """float32 (h, w, 3): the blurred frame in CIELAB (OpenCV's 8-bit scaling)."""
    blurred = cv2.GaussianBlur(rgb, (0, 0), _BLUR_SIGMA)
    return cv2.cvtColor(blurred, cv2.COLOR_RGB2LAB).astype(np.float32)
