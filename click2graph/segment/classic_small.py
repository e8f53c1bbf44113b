"""A click on a small object (a ball, a cup across the room), cut at working resolution before anything else.

The click path (:mod:`.classic_click`) works at processing resolution and reads a click's extent from what moves
around it and from window cuts sized to the frame. Both fail on a small object: the pingpong example's ball is ~10
processing pixels wide, under the size the path treats as a collapsed cut, and DIS smears its motion into the
moving player's; the path took the player's moving region and returned the player, a block of wall and the table
(62,000 working pixels for a ball of 170). ``python -m click2graph.bench small_objects`` pastes shaded disks on the
example clips: the masks of 8-16 px disks were a median 157-625 times their size, and none was right below 16 px.

So a single-frame test runs first, on the working frame: GrabCut in a small square around the clicks (half-size
``small_window_frac`` of the frame's longest side), the clicks held by 1 px disks, everything outside background.
The clicked thing is a small object when that cut

* did not collapse onto the clicks' disks (it holds at least ``small_min_growth`` times their area),
* lies inside the square, touching none of its sides (the object ends within it),
* runs along image edges on ``small_edge_share`` of its outline (a piece of a large flat-coloured object, whose
  colour the square's outside teaches GrabCut as background, ends partly in flat colour), and
* is the same cut (IoU >= ``small_stable``) in a square twice as large: given room to grow, it did not.

A click on a large object gives a cut that reaches the square's sides or grows with it. Of the development set's
79 subject clicks (every tenth frame, the most interior pixel) and the bundled and held-out clips' 11 clicks, five
gave a cut that ends inside the small square; in the larger one they kept at most 0.61 of it (motocross-bumps'
frame 0). The rule passes 181 of 270 still disks of 8-48 px pasted on the example clips (three colours, three
places), 180 of them with IoU >= 0.5 (one-off measurement with these settings; docs/tracking.md, twenty-third round).
"""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.masks import mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic_click import (
    ClickConfig,
    _disks,
    _grabcut,
    _gradient_magnitude,
    _keep_clicked,
    _window,
)

_CLICK_RADIUS = 1  # working pixels: the hard constraint at each click, small enough that a collapsed cut is a dot


def small_object(frame: np.ndarray, prompt: FramePrompt, config: ClickConfig) -> np.ndarray | None:
    """bool (H, W) mask of the small object the prompt's clicks are on, in working pixels, or None when the clicks
    are not on one (or the prompt has a box: the box path decides)."""
    if prompt.box_xyxy is not None:
        return None
    h, w = frame.shape[:2]
    pos = np.clip(np.round(prompt.positive_points_xy).astype(int), 0, [w - 1, h - 1])
    neg = np.clip(np.round(prompt.negative_points_xy).astype(int), 0, [w - 1, h - 1])
    sure_fg = _disks(pos, (h, w), _CLICK_RADIUS)
    sure_bg = _disks(neg, (h, w), _CLICK_RADIUS)
    sure_fg &= ~sure_bg
    half = max(4, int(config.small_window_frac * max(h, w)))
    cut, window = _cut(frame, pos, sure_fg, sure_bg, half, config)
    if cut.sum() < config.small_min_growth * sure_fg.sum() or _touches_side(cut, window):
        return None
    if _outline_on_edges(frame, cut) < config.small_edge_share:
        return None
    wider, _ = _cut(frame, pos, sure_fg, sure_bg, 2 * half, config)  # only now: 4x the pixels
    return cut if mask_iou(cut, wider) >= config.small_stable else None


def _cut(frame, pos, sure_fg, sure_bg, half: int, config: ClickConfig) -> tuple[np.ndarray, np.ndarray]:
    """(GrabCut's mask, its window): the squares of half-size ``half`` around the clicks, outside them background."""
    window = _window(pos, frame.shape[:2], half)
    cut = _grabcut(frame, window & ~sure_bg, sure_fg, sure_bg, config.grabcut_iters)
    return _keep_clicked(cut, pos), window


def _outline_on_edges(frame: np.ndarray, mask: np.ndarray) -> float:
    """Share of ``mask``'s outline pixels with an image edge at or next to them (Sobel gradient, 3x3 maximum, at
    least the frame's mean: :func:`~click2graph.segment.classic_click._gradient_magnitude`)."""
    outline = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    near_edge = cv2.dilate(_gradient_magnitude(frame), np.ones((3, 3), np.uint8)) >= 1.0
    return float(near_edge[outline].mean()) if outline.any() else 0.0


def _touches_side(mask: np.ndarray, window: np.ndarray) -> bool:
    """Whether ``mask`` holds a pixel on the inner edge of ``window`` (bool (h, w)); the frame's border is no side."""
    inner = cv2.erode(window.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return bool((mask & window & ~inner.astype(bool)).any())
