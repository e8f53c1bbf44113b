"""Frame-0 masks from clicks spread over the object, not only its most interior pixel (``bench tracking
--click-spread N``).

Users do not click the ground-truth pixel farthest from the boundary: they click a head, a wheel, a leg. The spread
clicks are deterministic: farthest-point sampling over the object's pixels at least ``min_depth`` of the maximum
distance from the boundary (a few pixels in, so the click is not on the outline), started from the most interior
pixel (the bench's own click, which is not among them). Only frame 0 is segmented, from the first
:data:`FRAMES` frames: its motion neighbour and the neighbours of the frame difference the click path also reads, as
it does on a whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from click2graph.masks import depth, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.classic_difference import GAPS
from click2graph.video import Video

FRAMES = max(GAPS) + 1  # frame 0 and every neighbour of its frame difference (classic_difference.GAPS)
MIN_DEPTH = 0.25  # spread clicks lie at least this fraction of the maximum boundary distance inside the object


@dataclass(frozen=True)
class SpreadResult:
    """Frame-0 IoU of one sequence from each spread click (xy in working pixels)."""

    seq: str
    clicks_xy: np.ndarray
    ious: np.ndarray


def spread_clicks(gt0: np.ndarray, n: int, *, min_depth: float = MIN_DEPTH) -> np.ndarray:
    """int (n', 2) xy, n' <= n: farthest-point samples of the pixels at least ``min_depth`` of the maximum boundary
    distance inside ``gt0``, each as far as possible from the most interior pixel and the samples before it."""
    dist = depth(gt0)
    ys, xs = np.nonzero(dist >= min_depth * dist.max()) if dist.max() > 0 else (np.zeros(0, int),) * 2
    pts = np.stack([xs, ys], -1).astype(np.float32)
    if not len(pts):
        return np.zeros((0, 2), int)
    centre = np.unravel_index(int(np.argmax(dist)), dist.shape)[::-1]
    nearest = np.linalg.norm(pts - np.asarray(centre, np.float32), axis=1)
    out = []
    for _ in range(n):
        i = int(np.argmax(nearest))
        if nearest[i] <= 0:
            break
        out.append(pts[i])
        nearest = np.minimum(nearest, np.linalg.norm(pts - pts[i], axis=1))
    return np.asarray(out, int).reshape(-1, 2)


def click_prompts(clicks_xy: np.ndarray) -> list[FramePrompt]:
    """One single-click prompt on frame 0 per row of ``clicks_xy`` (int (n, 2) xy)."""
    return [FramePrompt.from_points(0, [[int(x), int(y)]]) for x, y in clicks_xy]


def run_spread(seq: str, video: Video, gt0: np.ndarray, n: int, *, segmenter: ClassicSegmenter) -> SpreadResult:
    """Segment frame 0 of ``video`` (its first :data:`FRAMES` frames are enough) from each of ``n`` spread clicks
    inside ``gt0``, one object per click in one shared state (the flows are computed once)."""
    clicks = spread_clicks(gt0, n)
    state = segmenter.init_state(video)
    ious = [mask_iou(segmenter.add_prompt(state, i + 1, p), gt0) for i, p in enumerate(click_prompts(clicks))]
    return SpreadResult(seq=seq, clicks_xy=clicks, ious=np.asarray(ious, float))


def spread_table(results: list[SpreadResult]) -> str:
    """Markdown table: per sequence the mean and worst frame-0 IoU over its spread clicks and the worst click; then
    the mean of each column and the lowest IoU of all."""
    rows = ["| sequence | clicks | mean frame-0 IoU | worst | worst click (x, y) |", "|---|---|---|---|---|"]
    for r in results:
        if not len(r.ious):
            rows.append(f"| {r.seq} | 0 | - | - | - |")
            continue
        x, y = r.clicks_xy[int(np.argmin(r.ious))]
        rows.append(f"| {r.seq} | {len(r.ious)} | {r.ious.mean():.3f} | {r.ious.min():.3f} | {x}, {y} |")
    scored = [r for r in results if len(r.ious)]
    if scored:
        means = float(np.mean([r.ious.mean() for r in scored]))
        worsts = float(np.mean([r.ious.min() for r in scored]))
        lowest = min(float(r.ious.min()) for r in scored)
        rows.append(
            f"| **mean** | {sum(len(r.ious) for r in scored)} | {means:.3f} | {worsts:.3f} | lowest {lowest:.3f} |"
        )
    return "\n".join(rows)
