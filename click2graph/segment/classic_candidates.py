"""Weight-free candidate masks from point prompts (used by discovery through ``decode_candidates``).

Each point is segmented by GrabCut in square windows of a few sizes centred on it (the point is sure foreground,
``avoid`` sure background); the mask of the size that looks most like a whole object wins. "Object-like"
(:func:`~click2graph.cv.objectness.mask_objectness`) means: its colours differ from those of the ring of pixels
around it, and the window did not cut it (a mask that runs into the window edge is a piece of something larger,
often the background).
A winning mask that still runs into its window is decoded again in a window twice the largest size (an object
larger than the fixed windows: a table, a chair), and the regrown mask replaces it when it looks more like a
whole object.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from click2graph.cv.grabcut import grabcut
from click2graph.cv.objectness import cut_sides, mask_objectness
from click2graph.masks import largest_component
from click2graph.segment.base import Candidates

# Window half-sizes tried per point, as fractions of max(H, W): about 30 and 85 px at 854x480. A single size
# either cuts large objects or swallows background around small ones; a third size cost 50 % more time.
DEFAULT_HALF_FRACS = (0.035, 0.1)
# GrabCut runs on the window crop resized so its longest side is at most this: cost grows with the crop area
# (a 400 px crop took 0.8 s at full size, about 60 ms at 160 px, 35 ms at 128 px).
DEFAULT_WORK_SIDE_PX = 128
# A best mask that still runs into its window is decoded again in a window of twice the largest half-size,
# centred on the point, up to this many times while it stays cut: a seed on one end of an object (the back of a
# chair, under a table top) otherwise gets the part that fits the first window. Each step costs one GrabCut, and
# only for cut masks...
DEFAULT_GROW_STEPS = 2
# ...while the grown window's half-size stays within this fraction of max(H, W) (larger candidates are rejected
# as background anyway: discovery's max_area_frac).
DEFAULT_MAX_WINDOW_FRAC = 0.5


def grabcut_around_point(
    frame_rgb: np.ndarray,
    x: float,
    y: float,
    *,
    half_size_px: int,
    avoid: np.ndarray | None = None,
    iters: int = 3,
    work_side_px: int | None = None,
    pad_px: int | None = None,
) -> np.ndarray:
    """GrabCut in a square window centred on a point; the point is sure foreground, ``avoid`` sure background.

    Args:
        frame_rgb: uint8 (H, W, 3).
        x, y: the point, pixels of ``frame_rgb``.
        half_size_px: half-size of the window that may become foreground.
        avoid: bool (H, W) or None; pixels forced to background.
        iters: GrabCut iterations.
        work_side_px: if given, GrabCut runs on the crop downscaled so its longest side is at most this
            (much faster for large windows); the mask is upsampled back.
        pad_px: background margin added around the window for the colour models (default ``half_size_px``).

    Returns:
        bool (H, W): the connected component of the foreground containing the point.
    """
    h, w = frame_rgb.shape[:2]
    window = _square_window(x, y, half_size_px, (h, w))
    return grabcut_in_window(
        frame_rgb,
        x,
        y,
        window,
        avoid=avoid,
        iters=iters,
        work_side_px=work_side_px,
        pad_px=half_size_px if pad_px is None else pad_px,
    )


def grabcut_in_window(
    frame_rgb: np.ndarray,
    x: float,
    y: float,
    window_xyxy: tuple[int, int, int, int],
    *,
    pad_px: int,
    avoid: np.ndarray | None = None,
    iters: int = 3,
    work_side_px: int | None = None,
) -> np.ndarray:
    """:func:`grabcut_around_point` in any box ``window_xyxy`` (inclusive-exclusive ``x0, y0, x1, y1``, holding
    the point), with a background margin of ``pad_px`` around it. Returns bool (H, W)."""
    h, w = frame_rgb.shape[:2]
    xi, yi = int(round(min(max(x, 0), w - 1))), int(round(min(max(y, 0), h - 1)))
    x0, y0, x1, y1 = window_xyxy
    # GrabCut on a crop around the window (padded so the background model has samples): the cost is
    # proportional to the crop, not the frame.
    cx0, cy0, cx1, cy1 = max(0, x0 - pad_px), max(0, y0 - pad_px), min(w, x1 + pad_px), min(h, y1 + pad_px)
    crop_gc = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    crop_gc[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0] = cv2.GC_PR_FGD
    if avoid is not None:
        crop_gc[avoid[cy0:cy1, cx0:cx1]] = cv2.GC_BGD
    crop_img = cv2.cvtColor(np.ascontiguousarray(frame_rgb[cy0:cy1, cx0:cx1]), cv2.COLOR_RGB2BGR)
    scale = 1.0
    if work_side_px is not None and max(crop_gc.shape) > work_side_px:
        scale = work_side_px / max(crop_gc.shape)
        size = (max(1, round(crop_gc.shape[1] * scale)), max(1, round(crop_gc.shape[0] * scale)))
        crop_img = cv2.resize(crop_img, size, interpolation=cv2.INTER_AREA)
        crop_gc = cv2.resize(crop_gc, size, interpolation=cv2.INTER_NEAREST)
    seed = (int((xi - cx0) * scale), int((yi - cy0) * scale))
    cv2.circle(crop_gc, seed, max(1, int(3 * scale)), cv2.GC_FGD, -1)
    if not grabcut(crop_img, crop_gc, iters):  # one side has no samples (e.g. the whole crop is avoided)
        crop_gc = np.where(crop_gc == cv2.GC_BGD, 0, 1).astype(np.uint8)
    crop_fg = ((crop_gc == cv2.GC_FGD) | (crop_gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale != 1.0:
        crop_fg = cv2.resize(crop_fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    fg = np.zeros((h, w), bool)
    fg[cy0:cy1, cx0:cx1] = crop_fg.astype(bool)
    if avoid is not None:
        fg &= ~avoid  # upsampling may round a few avoided pixels back in
    return largest_component(fg, containing_xy=(xi, yi))


def decode_point_candidates(
    frame_rgb: np.ndarray,
    points_xy: np.ndarray,
    *,
    avoid: np.ndarray | None = None,
    half_size_px: int | None = None,
    half_sizes_px: Sequence[int] | None = None,
    work_side_px: int = DEFAULT_WORK_SIDE_PX,
    grow_steps: int = DEFAULT_GROW_STEPS,
    max_window_frac: float = DEFAULT_MAX_WINDOW_FRAC,
) -> Candidates:
    """One candidate mask per point: the most object-like of GrabCut masks at several window sizes, regrown in
    a larger window while the best one runs into its window's edge.

    Args:
        frame_rgb: uint8 (H, W, 3).
        points_xy: float (K, 2) points, pixels of ``frame_rgb``.
        avoid: bool (H, W) or None; pixels already explained (subject, tracked objects), forced to background.
        half_size_px: a single window half-size (overrides the default sizes).
        half_sizes_px: window half-sizes to try; default :data:`DEFAULT_HALF_FRACS` of max(H, W).
        work_side_px: GrabCut resolution cap, see :func:`grabcut_around_point`.
        grow_steps: regrowth steps at most (0: fixed windows only), see :data:`DEFAULT_GROW_STEPS`.
        max_window_frac: a grown window's half-size stays within this fraction of max(H, W).

    Returns:
        :class:`Candidates` with masks bool (K, H, W) and scores (K,) = :func:`mask_objectness` of the kept mask.
    """
    h, w = frame_rgb.shape[:2]
    if half_sizes_px is None:
        half_sizes_px = [half_size_px] if half_size_px else [max(8, int(f * max(h, w))) for f in DEFAULT_HALF_FRACS]
    max_half = int(max_window_frac * max(h, w))
    points = np.asarray(points_xy, dtype=np.float32).reshape(-1, 2)
    frame_lab = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2LAB)
    masks = np.zeros((len(points), h, w), bool)
    scores = np.zeros(len(points), np.float32)
    for i, (x, y) in enumerate(points):
        xi, yi = int(round(min(max(x, 0), w - 1))), int(round(min(max(y, 0), h - 1)))
        if avoid is not None and avoid[yi, xi]:
            continue  # the point itself is explained already: no new object here
        best_window = None
        for half in half_sizes_px:
            window = _square_window(x, y, half, (h, w))
            mask = grabcut_in_window(
                frame_rgb, float(x), float(y), window, avoid=avoid, work_side_px=work_side_px, pad_px=max(4, half // 2)
            )  # half the default margin: enough background samples
            score = mask_objectness(frame_lab, mask, window, avoid=avoid)
            if score > scores[i]:  # ties keep the smaller window: the tighter mask
                masks[i], scores[i], best_window = mask, score, window
        half = max(half_sizes_px)
        for _ in range(grow_steps):
            if best_window is None or not any(cut_sides(masks[i], best_window)) or 2 * half > max_half:
                break
            half *= 2
            window = _square_window(x, y, half, (h, w))
            mask = grabcut_in_window(
                frame_rgb, float(x), float(y), window, avoid=avoid, work_side_px=work_side_px, pad_px=max(4, half // 2)
            )
            score = mask_objectness(frame_lab, mask, window, avoid=avoid)
            if score > scores[i]:
                masks[i], scores[i], best_window = mask, score, window
    return Candidates(masks=masks, scores=scores)


def _square_window(x: float, y: float, half: int, shape_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The window ``(x0, y0, x1, y1)`` (inclusive-exclusive) of half-size ``half`` around a point, clipped."""
    h, w = shape_hw
    xi, yi = int(round(min(max(x, 0), w - 1))), int(round(min(max(y, 0), h - 1)))
    return max(0, xi - half), max(0, yi - half), min(w, xi + half + 1), min(h, yi + half + 1)
