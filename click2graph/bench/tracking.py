"""Click -> track benchmark of the classic backend on the DAVIS-2016 clips in ``../shared/data/davis``.

``python -m click2graph.bench tracking [--seq ...] [--prompt click box mask] [--max-side N] [--max-frames N]
[--perturb] [--click-spread N [--click-tracks]] [--click-frames K [--click-still]]
[--box-noise FRAC [--draws N] [--box-tracks]] [--start-flips FRAC [--flip-seed S]] [--reencode [CRF]]
[--encodings CRF ...]``

Protocol: on frame 0 one simulated click (the ground-truth pixel farthest from the mask boundary, i.e. the argmax of
its distance transform), the ground-truth box, or the ground-truth mask itself; then forward propagation. J is the
mean region IoU against the per-frame ground truth (values > 0), computed in working pixels; "J end" is the mean
over the last tenth of the frames (drift); "empty" counts the frames whose mask is empty while the ground truth
shows the object (a lost subject not found again; the mean row gives their total). ``--perturb`` also tracks from
the ground-truth mask eroded, dilated and shifted right by 1 px and prints each J and their spread (max - min): how
far a start that differs by a pixel moves the result (the classic tracker is chaotic on some clips).
``--click-spread N`` also segments frame 0 from N other clicks spread over the object
(:mod:`click2graph.bench.click_spread`), and ``--click-tracks`` also tracks the clip from each of them: a change of
the click path judged on the clicks users make and on the tracks they start, not on one chaotic track.
``--click-frames K`` also clicks every K-th frame (and ``--click-still`` each of those frames alone, without motion:
:mod:`click2graph.bench.click_frames`). ``--box-noise FRAC`` also segments frame 0 from ``--draws`` boxes whose
sides are moved by Gaussian noise of FRAC of the box's size, as the evaluation protocol draws a user's box
(:func:`~click2graph.eval.protocol.noisy_box`, seeded by draw and sequence), and prints the mean and worst frame-0
IoU over the draws: no user draws the exact box. ``--box-tracks`` also tracks the clip from each of those boxes and
prints J's mean and worst over the draws, and its mean over them and the exact box together: on a chaotic clip the
track from one box is a noisy judge of a change to the box cut (a start moved by a pixel moves dog-agility's J by
over 0.1). ``--start-flips FRAC`` flips about FRAC of the area of every tracked start prompted by a click or box
(exact and noisy) in its boundary pixels before propagating, half added from the 2 px ring outside the mask and half
removed from the 2 px ring inside (:class:`StartFlips`, seeded by ``--flip-seed``, draw and sequence); the track
keeps its prompt, so its start stays a click's or box's mask. Over a few seeds this is the null distribution of a
change to the cut: what starts a few pixels apart do to J with no change of the cut at all. ``--reencode [CRF]``
runs everything on each clip's frames encoded again with our H.264 writer at that quality (23 unless given;
:func:`~click2graph.video.encoded_again`: the same picture to the eye, other pixels): what a figure owes to the
exact pixels of the stored frames, which every constant was chosen on. ``--encodings CRF ...`` also runs the prompts
on the frames encoded again at each of those qualities and ends with one row per encoding (the frames of the run
first): each prompt's frame-0 mean and worst, the sequences under the goal, and J. The default sequences are the
development set, every clip in ``../shared/data/davis`` (other DAVIS sequences are kept aside to check the result).
"""

from __future__ import annotations

import argparse
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from click2graph.bench.click_frames import frames_table, run_click_frames
from click2graph.bench.click_spread import FRAMES as SPREAD_FRAMES
from click2graph.bench.click_spread import SpreadResult, click_prompts, run_spread, spread_clicks, spread_table
from click2graph.eval.protocol import noisy_box
from click2graph.masks import bbox_xyxy, deepest_pixel, dilate, mask_iou, to_working_size
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import DEFAULT_CRF, Video, VideoPolicy, encoded_again, load_video

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SEQUENCES = (  # the development set
    "bmx-trees",
    "breakdance-flare",
    "car-shadow",
    "dance-jump",
    "dog-agility",
    "flamingo",
    "lucia",
    "mallard-water",
    "motocross-bumps",
    "rhino",
    "scooter-black",
    "tennis",
)
PROMPTS = ("click", "box", "mask")
_PIXEL = np.ones((3, 3), np.uint8)
STARTS = {  # the ground-truth first-frame mask as it is and changed by one pixel
    "exact": lambda m: m,
    "eroded": lambda m: cv2.erode(m.astype(np.uint8), _PIXEL) > 0,
    "dilated": lambda m: cv2.dilate(m.astype(np.uint8), _PIXEL) > 0,
    "shifted": lambda m: np.roll(m, 1, axis=1),
}


@dataclass(frozen=True)
class StartFlips:
    """Boundary pixel flips of a prompted frame-0 mask (``--start-flips``): a start changed as a change of the cut
    may change it, with no change of the cut."""

    frac: float  # of the mask's area
    seed: int
    ring_px: int = 2

    def apply(self, mask: np.ndarray, seq: str, draw: int) -> np.ndarray:
        """``mask`` with about ``frac`` of its area flipped, half of it added from the ``ring_px`` ring just outside
        and half removed from the one just inside (each capped at its ring); random, seeded by (seed, draw,
        sequence)."""
        rng = np.random.default_rng([self.seed, draw, zlib.crc32(seq.encode())])
        flips = round(self.frac * mask.sum())
        outer = np.flatnonzero(dilate(mask, self.ring_px) & ~mask)
        inner = np.flatnonzero(mask & dilate(~mask, self.ring_px))
        out = mask.copy().reshape(-1)
        out[rng.choice(outer, min(flips // 2, len(outer)), replace=False)] = True
        out[rng.choice(inner, min(flips - flips // 2, len(inner)), replace=False)] = False
        return out.reshape(mask.shape)


@dataclass(frozen=True)
class TrackingResult:
    """Scores of one sequence: IoU per frame (index = working frame), propagation speed and prompt time."""

    seq: str
    ious: np.ndarray
    fps: float
    prompt_s: float
    empty: int = 0  # frames whose mask is empty while the ground truth shows the object: lost, not found again

    @property
    def j_all(self) -> float:
        return float(self.ious.mean())

    @property
    def j_end(self) -> float:
        """Mean IoU over the last tenth of the frames (at least one): what drift leaves at the end."""
        return float(self.ious[-max(1, len(self.ious) // 10) :].mean())


def load_davis(
    root: Path,
    seq: str,
    *,
    max_side: int | None = None,
    max_frames: int | None = None,
    target_fps: float | None = None,
    reencode: int | None = None,
):
    """(Video, ground truth bool (N, H, W) in working pixels) of one DAVIS-2016 sequence; every frame (24 fps), or
    sampled down to ``target_fps`` as the app samples a video; with ``reencode`` (a CRF), its working frames encoded
    again at that quality (:func:`~click2graph.video.encoded_again`)."""
    policy = VideoPolicy(max_duration_s=None, target_fps=target_fps, max_side=max_side)
    video = load_video(root / "JPEGImages" / "480p" / seq, policy)
    orig = video.frame_indices_orig
    if max_frames is not None:
        video = Video.from_frames(video.frames[:max_frames], video.fps, source=seq)
    gt = []
    for t in range(len(video)):
        path = root / "Annotations" / "480p" / seq / f"{orig[t]:05d}.png"
        gt.append(to_working_size(np.asarray(Image.open(path).convert("L")) > 0, video.size_wh, video.region))
    return video if reencode is None else encoded_again(video, crf=reencode), np.stack(gt)


def simulated_prompt(gt0: np.ndarray, kind: str) -> FramePrompt:
    """A click at the GT pixel farthest from the boundary, or the GT box, on frame 0 (working pixels)."""
    if kind == "box":
        return FramePrompt.from_points(0, np.zeros((0, 2)), [], bbox_xyxy(gt0))
    return FramePrompt.from_points(0, [deepest_pixel(gt0)])


def run_sequence(
    root: Path,
    seq: str,
    *,
    prompt: str = "click",
    max_side: int | None = None,
    max_frames: int | None = None,
    segmenter: ClassicSegmenter | None = None,
    start: str = "exact",
    flips: StartFlips | None = None,
    reencode: int | None = None,
) -> TrackingResult:
    """Prompt frame 0, propagate forward, score every frame against the ground truth. ``start`` (a key of
    :data:`STARTS`, mask prompt only) may change the prompted mask by a pixel; ``flips`` changes a click's or box's
    mask (as draw 0); ``reencode``: see :func:`load_davis`."""
    segmenter, state, gt = _davis_state(
        root, seq, max_side=max_side, max_frames=max_frames, segmenter=segmenter, reencode=reencode
    )
    first = STARTS[start](gt[0]) if prompt == "mask" else simulated_prompt(gt[0], prompt)
    return _track(segmenter, state, seq, gt, first, flips=flips)


def _track(
    segmenter,
    state,
    seq: str,
    gt: np.ndarray,
    first: FramePrompt | np.ndarray,
    *,
    flips: StartFlips | None = None,
    draw: int = 0,
) -> TrackingResult:
    """Prompt frame 0 of ``state`` with ``first`` (a prompt, or a mask) as object 1, replacing any object 1 there
    (the video's features, cached on the state, are reused), propagate forward, score every frame against ``gt``.
    ``flips`` changes a prompt's frame-0 mask (seeded by ``draw``) and keeps the prompt: propagation starts from the
    track's frame-0 mask."""
    segmenter.remove_object(state, 1)
    began = time.perf_counter()
    if isinstance(first, np.ndarray):
        segmenter.add_mask(state, 1, 0, first)
    else:
        mask = segmenter.add_prompt(state, 1, first)
        if flips is not None:
            state.track(1).set_mask(0, flips.apply(mask, seq, draw))
    prompt_s = time.perf_counter() - began
    began = time.perf_counter()
    steps = sum(1 for _ in segmenter.propagate(state)) - 1  # the prompt frame is yielded, not tracked
    fps = steps / max(time.perf_counter() - began, 1e-9)
    masks = [state.mask(1, t) for t in range(len(gt))]
    ious = np.array([mask_iou(mask, truth) for mask, truth in zip(masks, gt)])
    empty = sum(1 for mask, truth in zip(masks, gt) if truth.any() and not mask.any())
    return TrackingResult(seq=seq, ious=ious, fps=fps, prompt_s=prompt_s, empty=empty)


def _noisy_box_prompts(gt0: np.ndarray, seq: str, frac: float, draws: int) -> list[FramePrompt]:
    """Frame-0 prompts of ``draws`` noisy ground-truth boxes (:func:`~click2graph.eval.protocol.noisy_box` with
    ``frac``; draw k seeded by (k, sequence))."""
    rngs = (np.random.default_rng([k, zlib.crc32(seq.encode())]) for k in range(draws))
    return [FramePrompt.from_points(0, np.zeros((0, 2)), [], noisy_box(gt0, rng, frac)) for rng in rngs]


def noisy_box_ious(
    root: Path,
    seq: str,
    *,
    frac: float,
    draws: int,
    max_side: int | None = None,
    max_frames: int | None = None,
    segmenter: ClassicSegmenter | None = None,
    reencode: int | None = None,
) -> np.ndarray:
    """Frame-0 IoU (float (draws,)) of the masks prompted by ``draws`` noisy ground-truth boxes
    (:func:`_noisy_box_prompts`), on one state: the video's features are computed once."""
    segmenter, state, gt = _davis_state(
        root, seq, max_side=max_side, max_frames=max_frames, segmenter=segmenter, reencode=reencode
    )
    prompts = _noisy_box_prompts(gt[0], seq, frac, draws)
    return np.array([mask_iou(segmenter.add_prompt(state, 1, prompt), gt[0]) for prompt in prompts])


def noisy_box_tracks(
    root: Path, seq: str, *, frac: float, draws: int, flips: StartFlips | None = None, **clip
) -> list[TrackingResult]:
    """The tracks (one per draw) started from the boxes of :func:`noisy_box_ious` (``clip``: its ``max_side``,
    ``max_frames`` and ``segmenter``), on one state; ``flips`` changes draw k's start as draw k + 1 (0 is the exact
    box's)."""
    segmenter, state, gt = _davis_state(root, seq, **clip)
    prompts = _noisy_box_prompts(gt[0], seq, frac, draws)
    return [_track(segmenter, state, seq, gt, p, flips=flips, draw=k + 1) for k, p in enumerate(prompts)]


def spread_click_tracks(root: Path, seq: str, *, n: int, **clip) -> tuple[SpreadResult, list[TrackingResult]]:
    """The tracks started from the ``n`` spread clicks of frame 0 (:func:`~click2graph.bench.click_spread.
    spread_clicks`; ``clip``: its ``max_side``, ``max_frames`` and ``segmenter``), on one state, and the clicks with
    the frame-0 IoU of each track."""
    segmenter, state, gt = _davis_state(root, seq, **clip)
    clicks = spread_clicks(gt[0], n)
    tracks = [_track(segmenter, state, seq, gt, prompt) for prompt in click_prompts(clicks)]
    return SpreadResult(seq=seq, clicks_xy=clicks, ious=np.array([r.ious[0] for r in tracks])), tracks


def _davis_state(root: Path, seq: str, *, max_side=None, max_frames=None, segmenter=None, reencode=None):
    """(``segmenter`` or a new one, its state of the sequence's video, the ground truth) (:func:`load_davis`)."""
    segmenter = segmenter or ClassicSegmenter()
    video, gt = load_davis(root, seq, max_side=max_side, max_frames=max_frames, reencode=reencode)
    return segmenter, segmenter.init_state(video), gt


def _noise_table(ious: dict[str, np.ndarray], exact: dict[str, float]) -> str:
    """Markdown table of the frame-0 IoU from noisy boxes per sequence (mean and worst over the draws, beside the
    exact box's when ``exact`` has it), plus the means over sequences."""
    with_exact = all(seq in exact for seq in ious)
    rows = ["| sequence | " + ("exact box | " if with_exact else "") + "noisy mean | noisy worst |"]
    rows.append("|---" * (4 if with_exact else 3) + "|")
    for seq, values in ious.items():
        cells = ([f"{exact[seq]:.3f}"] if with_exact else []) + [f"{values.mean():.3f}", f"{values.min():.3f}"]
        rows.append(f"| {seq} | " + " | ".join(cells) + " |")
    means = [float(np.mean([exact[s] for s in ious]))] if with_exact else []
    means += [float(np.mean([v.mean() for v in ious.values()])), float(np.mean([v.min() for v in ious.values()]))]
    rows.append("| **mean** | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(rows)


BOX_STARTS = ("exact box", "noisy", "all boxes")
CLICK_STARTS = ("deepest click", "spread", "all clicks")


def _start_track_table(
    tracks: dict[str, list[TrackingResult]], exact: dict[str, float], names: tuple[str, str, str] = BOX_STARTS
) -> str:
    """Markdown table of J over the clip from several starts per sequence (noisy boxes, spread clicks: mean and
    worst over them, beside the exact start's J when ``exact`` has it, and then the mean over the exact start and
    the others together; ``names`` labels the three), plus the means over sequences: a change of the prompt's cut
    judged on several starts of each chaotic track, not one."""
    exact_name, others, everything = names
    with_exact = all(seq in exact for seq in tracks)
    columns = ([f"J {exact_name}"] if with_exact else []) + [f"J {others} mean", f"J {others} worst"]
    columns += [f"J {everything}"] if with_exact else []
    rows = ["| sequence | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    cells = {}
    for seq, results in tracks.items():
        js = np.array([r.j_all for r in results])
        all_starts = [float(np.mean([exact[seq], *js]))] if with_exact else []
        cells[seq] = ([exact[seq]] if with_exact else []) + [float(js.mean()), float(js.min())] + all_starts
        rows.append(f"| {seq} | " + " | ".join(f"{c:.3f}" for c in cells[seq]) + " |")
    means = np.mean(list(cells.values()), axis=0)
    rows.append("| **mean** | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(rows)


FRAME0_GOALS = {"click": 0.5, "box": 0.7}  # issue 17: frame-0 IoU on every sequence from one click / the box


def _encodings_table(runs: dict[str, dict[str, list[TrackingResult]]]) -> str:
    """Markdown table, one row per encoding (``runs``: its name -> prompt -> results per sequence): for a click or
    box its frame-0 IoU's mean, worst (and where) and how many sequences miss :data:`FRAME0_GOALS`, and J; for the
    mask J."""
    prompts = list(next(iter(runs.values())))
    columns = []
    for prompt in prompts:
        columns += [f"{prompt} frame-0 (worst; under {FRAME0_GOALS[prompt]})"] if prompt in FRAME0_GOALS else []
        columns.append(f"{prompt} J")
    rows = ["| frames | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, by_prompt in runs.items():
        cells = []
        for prompt, results in by_prompt.items():
            if prompt in FRAME0_GOALS:
                first = [r.ious[0] for r in results]
                worst = results[int(np.argmin(first))]
                under = sum(v < FRAME0_GOALS[prompt] for v in first)
                cells.append(f"{np.mean(first):.3f} ({worst.ious[0]:.3f} {worst.seq}; {under})")
            cells.append(f"{np.mean([r.j_all for r in results]):.3f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _table(results: list[TrackingResult]) -> str:
    """Markdown table of per-sequence scores plus their mean (the empty frames' total)."""
    rows = ["| sequence | frame-0 IoU | J | J end | empty | fps | prompt s |", "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(
            f"| {r.seq} | {r.ious[0]:.3f} | {r.j_all:.3f} | {r.j_end:.3f} | {r.empty} | {r.fps:.1f} "
            f"| {r.prompt_s:.2f} |"
        )
    mean = lambda values: float(np.mean(values))  # noqa: E731
    rows.append(
        f"| **mean** | {mean([r.ious[0] for r in results]):.3f} | {mean([r.j_all for r in results]):.3f} "
        f"| {mean([r.j_end for r in results]):.3f} | {sum(r.empty for r in results)} in all "
        f"| {mean([r.fps for r in results]):.1f} | {mean([r.prompt_s for r in results]):.2f} |"
    )
    return "\n".join(rows)


def _spread_table(results: dict[str, list[TrackingResult]]) -> str:
    """Markdown table of J per sequence from each start, with the spread (max - min) and the means."""
    names = list(results)
    rows = ["| sequence | " + " | ".join(f"J {n}" for n in names) + " | spread |", "|---" * (len(names) + 2) + "|"]
    spreads = []
    for i, seq in enumerate(r.seq for r in results[names[0]]):
        js = [results[n][i].j_all for n in names]
        spreads.append(max(js) - min(js))
        rows.append(f"| {seq} | " + " | ".join(f"{j:.3f}" for j in js) + f" | {spreads[-1]:.3f} |")
    means = [float(np.mean([r.j_all for r in results[n]])) for n in names]
    rows.append("| **mean** | " + " | ".join(f"{j:.3f}" for j in means) + f" | {float(np.mean(spreads)):.3f} |")
    return "\n".join(rows)


def add_reencode_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--reencode [CRF]`` (None without it): ``what`` encoded again (:func:`~click2graph.video.encoded_again`)."""
    parser.add_argument(
        "--reencode",
        type=int,
        nargs="?",
        const=DEFAULT_CRF,
        default=None,
        metavar="CRF",
        help=f"{what} encoded again (H.264, CRF {DEFAULT_CRF} unless given): what codec noise alone changes",
    )


def davis_refusal(root: Path, seqs: list[str]) -> int | None:
    """None when every sequence of ``seqs`` is under ``root``; else the exit code, after printing why (the clips
    missing, or the names unknown with the ones available)."""
    frames = root / "JPEGImages" / "480p"
    if not frames.is_dir():
        print(f"DAVIS clips not found under {root}: this benchmark needs ../shared/data beside the repository.")
        return 1
    missing = [s for s in seqs if not (frames / s).is_dir()]
    if missing:
        print(f"unknown sequence(s) {missing}; available: {sorted(p.name for p in frames.iterdir())}")
        return 2
    return None


def _run_prompts(root: Path, args, segmenter, flips, reencode: int | None) -> dict[str, list[TrackingResult]]:
    """Every prompt of ``args`` on every sequence (frames encoded again at CRF ``reencode`` unless None), each
    result printed as it comes: prompt -> results in the order of the sequences."""
    by_prompt: dict[str, list[TrackingResult]] = {}
    encoded = "" if reencode is None else f" (CRF {reencode})"
    for prompt in args.prompt:
        results = by_prompt[prompt] = []
        for seq in args.seq:
            res = run_sequence(
                root,
                seq,
                prompt=prompt,
                max_side=args.max_side,
                max_frames=args.max_frames,
                segmenter=segmenter,
                flips=flips,
                reencode=reencode,
            )
            results.append(res)
            print(
                f"{prompt} {seq}{encoded}: frame-0 IoU {res.ious[0]:.3f}  J {res.j_all:.3f}  J end {res.j_end:.3f}  "
                f"empty {res.empty}  propagation {res.fps:.1f} fps  prompt {res.prompt_s:.2f} s"
                f"  ({len(res.ious)} frames)",
                flush=True,
            )
    return by_prompt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m click2graph.bench tracking", description=__doc__.split("\n")[0])
    parser.add_argument("--seq", nargs="+", default=list(SEQUENCES), help="DAVIS sequence names (default: dev set)")
    parser.add_argument("--prompt", nargs="+", choices=PROMPTS, default=list(PROMPTS))
    parser.add_argument("--max-side", type=int, default=None, help="working-frame longest side (default: 854)")
    parser.add_argument("--max-frames", type=int, default=None, help="only the first N frames (quick runs)")
    parser.add_argument(
        "--perturb", action="store_true", help="also track from the GT mask changed by 1 px (sensitivity to the start)"
    )
    parser.add_argument(
        "--click-spread", type=int, default=0, metavar="N", help="also frame 0 from N clicks spread over the object"
    )
    parser.add_argument(
        "--click-tracks", action="store_true", help="also track the clip from each spread click (with --click-spread)"
    )
    parser.add_argument(
        "--click-frames", type=int, default=0, metavar="K", help="also click every K-th frame, not only frame 0"
    )
    parser.add_argument(
        "--click-still", action="store_true", help="also click each of those frames alone (with --click-frames)"
    )
    parser.add_argument(
        "--box-noise", type=float, default=None, metavar="FRAC", help="also prompt frame 0 with noisy GT boxes"
    )
    parser.add_argument("--draws", type=int, default=5, help="noisy boxes per sequence (with --box-noise)")
    parser.add_argument(
        "--box-tracks", action="store_true", help="also track the clip from each noisy box (with --box-noise)"
    )
    parser.add_argument(
        "--start-flips", type=float, default=None, metavar="FRAC", help="flip FRAC of each tracked start's boundary"
    )
    parser.add_argument("--flip-seed", type=int, default=0, help="seed of the flips (with --start-flips)")
    add_reencode_argument(parser, "run on each clip's frames")
    parser.add_argument(
        "--encodings",
        type=int,
        nargs="+",
        default=[],
        metavar="CRF",
        help="also run the prompts on each clip's frames encoded again at each CRF; end with one row per encoding",
    )
    args = parser.parse_args(argv)
    flips = None if args.start_flips is None else StartFlips(args.start_flips, args.flip_seed)
    root = SHARED_DATA / "davis"
    if (refused := davis_refusal(root, args.seq)) is not None:
        return refused
    segmenter = ClassicSegmenter()
    run_sequence(root, args.seq[0], prompt="click", max_side=args.max_side, max_frames=3, segmenter=segmenter)
    tables = []
    by_prompt = _run_prompts(root, args, segmenter, flips, args.reencode)
    encoded = "" if args.reencode is None else f", frames encoded again at CRF {args.reencode}"
    for prompt, results in by_prompt.items():
        tables.append(f"\nprompt={prompt}, max_side={args.max_side or 'original'}{encoded}\n{_table(results)}")
    if args.encodings:
        runs = {"stored" if args.reencode is None else f"CRF {args.reencode}": by_prompt}
        runs |= {f"CRF {crf}": _run_prompts(root, args, segmenter, flips, crf) for crf in args.encodings}
        tables.append(f"\nframe-0 IoU and J per encoding of the frames\n{_encodings_table(runs)}")
    if args.perturb:
        starts = {"exact": by_prompt["mask"]} if "mask" in by_prompt else {}
        starts |= {
            start: [
                run_sequence(
                    root,
                    seq,
                    prompt="mask",
                    max_side=args.max_side,
                    max_frames=args.max_frames,
                    segmenter=segmenter,
                    start=start,
                    reencode=args.reencode,
                )
                for seq in args.seq
            ]
            for start in tqdm([s for s in STARTS if s not in starts], desc="mask starts")
        }
        tables.append(f"\nJ from the GT mask and from it changed by 1 px\n{_spread_table(starts)}")
    if args.click_spread > 0:
        tables += _spread_click_tables(root, args, segmenter, by_prompt.get("click", []))
    if args.click_frames > 0:
        tables += _click_frames_tables(root, args, segmenter)
    if args.box_noise is not None:
        tables += _noisy_box_tables(root, args, segmenter, by_prompt.get("box", []), flips)
    print(f"\n{segmenter.describe()}")
    print("\n".join(tables))
    return 0


def _spread_click_tables(root: Path, args, segmenter: ClassicSegmenter, deepest: list[TrackingResult]) -> list[str]:
    """The frame-0 table of ``--click-spread`` and, with ``--click-tracks``, the table of the clips tracked from the
    same clicks (whose frame 0 then fills the first table), beside the deepest click's J."""
    spread, tracks = [], {}
    clip = {"max_side": args.max_side, "max_frames": args.max_frames, "segmenter": segmenter, "reencode": args.reencode}
    for seq in tqdm(args.seq, desc="spread clicks"):
        if args.click_tracks:
            result, tracks[seq] = spread_click_tracks(root, seq, n=args.click_spread, **clip)
            js = np.array([r.j_all for r in tracks[seq]])
            print(f"spread clicks {seq}: J mean {js.mean():.3f} worst {js.min():.3f}", flush=True)
        else:
            video, gt = load_davis(root, seq, max_side=args.max_side, max_frames=SPREAD_FRAMES, reencode=args.reencode)
            result = run_spread(seq, video, gt[0], args.click_spread, segmenter=segmenter)
        spread.append(result)
    clicks = f"{args.click_spread} clicks spread over the object"
    tables = [f"\nframe-0 IoU from {clicks}\n{spread_table(spread)}"]
    if args.click_tracks:
        tables.append(
            f"\nJ from {clicks}\n{_start_track_table(tracks, {r.seq: r.j_all for r in deepest}, CLICK_STARTS)}"
        )
    return tables


def _click_frames_tables(root: Path, args, segmenter: ClassicSegmenter) -> list[str]:
    """The tables of ``--click-frames``: the clicks with the whole clip and, with ``--click-still``, each clicked
    frame alone."""
    modes = [False, True] if args.click_still else [False]
    results = {still: [] for still in modes}
    for seq in tqdm(args.seq, desc="clicked frames"):
        video, gt = load_davis(root, seq, max_side=args.max_side, max_frames=args.max_frames, reencode=args.reencode)
        for still in modes:
            res = run_click_frames(seq, video, gt, args.click_frames, segmenter=segmenter, still=still)
            results[still].append(res)
            mean = f"{res.ious.mean():.3f}" if len(res.ious) else "- (no annotated frame)"
            print(f"clicked frames{' alone' if still else ''} {seq}: mean IoU {mean}", flush=True)
    every = f"the deepest pixel clicked every {args.click_frames} frames"
    tables = [f"\nIoU of the click's mask, {every}, with the whole clip\n{frames_table(results[False])}"]
    if args.click_still:
        tables.append(
            f"\nIoU of the click's mask, {every}, on that frame alone (no motion)\n{frames_table(results[True])}"
        )
    return tables


def _noisy_box_tables(
    root: Path, args, segmenter: ClassicSegmenter, exact: list[TrackingResult], flips: StartFlips | None
) -> list[str]:
    """The frame-0 table of ``--box-noise`` and, with ``--box-tracks``, the table of the clips tracked from the
    same boxes, their starts changed by ``flips`` (whose frame 0 then fills the first table)."""
    ious, tracks = {}, {}
    clip = {"max_side": args.max_side, "max_frames": args.max_frames, "segmenter": segmenter, "reencode": args.reencode}
    for seq in args.seq:
        if args.box_tracks:
            tracks[seq] = noisy_box_tracks(root, seq, frac=args.box_noise, draws=args.draws, flips=flips, **clip)
            ious[seq] = np.array([r.ious[0] for r in tracks[seq]])
            js = np.array([r.j_all for r in tracks[seq]])
            print(f"noisy box {seq}: J mean {js.mean():.3f} worst {js.min():.3f}", flush=True)
        else:
            ious[seq] = noisy_box_ious(root, seq, frac=args.box_noise, draws=args.draws, **clip)
        print(f"noisy box {seq}: frame-0 IoU mean {ious[seq].mean():.3f} worst {ious[seq].min():.3f}", flush=True)
    noise = f"{args.draws} boxes with {args.box_noise:.0%} noise per side"
    tables = [f"\nframe-0 IoU from {noise}\n{_noise_table(ious, {r.seq: float(r.ious[0]) for r in exact})}"]
    if args.box_tracks:
        tables.append(f"\nJ from {noise}\n{_start_track_table(tracks, {r.seq: r.j_all for r in exact})}")
    return tables
