"""Clicks on frames across the clip, not only frame 0 (``bench tracking --click-frames K [--click-still]``).

Users click the frame they are looking at. The tracking bench's click lands on frame 0, where a sequence is filmed
to start with its subject in view; ``--click-frames K`` also clicks the ground truth's deepest pixel on every K-th
frame with an annotated subject and segments that frame from it, with the whole clip (the motion neighbours and the
frame difference the click path reads). ``--click-still`` also segments each such frame from the same click as a
one-frame video: no motion at all, what a still subject, or a paused moment in a clip without movement, gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from click2graph.masks import deepest_pixel, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.video import Video

WEAK = 0.5  # a click whose mask scores IoU below this with the ground truth missed its subject


@dataclass(frozen=True)
class FramesResult:
    """IoU with the ground truth of one sequence's clicks and the seconds each took, one per clicked frame."""

    seq: str
    frames: np.ndarray  # int (n,)
    ious: np.ndarray  # float (n,)
    seconds: np.ndarray  # float (n,): the segmenter's time for the click, its frame pairs' flows included


def clicked_frames(gt: np.ndarray, every: int) -> list[int]:
    """Every ``every``-th frame index of ``gt`` (bool (N, H, W)) whose subject is annotated, from frame 0."""
    return [t for t in range(0, len(gt), every) if gt[t].any()]


def run_click_frames(seq: str, video: Video, gt: np.ndarray, every: int, *, segmenter, still: bool) -> FramesResult:
    """The deepest-pixel click on each of :func:`clicked_frames`, segmented with the whole clip (one object per
    click in one shared state: the flows are computed once) or, with ``still``, on that frame alone."""
    frames = clicked_frames(gt, every)
    state = None if still else segmenter.init_state(video)
    ious, seconds = [], []
    for i, t in enumerate(frames):
        prompt = FramePrompt.from_points(0 if still else t, [deepest_pixel(gt[t])])
        began = time.perf_counter()
        if still:
            mask = segmenter.add_prompt(
                segmenter.init_state(Video.from_frames(video.frames[t : t + 1], video.fps)), 1, prompt
            )
        else:
            mask = segmenter.add_prompt(state, i + 1, prompt)
        seconds.append(time.perf_counter() - began)
        ious.append(mask_iou(mask, gt[t]))
    return FramesResult(seq, np.asarray(frames, int), np.asarray(ious, float), np.asarray(seconds, float))


def frames_table(results: list[FramesResult]) -> str:
    """Markdown table: per sequence the clicks, their mean and worst IoU (with its frame), how many are weak
    (IoU < :data:`WEAK`) and their mean seconds; then the mean over all clicks, the mean of the worst, the weak
    clicks in all and the mean seconds over all clicks."""
    rows = ["| sequence | clicks | mean IoU | worst (frame) | weak | s per click |", "|---|---|---|---|---|---|"]
    for r in results:
        if not len(r.ious):
            rows.append(f"| {r.seq} | 0 | - | - | - | - |")
            continue
        worst = int(np.argmin(r.ious))
        weak = int((r.ious < WEAK).sum())
        rows.append(
            f"| {r.seq} | {len(r.ious)} | {r.ious.mean():.3f} | {r.ious[worst]:.3f} ({r.frames[worst]}) | {weak} "
            f"| {r.seconds.mean():.2f} |"
        )
    scored = [r for r in results if len(r.ious)]
    if scored:
        ious = np.concatenate([r.ious for r in scored])
        worsts = float(np.mean([r.ious.min() for r in scored]))
        seconds = float(np.concatenate([r.seconds for r in scored]).mean())
        rows.append(
            f"| **all** | {len(ious)} | {ious.mean():.3f} | {worsts:.3f} | {int((ious < WEAK).sum())} | {seconds:.2f} |"
        )
    return "\n".join(rows)
