"""End-to-end figures on our synthetic clips: relation recovery against the exact ground truth, and time.

    python -m click2graph.bench pipeline [--clips NAME ...]

For each clip: generate it (deterministic), run the whole pipeline from the clip's preset click, and score the
graph with :func:`click2graph.eval.recovery.relation_recovery` on the prompted subject's ground-truth relations
(entity match by volume IoU >= 0.5; a relation is recovered when the same predicate between the matched entities
has temporal IoU >= 0.5).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from click2graph import synth
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval.recovery import relation_recovery
from click2graph.pipeline import Pipeline
from click2graph.prompts import Click
from click2graph.settings import Settings, add_arguments
from click2graph.video import VideoPolicy, load_video


def run_clip(dataset, video_id: str, click_xyf, pipeline: Pipeline):
    gt = dataset.videos[video_id]
    video = load_video(gt.video_path, VideoPolicy())
    started = time.perf_counter()
    session = pipeline.open(video)
    x, y, frame = click_xyf
    pipeline.prompt_subject(session, [Click(x, y, frame_idx=frame)])
    graph = pipeline.build(session)
    seconds = time.perf_counter() - started
    return graph, relation_recovery(graph, gt, subject_ids={synth.SUBJECT_ID}), seconds, len(video)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clips", nargs="*", default=None, help=f"clip names (default: all of {list(synth.CLIPS)})")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every relation")
    add_arguments(parser)
    parser.set_defaults(backend="classic", semantics="off")
    args = parser.parse_args(argv)
    names = args.clips or list(synth.CLIPS)
    pipeline = Settings.from_args(args).assemble().pipeline
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_pvsg(synth.write_dataset(tmp, names))
        for name in names:
            clip = synth.render_clip(name)
            graph, report, seconds, frames = run_clip(dataset, clip.script.video_id, synth.preset_click(clip), pipeline)
            rows.append((name, report, seconds, frames, len(graph.entities), len(graph.relations)))
            if args.verbose:
                print(f"== {name}\n{report.describe()}")
    print(f"backend: {pipeline.describe()}")
    print(
        f"{'clip':16s} {'frames':>6s} {'entities':>8s} {'relations':>9s} {'recall':>6s} {'mean tIoU':>9s}"
        f" {'s':>6s} {'fps':>6s}"
    )
    for name, report, seconds, frames, n_entities, n_relations in rows:
        print(
            f"{name:16s} {frames:6d} {n_entities:8d} {n_relations:9d} {report.recall:6.2f} "
            f"{report.mean_temporal_iou:9.2f} {seconds:6.1f} {frames / seconds:6.1f}"
        )
    total = sum(len(r[1].relations) for r in rows)
    found = sum(sum(x.recovered for x in r[1].relations) for r in rows)
    print(f"overall: {found}/{total} ground-truth relations recovered")
    return 0
