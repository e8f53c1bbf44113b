"""How much a candidate mask looks like one whole object: colour contrast with its surroundings, uncut by its window."""

from __future__ import annotations

import numpy as np

from click2graph.cv.colour import bhattacharyya, colour_histogram, lab_codes
from click2graph.masks import dilate

_HIST_BINS = 8  # Lab histogram bins per channel for the colour-contrast score


def mask_objectness(
    frame_lab: np.ndarray, mask: np.ndarray, window_xyxy: tuple[int, int, int, int], *, avoid: np.ndarray | None = None
) -> float:
    """How much a candidate mask looks like one whole object, in [0, 1].

    Args:
        frame_lab: uint8 (H, W, 3) Lab frame.
        mask: bool (H, W) candidate.
        window_xyxy: the window it was allowed to grow in (inclusive-exclusive pixel box ``x0, y0, x1, y1``).
        avoid: bool (H, W) or None; excluded from the surrounding ring where enough ring is left (already
            explained pixels say nothing about whether the candidate stands out from its background).

    Returns:
        colour contrast with the surrounding ring (1 - Bhattacharyya coefficient of Lab histograms) times the
        fraction of the window edge the mask does not run into (scaled so that covering a quarter of the
        edge gives 0). 0 for masks under 16 pixels.
    """
    area = int(mask.sum())
    if area < 16:
        return 0.0
    ring_px = max(3, int(0.25 * np.sqrt(area)))
    ring = dilate(mask, ring_px) & ~mask
    if avoid is not None and (ring & ~avoid).sum() >= 16:
        # A sliver wedged between explained pixels (e.g. between an arm and the body) keeps the explained ring:
        # otherwise it would have nothing to be compared with and look perfectly distinct.
        ring &= ~avoid
    inside = colour_histogram(lab_codes(frame_lab[mask], _HIST_BINS), _HIST_BINS)
    around = colour_histogram(lab_codes(frame_lab[ring], _HIST_BINS), _HIST_BINS)
    contrast = 1.0 - bhattacharyya(inside, around)
    x0, y0, x1, y1 = window_xyxy
    perimeter = max(1, 2 * ((x1 - x0) + (y1 - y0)))
    cut = sum(cut_sides(mask, window_xyxy)) / (0.25 * perimeter)
    return float(np.clip(contrast, 0.0, 1.0) * max(0.0, 1.0 - cut))


def cut_sides(mask: np.ndarray, window_xyxy: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Mask pixels on the window's top, bottom, left and right edge rows/columns; 0 for an edge that lies on
    the frame border (the border cuts nothing)."""
    h, w = mask.shape
    x0, y0, x1, y1 = window_xyxy
    return (
        int(mask[y0, x0:x1].sum()) if y0 > 0 else 0,
        int(mask[y1 - 1, x0:x1].sum()) if y1 < h else 0,
        int(mask[y0:y1, x0].sum()) if x0 > 0 else 0,
        int(mask[y0:y1, x1 - 1].sum()) if x1 < w else 0,
    )
