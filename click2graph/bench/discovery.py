"""Benchmark of weight-free interaction discovery on real DAVIS-2017 multi-object frames.

``python -m click2graph.bench discovery`` clicks the subject (the GT pixel farthest from its boundary), gets its
mask from :class:`ClassicSegmenter`, runs :func:`discover_objects` (given the click, so it may split objects off
the subject mask) and prints the best IoU of a proposal with
the GT object, the proposal's rank, whether any prompt point fell inside the object (PLR-style) and the time per
discovery call. Each case is also run with the GT subject mask given directly, which separates discovery
quality from subject-mask quality.

Then precision: on DAVIS-2016 sequences whose ground truth merges the subject with the object it uses (a rider
and the bike, every 10th frame) and on the DAVIS-2017 frames, the subject is clicked on the frame and every kept
proposal is checked: it is *real* when at least half of it lies on ground-truth object area (the merged mask for
2016, the other objects' ids for 2017). Discovery should only ever add real object area, so the union of subject
and proposals must score an IoU with the merged mask at least that of the subject alone.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from click2graph.discovery.base import DiscoveryConfig
from click2graph.discovery.training_free import discover_objects
from click2graph.masks import mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import VideoPolicy, load_video

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class Case:
    """One frame of a DAVIS-2017 sequence with the ids of the subject and of the object it interacts with."""

    seq: str
    frame_idx: int
    subject_id: int
    object_id: int
    label: str


MERGED = ("bmx-trees", "motocross-bumps", "scooter-black")  # 2016 GT = rider + vehicle
MERGED_STEP = 10  # frames between the frames checked
REAL_FRAC = 0.5  # a proposal at least this much on ground-truth object area is a real object

CASES = (
    Case("bmx-trees", 0, subject_id=2, object_id=1, label="rider -> bike"),
    Case("tennis", 18, subject_id=1, object_id=2, label="player -> racket"),
)


def click_point(mask: np.ndarray) -> tuple[float, float]:
    """The mask pixel farthest from its boundary, ``(x, y)``: the standard simulated click."""
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y)


def read_palette_png(path: Path) -> np.ndarray:
    """uint8 (H, W) object ids of a palette PNG (OpenCV would expand the palette to colours)."""
    return np.array(Image.open(path))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench discovery", description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder holding davis/ (default ../shared/data)")
    args = parser.parse_args(argv)
    davis = args.data / "davis"
    if not (davis / "Annotations_2017" / "480p").is_dir():
        print(f"DAVIS-2017 frames not found under {davis} (they live in ../shared/data beside the repo); skipping.")
        return 0

    segmenter = ClassicSegmenter()
    configs = {"": DiscoveryConfig(), "+split": DiscoveryConfig(split_subject=True)}
    print(
        f"{'case':<28}{'subject':<12}{'subj IoU':>9}{'after':>7}{'obj IoU':>9}{'rank':>6}{'pt in obj':>10}"
        f"{'split':>6}{'n':>3}{'s/call':>8}"
    )
    for case in CASES:
        video = load_video(davis / "JPEGImages" / "480p" / case.seq, VideoPolicy(target_fps=None, max_duration_s=None))
        gt = read_palette_png(davis / "Annotations_2017" / "480p" / case.seq / f"{case.frame_idx:05d}.png")
        gt_subject, gt_object = gt == case.subject_id, gt == case.object_id
        state = segmenter.init_state(video)
        x, y = click_point(gt_subject)
        clicked = segmenter.add_prompt(state, 1, FramePrompt.from_points(case.frame_idx, [[x, y]]))
        click = np.array([[x, y]], np.float32)
        runs = [("click", clicked, click, ""), ("click+split", clicked, click, "+split"), ("GT", gt_subject, None, "")]
        for name, subject, points, config_name in runs:
            start = time.perf_counter()
            proposals = discover_objects(
                segmenter, state, subject, case.frame_idx, subject_points_xy=points, config=configs[config_name]
            )
            seconds = time.perf_counter() - start
            ious = [mask_iou(p.mask, gt_object) for p in proposals]
            best = int(np.argmax(ious)) if ious else -1
            remaining = subject.copy()
            for p in proposals:
                if p.claims_subject:
                    remaining &= ~p.mask
            hit = any(gt_object[int(py), int(px)] for p in proposals for px, py in p.points_xy)
            print(
                f"{case.seq + ' ' + case.label:<28}{name:<12}{mask_iou(subject, gt_subject):>9.3f}"
                f"{mask_iou(remaining, gt_subject):>7.3f}"
                f"{(ious[best] if ious else 0.0):>9.3f}{best + 1 if ious else '-':>6}{str(hit):>10}"
                f"{str(proposals[best].claims_subject if ious else '-'):>6}{len(proposals):>3}{seconds:>8.2f}"
            )
    print("click+split: with DiscoveryConfig(split_subject=True) (off by default: it also splits people into parts);")
    print("subj IoU: subject mask vs GT; after: the same once split-off objects are removed from it;")
    print("obj IoU: best IoU of a proposal with the GT object (rank = its place);")
    print("pt in obj: a proposal's prompt point lies inside the GT object; split: the best proposal was split off the")
    print("subject mask (claims_subject); n: proposals; s/call includes the first flow computation (click rows).")
    print()
    _precision(segmenter, davis)
    return 0


@dataclass
class PrecisionCount:
    """Running totals of the precision check."""

    kept: int = 0
    real: int = 0
    frames: int = 0
    subject_iou: float = 0.0
    union_iou: float = 0.0


def _precision(segmenter, davis: Path) -> None:
    """Print the precision of kept proposals and subject vs subject+proposals IoU (see the module docstring)."""
    print(f"{'sequence':<18}{'frames':>7}{'kept':>6}{'real':>6}{'precision':>10}{'subject J':>10}{'union J':>9}")
    totals = PrecisionCount()
    for seq in MERGED:
        count = PrecisionCount()
        video = load_video(davis / "JPEGImages" / "480p" / seq, VideoPolicy(target_fps=None, max_duration_s=None))
        state = segmenter.init_state(video)
        for t in range(0, len(video), MERGED_STEP):
            merged = np.array(Image.open(davis / "Annotations" / "480p" / seq / f"{t:05d}.png").convert("L")) > 0
            _check_frame(segmenter, state, t, merged, merged, count)
        _print_count(seq, count)
        _add(totals, count)
    for case in CASES:
        count = PrecisionCount()
        video = load_video(davis / "JPEGImages" / "480p" / case.seq, VideoPolicy(target_fps=None, max_duration_s=None))
        gt = read_palette_png(davis / "Annotations_2017" / "480p" / case.seq / f"{case.frame_idx:05d}.png")
        objects = (gt > 0) & (gt != 255) & (gt != case.subject_id)
        _check_frame(segmenter, segmenter.init_state(video), case.frame_idx, gt == case.subject_id, objects, count)
        _print_count(f"{case.seq} {case.frame_idx} (2017)", count)
        _add(totals, count)
    _print_count("all", totals)
    print("real: at least half of the proposal on ground-truth object area; subject J and union J (subject plus")
    print("proposals): IoU with the ground truth of subject and objects together, averaged over the frames")


def _check_frame(segmenter, state, t: int, gt_subject: np.ndarray, gt_objects: np.ndarray, count) -> None:
    """Click the subject on frame ``t``, discover, and add the frame's precision and IoUs to ``count``."""
    x, y = click_point(gt_subject)
    subject = segmenter.add_prompt(state, 1, FramePrompt.from_points(t, [[x, y]]))
    proposals = discover_objects(segmenter, state, subject, t, subject_points_xy=np.array([[x, y]], np.float32))
    union = subject.copy()
    for p in proposals:
        union |= p.mask
        count.real += int((p.mask & gt_objects).sum() >= REAL_FRAC * p.mask.sum())
    target = gt_subject | gt_objects
    count.kept += len(proposals)
    count.frames += 1
    count.subject_iou += mask_iou(subject, target)
    count.union_iou += mask_iou(union, target)


def _add(total: PrecisionCount, count: PrecisionCount) -> None:
    for name in ("kept", "real", "frames", "subject_iou", "union_iou"):
        setattr(total, name, getattr(total, name) + getattr(count, name))


def _print_count(name: str, c: PrecisionCount) -> None:
    precision = f"{c.real / c.kept:.2f}" if c.kept else "-"
    print(
        f"{name:<18}{c.frames:>7}{c.kept:>6}{c.real:>6}{precision:>10}{c.subject_iou / max(c.frames, 1):>10.3f}"
        f"{c.union_iou / max(c.frames, 1):>9.3f}"
    )
