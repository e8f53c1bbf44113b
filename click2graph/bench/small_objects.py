"""A click on a small object, by the object's size: a shaded disk pasted onto real video, clicked at its centre.

    python -m click2graph.bench small_objects [--names ...] [--diameters 8 16 32 64] [--speed 3] [--frames N]

The development set's subjects fill 2-20 % of the frame; a user also clicks a ball, a cup, a phone. No ground truth
of such objects is at hand, so one is made: a disk of each diameter (working pixels), shaded like a lit ball and
with pixel noise (a flat colour leaves GrabCut's colour model degenerate), is pasted at :data:`PLACES` of the first
``--frames`` frames of each bundled example's clip (real backdrops), in each of :data:`COLOURS`, moving ``--speed``
px a frame to the right and bouncing off the frame's sides (0: still; a hit ball moves tens of px a frame). Frame 0
is segmented from one click at the disk's centre with the whole pasted clip, as the app does. Per diameter: the mean
IoU, how many clicks reach 0.5, and the median ratio of the mask's area to the disk's (> 1: the mask ran past the
object). With ``--track`` the click's mask is also propagated over the pasted frames and J (mean IoU over the frames
after the click) is printed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from click2graph.examples import load_examples
from click2graph.masks import mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.classic_difference import GAPS
from click2graph.video import Video, VideoPolicy, load_video

COLOURS = {"white": (245, 245, 240), "orange": (230, 120, 30), "blue": (40, 90, 200)}
PLACES = ((0.3, 0.6), (0.5, 0.4), (0.7, 0.75))  # disk centres on frame 0, fractions of (width, height)
DIAMETERS = (8, 12, 16, 24, 32, 48, 64)
FRAMES = max(GAPS) + 1  # frame 0 and every neighbour of its frame difference, as the click path reads them
SHADE = 0.35  # the disk's rim is this much darker than its centre
NOISE = 6.0  # pixel noise (standard deviation, per channel)


@dataclass(frozen=True)
class ClickResult:
    """One pasted disk's click: frame-0 IoU, the mask's area over the disk's, J over the later frames (or None)."""

    clip: str
    diameter: int
    colour: str
    iou: float
    area_ratio: float
    track_j: float | None


def pasted_disk(
    frames: np.ndarray, diameter: int, colour: tuple[int, int, int], centre_xy: tuple[float, float], speed: float
) -> tuple[np.ndarray, np.ndarray]:
    """(frames with the disk pasted, its masks bool (N, H, W)): frame ``t`` holds it at ``centre_xy`` moved
    ``speed * t`` px to the right, bouncing off the frame's sides as a ball would (a fast disk stays in view).
    Deterministic (the noise is seeded by the frame index)."""
    out = frames.copy()
    n, h, w = frames.shape[:3]
    masks = np.zeros((n, h, w), bool)
    for t in range(n):
        cx, cy = bounced(centre_xy[0] + speed * t, diameter / 2, w), centre_xy[1]
        disk = np.zeros((h, w), np.uint8)
        cv2.circle(disk, (int(round(cx)), int(round(cy))), diameter // 2, 1, -1)
        ys, xs = np.nonzero(disk)
        rim = np.hypot(xs - cx, ys - cy) / max(1.0, diameter / 2)
        pixels = (1.0 - SHADE * np.clip(rim, 0, 1))[:, None] * np.asarray(colour, np.float64)
        pixels += np.random.default_rng(t).normal(0.0, NOISE, pixels.shape)
        out[t][ys, xs] = np.clip(pixels, 0, 255).astype(np.uint8)
        masks[t] = disk.astype(bool)
    return out, masks


def bounced(x: float, radius: float, width: int) -> float:
    """``x`` reflected off the sides of a frame ``width`` px wide, for a disk of ``radius``: its path folded back
    into ``[radius, width - 1 - radius]``."""
    low, span = radius, max(1e-6, width - 1 - 2 * radius)
    u = (x - low) % (2 * span)
    return low + (u if u <= span else 2 * span - u)


def click_disk(frames: np.ndarray, masks: np.ndarray, centre_xy: tuple[float, float], *, track: bool):
    """(frame-0 IoU, area ratio, J over the later frames or None) of the classic backend's click at ``centre_xy``."""
    video = Video.from_frames(frames, 24.0, source="small-object")
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, [list(centre_xy)]))
    iou, ratio = mask_iou(mask, masks[0]), float(mask.sum()) / max(1, int(masks[0].sum()))
    if not track:
        return iou, ratio, None
    ious = [mask_iou(step_masks[ids.index(1)], masks[t]) for t, ids, step_masks in segmenter.propagate(state) if t]
    return iou, ratio, float(np.mean(ious)) if ious else None


def run(clips: dict[str, np.ndarray], diameters, *, speed: float, track: bool) -> list[ClickResult]:
    """Every (clip, diameter, colour, place) click; ``clips`` maps a name to its frames (N, H, W, 3)."""
    jobs = [(name, d, c, p) for name in clips for d in diameters for c in COLOURS for p in PLACES]
    results = []
    for name, d, colour, (fx, fy) in tqdm(jobs, desc="small-object clicks", unit="click"):
        frames = clips[name]
        centre = (fx * frames.shape[2], fy * frames.shape[1])
        pasted, masks = pasted_disk(frames, d, COLOURS[colour], centre, speed)
        iou, ratio, j = click_disk(pasted, masks, centre, track=track)
        results.append(ClickResult(name, d, colour, iou, ratio, j))
    return results


def table(results: list[ClickResult]) -> list[str]:
    """One line per diameter: clicks, mean IoU, clicks >= 0.5, median area ratio, mean J when tracked."""
    tracked = any(r.track_j is not None for r in results)
    header = f"{'diameter':>8s} {'clicks':>6s} {'IoU':>6s} {'>=0.5':>6s} {'area x':>7s}"
    lines = [header + ("  track J" if tracked else "")]
    for d in sorted({r.diameter for r in results}):
        rows = [r for r in results if r.diameter == d]
        line = (
            f"{d:8d} {len(rows):6d} {np.mean([r.iou for r in rows]):6.3f} {sum(r.iou >= 0.5 for r in rows):6d}"
            f" {np.median([r.area_ratio for r in rows]):7.1f}"
        )
        if tracked:
            line += f"  {np.mean([r.track_j for r in rows if r.track_j is not None]):7.3f}"
        lines.append(line)
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench small_objects",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--names", nargs="*", default=None, help="bundled examples whose clips are the backdrops")
    parser.add_argument("--diameters", nargs="+", type=int, default=list(DIAMETERS), help="disk diameters (px)")
    parser.add_argument("--speed", type=float, default=3.0, help="px a frame the disk moves right (0: still)")
    parser.add_argument("--frames", type=int, default=FRAMES, help=f"frames pasted (default {FRAMES})")
    parser.add_argument("--track", action="store_true", help="also propagate the click's mask over those frames")
    args = parser.parse_args(argv)
    if args.frames < 2 or min(args.diameters) < 2:
        parser.error("--frames and every diameter must be at least 2")
    examples = [e for e in load_examples() if args.names is None or e.name in args.names]
    if not examples:
        parser.error("no bundled example of those names")
    clips = {e.name: load_video(e.path, VideoPolicy()).frames[: args.frames] for e in examples}
    results = run(clips, args.diameters, speed=args.speed, track=args.track)
    print(f"backdrops: {', '.join(clips)}; {len(COLOURS)} colours x {len(PLACES)} places; speed {args.speed} px/frame")
    for line in table(results):
        print(line)
    return 0
