"""Command line: ``python -m click2graph run VIDEO --click X,Y[,FRAME] --out DIR``,
``python -m click2graph batch INPUTS... --prompts PROMPTS.json --out DIR [--ray [ADDRESS]]``,
``python -m click2graph eval DATA_ROOT [--predictions DIR] [--ray [ADDRESS]]`` and
``python -m click2graph weights list|download NAME`` (see ``--help``)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

from click2graph.errors import Click2GraphError, Click2GraphWarning
from click2graph.jobs import LocalPool, ProgressBar, WorkerInfo, pending
from click2graph.presets import PRESETS
from click2graph.prompts import Prompt, box_from, click_from
from click2graph.ray_pool import LOCAL
from click2graph.semantics.prior import ALL_SPLITS, DEFAULT_ALPHA, DEFAULT_PRIOR_PATH, PredicatePrior
from click2graph.settings import BACKEND, PRESET, Settings, add_arguments
from click2graph.video import VideoPolicy
from click2graph.weights import WEIGHTS_DIR

RUN_EPILOG = """\
coordinates are pixels of the original video (x to the right, y down) and FRAME is the original frame number
(default 0); frames that the fps limit skips map to the nearest working frame.

examples:
  python -m click2graph run examples/ball_touch.mp4 --click 113,143 --out out/
  python -m click2graph run clip.mp4 --click 400,300,12 --negative 430,250,12 --out out/ --label adult
  python -m click2graph run clip.mp4 --click 400,300 --click 276,221,72 --out out/   # found again on frame 72
  python -m click2graph run frames_dir/ --folder-fps 24 --box 100,80,300,400 --out out/

outputs in --out: scene_graph.json (OpenPVSG-style + scores and RLE masks), masks_coco.json (COCO RLE at the
original size), overlay.mp4 (H.264, plays in browsers), timeline.html (standalone Plotly timeline)."""


EVAL_EPILOG = """\
--predictions DIR holds one scene graph per video in our export format (scene_graph.json of `run`):
DIR/<video_id>.json is scored against all relations of the video; DIR/<video_id>/subject_<id>.json against
the relations of GT subject <id> only (what the protocol writes under OUT/runs/<prompt>/seed<k>/).
Predictions are the graph's relations ranked by score, with the labels of their entities; masks are compared
at the original size on the original frames listed in the graph.

examples:
  python -m click2graph.synth /tmp/synth && python -m click2graph eval /tmp/synth --seeds 3
  python -m click2graph eval data/pvsg --split val --prompt box --seeds 25 --out eval_box/
  python -m click2graph eval data/pvsg --predictions other_method_graphs/
  python -m click2graph eval data/pvsg --preset paper --discovery heuristic   # the paper's Table 3 / Table 4 set-up
  python -m click2graph eval data/pvsg --prompt box --seeds 25 --ray              # Ray workers on this machine
  python -m click2graph eval /shared/pvsg --prompt box --seeds 25 --ray HEAD:6379  # a cluster (ray start --head)"""


BATCH_EPILOG = """\
PROMPTS.json maps a video's file name (or stem) to its prompts, with run's options; coordinates are pixels of
the original video, FRAME its original frame number (default 0):
  {"kick.mp4": {"click": [[113, 143]], "label": "adult"},
   "walk":     {"click": [[400, 300, 12]], "negative": [[430, 250, 12]]},
   "table.mp4": {"box": [100, 80, 300, 400, 0]}}

examples:
  python -m click2graph batch clips/ --prompts prompts.json --out graphs/
  python -m click2graph batch a.mp4 b.mp4 --prompts prompts.json --out graphs/ --no-video --ray
  python -m click2graph batch /shared/clips/ --prompts prompts.json --out graphs/ --ray HEAD:6379

outputs: OUT/<stem>/ with run's files (scene_graph.json, masks_coco.json, overlay.mp4, timeline.html), written
at once when the video is done; OUT/<stem>.failed says why a video has none (delete it to try again)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``error: ...``, exit code 2), like every other CLI error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _prompt(text: str, make: Callable[[list[str]], Prompt]) -> Prompt:
    """A ``--click``/``--negative``/``--box`` value (comma-separated) as a prompt; a usage error quoting it."""
    try:
        return make(text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else _positive_float(text)


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _optional_float(text: str) -> float | None:
    """A positive limit, or None for 'none', 'off' or 0 (no limit)."""
    return None if text.lower() in ("none", "0", "off") else _positive_float(text)


def _add_video_limits(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("working-frame limits (longer or larger inputs are trimmed or downsized)")
    defaults = VideoPolicy()
    limits.add_argument(
        "--max-duration",
        type=_optional_float,
        default=defaults.max_duration_s,
        metavar="SECONDS",
        help=f"use at most this many seconds from the start (default {defaults.max_duration_s:g}; 'none' = all)",
    )
    limits.add_argument(
        "--max-side",
        type=int,
        default=defaults.max_side,
        metavar="PX",
        help=f"longest side of the working frames (default {defaults.max_side})",
    )
    limits.add_argument(
        "--fps",
        type=_optional_float,
        default=defaults.target_fps,
        metavar="FPS",
        help=f"sample frames down to this rate (default {defaults.target_fps:g}; 'none' = every frame)",
    )
    limits.add_argument(
        "--folder-fps",
        type=_positive_float,
        default=defaults.folder_fps,
        metavar="FPS",
        help=f"frame rate of a folder of frames (default {defaults.folder_fps:g})",
    )


def _video_policy(args: argparse.Namespace) -> VideoPolicy:
    if args.max_side is not None and args.max_side < 16:
        raise Click2GraphError(f"--max-side must be at least 16 pixels, got {args.max_side}")
    return VideoPolicy(
        max_duration_s=args.max_duration, max_side=args.max_side, target_fps=args.fps, folder_fps=args.folder_fps
    )


def _add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    ray = parser.add_argument_group("Ray (jobs on the workers of a cluster; pip install ray)")
    ray.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run on Ray: without ADDRESS on a cluster started on this machine; with HOST:PORT (as `ray start "
        "--head` prints it) on that cluster, whose nodes see the inputs at the same paths",
    )
    ray.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="Ray workers, each loading the models once (default: as many as the cluster's CPUs hold, "
        "--cpus-per-worker each, and its GPUs when workers use one)",
    )
    ray.add_argument(
        "--cpus-per-worker", type=_positive_float, metavar="N", help="CPUs (and threads) per worker (default 1)"
    )
    ray.add_argument(
        "--gpus-per-worker",
        type=_non_negative_float,
        metavar="N",
        help="GPUs per worker (default 1 when the cluster has GPUs and the backend is not classic; 0.5 shares one)",
    )


def _pool(args: argparse.Namespace):
    """Where the jobs run: this process, or Ray workers (--ray); a context manager with the workers' ``info``."""
    settings = Settings.from_args(args)
    if args.ray is None:
        if args.workers or args.cpus_per_worker or args.gpus_per_worker is not None:
            raise Click2GraphError("--workers, --cpus-per-worker and --gpus-per-worker apply with --ray only")
        assembled = settings.assemble()
        return LocalPool(lambda: assembled.pipeline, info=WorkerInfo.of(assembled))
    from click2graph.ray_pool import RayOptions, RayPool

    options = RayOptions(args.ray, args.workers, args.cpus_per_worker or 1.0, args.gpus_per_worker)
    return RayPool(settings, options)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m click2graph",
        description="Click2Graph: one click on a subject -> a temporal panoptic video scene graph.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="build the scene graph of one video from a click or box",
        description="Segment and track the clicked subject (both directions), discover the objects it interacts "
        "with, relate them frame by frame, and write the scene graph and its renderings.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("video", type=Path, help="video file (mp4, webm, mov, avi, ...) or folder of numbered frames")
    prompt = run.add_argument_group(
        "prompt (at least one --click or a --box; prompts on another frame correct the track from there)"
    )
    prompt.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="X,Y[,FRAME]",
        type=lambda t: _prompt(t, lambda v: click_from(v, positive=True)),
        help="a point on the subject (repeatable)",
    )
    prompt.add_argument(
        "--negative",
        action="append",
        default=[],
        metavar="X,Y[,FRAME]",
        type=lambda t: _prompt(t, lambda v: click_from(v, positive=False)),
        help="a point NOT on the subject (repeatable)",
    )
    prompt.add_argument(
        "--box", type=lambda t: _prompt(t, box_from), metavar="X0,Y0,X1,Y1[,FRAME]", help="a box around the subject"
    )
    prompt.add_argument("--label", help="name of the subject (kept as given), e.g. 'adult'")
    run.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    _add_video_limits(run)
    add_arguments(run)
    run.add_argument("--no-video", action="store_true", help="skip the overlay video (faster)")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    batch = commands.add_parser(
        "batch",
        help="build the scene graphs of many videos, their prompts from a JSON file (here or on a Ray cluster)",
        description="Graph every video as `run` does, each with its prompts from PROMPTS.json, into OUT/<video "
        "stem>/; videos already done are skipped. Exit code 1 when a video failed (OUT/<stem>.failed says why) or "
        "has no prompts.",
        epilog=BATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="video files or folders of videos")
    batch.add_argument("--prompts", type=Path, required=True, metavar="JSON", help="the prompts of each video")
    batch.add_argument("--out", type=Path, required=True, help="output folder, one subfolder per video")
    _add_video_limits(batch)
    add_arguments(batch)
    batch.add_argument("--no-video", action="store_true", help="skip the overlay videos (faster)")
    _add_ray_arguments(batch)
    batch.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = commands.add_parser(
        "eval",
        help="score on OpenPVSG-layout data with the paper's protocol (or score saved scene graphs)",
        description="For every ground-truth subject of the split: simulate the user's prompt, run the pipeline, "
        "and score its ranked triplets (R@K, mR@K, SpIR@K, PLR) over --seeds seeds; print the paper-style table "
        "and write it as JSON and Markdown. With --predictions, score saved scene graphs instead.",
        epilog=EVAL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("data_root", type=Path, help="folder holding pvsg.json (or the path of the json file)")
    evaluate.add_argument("--split", default="val", help="split to evaluate (default val)")
    evaluate.add_argument(
        "--prompt",
        choices=["point", "box", "mask", "all"],
        help="simulated prompt (default point; all: each in turn, the paper preset's default)",
    )
    evaluate.add_argument("--seeds", type=int, help="repetitions with other prompts (default 25)")
    evaluate.add_argument("--videos", nargs="+", metavar="ID", help="only these video ids")
    evaluate.add_argument("--out", type=Path, default=Path("eval_out"), help="runs and tables (default eval_out/)")
    evaluate.add_argument(
        "--predictions", type=Path, metavar="DIR", help="score the scene graphs in DIR instead of running"
    )
    add_arguments(evaluate)
    _add_ray_arguments(evaluate)
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")

    train = commands.add_parser(
        "train",
        help="train the learned DIDM and SCH on OpenPVSG-layout data (SAM 2 frozen; a GPU is advised)",
        description="Train DIDM (interaction discovery) and SCH (classes and predicates) on a split of an "
        "OpenPVSG-layout dataset, SAM 2 frozen, 8-frame clips; checkpoints, resume, logged losses. The result is "
        "picked up by run, eval and the app from weights/click2graph_learned.pt.",
    )
    train.add_argument("data_root", type=Path, help="folder holding pvsg.json")
    train.add_argument("--split", default="train", help="split to train on (default train)")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="optimiser steps, one query drawn at random each (default 2000)")
    budget.add_argument(
        "--epochs", type=int, help="passes over the training queries, each once per pass (the paper preset: 400)"
    )
    train.add_argument("--save-every", type=int, default=200, help="checkpoint interval in steps")
    train.add_argument("--out", type=Path, default=None, help="checkpoint (default weights/click2graph_learned.pt)")
    train.add_argument("--resume", action="store_true", help="continue from --out when it exists")
    add_arguments(train, PRESET, BACKEND)
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    prior = commands.add_parser(
        "prior", help="the predicate prior P(predicate | subject class, object class) from an OpenPVSG pvsg.json"
    )
    prior_commands = prior.add_subparsers(dest="prior_command", required=True)
    prior_build = prior_commands.add_parser(
        "build",
        help="count predicates per (subject class, object class) in an OpenPVSG pvsg.json",
        description="Build the class-conditional predicate prior P(predicate | subject class, object class) "
        "from the relations of one split of an OpenPVSG pvsg.json and save it as JSON.",
    )
    prior_build.add_argument("pvsg_json", type=Path, help="OpenPVSG pvsg.json (or the folder holding it)")
    prior_build.add_argument(
        "--split", default="train", help=f"split key to count (default train; '{ALL_SPLITS}' = every video)"
    )
    prior_build.add_argument(
        "--out", type=Path, default=DEFAULT_PRIOR_PATH, help="output JSON (default weights/predicate_prior.json)"
    )
    prior_build.add_argument(
        "--alpha", type=float, default=DEFAULT_ALPHA, help=f"back-off strength (default {DEFAULT_ALPHA:g})"
    )

    weights = commands.add_parser(
        "weights",
        help="list the supported SAM 2.1 checkpoints and CLIP models, or download one for offline use",
        description="SAM 2.1 checkpoints and CLIP models are looked for in weights/, then in the Hugging Face hub "
        "cache, then downloaded when online (see weights/README.md).",
    )
    weights_commands = weights.add_subparsers(dest="weights_command", required=True, parser_class=_Parser)
    weights_list = weights_commands.add_parser("list", help="the supported checkpoints and where each is found now")
    weights_download = weights_commands.add_parser(
        "download", help="download a checkpoint from the Hugging Face hub into a folder (default weights/)"
    )
    weights_download.add_argument(
        "name", help="SAM 2.1: tiny, small, base_plus (or base+), large; CLIP: vit-b-32-laion2b, vit-b-32-openai"
    )
    for command in (weights_list, weights_download):
        command.add_argument(
            "--dir", type=Path, default=WEIGHTS_DIR, help=f"local checkpoint folder (default {WEIGHTS_DIR})"
        )
    return parser


PHASE_BAR = "{desc:<40} {n_fmt:>4}/{total_fmt:<4} {unit} |{bar}| {elapsed}<{remaining}"


class _PhaseBar:
    """``run``'s progress line: the phase (``subject 1: tracking forward``, ``discovering objects``, ``export``),
    its units done of all (frames, keyframes, %) and its time left; each phase starts the count and the clock anew."""

    def __init__(self, bar, phase: str) -> None:
        self.bar, self.phase = bar, phase

    def count(self, phase: str, done: int, total: int, unit: str) -> None:
        if phase != self.phase:
            self.bar.refresh()  # the finished phase's last count is drawn before the next phase replaces it
            self.phase, self.bar.unit = phase, unit
            self.bar.set_description_str(phase[:40], refresh=False)
            self.bar.reset(total=total)
        self.bar.update(done - self.bar.n)

    def percent(self, phase: str) -> Callable[[float, str], None]:
        """A ``progress(fraction, desc)`` that counts ``phase`` in percent (decoding, export)."""
        return lambda fraction, desc: self.count(phase, round(100 * min(max(fraction, 0.0), 1.0)), 100, "%")


def run_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from click2graph.batch import VideoPrompts, build_graph
    from click2graph.export import EXPORT_FILES, export_all
    from click2graph.video import load_video

    prompts = [*args.click, *args.negative] + ([args.box] if args.box else [])
    if not prompts:
        raise Click2GraphError("give the subject with --click X,Y[,FRAME] or --box X0,Y0,X1,Y1[,FRAME]")
    policy = _video_policy(args)
    _check_writable(args.out)

    started = time.perf_counter()
    # leave=False: the bar erases itself, so an error or the summary is printed on a clean line.
    with tqdm(total=100, desc="loading video", unit="%", disable=args.quiet, leave=False, bar_format=PHASE_BAR) as bar:
        phases = _PhaseBar(bar, "loading video")
        video = load_video(args.video, policy, progress=phases.percent("loading video"))
        assembled = Settings.from_args(args).assemble()
        subject = VideoPrompts(tuple(prompts), args.label)
        graph, warning = build_graph(
            assembled.pipeline, video, subject, on_step=lambda s: phases.count(s.phase, s.done, s.total, f"{s.unit}s")
        )
        if args.no_video:  # an overlay left by an earlier run would not show this graph
            (args.out / EXPORT_FILES["video"]).unlink(missing_ok=True)
        paths = export_all(graph, video, args.out, overlay_video=not args.no_video, progress=phases.percent("export"))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        _print_summary(graph, video, assembled, paths, time.perf_counter() - started)
    return 0


def _check_writable(folder: Path) -> None:
    """Create ``folder`` and write a file in it now, so that an unwritable --out fails before the build."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise Click2GraphError(f"cannot write to --out {folder}: {exc.strerror or exc}") from None


def _print_summary(graph, video, assembled, paths, seconds: float) -> None:
    from click2graph.graph import spans_text

    print(f"backend: {assembled.backend.describe()}")
    print(f"semantics: {assembled.describe()}")
    print(f"video:   {video.describe()}")
    print("entities:")
    for e in graph.entities:
        line = f"  #{e.entity_id} {e.label} [{e.first_frame}-{e.last_frame}] ({e.label_source}"
        line += f", {e.label_score:.2f})" if e.label_score is not None else ")"
        if e.top5:
            line += "  top 5: " + ", ".join(f"{label} {p:.2f}" for label, p in e.top5)
        if missing := graph.missing_spans(e.entity_id):
            line += f"  no mask on frames {spans_text(missing)}"
        print(line)
    print(f"relations ({len(graph.relations)}):")
    for r in graph.ranked_relations():
        spans = " ".join(f"{a}-{b}" for a, b in r.spans)
        print(
            f"  {graph.entity(r.subject_id).label} --{r.predicate}--> {graph.entity(r.object_id).label}"
            f"  frames {spans}  score {r.score:.2f}"
        )
    for kind, path in paths.items():
        print(f"wrote {kind:8s} {path}")
    print(f"done in {seconds:.1f} s")


def batch_command(args: argparse.Namespace) -> int:
    from click2graph.batch import BatchVideo, find_videos, load_prompts, prompts_for

    policy = _video_policy(args)
    table = load_prompts(args.prompts)
    videos = [(video, prompts_for(video, table)) for video in find_videos(args.inputs)]
    # Absolute paths: Ray workers may run in another folder.
    jobs = [
        BatchVideo(video.resolve(), prompts, (args.out / video.stem).resolve(), policy, not args.no_video)
        for video, prompts in videos
        if prompts is not None
    ]
    unprompted = [video.name for video, prompts in videos if prompts is None]
    if not jobs:
        first = videos[0][0]
        raise Click2GraphError(
            f"{args.prompts} has prompts for none of the {len(videos)} video(s): its keys must be file names such "
            f"as {first.name!r} or stems such as {first.stem!r}"
        )
    if unprompted:
        shown = ", ".join(unprompted[:5]) + (f" and {len(unprompted) - 5} more" if len(unprompted) > 5 else "")
        print(f"warning: no prompts in {args.prompts} for {shown}: skipped", file=sys.stderr)
    _check_writable(args.out)
    todo = pending(jobs)
    if len(todo) < len(jobs):
        print(f"{len(jobs) - len(todo)} of {len(jobs)} video(s) already done in {args.out}")
    if todo:
        with _pool(args) as pool:
            print(f"backend: {pool.info.backend}\nsemantics: {pool.info.semantics}")
            with ProgressBar(len(todo), "videos", unit="video", disable=args.quiet) as bar:
                pool.run(todo, bar)
    failed = [job for job in jobs if job.failed_path.is_file()]
    print(f"{len(jobs) - len(failed)} of {len(jobs)} video(s) graphed in {args.out}")
    if failed:
        print(f"{len(failed)} failed: {failed[0].failed_path} and the like say why (delete one to try it again)")
    return 1 if failed or unprompted else 0


def eval_command(args: argparse.Namespace) -> int:
    """``eval``, once per prompt type asked for (``--prompt all``: point, box and mask, as the paper's Table 3)."""
    from click2graph.eval.protocol import PROMPT_KINDS

    preset = PRESETS[args.preset].evaluation if args.preset else {}
    seeds = args.seeds if args.seeds is not None else preset.get("seeds", 25)
    prompt = args.prompt or preset.get("prompt", "point")
    for kind in PROMPT_KINDS if prompt == "all" and args.predictions is None else (prompt,):
        code = _eval_prompt(argparse.Namespace(**{**vars(args), "prompt": kind, "seeds": seeds}))
    return code


def _eval_prompt(args: argparse.Namespace) -> int:
    from click2graph.data.openpvsg import load_pvsg, pvsg_json_path
    from click2graph.eval import protocol

    if args.seeds < 1:
        raise Click2GraphError(f"--seeds must be >= 1, got {args.seeds}")
    pvsg_json = pvsg_json_path(args.data_root)
    if not pvsg_json.is_file():
        raise Click2GraphError(f"no pvsg.json at {args.data_root}: give the folder of an OpenPVSG-layout dataset")
    # Absolute paths on Ray: workers may run in another folder.
    dataset = load_pvsg(pvsg_json.resolve() if args.ray else pvsg_json)
    video_ids = dataset.video_ids(args.split)
    if args.videos:
        unknown = sorted(set(args.videos) - set(dataset.videos))
        if unknown:
            raise Click2GraphError(f"unknown video ids: {', '.join(unknown)}")
        video_ids = [v for v in args.videos]
    if not video_ids:
        raise Click2GraphError(f"split {args.split!r} of {pvsg_json} has no annotated video")
    _check_media(dataset, video_ids, frames=args.predictions is None)

    out = args.out
    if args.predictions is not None:
        _check_predictions(args.predictions, video_ids)
        per_seed = {0: protocol.score_folder(dataset, args.predictions, video_ids)}
        prompt, name = "given", "table_predictions"
    else:
        with _pool(args) as pool:
            # Each discovery strategy gets its own runs and tables, so they compare (the paper's Table 4).
            out = args.out / pool.info.strategy
            print(f"backend: {pool.info.backend}\nsemantics: {pool.info.semantics}\nruns and tables: {out}")
            todo = pending(protocol.queries(dataset, video_ids, out, args.prompt, args.seeds))
            with ProgressBar(len(todo), f"{args.prompt} prompts", unit="query", disable=args.quiet) as bar:
                pool.run(todo, bar)
        per_seed = {
            seed: protocol.score_folder(dataset, out / "runs" / args.prompt / f"seed{seed}", video_ids)
            for seed in protocol.seeds_for(args.prompt, args.seeds)
        }
        prompt, name = args.prompt, f"table_{args.prompt}"
    rows = protocol.summarize(per_seed, prompt)
    print(protocol.markdown_table(rows))
    for path in protocol.write_table(rows, out, name):
        print(f"wrote {path}")
    comparison = protocol.comparison_table(args.out, prompt) if args.predictions is None else None
    if comparison:
        path = args.out / f"compare_{prompt}.md"
        path.write_text(comparison + "\n")
        print(f"\ndiscovery strategies compared (as the paper's Table 4):\n{comparison}\nwrote {path}")
    return 0


def _check_media(dataset, video_ids: list[str], *, frames: bool) -> None:
    """Without GT masks every score is 0, without frames nothing runs: refuse instead of printing zeros."""
    missing = [path for vid in video_ids for path in dataset.videos[vid].missing_media(frames=frames)]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise Click2GraphError(
            f"the dataset lacks {', '.join(missing[:3])}{more}: masks/<video_id>/ (palette PNGs)"
            + (" and frames/<video_id>/ or videos/<video_id>.mp4" if frames else "")
            + " must lie beside pvsg.json (or under its source folder)"
        )


def _check_predictions(folder: Path, video_ids: list[str]) -> None:
    if not folder.is_dir():
        raise Click2GraphError(f"--predictions {folder} is not a folder")
    if not any((folder / f"{vid}.json").is_file() or (folder / vid).is_dir() for vid in video_ids):
        raise Click2GraphError(
            f"nothing to score: {folder} holds no <video_id>.json or <video_id>/subject_<id>.json for the "
            f"selected videos ({', '.join(video_ids[:3])}{', ...' if len(video_ids) > 3 else ''})"
        )


def train_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from click2graph.data.frames import load_frames
    from click2graph.data.openpvsg import load_pvsg, pvsg_json_path
    from click2graph.learned.inference import DEFAULT_LEARNED_PATH
    from click2graph.learned.train import TrainConfig, Trainer

    budget = {"steps": args.steps} if args.steps is not None else {}
    budget |= {"epochs": args.epochs} if args.epochs is not None else {}
    for flag, value in (*budget.items(), ("save_every", args.save_every)):
        if value < 1:
            raise Click2GraphError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    pvsg_json = pvsg_json_path(args.data_root)
    if not pvsg_json.is_file():
        raise Click2GraphError(f"no pvsg.json at {args.data_root}: give the folder of an OpenPVSG-layout dataset")
    out = args.out or DEFAULT_LEARNED_PATH
    if out.exists() and not args.resume:
        raise Click2GraphError(f"{out} exists: pass --resume to continue it, or --out for a new file")
    settings = Settings.from_args(args)
    choice = settings.with_backend("sam2" if settings.backend == "auto" else settings.backend).segmenter()
    preset = dict(PRESETS[args.preset].train) if args.preset else {}
    if budget:  # the budget given replaces the preset's, steps or epochs
        preset.pop("epochs", None)
    config = TrainConfig(**{**preset, **budget, "save_every": args.save_every})
    trainer = Trainer(load_pvsg(pvsg_json), choice.segmenter, split=args.split, config=config, checkpoint=out,
                      load_frames=load_frames)  # fmt: skip
    if args.resume and trainer.resume():
        print(f"resumed {out} at step {trainer.step}")
    epochs = f" ({config.epochs} epochs of {len(trainer.queries)})" if config.epochs is not None else ""
    print(
        f"training on {len(trainer.queries)} (video, subject) queries, steps: {trainer.total_steps}{epochs}; "
        f"SAM 2: {choice.describe()}"
    )
    with tqdm(total=trainer.total_steps, initial=trainer.step, disable=args.quiet, unit="step") as bar:

        def progress(losses: dict) -> None:
            bar.set_postfix(loss=f"{losses['total']:.3f}", point=f"{losses['point']:.3f}", refresh=False)
            bar.update(1)

        history = trainer.run(progress)
    if history:
        first, last = history[0], history[-1]
        print(f"loss {first['total']:.3f} -> {last['total']:.3f} over {len(history)} steps; wrote {out}")
    return 0


def prior_command(args: argparse.Namespace) -> int:
    """``prior build``: count, save and print the summary of the predicate prior."""
    prior = PredicatePrior.build(args.pvsg_json, split=args.split, alpha=args.alpha)
    path = prior.save(args.out)
    print(prior.summary())
    print(f"wrote {path}")
    return 0


def weights_command(args: argparse.Namespace) -> int:
    import importlib.util

    from click2graph.segment.sam2_checkpoints import (
        CHECKPOINTS,
        checkpoint_status,
        download_checkpoint,
        get_spec,
        validate_checkpoint,
    )
    from click2graph.semantics.clip_models import CLIP_MODELS, download_clip, find_clip_spec, resolve_clip

    if args.weights_command == "list":
        print(f"{'name':10s} {'params':>7s} {'size':>7s}  {'file':26s} {'hub id':32s} found")
        for spec in CHECKPOINTS:
            where = checkpoint_status(spec, args.dir)
            print(
                f"{spec.name:10s} {spec.params_m:6.1f}M {spec.size_mb:5d}MB  {spec.filename:26s} {spec.hub_id:32s} "
                f"{where}"
            )
        for clip in CLIP_MODELS:
            try:
                found = resolve_clip(clip.name, weights_dir=args.dir / "clip", allow_download=False)
                where = f"{found.path} ({found.source})"
            except Click2GraphError:
                where = "not found"
            print(f"{clip.name:18s} {clip.size_mb:5d}MB  {clip.hub_id:40s} {where}")
        return 0

    clip = find_clip_spec(args.name)
    if clip is not None:
        path, downloaded = download_clip(clip.name, args.dir / "clip")
        print(f"{'downloaded' if downloaded else 'already there:'} {path}")
        return 0
    spec = get_spec(args.name)
    path, downloaded = download_checkpoint(spec.name, args.dir)
    print(f"{'downloaded' if downloaded else 'already there:'} {path}")
    if importlib.util.find_spec("torch") is None:
        print("not checked: PyTorch is not installed (pip install torch==2.13.0 gives the CPU build)")
    else:
        validate_checkpoint(path, spec)
        print(f"checked: {spec.title}, config {spec.config}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        with warnings.catch_warnings():
            if not args.verbose:  # the backend notice is part of the summary: no warning text mid-run
                warnings.simplefilter("ignore", Click2GraphWarning)
            if args.command == "run":
                return run_command(args)
            if args.command == "train":
                return train_command(args)
            if args.command == "prior":
                return prior_command(args)
            if args.command == "batch":
                return batch_command(args)
            if args.command == "eval":
                return eval_command(args)
            if args.command == "weights":
                return weights_command(args)
    except Click2GraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1
