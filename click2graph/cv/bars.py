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
    ``MIN_PICTURE_FRAC`` of a side)."""
    n, h, w = frames.shape[:3]
    dark_rows, dark_cols = np.ones(h, bool), np.ones(w, bool)
    for frame in frames:
        dark = frame.max(axis=-1) <= BAR_LEVEL
        dark_rows &= dark.mean(axis=1) >= BAR_SHARE
        dark_cols &= dark.mean(axis=0) >= BAR_SHARE
    y0, y1 = _picture_span(dark_rows)
    x0, x1 = _picture_span(dark_cols)
    if (x0, y0, x1, y1) == (0, 0, w, h) or x1 - x0 < MIN_PICTURE_FRAC * w or y1 - y0 < MIN_PICTURE_FRAC * h:
        return None
    return x0, y0, x1, y1


def _picture_span(dark: np.ndarray) -> tuple[int, int]:
    """``(start, end)`` of what lies between the dark runs at both ends of the bool line ``dark``, each run kept
    only when it reaches ``MIN_BAR_FRAC`` of the line; the start rounded up to even and the span's length down to
    even (H.264 needs even sizes)."""
    size = len(dark)
    lead = int(np.argmin(dark)) if not dark.all() else size
    trail = int(np.argmin(dark[::-1])) if not dark.all() else size
    lead = lead if lead >= MIN_BAR_FRAC * size else 0
    trail = trail if trail >= MIN_BAR_FRAC * size else 0
    start, end = lead + lead % 2, size - trail
    end -= (end - start) % 2
    return start, max(start, end)
