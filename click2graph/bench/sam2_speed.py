"""SAM 2's speed levers on a CPU: build time in image-encoder passes per working frame, where the time goes, and
what each lever changes in the masks.

    python -m click2graph.bench sam2_speed [--frames 40] [--levers plain int8 stride2 stride3 ...]
                                           [--subject-only]

Clip, click and weights as in ``bench sam2``: the first ``--frames`` working frames of the bedroom clip, one click
on the girl on frame 0, SAM 2.1 tiny at 512 px with RANDOM weights (the compute does not depend on the weights;
discovery, which depends on the masks, proposes little with them), semantics off. A second object is clicked on
the middle frame, so the build tracks two objects whatever discovery finds (as discovered objects would be);
``--subject-only`` leaves it out.

Each lever runs in a fresh process (its own peak memory): ``Pipeline.build`` after the clicks, with every part
timed, between two times three image-encoder passes of sam2's released model (fp32; their median is "one encoder
pass"):

- "passes / frame" is the build's time divided by that encoder pass and by the working frames, both measured in the
  same process: it holds far better than seconds when other processes share the machine, but not fully (under
  heavy load the many small operations of the memory encoder and mask decoder slow down more than the encoder, and
  it rises); the range of the reference passes shows how steady the machine was;
- the profile splits the build into SAM 2's modules (image encoder incl. its feature convolutions, memory
  attention, memory encoder, prompt encoder + mask decoder), our own parts (optical flow, discovery outside SAM 2,
  relations and graph) and the rest (sam2's Python glue, mask resizing and encoding, carrying masks on flow);
- "min IoU" compares the subject's and the clicked object's masks on every frame with the plain row's (fp32,
  every frame): a lever that keeps it >= 0.95 keeps sam2's masks. With random weights it says nothing of the stride
  rows' masks between SAM 2 frames; ``bench stride_fill`` measures those on DAVIS without weights.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from click2graph.bench.sam2 import CLICK, CLIP, OBJECT_XY, SEED, in_fresh_process, load_clip, warm_up
from click2graph.masks import mask_iou, rle_decode
from click2graph.pipeline import Pipeline
from click2graph.prompts import Click

IMAGE_SIZE = 512
LEVERS: dict[str, dict] = {
    "plain": {"encoder": "fp32", "stride": 1},  # sam2 as released: the reference of the IoU column
    "int8": {"encoder": "int8", "stride": 1},  # the default of the CLI and the app
    "stride2": {"encoder": "fp32", "stride": 2},
    "stride3": {"encoder": "fp32", "stride": 3},
    "int8+stride3": {"encoder": "int8", "stride": 3},
    "int8+stride5": {"encoder": "int8", "stride": 5},
}
PARTS = (
    "image encoder",
    "memory attention",
    "memory encoder",
    "mask decoder",
    "optical flow",
    "discovery (ours)",
    "relations + graph",
    "rest",
)
SUBJECT_ID, OBJECT_ID = 1, 2  # the clicked ones (discovered objects differ from lever to lever)


class PartTimer:
    """Exclusive seconds per named part: time spent in a part nested inside another counts for the inner one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._open: list[list] = []  # [name, started, seconds of nested parts]

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[None]:
        self._enter(name)
        try:
            yield
        finally:
            self._leave()

    def wrap(self, owner: object, attribute: str, name: str) -> None:
        """Time every call of ``owner.attribute`` (a function or method) as ``name``."""
        function = getattr(owner, attribute)

        def timed(*args, **kwargs):
            with self.part(name):
                return function(*args, **kwargs)

        setattr(owner, attribute, timed)

    def hook(self, module, name: str) -> None:
        """Time every forward of a torch module as ``name``."""
        module.register_forward_pre_hook(lambda *_: self._enter(name))
        module.register_forward_hook(lambda *_: self._leave())

    def _enter(self, name: str) -> None:
        self._open.append([name, time.perf_counter(), 0.0])

    def _leave(self) -> None:
        name, started, nested = self._open.pop()
        seconds = time.perf_counter() - started
        self.seconds[name] += seconds - nested
        if self._open:
            self._open[-1][2] += seconds


@dataclass(frozen=True)
class LeverResult:
    lever: str
    describe: str
    frames: int
    plain_encoder_s: float  # one pass of sam2's released (fp32) image encoder, this process (median)
    plain_spread_s: tuple[float, float]  # the fastest and slowest of those passes: how steady the machine was
    encoder_s: float  # one pass of this lever's image encoder
    build_s: float
    parts_s: dict[str, float]
    encoder_calls: int
    objects: int
    peak_rss_gb: float
    masks: dict[int, dict[int, dict]]  # the clicked subject's and object's: obj_id -> frame -> RLE

    @property
    def passes_per_frame(self) -> float:
        return self.build_s / self.plain_encoder_s / self.frames


def _sam2(**levers):
    from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter

    return Sam2Segmenter.from_random_weights(Sam2Config(image_size=IMAGE_SIZE, **levers), SEED)


def _encoder_passes_s(segmenter, video, passes: int = 3) -> list[float]:
    """Seconds of image-encoder passes on one frame (sam2's ``forward_image``, as tracking runs it)."""
    import torch

    from click2graph.segment.sam2_state import PreprocessedFrames

    image = PreprocessedFrames(video.frames, IMAGE_SIZE, segmenter.device)[len(video) // 2][None]
    seconds = []
    with torch.inference_mode():
        for _ in range(passes):
            started = time.perf_counter()
            segmenter.predictor.forward_image(image)
            seconds.append(time.perf_counter() - started)
    return seconds


def _plain_encoder_passes_s(video) -> list[float]:
    plain = _sam2()
    warm_up(plain, video)
    return _encoder_passes_s(plain, video)


def _timed_parts(timer: PartTimer, pipeline: Pipeline) -> None:
    from click2graph.cv.flow import FlowCache

    model = pipeline.segmenter.predictor
    timer.wrap(model, "forward_image", "image encoder")
    timer.hook(model.memory_attention, "memory attention")
    timer.hook(model.memory_encoder, "memory encoder")
    for module in (model.sam_prompt_encoder, model.sam_mask_decoder):
        timer.hook(module, "mask decoder")
    timer.wrap(FlowCache, "get", "optical flow")  # this process only
    timer.wrap(pipeline, "discover", "discovery (ours)")
    timer.wrap(pipeline, "graph", "relations + graph")


def measure_lever(lever: str, frames: int, subject_only: bool) -> LeverResult:
    """Worker: fp32 encoder passes, the build with ``lever`` (every part timed), fp32 encoder passes again."""
    video = load_clip(frames)
    plain_passes_s = _plain_encoder_passes_s(video)
    segmenter = _sam2(**LEVERS[lever])
    warm_up(segmenter, video)
    encoder_s = float(np.median(_encoder_passes_s(segmenter, video)))
    pipeline = Pipeline(segmenter)
    session = pipeline.open(video)
    pipeline.prompt_subject(session, [CLICK])
    if not subject_only:
        pipeline.add_object(session, [Click(*OBJECT_XY, frame_idx=video.orig_index(len(video) // 2))])
    timer = PartTimer()
    _timed_parts(timer, pipeline)
    calls = segmenter.encoder_calls
    with timer.part("rest"):
        started = time.perf_counter()
        pipeline.build(session)
        build_s = time.perf_counter() - started
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux
    describe, calls, objects = segmenter.describe(), segmenter.encoder_calls - calls, len(session.state.obj_ids)
    masks = {i: dict(session.state.track(i).masks) for i in (SUBJECT_ID, OBJECT_ID) if i in session.state.objects}
    del segmenter, pipeline, session
    plain_passes_s += _plain_encoder_passes_s(video)
    return LeverResult(
        lever=lever,
        describe=describe,
        frames=len(video),
        plain_encoder_s=float(np.median(plain_passes_s)),
        encoder_s=encoder_s,
        build_s=build_s,
        parts_s={part: timer.seconds.get(part, 0.0) for part in PARTS},
        encoder_calls=calls,
        objects=objects,
        peak_rss_gb=peak_rss_gb,
        masks=masks,
        plain_spread_s=(min(plain_passes_s), max(plain_passes_s)),
    )


def min_iou(result: LeverResult, reference: LeverResult) -> float:
    """The lowest IoU, over the tracked objects and frames, of ``result``'s masks with ``reference``'s (1 where
    both are empty: they agree)."""
    ious = []
    for i, masks in result.masks.items():
        if i not in reference.masks:  # a discovered object in one, not the other
            continue
        for t, rle in masks.items():
            mask, expected = rle_decode(rle), rle_decode(reference.masks[i][t])
            ious.append(mask_iou(mask, expected) if (mask | expected).any() else 1.0)
    return min(ious)


def print_results(results: list[LeverResult], subject_only: bool) -> None:
    clicked = "subject" if subject_only else "subject + 1 clicked object"
    print(
        f"\nSAM 2.1 tiny @{IMAGE_SIZE}, RANDOM weights, {results[0].frames} working frames of {CLIP.name}, {clicked} "
        "(+ what discovery keeps), semantics off; one process per lever"
    )
    reference = next((r for r in results if r.lever == "plain"), None)
    print(
        "| lever | build s | fp32 encoder pass s (range) | passes / frame | its encoder pass s | encoder calls "
        "| objects | peak RSS GB | min IoU vs plain |\n|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        iou = f"{min_iou(r, reference):.3f}" if reference is not None else "-"
        print(
            f"| {r.lever} ({r.describe}) | {r.build_s:.1f} | {r.plain_encoder_s:.2f} ({r.plain_spread_s[0]:.2f}-"
            f"{r.plain_spread_s[1]:.2f}) | **{r.passes_per_frame:.2f}** "
            f"| {r.encoder_s:.2f} | {r.encoder_calls} | {r.objects} | {r.peak_rss_gb:.2f} | {iou} |"
        )
    print("\nWhere the build's time goes (share of the build; in encoder passes per working frame):")
    print("| part | " + " | ".join(r.lever for r in results) + " |\n|---|" + "---|" * len(results))
    for part in PARTS:
        cells = [
            f"{100 * r.parts_s[part] / r.build_s:.0f}% ({r.parts_s[part] / r.plain_encoder_s / r.frames:.2f})"
            for r in results
        ]
        print(f"| {part} | " + " | ".join(cells) + " |")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench sam2_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--frames", type=int, default=40, help="working frames from the clip's start (>= 4)")
    parser.add_argument("--levers", nargs="+", choices=tuple(LEVERS), default=list(LEVERS), help="rows, in order")
    parser.add_argument("--subject-only", action="store_true", help="no object clicked mid-clip")
    args = parser.parse_args(argv)
    if args.frames < 4:
        parser.error("--frames must be >= 4")
    if not CLIP.is_file():
        print(f"{CLIP} not found: this benchmark needs ../shared/data beside the repository; nothing measured.")
        return 0
    results = []
    for lever in args.levers:
        results.append(in_fresh_process(measure_lever, lever, args.frames, args.subject_only))
        r = results[-1]
        print(f"  {lever}: build {r.build_s:.1f} s = {r.passes_per_frame:.2f} encoder passes per working frame")
    print_results(results, args.subject_only)
    return 0
