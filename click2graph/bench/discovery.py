"""Benchmark of weight-free interaction discovery on real DAVIS frames and our synthetic clips.

``python -m click2graph.bench discovery [--step N] [--subject click|gt] [--skip-cases] [--reencode [CRF]]``

First, the DAVIS-2017 cases: the subject is clicked (the GT pixel farthest from its boundary), its mask comes
from :class:`ClassicSegmenter`, :func:`discover_objects` runs (given the click, so it may split objects off the
subject mask) and the best IoU of a proposal with the GT object is printed, with the proposal's rank, whether any
prompt point fell inside the object (PLR-style) and the time per discovery call. Each case is also run with the GT
subject mask given directly, which separates discovery quality from subject-mask quality.

Then precision, per video, on every ``--step``-th frame of the DAVIS development set (see
:mod:`.discovery_data` for the three kinds of annotation), the DAVIS-2017 frames and our synthetic clips (every
``step // 2``-th frame): the subject is clicked on the frame (or, with ``--subject gt``, taken from the ground
truth where it is annotated alone) and every kept proposal is judged: a real object (IoU >= 0.5 with a GT
object other than the subject), a part of the subject, or background. Discovery should only ever add real object
area, so the union of subject and proposals must score an IoU with everything annotated at least that of the
subject alone. ``--reencode [CRF]`` runs the precision check on every video's frames encoded again with our H.264
writer (:func:`~click2graph.video.encoded_again`, CRF 23 unless given): what the figures owe to the exact pixels of
the stored frames.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from click2graph.bench.discovery_data import GtFrame, GtVideo, davis_videos, synthetic_videos
from click2graph.bench.tracking import add_reencode_argument
from click2graph.discovery.base import DiscoveryConfig
from click2graph.discovery.training_free import discover_objects
from click2graph.masks import deepest_pixel, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import VideoPolicy, encoded_again, load_video

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class Case:
    """One frame of a DAVIS-2017 sequence with the ids of the subject and of the object it interacts with."""

    seq: str
    frame_idx: int
    subject_id: int
    object_id: int
    label: str


MATCH_IOU = 0.5  # a proposal matching a GT object at this IoU is that object
REAL_FRAC = 0.5  # a proposal at least this much on a GT area (object, subject, background) counts as lying on it

CASES = (
    Case("bmx-trees", 0, subject_id=2, object_id=1, label="rider -> bike"),
    Case("tennis", 18, subject_id=1, object_id=2, label="player -> racket"),
)


def click_point(mask: np.ndarray) -> tuple[float, float]:
    """The mask pixel farthest from its boundary and the frame's border, ``(x, y)``: the standard simulated click."""
    x, y = deepest_pixel(mask)
    return float(x), float(y)


def read_palette_png(path: Path) -> np.ndarray:
    """uint8 (H, W) object ids of a palette PNG (OpenCV would expand the palette to colours)."""
    return np.array(Image.open(path))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench discovery", description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder holding davis/ (default ../shared/data)")
    parser.add_argument("--step", type=int, default=10, help="frames between the DAVIS frames checked (default 10)")
    parser.add_argument(
        "--subject", choices=("click", "gt"), default="click", help="subject mask: from a click, or the GT subject"
    )
    parser.add_argument("--skip-cases", action="store_true", help="only the precision table")
    add_reencode_argument(parser, "the precision check on every video's frames")
    args = parser.parse_args(argv)
    if args.step < 1:
        print(f"--step must be at least 1, got {args.step}")
        return 2
    davis = args.data / "davis"
    if not (davis / "Annotations_2017" / "480p").is_dir():
        print(f"DAVIS-2017 frames not found under {davis} (they live in ../shared/data beside the repo); skipping.")
        return 0

    segmenter = ClassicSegmenter()
    if not args.skip_cases:
        _cases(segmenter, davis)
    _precision(segmenter, davis, args.step, args.subject, DiscoveryConfig(), reencode=args.reencode)
    return 0


def _cases(segmenter, davis: Path) -> None:
    """Print the best proposal for each DAVIS-2017 case (see the module docstring)."""
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


@dataclass
class Tally:
    """Running totals of the precision check over the frames of one video (or several)."""

    frames: int = 0
    kept: int = 0
    real: int = 0  # matches a GT object at IoU >= MATCH_IOU ("objects" frames)
    on_object: int = 0  # at least half on GT object area (the merged mask on "merged" frames)
    part: int = 0  # at least half on the GT subject ("objects" and "subject" frames)
    background: int = 0  # at least half off everything annotated
    reachable: int = 0  # GT objects within discovery's reach of the subject ("objects" frames)
    found: int = 0  # ...of which a kept proposal matches at IoU >= MATCH_IOU
    weak_subject: int = 0  # frames whose subject mask scores IoU < MATCH_IOU with the GT subject (a missed click)
    subject_iou: float = 0.0
    union_iou: float = 0.0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def judge_frame(proposals, subject: np.ndarray, gt: GtFrame, kind: str, reach_px: float) -> Tally:
    """The tally of one frame's kept ``proposals`` around the predicted ``subject`` (see the module docstring)."""
    tally = Tally(frames=1, kept=len(proposals))
    objects = np.zeros_like(gt.foreground)
    for obj in gt.objects:
        objects |= obj
    on_mask = gt.foreground if kind == "merged" else objects
    union = subject.copy()
    for p in proposals:
        area = p.mask.sum()
        union |= p.mask
        tally.real += int(any(mask_iou(p.mask, obj) >= MATCH_IOU for obj in gt.objects))
        tally.on_object += int((p.mask & on_mask).sum() >= REAL_FRAC * area)
        tally.part += int(kind != "merged" and (p.mask & gt.subject).sum() >= REAL_FRAC * area)
        tally.background += int((p.mask & ~gt.foreground).sum() >= REAL_FRAC * area)
    if gt.objects:
        near = cv2.distanceTransform((~gt.subject).astype(np.uint8), cv2.DIST_L2, 3)
        for obj in gt.objects:
            if obj.any() and near[obj].min() <= reach_px:
                tally.reachable += 1
                tally.found += int(any(mask_iou(p.mask, obj) >= MATCH_IOU for p in proposals))
    tally.subject_iou = mask_iou(subject, gt.foreground)
    tally.weak_subject = int(mask_iou(subject, gt.subject) < MATCH_IOU)
    tally.union_iou = mask_iou(union, gt.foreground)
    return tally


def run_video(segmenter, gt_video: GtVideo, subject_from: str, config: DiscoveryConfig) -> Tally:
    """Click (or take) the subject on every annotated frame, discover, and tally the frames."""
    tally = Tally()
    state = segmenter.init_state(gt_video.video)
    for gt in gt_video.frames:
        x, y = click_point(gt.subject)
        click = np.array([[x, y]], np.float32)
        if subject_from == "gt" and gt_video.kind != "merged":
            subject = gt.subject
        else:
            subject = segmenter.add_prompt(state, 1, FramePrompt.from_points(gt.t, click))
        proposals = discover_objects(segmenter, state, subject, gt.t, subject_points_xy=click, config=config)
        reach = config.band_outer_frac * float(np.sqrt(gt.subject.sum()))
        tally.add(judge_frame(proposals, subject, gt, gt_video.kind, reach))
    return tally


def _precision(
    segmenter, davis: Path, step: int, subject_from: str, config: DiscoveryConfig, *, reencode: int | None = None
) -> None:
    """Print the tally of every video, then per kind of annotation (see the module docstring); with ``reencode`` (a
    CRF), on every video's frames encoded again at that quality."""
    print(
        f"{'video':<26}{'kind':<9}{'frames':>7}{'kept':>6}{'real':>6}{'on obj':>7}{'part':>6}{'bg':>5}"
        f"{'precision':>10}{'recall':>8}{'subject J':>10}{'union J':>9}{'weak':>6}"
    )
    totals: dict[str, Tally] = {}
    for gt_video in (*davis_videos(davis, step), *synthetic_videos(max(1, step // 2))):
        if reencode is not None:
            gt_video = replace(gt_video, video=encoded_again(gt_video.video, crf=reencode))
        tally = run_video(segmenter, gt_video, subject_from, config)
        _print_tally(gt_video.name, gt_video.kind, tally)
        totals.setdefault(gt_video.kind, Tally()).add(tally)
    for kind, tally in totals.items():
        _print_tally(f"all {kind}", kind, tally)
    print(
        f"real: matches a GT object at IoU >= {MATCH_IOU} (precision = real / kept, recall = GT objects within "
        "reach matched / within reach);\non obj: at least half on GT object area (merged: on the subject+object "
        "mask); part: at least half on the GT subject;\nbg: at least half off everything annotated; subject J and "
        "union J (subject plus proposals): IoU with all annotated\narea, mean over frames (discoveries should only "
        f"add real object area: union J >= subject J);\nweak: frames whose subject mask scores IoU < {MATCH_IOU} "
        "with the GT subject (merged: the merged mask; with --subject click: the click missed its subject there)"
    )


def _print_tally(name: str, kind: str, c: Tally) -> None:
    objects = kind == "objects"
    precision = f"{c.real / c.kept:.2f}" if objects and c.kept else "-"
    recall = f"{c.found / c.reachable:.2f}" if objects and c.reachable else "-"
    real = str(c.real) if objects else "-"
    part = str(c.part) if kind != "merged" else "-"
    print(
        f"{name:<26}{kind:<9}{c.frames:>7}{c.kept:>6}{real:>6}{c.on_object:>7}{part:>6}{c.background:>5}"
        f"{precision:>10}{recall:>8}{c.subject_iou / max(c.frames, 1):>10.3f}{c.union_iou / max(c.frames, 1):>9.3f}"
        f"{c.weak_subject:>6}"
    )
