"""Local colour classifiers along the object's outline (Video SnapCut, Bai, Wang, Simons & Sapiro, SIGGRAPH 2009).

One colour model for the whole object against one for its surroundings fails where the object shares colours with
its surroundings somewhere (a dog among poles, a duck on water). Here overlapping square windows sit on the
outline of the last mask, each with its own small object and background histograms learned on the frame that
mask belongs to, and its *discriminability*: how well its histograms reproduce that mask inside the window
(weighted towards the outline). The windows move with the flow of their object pixels to the next frame, where
each gives an object probability to its pixels; overlapping windows are blended with weights that fall off from
their centres. Where a window separates poorly its confidence is low and the caller leans on its other terms.

All arrays are in processing pixels; window pixels are gathered with fancy indexing, so the cost is a few
bincounts over ~K * side**2 pixels (K windows), independent of the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

LEVELS = 8  # per Lab channel: 512 joint bins, few enough to fill from a window of a few hundred pixels
_NB = LEVELS**3
_SAMPLES = 10  # a window is sampled on a grid of at most 2 * 10 + 1 pixels a side: its cost stops growing with it


def coarse_codes(codes16: np.ndarray) -> np.ndarray:
    """Joint Lab codes of 16 levels per channel (``classic_energy.BINS``) mapped to ``LEVELS`` = 8 levels."""
    c = codes16.astype(np.int32)
    return (((c >> 9) & 7) << 6) | (((c >> 5) & 7) << 3) | ((c >> 1) & 7)


@dataclass
class LocalWindows:
    """Windows on an object's outline: centres (K, 2) float32 (x, y), per-window object / background histograms
    (K, 512) float32 (normalised, smoothed), discriminability (K,) in [0, 1], and the half side in pixels."""

    centres: np.ndarray
    fg: np.ndarray
    bg: np.ndarray
    discriminability: np.ndarray
    half: int

    @property
    def stride(self) -> int:
        """Pixels between the samples of a window."""
        return max(1, self.half // _SAMPLES)

    @classmethod
    def learn(
        cls,
        codes16: np.ndarray,
        mask: np.ndarray,
        *,
        size_frac: float,
        ring_px: int,
        history: "LocalWindows | None" = None,
        not_background: np.ndarray | None = None,
    ) -> "LocalWindows | None":
        """Windows of side ``size_frac`` * sqrt(mask area) centred every half side along the outline of ``mask``
        (bool (h, w)) on the frame whose 16-level codes are ``codes16``; None for an empty or tiny mask. Pixels
        within ``ring_px`` of the outline are not learned (their colours mix object and background).

        ``history``: the previous windows carried to this frame. As in SnapCut, a window keeps the object colours
        of the nearest previous window when its newly learned ones call more of its pixels object (new
        surroundings that look like the object, or a mask that leaked into them); the background is always
        learned afresh, but not from ``not_background`` (bool (h, w): where the object is expected, such as its
        carried extent: a part the mask missed must not become background)."""
        area = int(mask.sum())
        half = int(round(0.5 * size_frac * np.sqrt(area)))
        if half < 3:
            return None
        centres = _outline_points(mask, step=half)
        if not len(centres):
            return None
        stride = max(1, half // _SAMPLES)
        ys, xs, valid = _gather(centres, half, mask.shape, stride)
        u8 = mask.astype(np.uint8)
        signed = cv2.distanceTransform(u8, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - u8, cv2.DIST_L2, 3)
        dist = signed[ys, xs]  # > 0 inside, <= 0 outside
        codes = coarse_codes(codes16[ys, xs])
        fg = _histograms(codes, valid & (dist > ring_px))
        outside = valid & (dist < -ring_px)
        if not_background is not None:
            outside &= ~not_background[ys, xs]
        bg = _histograms(codes, outside)
        prob = _object_probability(fg, bg, codes)
        if history is not None and len(history.centres):
            gap = np.linalg.norm(centres[:, None] - history.centres[None], axis=-1)
            old_fg = history.fg[np.argmin(gap, axis=1)]
            old_prob = _object_probability(old_fg, bg, codes)
            keep = ((old_prob > 0.5) & valid).sum(1) < ((prob > 0.5) & valid).sum(1)
            fg = np.where(keep[:, None], old_fg, fg)
            prob = np.where(keep[:, None], old_prob, prob)
        weight = valid * np.exp(-(dist**2) / float(half) ** 2)  # SnapCut's sigma_c = half the window
        label = (dist > 0).astype(np.float32)
        disc = 1.0 - (np.abs(label - prob) * weight).sum(1) / np.maximum(weight.sum(1), 1e-6)
        return cls(centres, fg, bg, disc.astype(np.float32), half)

    def moved(self, flow: np.ndarray, mask: np.ndarray, reliable: np.ndarray) -> "LocalWindows":
        """The windows carried to the next frame by the mean ``flow`` (float (h, w, 2), from their frame) of their
        object pixels with ``reliable`` flow (bool (h, w)); a window without such pixels moves with the mean of all
        its pixels."""
        ys, xs, valid = _gather(self.centres, self.half, mask.shape, self.stride)
        f = flow[ys, xs]
        own = (valid & mask[ys, xs] & reliable[ys, xs]).astype(np.float32)
        fallback = (own.sum(1) < 1.0)[:, None] & valid
        own = np.where(fallback, valid, own).astype(np.float32)
        shift = (f * own[..., None]).sum(1) / np.maximum(own.sum(1), 1.0)[:, None]
        return LocalWindows(
            (self.centres + shift).astype(np.float32), self.fg, self.bg, self.discriminability, self.half
        )

    def probability(self, codes16: np.ndarray, origin_xy: tuple[int, int] = (0, 0)):
        """(object probability, discriminability, coverage) float32 (h, w) on ``codes16`` (16-level codes of a crop
        whose top-left is ``origin_xy`` in the windows' frame), blended over the windows with weights falling
        linearly from 1 at a window's centre to ~0 at its border; coverage (the summed weight) is 0 where no window
        reaches. Large windows are evaluated on every ``stride``-th pixel and the maps interpolated."""
        h, w = codes16.shape
        s = self.stride
        coarse = codes16[s // 2 :: s, s // 2 :: s]
        ch, cw = coarse.shape
        local = (self.centres - np.asarray(origin_xy, np.float32) - s // 2) / s
        half = self.half // s
        ys, xs, valid = _gather(local, half, (ch, cw))
        prob = _object_probability(self.fg, self.bg, coarse_codes(coarse[ys, xs]))
        cy, cx = np.rint(local[:, 1])[:, None], np.rint(local[:, 0])[:, None]
        reach = np.maximum(np.abs(ys - cy), np.abs(xs - cx))
        weight = (valid * (1.0 - reach / (half + 1.0)))[valid]
        flat = (ys * cw + xs)[valid]
        disc = np.broadcast_to(self.discriminability[:, None], ys.shape)[valid]
        cover = np.bincount(flat, weights=weight, minlength=ch * cw)
        safe = np.maximum(cover, 1e-6)
        maps = [
            np.bincount(flat, weights=weight * prob[valid], minlength=ch * cw) / safe,
            np.bincount(flat, weights=weight * disc, minlength=ch * cw) / safe,
            cover,
        ]
        maps = [m.reshape(ch, cw).astype(np.float32) for m in maps]
        if s > 1:
            maps = [cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) for m in maps]
        return tuple(maps)


def _outline_points(mask: np.ndarray, *, step: int) -> np.ndarray:
    """float32 (K, 2) points (x, y) every ``step`` pixels along all outlines of ``mask`` (outer and holes)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    points = [c[::step, 0] for c in contours if len(c) >= step]
    return np.concatenate(points).astype(np.float32) if points else np.zeros((0, 2), np.float32)


def _gather(centres: np.ndarray, half: int, shape_hw: tuple[int, int], stride: int = 1):
    """Row and column indices int (K, n) of each window's pixels on a grid of ``stride`` (clipped into the
    image) and whether each lies inside it (bool (K, n))."""
    h, w = shape_hw
    d = stride * np.arange(-(half // stride), half // stride + 1)
    oy, ox = np.meshgrid(d, d, indexing="ij")
    ys = np.rint(centres[:, 1])[:, None].astype(np.int64) + oy.ravel()[None]
    xs = np.rint(centres[:, 0])[:, None].astype(np.int64) + ox.ravel()[None]
    valid = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    return np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1), valid


def _histograms(codes: np.ndarray, take: np.ndarray) -> np.ndarray:
    """Per-window normalised colour histograms float32 (K, 512) of the ``take`` pixels, blurred by one level so
    that neighbouring colours are not impossible, with a small uniform floor."""
    k = codes.shape[0]
    index = (np.arange(k)[:, None] * _NB + codes).ravel()
    # counted with 0/1 weights rather than after boolean indexing: the same counts, in half the time
    counts = np.bincount(index, weights=take.ravel(), minlength=k * _NB)
    counts = counts.reshape(k, LEVELS, LEVELS, LEVELS).astype(np.float32)
    counts = gaussian_filter(counts, sigma=(0, 1, 1, 1), mode="constant").reshape(k, _NB)
    counts += 1e-2 * counts.sum(1, keepdims=True) / _NB + 1e-6
    return counts / counts.sum(1, keepdims=True)


def _object_probability(fg: np.ndarray, bg: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """p(object | colour) float32 (K, n) of window pixels ``codes`` (K, n) under each window's own histograms."""
    rows = np.arange(codes.shape[0])[:, None]
    pf, pb = fg[rows, codes], bg[rows, codes]
    return pf / (pf + pb)
