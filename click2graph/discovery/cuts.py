"""Region proposals for discovery from one GrabCut around the whole subject (the point decoder's complement).

Two cuts, both in the subject's box grown by a fraction of its size, with a background margin around it:

* :func:`subject_cut` **attaches**: the subject is sure foreground; what the cut adds beyond the subject (and
  moves like it) is what the subject holds, rides or wears. Works when the subject mask is tight.
* :func:`split_subject` **splits**: a subject mask from one click often swallows the object the subject
  interacts with (a rider's mask covering half of the bike). The click says which part is surely the subject:
  the disc around it that fits in the mask ("core"). Subject pixels far from the core whose colours are rare in
  the core seed an object; the cut, with the core as sure background, grows them into the object, inside and
  outside the subject mask. The result claims subject pixels (see :attr:`.base.Proposal.claims_subject`).

All pixels are working-frame pixels; masks are bool (H, W); frames uint8 RGB (H, W, 3).
"""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.cv.colour import colour_histogram, lab_codes
from click2graph.cv.grabcut import grabcut
from click2graph.cv.objectness import mask_objectness
from click2graph.masks import bbox_xyxy, dilate

_HIST_BINS = 8  # Lab histogram bins per channel for the "colour rare in the core" test
_MIN_REGION_PX = 16  # smaller cut components are noise


def subject_cut(
    frame: np.ndarray,
    subject: np.ndarray,
    explained: np.ndarray,
    flow: np.ndarray | None,
    subject_flow: np.ndarray | None,
    background_flow: np.ndarray | None,
    *,
    expand_frac: float,
    work_scale: float,
    contact_radius_px: int,
) -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    """Regions a GrabCut seeded with the subject attaches to it: what is held, ridden or worn.

    The subject is sure foreground and known objects sure background; the foreground minus the subject,
    restricted (when flow exists) to pixels moving more like the subject than like the background, is split into
    connected regions touching the subject (within ``contact_radius_px``). Thin objects that a point decoder
    loses (a bike's frame and wheels) survive because the subject's own colours and the object's are both
    explained as "not background".

    Args:
        flow: (H, W, 2) or None; subject_flow / background_flow: (2,) median flows or None.
        expand_frac: the cut may grow this fraction of the subject's box size on each side.
        work_scale: the cut runs at this image scale.

    Returns:
        (masks bool (H, W) each, interior points float32 (K, 2) xy, objectness scores in [0, 1]).
    """
    h, w = subject.shape
    fg = _window_cut(
        frame, subject, expand_frac, work_scale, inside=cv2.GC_PR_FGD, sure_bg=explained & ~subject, sure_fg=subject
    )
    if fg is None:
        return [], np.zeros((0, 2), np.float32), []
    residual = fg & ~explained
    if flow is not None and subject_flow is not None and background_flow is not None:
        residual &= np.linalg.norm(flow - subject_flow, axis=-1) < np.linalg.norm(flow - background_flow, axis=-1)
    touching = dilate(subject, contact_radius_px)
    frame_lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
    masks, points, scores = [], [], []
    for mask in _components(residual):
        if not (mask & touching).any():
            continue
        masks.append(mask)
        points.append(_interior_point(mask))
        # The window cut is not informative here (the window is the subject's box), so judge colour contrast only.
        scores.append(mask_objectness(frame_lab, mask, (0, 0, w, h), avoid=explained))
    return masks, np.asarray(points, np.float32).reshape(-1, 2), scores


def split_subject(
    frame: np.ndarray,
    subject: np.ndarray,
    explained: np.ndarray,
    anchors_xy: np.ndarray,
    *,
    expand_frac: float,
    work_scale: float,
    core_scale: float,
    seed_gap: float,
    rarity_ratio: float,
    min_part_frac: float,
    max_part_frac: float,
) -> tuple[list[np.ndarray], np.ndarray, list[float]]:
    """Objects the subject mask swallowed, split off using the click(s) as the surely-subject part.

    1. Core: for each anchor inside the subject, the disc inscribed in the mask (radius d = distance from the
       anchor to the mask boundary: it adapts to the subject's width at the click) plus, within ``core_scale`` *
       d, the subject pixels whose colour is not rare in that inscribed disc.
    2. Seeds: subject pixels farther than ``seed_gap`` * that distance from the core whose Lab colour is at least
       ``rarity_ratio`` times more frequent in the rest of the subject than in the core.
    3. GrabCut in the subject's grown box: core and other known objects sure background, seeds sure foreground,
       everything else (rest of the subject included) probably background. Foreground components holding seeds
       are the parts; a part must cover ``min_part_frac`` .. ``max_part_frac`` of the subject (smaller ones are
       details of the subject such as hair or a shoe; larger ones leave too little subject to be trusted).

    Args:
        anchors_xy: float (K, 2) positive click points on this frame, working pixels; those outside the subject
            are ignored.

    Returns:
        (masks bool (H, W) each, which may overlap the subject, interior points float32 (K, 2) xy,
        objectness scores in [0, 1]).
    """
    h, w = subject.shape
    empty: tuple[list[np.ndarray], np.ndarray, list[float]] = ([], np.zeros((0, 2), np.float32), [])
    dist_in = cv2.distanceTransform(subject.astype(np.uint8), cv2.DIST_L2, 5)
    inner_img, outer_img = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    radius = 0.0
    for x, y in np.asarray(anchors_xy, np.float32).reshape(-1, 2):
        xi, yi = int(round(min(max(x, 0), w - 1))), int(round(min(max(y, 0), h - 1)))
        if subject[yi, xi]:
            radius = max(radius, float(dist_in[yi, xi]))
            cv2.circle(inner_img, (xi, yi), max(2, int(dist_in[yi, xi])), 1, -1)
            cv2.circle(outer_img, (xi, yi), max(3, int(core_scale * dist_in[yi, xi])), 1, -1)
    inner, outer = (inner_img > 0) & subject, (outer_img > 0) & subject
    if not inner.any():
        return empty
    frame_lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
    flat = lab_codes(frame_lab, _HIST_BINS)
    # The inscribed disc is surely subject; its wider disc is too, except colours rare in the inscribed one
    # (the disc may reach into the swallowed object when the click is near it).
    inner_hist = _normalised_hist(flat[inner])
    outer_hist = _normalised_hist(flat[outer & ~inner]) if (outer & ~inner).any() else inner_hist
    core = inner | (outer & (rarity_ratio * inner_hist[flat] >= outer_hist[flat]))
    rest = subject & ~dilate(core, max(2, int(seed_gap * radius)))
    if not rest.any():
        return empty
    core_hist = _normalised_hist(flat[core])
    rest_hist = _normalised_hist(flat[subject & ~core])
    seeds = rest & (rarity_ratio * core_hist[flat] < rest_hist[flat])
    if seeds.sum() < _MIN_REGION_PX:
        return empty
    fg = _window_cut(
        frame,
        subject,
        expand_frac,
        work_scale,
        inside=cv2.GC_PR_BGD,
        sure_bg=(explained & ~subject) | core,
        sure_fg=seeds,
    )
    if fg is None:
        return empty
    area = float(subject.sum())
    masks, points, scores = [], [], []
    for mask in _components(fg & ~core):
        claimed = int((mask & subject).sum())
        if not (mask & seeds).any() or not min_part_frac * area <= claimed <= max_part_frac * area:
            continue
        masks.append(mask)
        points.append(_interior_point(mask & seeds))  # the blob's centre may be background between its parts
        remaining = subject & ~mask
        scores.append(mask_objectness(frame_lab, mask, (0, 0, w, h), avoid=remaining | (explained & ~subject)))
    return masks, np.asarray(points, np.float32).reshape(-1, 2), scores


def _window_cut(
    frame: np.ndarray,
    subject: np.ndarray,
    expand_frac: float,
    work_scale: float,
    *,
    inside: int,
    sure_bg: np.ndarray,
    sure_fg: np.ndarray,
) -> np.ndarray | None:
    """GrabCut in the subject's box grown by ``expand_frac`` of its size, with as much background margin around.

    The window starts as ``inside`` (a GrabCut label); ``sure_bg`` is sure background,
    ``sure_fg`` sure foreground (applied last). Runs at ``work_scale``. Returns bool (H, W) foreground, or None
    when GrabCut has no samples for one side.
    """
    h, w = subject.shape
    x0, y0, x1, y1 = bbox_xyxy(subject)
    gx, gy = int(expand_frac * (x1 - x0 + 1)), int(expand_frac * (y1 - y0 + 1))
    wx0, wy0, wx1, wy1 = max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx + 1), min(h, y1 + gy + 1)
    # A margin of background around the window feeds GrabCut's background colour model.
    cx0, cy0, cx1, cy1 = max(0, wx0 - gx), max(0, wy0 - gy), min(w, wx1 + gx), min(h, wy1 + gy)
    crop = (slice(cy0, cy1), slice(cx0, cx1))
    gc = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    gc[wy0 - cy0 : wy1 - cy0, wx0 - cx0 : wx1 - cx0] = inside
    gc[sure_bg[crop]] = cv2.GC_BGD
    gc[sure_fg[crop]] = cv2.GC_FGD
    img = cv2.cvtColor(np.ascontiguousarray(frame[crop]), cv2.COLOR_RGB2BGR)
    size = (max(1, int(gc.shape[1] * work_scale)), max(1, int(gc.shape[0] * work_scale)))
    small = cv2.resize(gc, size, interpolation=cv2.INTER_NEAREST)
    if not grabcut(cv2.resize(img, size, interpolation=cv2.INTER_AREA), small, 3):
        return None  # no samples on one side (e.g. the subject fills the frame): nothing to cut
    fg_small = ((small == cv2.GC_FGD) | (small == cv2.GC_PR_FGD)).astype(np.uint8)
    fg = np.zeros((h, w), bool)
    fg[crop] = cv2.resize(fg_small, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST) > 0
    return fg


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components of ``mask`` with at least :data:`_MIN_REGION_PX` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [labels == k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= _MIN_REGION_PX]


def _interior_point(mask: np.ndarray) -> tuple[float, float]:
    """The mask pixel farthest from its boundary, ``(x, y)``."""
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y)


def _normalised_hist(codes: np.ndarray) -> np.ndarray:
    return colour_histogram(codes, _HIST_BINS, prior=0.5)  # 0.5: a colour unseen is not impossible
