"""Black bars around the picture: a letterboxed film, a portrait phone clip pillarboxed into a landscape frame.

The bars carry nothing, but every rule sized to the frame (the processing resolution, windows and reaches that are
fractions of the frame's side, what touches the frame's border) would measure them as picture: the bundled
dog_skateboard clip with bars of a sixth of its height added above and below gave a subject mask with a block of
the walker's legs and no objects (3 entities, 5 relations without the bars). So the bars are found once, when the
video is read, and the working frames hold the picture alone (:func:`click2graph.video.load_video`).
"""

from __future__ import annotations

import numpy as np

BAR_LEVEL = 24  # a bar pixel's brightest channel is at most this (H.264's black is 16; ringing at the edge adds)
BAR_SHARE = 0.99  # a row or column is a bar's when this share of its pixels is that dark on every frame
MIN_BAR_FRAC = 0.02  # thinner dark edges (a frame line, a few rows of encoder padding) are left as they are
# a clip dark over more than three quarters of its side is a dark scene, not bars: nothing is cut (a portrait
# 9:16 picture in a 16:9 frame is 0.32 of its width)
MIN_PICTURE_FRAC = 0.25


def picture_box(frames: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end exclusive, even width and height) of the picture inside the black bars at the
    edges of uint8 RGB ``frames`` (N, H, W, 3): the edge rows and columns that are black on every frame, each bar at
    least ``MIN_BAR_FRAC`` of the side; None when there are no bars (or the picture would be under
    ``MIN_PICTURE_FRAC`` of a side).

    Each frame is read only where the bars found so far lie (they can only get thinner), and a clip stops being
    read once no edge can hold a bar: a clip without bars costs one frame."""
    n, h, w = frames.shape[:3]
    top = bottom = h  # the dark runs at each edge, over the frames read so far
    left = right = w
    for frame in frames:
        top = _dark_run(frame[:top], axis=1)
        bottom = _dark_run(frame[h - bottom :][::-1], axis=1)
        left = _dark_run(frame[:, :left], axis=0)
        right = _dark_run(frame[:, w - right :][:, ::-1], axis=0)
        if max(top, bottom) < MIN_BAR_FRAC * h and max(left, right) < MIN_BAR_FRAC * w:
            return None
    y0, y1 = _picture_span(top, bottom, h)
    x0, x1 = _picture_span(left, right, w)
    if (x0, y0, x1, y1) == (0, 0, w, h) or x1 - x0 < MIN_PICTURE_FRAC * w or y1 - y0 < MIN_PICTURE_FRAC * h:
        return None
    return x0, y0, x1, y1


def _dark_run(strip: np.ndarray, axis: int) -> int:
    """How many lines of ``strip`` (rows with ``axis`` 1, columns with 0), from its first, are a bar's: the brightest
    channel at most ``BAR_LEVEL`` on ``BAR_SHARE`` of their pixels."""
    dark = (strip.max(axis=-1) <= BAR_LEVEL).mean(axis=axis) >= BAR_SHARE
    return len(dark) if dark.all() else int(np.argmin(dark))


def _picture_span(lead: int, trail: int, size: int) -> tuple[int, int]:
    """``(start, end)`` of what lies between the dark runs of ``lead`` and ``trail`` lines at both ends of a side of
    ``size``, each run kept only when it reaches ``MIN_BAR_FRAC`` of the side; the start rounded up to even and the
    span's length down to even (H.264 needs even sizes)."""
    lead = lead if lead >= MIN_BAR_FRAC * size else 0
    trail = trail if trail >= MIN_BAR_FRAC * size else 0
    start, end = lead + lead % 2, size - trail
    end -= (end - start) % 2
    return start, max(start, end)
