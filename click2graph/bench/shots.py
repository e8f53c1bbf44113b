"""Shot cuts: what the detector finds and costs, and how the classic tracker crosses cuts spliced from DAVIS clips.

``python -m click2graph.bench shots [--seq ...] [--frames N]``

1. **Detector**: every DAVIS sequence (every frame, 24 fps) and every clip in ``examples/`` and
   ``../shared/data/examples_real`` (the app's 10 fps working frames): the cuts found (none of these clips has one)
   and the milliseconds per frame of :func:`~click2graph.cv.shots.shot_starts`.
2. **Splices**: the last ``N`` frames of a sequence, then the first ``N`` of the next one in the list. The cut must
   be found exactly at the junction. Tracked from the first sequence's ground-truth mask on frame 0, the subject is
   scored before the cut (J before), and after it nothing should be shown, since the subject is not in the other
   sequence: "shown after" is the share of those frames with a mask (a tracker carried across the cut by flow
   shows one on whatever lies there).
3. **Jumps**: a sequence's first third, then its last third (the same scene, later; a cut only where its colours
   change enough): the cuts found, and J after the junction against the ground truth.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from click2graph.bench.tracking import SEQUENCES, SHARED_DATA, davis_refusal, load_davis
from click2graph.cv.shots import shot_starts
from click2graph.masks import mask_iou
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import Video, load_video

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _track(frames: np.ndarray, start: np.ndarray) -> list[np.ndarray]:
    """The classic tracker's masks on every frame, from the mask ``start`` on frame 0."""
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(frames, fps=24.0))
    segmenter.add_mask(state, 1, 0, start)
    for _ in segmenter.propagate(state):
        pass
    return [state.mask(1, t) for t in range(len(frames))]


def _detector_rows(clips: dict[str, np.ndarray]) -> list[str]:
    rows = ["| clip | frames | cuts found | ms per frame |", "|---|---|---|---|"]
    for name, frames in clips.items():
        began = time.perf_counter()
        cuts = shot_starts(frames)
        ms = 1000 * (time.perf_counter() - began) / len(frames)
        rows.append(f"| {name} | {len(frames)} | {', '.join(map(str, cuts)) or 'none'} | {ms:.2f} |")
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench shots", description=__doc__.split("\n")[0])
    parser.add_argument("--seq", nargs="+", default=list(SEQUENCES), help="DAVIS sequence names (default: dev set)")
    parser.add_argument("--frames", type=int, default=20, help="frames of each side of a splice (default 20)")
    args = parser.parse_args(argv)
    root = SHARED_DATA / "davis"
    if (refused := davis_refusal(root, args.seq)) is not None:
        return refused
    davis = {seq: load_davis(root, seq) for seq in args.seq}
    clips = {seq: video.frames for seq, (video, _) in davis.items()}
    for path in sorted(EXAMPLES.glob("*.mp4")) + sorted((SHARED_DATA / "examples_real").glob("*.mp4")):
        clips[f"{path.parent.name}/{path.name}"] = load_video(path).frames
    print("\n".join(_detector_rows(clips)))

    n = args.frames
    rows = ["", "| splice | cut at | cuts found | J before | shown after |", "|---|---|---|---|---|"]
    shown = []
    for a, b in zip(args.seq, args.seq[1:] + args.seq[:1]):
        (va, ga), (vb, _) = davis[a], davis[b]
        frames = np.concatenate([va.frames[-n:], vb.frames[:n]])
        masks = _track(frames, ga[-n])
        j_before = np.mean([mask_iou(masks[t], ga[len(ga) - n + t]) for t in range(1, n)])
        shown.append(np.mean([m.any() for m in masks[n:]]))
        cuts = ", ".join(map(str, shot_starts(frames))) or "none"
        rows.append(f"| {a} -> {b} | {n} | {cuts} | {j_before:.3f} | {shown[-1]:.2f} |")
    rows.append(f"| **mean** | | | | {np.mean(shown):.2f} |")
    print("\n".join(rows))

    rows = ["", "| jump | cut at | cuts found | J after |", "|---|---|---|---|"]
    after = []
    for seq in args.seq:
        video, gt = davis[seq]
        third = len(video) // 3
        keep = np.r_[0:third, len(video) - third : len(video)]
        masks = _track(video.frames[keep], gt[0])
        after.append(np.mean([mask_iou(masks[k], gt[keep[k]]) for k in range(third, len(keep))]))
        cuts = ", ".join(map(str, shot_starts(video.frames[keep]))) or "none"
        rows.append(f"| {seq} | {third} | {cuts} | {after[-1]:.3f} |")
    rows.append(f"| **mean** | | | {np.mean(after):.3f} |")
    print("\n".join(rows))
    return 0
