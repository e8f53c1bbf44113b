"""Speed and memory of the SAM 2 backend on a real clip, and the pipeline's overhead over plain SAM 2 tracking.

    python -m click2graph.bench sam2 [--frames 6] [--sizes 512 1024] [--precisions fp32 bf16] [--skip-ratio]
                                     [--long 150]

bf16 rows are measured by default only where the CPU has native bf16 (``avx512_bf16`` or ``amx_bf16`` in
/proc/cpuinfo): elsewhere bf16 autocast is emulated and several times slower than fp32 (an AVX2-only AMD EPYC:
about 10x at 512 px), so the default run would take far too long; name ``--precisions fp32 bf16`` to measure it.

Clip: the first ``--frames`` working frames (854x480 at 10 fps) of ``../shared/data/sam2_bedroom/bedroom.mp4``,
with one fixed click on the girl in the middle of frame 0. Weights are RANDOM (SAM 2.1 tiny built from its config;
no checkpoint is needed or used): the compute per frame does not depend on the weights, so the times and memory
stand for the released model, but mask quality is not measured and the masks themselves mean nothing.

1. Tracking, one table row per image size x precision, each in a fresh process (so peak memory is its own):
   one object clicked on frame 0, then forward propagation. "s / tracked frame" is the mean over frames 1..N-1
   (the prompt frame is excluded), measured after a warm-up run on two frames; "range" is its fastest and slowest
   frame (memory attention grows until sam2's 7 memory frames are filled). "peak RSS" is the process's
   ``ru_maxrss``: model, frames, warm-up and run together.
2. Pipeline overhead, at 512 px fp32 in one fresh process: the time of ``Pipeline.build`` (subject tracking,
   discovery, tracking of the discovered objects and of one object clicked on the middle frame (so a second
   tracking pass happens whatever the random weights discover), semantics, graph) after ``prompt_subject``, divided
   by the time of plain SAM 2 tracking (``track_both_directions``) of the objects the pipeline ended with, prompted
   on the same frames with the same clicks and masks in a fresh state. Target: ratio <= 1.15, and 1.0
   image-encoder run per working frame over the pipeline run (prompt included); the build's phases are timed
   through its progress callback.
   With random weights the masks, and so discovery's work and the objects it keeps, are arbitrary: the encoder
   count holds for any weights, the ratio only for these masks (judge it again with real weights).
3. Memory on a long input (``--long N``, default off), at 512 px fp32 in one fresh process: N working frames
   (the clip played forward and back until N), two clicked objects tracked forward over all of them; the resident
   memory (RSS, from /proc/self/statm) every 25 frames, the feature cache's size and sam2's per-object memory
   bank. Growth per frame is what a longer clip costs; the feature cache stops growing at its budget.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from click2graph.masks import rle_decode
from click2graph.pipeline import Pipeline
from click2graph.prompts import Click, to_frame_prompts
from click2graph.segment import track_both_directions
from click2graph.video import Video, VideoPolicy, load_video

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CLIP = SHARED_DATA / "sam2_bedroom" / "bedroom.mp4"
CLICK = Click(395, 225, frame_idx=0)  # original pixels (960x540): the girl's dress, middle of frame 0
OBJECT_XY = (700, 300)  # original pixels: the second object of the ratio run, clicked on the middle frame
WORKING_FPS = 10.0
SEED = 0


@dataclass(frozen=True)
class TrackingResult:
    """Seconds per tracked frame (frame 1 on) and the process's peak resident memory."""

    image_size: int
    precision: str
    frame_s: list[float]
    peak_rss_gb: float
    threads: int


@dataclass(frozen=True)
class RatioResult:
    """One pipeline run and the plain SAM 2 tracking of the same objects, in one process."""

    frames: int
    pipeline_s: float
    phases_s: dict[str, float]
    pipeline_encoder_calls: int
    plain_s: float
    plain_encoder_calls: int
    object_ids: list[int]
    dropped_objects: int  # discovered, tracked, then dropped by the pipeline as implausible tracks
    subject_id: int
    entities: int
    relations: int


def load_clip(frames: int) -> Video:
    """The first ``frames`` working frames of the bedroom clip (854x480, 10 fps)."""
    video = load_video(CLIP, VideoPolicy(max_duration_s=frames / WORKING_FPS, target_fps=WORKING_FPS))
    if len(video) != frames:
        raise RuntimeError(f"expected {frames} working frames from {CLIP}, got {len(video)}")
    return video


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), judged from /proc/cpuinfo's flags."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split()) if cpuinfo.is_file() else set()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def _segmenter(image_size: int, precision: str):
    from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter  # imported in the worker process only

    return Sam2Segmenter.from_random_weights(Sam2Config(image_size=image_size, precision=precision), SEED)


def warm_up(segmenter, video: Video) -> None:
    """Click and track two frames once, so one-time costs (allocator, kernels) stay out of the timings."""
    short = Video.from_frames(video.frames[:2], video.fps, source="warm-up")
    state = segmenter.init_state(short)
    segmenter.add_prompt(state, 1, to_frame_prompts([CLICK], video)[0])
    for _ in segmenter.propagate(state):
        pass


def measure_tracking(image_size: int, precision: str, frames: int) -> TrackingResult:
    """Worker: one clicked object tracked forward over the clip; seconds per frame and peak RSS."""
    import torch

    video = load_clip(frames)
    segmenter = _segmenter(image_size, precision)
    warm_up(segmenter, video)
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, to_frame_prompts([CLICK], video)[0])
    frame_s = []
    started = time.perf_counter()
    for frame_idx, _, _ in segmenter.propagate(state):
        if frame_idx > 0:  # frame 0 is the prompt frame: its mask was computed by the click
            frame_s.append(time.perf_counter() - started)
        started = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux
    return TrackingResult(image_size, precision, frame_s, peak_gb, torch.get_num_threads())


@dataclass(frozen=True)
class LongResult:
    """Resident memory while two objects are tracked over a long input."""

    image_size: int
    rss_gb: list[tuple[int, float, float, float]]  # (frames tracked, RSS GB, feature cache GB, sam2 outputs GB)
    peak_rss_gb: float
    cache_budget_gb: float


def _rss_gb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 1024**3


def _outputs_gb(inference: dict) -> float:
    """Bytes of sam2's per-object, per-frame outputs (memory features, masks, object pointers)."""
    total = 0
    for per_obj in inference["output_dict_per_obj"].values():
        for outputs in per_obj.values():
            for out in outputs.values():
                for value in out.values():
                    tensors = value if isinstance(value, list) else [value]
                    total += sum(t.numel() * t.element_size() for t in tensors if hasattr(t, "numel"))
    return total / 1024**3


def measure_long(frames: int, image_size: int = 512) -> LongResult:
    """Worker: two objects tracked forward over ``frames`` working frames; RSS every 25 frames."""
    clip = load_clip(min(frames, 60)).frames
    looped = np.concatenate([clip, clip[::-1]] * (frames // (2 * len(clip)) + 1))[:frames]
    video = Video.from_frames(looped, WORKING_FPS, source=f"{CLIP.name}, looped to {frames} frames")
    segmenter = _segmenter(image_size, "fp32")
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, to_frame_prompts([CLICK], video)[0])
    segmenter.add_prompt(state, 2, to_frame_prompts([Click(700, 300, frame_idx=0)], video)[0])
    samples = []
    for n, _ in enumerate(segmenter.propagate(state), start=1):
        if n % 25 == 0 or n == frames:
            samples.append((n, _rss_gb(), state.features.nbytes / 1024**3, _outputs_gb(state.inference)))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return LongResult(image_size, samples, peak_gb, state.features.max_bytes / 1024**3)


def _phase(desc: str) -> str:
    if desc.startswith("subject"):
        return "subject tracking"
    if desc.startswith(("discover", "object")):
        return "discovery + object tracking"
    return "semantics + graph"


class _DroppedObjects(logging.Handler):
    """Counts the pipeline's "dropping object" log records (tracked objects that did not survive)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.getMessage().startswith("dropping object")


def measure_ratio(frames: int) -> RatioResult:
    """Worker: the whole pipeline, then plain SAM 2 tracking of its final objects with their prompts, at 512 fp32."""
    dropped = _DroppedObjects()
    pipeline_logger = logging.getLogger("click2graph.pipeline")
    pipeline_logger.setLevel(logging.INFO)
    pipeline_logger.addHandler(dropped)
    video = load_clip(frames)
    segmenter = _segmenter(512, "fp32")
    warm_up(segmenter, video)
    pipeline = Pipeline(segmenter)
    session = pipeline.open(video)
    calls = segmenter.encoder_calls
    pipeline.prompt_subject(session, [CLICK])
    # A second object clicked mid-clip: tracked in a pass of its own after the subject's (as discovered objects
    # are), whatever random weights make discovery find.
    pipeline.add_object(session, [Click(OBJECT_XY[0], OBJECT_XY[1], frame_idx=video.orig_index(len(video) // 2))])
    marks: list[tuple[float, str]] = []

    def progress(_fraction: float, desc: str) -> None:
        phase = _phase(desc)
        if not marks or marks[-1][1] != phase:
            marks.append((time.perf_counter(), phase))

    started = time.perf_counter()
    graph = pipeline.build(session, progress=progress)
    ended = time.perf_counter()
    pipeline_calls = segmenter.encoder_calls - calls
    phases = {phase: end - start for (start, phase), (end, _) in zip(marks, marks[1:] + [(ended, "")])}

    state = segmenter.init_state(video)
    calls = segmenter.encoder_calls
    for obj_id, track in sorted(session.state.objects.items()):
        for prompt in track.prompts.values():
            segmenter.add_prompt(state, obj_id, prompt)
        for frame_idx, rle in track.mask_prompts.items():
            segmenter.add_mask(state, obj_id, frame_idx, rle_decode(rle))
    plain_started = time.perf_counter()
    track_both_directions(segmenter, state)
    plain_s = time.perf_counter() - plain_started
    subject_id = min(session.subjects)
    return RatioResult(
        frames=len(video),
        pipeline_s=ended - started,
        phases_s=phases,
        pipeline_encoder_calls=pipeline_calls,
        plain_s=plain_s,
        plain_encoder_calls=segmenter.encoder_calls - calls,
        object_ids=[i for i in session.state.obj_ids if i != subject_id],
        dropped_objects=dropped.count,
        subject_id=subject_id,
        entities=len(graph.entities),
        relations=len(graph.relations),
    )


def in_fresh_process(fn: Callable, *args):
    """``fn(*args)`` in a newly spawned Python process (its own peak memory, nothing shared with earlier runs)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def print_tracking(results: list[TrackingResult], frames: int) -> None:
    print(
        f"\n1. Tracking: SAM 2.1 tiny, RANDOM weights, 1 object, {frames} frames 854x480 "
        f"({frames - 1} tracked), {results[0].threads} torch threads"
    )
    print("| image size | precision | s / tracked frame | range s | tracked fps | peak RSS GB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        mean = float(np.mean(r.frame_s))
        print(
            f"| {r.image_size} | {r.precision} | {mean:.2f} | {min(r.frame_s):.2f}-{max(r.frame_s):.2f} "
            f"| {1 / mean:.2f} | {r.peak_rss_gb:.2f} |"
        )


def print_ratio(r: RatioResult) -> None:
    ratio = r.pipeline_s / r.plain_s
    print(
        f"\n2. Pipeline vs plain SAM 2 at 512 px fp32, RANDOM weights, {r.frames} frames: subject {r.subject_id} + "
        f"{len(r.object_ids)} object(s) {r.object_ids} (1 clicked, others discovered), {r.dropped_objects} more "
        f"tracked and dropped as implausible ({r.entities} entities, {r.relations} relations in the graph)"
    )
    print("| run | s | encoder calls | encoder calls / frame |\n|---|---|---|---|")
    print(
        f"| pipeline: prompt_subject + build (time: build) | {r.pipeline_s:.2f} | {r.pipeline_encoder_calls} "
        f"| {r.pipeline_encoder_calls / r.frames:.2f} |"
    )
    print(
        f"| plain SAM 2: track_both_directions, same objects and prompts | {r.plain_s:.2f} | "
        f"{r.plain_encoder_calls} | {r.plain_encoder_calls / r.frames:.2f} |"
    )
    print("build phases: " + ", ".join(f"{name} {s:.2f} s" for name, s in r.phases_s.items()))
    verdict = "meets" if ratio <= 1.15 else "misses"
    print(f"ratio pipeline / plain = {ratio:.2f} ({verdict} the target <= 1.15)")


def print_long(r: LongResult) -> None:
    print(
        f"\n3. Memory on a long input: 2 objects tracked over {r.rss_gb[-1][0]} frames at {r.image_size} px fp32 "
        f"(RANDOM weights), feature cache budget {r.cache_budget_gb:.2f} GB"
    )
    print("| frames tracked | RSS GB | feature cache GB | sam2 outputs GB |\n|---|---|---|---|")
    for n, rss, cache, outputs in r.rss_gb:
        print(f"| {n} | {rss:.2f} | {cache:.2f} | {outputs:.2f} |")
    (n0, rss0, _, out0), (n1, rss1, _, out1) = r.rss_gb[0], r.rss_gb[-1]
    if n1 > n0:
        print(
            f"growth from frame {n0} to {n1}: {(rss1 - rss0) / (n1 - n0) * 1024:.1f} MB / frame RSS, of which sam2 "
            f"outputs {(out1 - out0) / (n1 - n0) * 1024:.1f} MB / frame (both objects); peak RSS {r.peak_rss_gb:.2f} GB"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench sam2",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--frames", type=int, default=6, help="working frames from the clip's start (>= 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024], help="model image sizes")
    parser.add_argument(
        "--precisions", nargs="+", choices=("fp32", "bf16"), help="default: fp32, plus bf16 where the CPU has it"
    )
    parser.add_argument("--skip-ratio", action="store_true", help="only the tracking table")
    parser.add_argument("--long", type=int, default=0, metavar="N", help="also measure memory over N frames")
    args = parser.parse_args(argv)
    if args.frames < 2:
        parser.error("--frames must be >= 2 (frame 0 is the prompt frame)")
    if not CLIP.is_file():
        print(f"{CLIP} not found: this benchmark needs ../shared/data beside the repository; nothing measured.")
        return 0
    print(
        "SAM 2.1 tiny with RANDOM weights (no checkpoint here): times and memory do not depend on the weights, "
        "mask quality is not measured."
    )
    precisions = args.precisions or (["fp32", "bf16"] if native_bf16() else ["fp32"])
    if args.precisions is None and not native_bf16():
        print("bf16 skipped: this CPU has no native bf16 (emulated, several times slower than fp32)")
    results = []
    for size in args.sizes:
        for precision in precisions:
            results.append(in_fresh_process(measure_tracking, size, precision, args.frames))
            r = results[-1]
            print(f"  {size} {precision}: {np.mean(r.frame_s):.2f} s / tracked frame, peak RSS {r.peak_rss_gb:.2f} GB")
    print_tracking(results, args.frames)
    if not args.skip_ratio:
        print_ratio(in_fresh_process(measure_ratio, args.frames))
    if args.long:
        print_long(in_fresh_process(measure_long, args.long))
    return 0
