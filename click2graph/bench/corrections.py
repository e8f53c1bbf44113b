"""Corrective clicks on the DAVIS development set: how much a click on the frame where the track is worst gives back.

``python -m click2graph.bench corrections [--seq ...] [--rounds N] [--clicks N] [--good IOU] [--refine-frames K]
[--fps F] [--max-side N] [--max-frames N]``

Protocol (DAVIS's interactive protocol, with clicks for scribbles): one click on frame 0 at the ground-truth pixel
farthest from the mask boundary, and the track in both directions from its prompts
(:func:`~click2graph.segment.track_both_directions`, as the app and the CLI track). Then ``--rounds`` times, as a
user correcting the result would: one more click at the deepest ground-truth pixel of the frame whose IoU is lowest
(of the frames that show the object and hold no click yet), then, while that frame's mask is under ``--good`` IoU,
up to ``--clicks`` clicks in all there, each at the deepest pixel of the larger error (positive on the missed part,
negative on the spill: the robot user of interactive segmentation benchmarks, who looks at the preview). The
correction is kept when its mask beats the track's on that frame (else the next worst frame is tried, up to three),
and the clip is tracked again from all its prompts. Prints, per sequence, J (mean IoU over every frame) and the
frames left empty while the ground truth shows the object after each round, the frames corrected, and the means.
Round 0 is ``bench tracking``'s click row run in both directions (the same, since frame 0 is the first). Every
frame is used (24 fps) unless ``--fps`` samples them as the app does.

``--refine-frames K`` also runs the robot user alone on every K-th frame that shows the object (each frame on its
own, ``--clicks`` clicks whatever the IoU): the mean IoU after each click, and how many clicks lowered a frame's IoU
by more than 0.02 (a refining click should not undo what the mask had right).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from click2graph.bench.tracking import SEQUENCES, SHARED_DATA, davis_refusal, load_davis
from click2graph.masks import deepest_pixel, depth, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment import track_both_directions
from click2graph.segment.classic import ClassicSegmenter

TRIES = 3  # frames a correction round tries, worst first, for one whose corrected mask beats the track's there


@dataclass(frozen=True)
class CorrectionResult:
    """One sequence: J and the empty-frame count after each round (0: the first click alone), frames corrected
    and the clicks on each."""

    seq: str
    j: list[float]
    empty: list[int]
    clicked: list[tuple[int, int]]  # (frame, clicks there) per correction


def run_corrections(
    root,
    seq: str,
    rounds: int,
    *,
    clicks: int = 3,
    good: float = 0.8,
    segmenter=None,
    target_fps=None,
    max_side=None,
    max_frames=None,
) -> CorrectionResult:
    """The first click, then ``rounds`` corrections (up to ``clicks`` clicks on a frame until its mask reaches
    ``good`` IoU), each followed by tracking the clip again. A correction is kept only when its mask beats the
    track's on that frame, as a user who sees both would judge; else the next worst frame is tried, up to
    :data:`TRIES` frames a round (a round that finds none ends the run)."""
    segmenter = segmenter or ClassicSegmenter()
    video, gt = load_davis(root, seq, max_side=max_side, max_frames=max_frames, target_fps=target_fps)
    state = segmenter.init_state(video)
    prompts = [FramePrompt.from_points(0, [deepest_pixel(gt[0])])]
    j, empty = [], []

    def segment(prompt: FramePrompt) -> np.ndarray:
        return segmenter.add_prompt(state, 1, prompt)

    for done in range(rounds + 1):
        segmenter.remove_object(state, 1)
        for prompt in prompts:
            segment(prompt)
        track_both_directions(segmenter, state, [1])
        masks = [_mask_or_empty(state.mask(1, t), truth) for t, truth in enumerate(gt)]
        ious = np.array([mask_iou(mask, truth) for mask, truth in zip(masks, gt)])
        j.append(float(ious.mean()))
        empty.append(sum(1 for mask, truth in zip(masks, gt) if truth.any() and not mask.any()))
        if done == rounds:
            break
        clicked = {p.frame_idx for p in prompts}
        worst_first = sorted((t for t in range(len(gt)) if gt[t].any() and t not in clicked), key=lambda t: ious[t])
        tried = (robot_clicks(segment, t, gt[t], clicks, good) for t in worst_first[:TRIES])
        better = next((p for p in tried if mask_iou(segment(p), gt[p.frame_idx]) > ious[p.frame_idx]), None)
        if better is None:
            break
        prompts.append(better)
    return CorrectionResult(seq, j, empty, [(p.frame_idx, len(p.labels)) for p in prompts[1:]])


def robot_clicks(segment, frame_idx: int, truth: np.ndarray, most: int, good: float) -> FramePrompt:
    """A simulated user's clicks on one frame: the object's deepest pixel, then, while the mask ``segment`` gives
    for the clicks so far is under ``good`` IoU and fewer than ``most`` clicks were made, one at the deepest pixel of
    the larger error: positive where the object is missed, negative where the mask spills onto the background."""
    points, labels = [deepest_pixel(truth)], [1]
    while True:
        prompt = FramePrompt.from_points(frame_idx, points, labels)
        mask = segment(prompt)
        if len(points) >= most or mask_iou(mask, truth) >= good:
            return prompt
        missed, spilled = truth & ~mask, mask & ~truth
        positive = depth(missed).max() >= depth(spilled).max()
        points.append(deepest_pixel(missed if positive else spilled))
        labels.append(int(positive))


@dataclass(frozen=True)
class RefineResult:
    """IoU after each of the robot's clicks (one row per frame refined) of one sequence."""

    seq: str
    frames: list[int]
    ious: np.ndarray  # float (frames, clicks)


def run_refinement(root, seq: str, every: int, clicks: int, *, segmenter=None, **clip) -> RefineResult:
    """The robot user's ``clicks`` clicks on every ``every``-th frame showing the object, each frame on its own."""
    segmenter = segmenter or ClassicSegmenter()
    video, gt = load_davis(root, seq, **clip)
    state = segmenter.init_state(video)
    frames = [t for t in range(0, len(gt), every) if gt[t].any()]
    rows = []
    for t in frames:
        ious: list[float] = []

        def segment(prompt, truth=gt[t], ious=ious):
            segmenter.remove_object(state, 1)  # the mask of these clicks alone, as a fresh prompt gives
            mask = segmenter.add_prompt(state, 1, prompt)
            ious.append(mask_iou(mask, truth))
            return mask

        robot_clicks(segment, t, gt[t], clicks, good=1.01)
        rows.append(ious)
    return RefineResult(seq, frames, np.array(rows).reshape(len(frames), clicks))


def refine_table(results: list[RefineResult], clicks: int) -> str:
    """Markdown: per sequence the mean IoU after each click and the clicks that lowered a frame's IoU by over
    0.02; then the same over all frames."""
    lines = [
        "| sequence | frames | " + " | ".join(f"IoU@{k}" for k in range(1, clicks + 1)) + " | clicks lowering IoU |",
        "|---|---:|" + "---:|" * clicks + "---:|",
    ]

    def row(name: str, ious: np.ndarray) -> str:
        lowered = int((np.diff(ious, axis=1) < -0.02).sum())
        means = " | ".join(f"{v:.3f}" for v in ious.mean(axis=0))
        return f"| {name} | {len(ious)} | {means} | {lowered} of {ious.shape[0] * (clicks - 1)} |"

    lines += [row(r.seq, r.ious) for r in results if len(r.ious)]
    everything = np.concatenate([r.ious for r in results if len(r.ious)])
    lines.append(row("**all frames**", everything))
    return "\n".join(lines)


def _mask_or_empty(mask: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros_like(like) if mask is None else mask


def corrections_table(results: list[CorrectionResult], rounds: int) -> str:
    """Markdown: per sequence J and empty frames after each round, the frames clicked; then the means (a sequence
    that ran out of frames to click keeps its last figures in the later rounds' means)."""

    def padded(values: list, n: int) -> list:
        return values + values[-1:] * (n - len(values))

    heads = ["first click"] + [f"+{k} frame{'s' * (k > 1)}" for k in range(1, rounds + 1)]
    lines = [
        "| sequence | " + " | ".join(f"J {h}" for h in heads) + " | empty frames | frames corrected (clicks) |",
        "|---|" + "---:|" * (rounds + 1) + "---|---|",
    ]
    for r in results:
        js = " | ".join(f"{v:.3f}" for v in padded(r.j, rounds + 1))
        empty = " / ".join(map(str, padded(r.empty, rounds + 1)))
        clicked = ", ".join(f"{t} ({n})" for t, n in r.clicked) or "-"
        lines.append(f"| {r.seq} | {js} | {empty} | {clicked} |")
    j_mean = np.mean([padded(r.j, rounds + 1) for r in results], axis=0)
    empty_sum = np.sum([padded(r.empty, rounds + 1) for r in results], axis=0)
    means = " | ".join(f"{v:.3f}" for v in j_mean)
    lines.append(f"| **mean** | {means} | {' / '.join(map(str, empty_sum))} in all | |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench corrections", description=__doc__.split("\n")[0])
    parser.add_argument("--seq", nargs="+", default=list(SEQUENCES), help="DAVIS sequence names (default: dev set)")
    parser.add_argument("--rounds", type=int, default=2, help="frames corrected after the first click (default 2)")
    parser.add_argument("--clicks", type=int, default=3, help="most clicks on a corrected frame (default 3)")
    parser.add_argument("--good", type=float, default=0.8, help="a corrected frame's IoU that needs no more clicks")
    parser.add_argument(
        "--refine-frames", type=int, default=0, metavar="K", help="also refine every K-th frame alone with the robot"
    )
    parser.add_argument("--fps", type=float, default=None, help="sample the frames to this rate (default: all, 24)")
    parser.add_argument("--max-side", type=int, default=None, help="working-frame longest side (default: 854)")
    parser.add_argument("--max-frames", type=int, default=None, help="only the first N frames (quick runs)")
    args = parser.parse_args(argv)
    if args.rounds < 0 or args.clicks < 1 or args.refine_frames < 0:
        parser.error("--rounds and --refine-frames must be >= 0, --clicks >= 1")
    root = SHARED_DATA / "davis"
    if (refused := davis_refusal(root, args.seq)) is not None:
        return refused
    segmenter = ClassicSegmenter()
    clip = {"target_fps": args.fps, "max_side": args.max_side, "max_frames": args.max_frames}
    results = [
        run_corrections(root, seq, args.rounds, clicks=args.clicks, good=args.good, segmenter=segmenter, **clip)
        for seq in tqdm(args.seq, desc="sequences", unit="seq")
    ]
    print(f"J after correcting the worst frame, {args.rounds} times (up to {args.clicks} clicks each; classic backend)")
    print(corrections_table(results, args.rounds))
    if args.refine_frames:
        refined = [
            run_refinement(root, seq, args.refine_frames, args.clicks, segmenter=segmenter, **clip)
            for seq in tqdm(args.seq, desc="refining frames", unit="seq")
        ]
        print(f"\nIoU after each of {args.clicks} robot clicks, every {args.refine_frames}th frame on its own")
        print(refine_table(refined, args.clicks))
    return 0
