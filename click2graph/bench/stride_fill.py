"""What strided SAM 2 tracking (``--sam2-stride K``) loses on the frames it fills, measured without SAM 2 weights.

    python -m click2graph.bench stride_fill [--seq ...] [--strides 2 3 5] [--image-size 512] [--fps 10]

On the DAVIS development sequences (``../shared/data/davis``, every frame annotated), sampled to the app's working
frame rate (10 fps of DAVIS's 24), the ground-truth mask stands in for what SAM 2 gives on its own frames (SAM 2
reaches J ~0.9 on DAVIS): it becomes low-resolution logits as sam2 turns a mask input into an output (image size / 4
per side over the squashed frame, +-10 logits; ``_use_mask_as_output``). The frames between every K-th one are
filled by :func:`~click2graph.segment.sam2_stride.carried_output` along the video's
:class:`~click2graph.cv.flow.FlowCache`, as the SAM 2 backend does, and every mask is upsampled to working pixels
as sam2 does (bilinear, logits > 0). IoU with the ground truth on the filled frames is what the fill costs over
per-frame masks; "SAM 2 frames" is the same round trip with no fill (the ceiling the logit resolution leaves). The
last row pools the frames of all sequences (worst: the worst frame of any).

Fills: ``forward`` (each filled frame from the one before: the backend's fill until issue 15's second round) and
``bidirectional`` (the backend's now: the forward fill blended with the next SAM 2 frame carried backwards, weighted
by temporal distance: :func:`~click2graph.segment.sam2_stride.backfill`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from click2graph.bench.tracking import SEQUENCES, SHARED_DATA, load_davis
from click2graph.cv.flow import FlowCache
from click2graph.masks import mask_iou
from click2graph.segment.sam2_stride import backfill, carried_output, is_sam2_frame
from click2graph.video import VideoPolicy

FILLS = ("forward", "bidirectional")
MASK_SCALE = 4  # sam2's low-resolution masks: image size / 4 per side


def truth_output(mask: np.ndarray, image_size: int) -> dict:
    """A sam2 frame output whose logits are ``mask`` (bool (H, W)) as sam2 makes logits of a mask input."""
    size = image_size // MASK_SCALE
    fraction = F.interpolate(
        torch.from_numpy(mask.astype(np.float32))[None, None], size=(size, size), mode="bilinear", antialias=True
    )
    return {"pred_masks": fraction * 20.0 - 10.0, "object_score_logits": torch.ones(1, 1)}


def working_mask(output: dict, hw: tuple[int, int]) -> np.ndarray:
    """The bool (H, W) mask sam2 yields for an output: its logits upsampled bilinearly, > 0."""
    return F.interpolate(output["pred_masks"].float(), size=hw, mode="bilinear", align_corners=False)[0, 0].numpy() > 0


def filled_outputs(truth: list[dict], flows: FlowCache, stride: int, fill: str) -> list[dict]:
    """Frame outputs of a forward run from frame 0: ``truth`` on SAM 2's frames, the ``fill`` between."""
    n = len(truth)
    outputs: list[dict] = []
    for t in range(n):  # the backend's order: each frame from the one before
        outputs.append(truth[t] if is_sam2_frame(t, stride) else carried_output(outputs[t - 1], flows.get(t, t - 1)))
    if fill == "bidirectional":
        carried = dict(enumerate(outputs))
        for anchor in range(stride, n, stride):
            backfill(carried, truth[anchor], anchor, 1, flows)
        outputs = [carried[t] for t in range(n)]
    return outputs


def fill_ious(
    frames: np.ndarray,
    truth_masks: np.ndarray,
    stride: int,
    fill: str,
    *,
    image_size: int,
    flows: FlowCache | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """IoU with ``truth_masks`` (bool (N, H, W)) on the filled frames and on SAM 2's frames."""
    flows = FlowCache(frames, capacity=2 * len(frames)) if flows is None else flows
    truth = [truth_output(m, image_size) for m in truth_masks]
    outputs = filled_outputs(truth, flows, stride, fill)
    hw = truth_masks.shape[1:]
    ious = np.array([mask_iou(working_mask(o, hw), m) for o, m in zip(outputs, truth_masks)])
    own = np.array([is_sam2_frame(t, stride) for t in range(len(ious))])
    return ious[~own], ious[own]


@dataclass
class SequenceResult:
    seq: str
    frames: int
    own: np.ndarray  # IoU per frame of the round trip alone (every frame a SAM 2 frame)
    filled: dict[tuple[str, int], np.ndarray]  # (fill, stride) -> IoU per filled frame


def run_sequence(root: Path, seq: str, strides: list[int], *, image_size: int, fps: float) -> SequenceResult:
    video, gt = load_davis(root, seq, target_fps=fps)
    flows = FlowCache(video.frames, capacity=2 * len(video))  # every flow once for all strides and fills
    _, own = fill_ious(video.frames, gt, 1, "forward", image_size=image_size, flows=flows)
    filled = {
        (fill, k): fill_ious(video.frames, gt, k, fill, image_size=image_size, flows=flows)[0]
        for fill in FILLS
        for k in strides
    }
    return SequenceResult(seq, len(video), own, filled)


def table(results: list[SequenceResult], strides: list[int]) -> str:
    head = ["sequence", "frames", "SAM 2 frames"] + [f"{f} K={k} mean / worst" for f in FILLS for k in strides]
    rows = [head, ["---"] * len(head)]
    for r in results:
        cells = [f"{r.filled[f, k].mean():.3f} / {r.filled[f, k].min():.3f}" for f in FILLS for k in strides]
        rows.append([r.seq, str(r.frames), f"{r.own.mean():.3f}", *cells])
    overall = [np.concatenate([r.filled[f, k] for r in results]) for f in FILLS for k in strides]
    rows.append(
        [
            "**all frames**",
            str(sum(r.frames for r in results)),
            f"{np.concatenate([r.own for r in results]).mean():.3f}",
            *(f"{a.mean():.3f} / {a.min():.3f}" for a in overall),
        ]
    )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench stride_fill", description=__doc__.split("\n")[0])
    parser.add_argument("--davis", type=Path, default=SHARED_DATA / "davis")
    parser.add_argument("--seq", nargs="+", default=list(SEQUENCES))
    parser.add_argument("--strides", nargs="+", type=int, default=[2, 3, 5])
    parser.add_argument("--image-size", type=int, default=512, help="SAM 2's input size (the CPU default)")
    parser.add_argument("--fps", type=float, default=VideoPolicy().target_fps, help="working frame rate")
    args = parser.parse_args(argv)
    if any(k < 2 for k in args.strides):
        print("stride_fill: every stride must be >= 2 (1 fills nothing)")
        return 2
    if args.fps <= 0 or args.image_size < 64:
        print(f"stride_fill: --fps must be > 0 and --image-size >= 64, got {args.fps:g} and {args.image_size}")
        return 2
    missing = [s for s in args.seq if not (args.davis / "JPEGImages" / "480p" / s).is_dir()]
    if missing:
        print(f"stride_fill: no DAVIS sequence {', '.join(missing)} under {args.davis}")
        return 2
    results = []
    for seq in args.seq:
        results.append(run_sequence(args.davis, seq, args.strides, image_size=args.image_size, fps=args.fps))
        print(f"  {seq}: {results[-1].frames} working frames", flush=True)
    print(
        f"\nIoU with the ground truth of filled frames (mean / worst), SAM 2 {args.image_size} px logits "
        f"stand-in, {args.fps:g} fps working frames; 'SAM 2 frames': mean IoU with no fill\n"
    )
    print(table(results, args.strides))
    return 0
