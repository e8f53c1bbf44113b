"""What the semantic step costs: CLIP per entity and per pair frame, and the time it adds to the whole pipeline.

    python -m click2graph.bench semantics [--example ball_touch] [--repeats 2]

The model is CLIP ViT-B/32 at full size with RANDOM weights and a generated tokenizer (no download is possible
here): the compute per image does not depend on the weights, so the image-side times stand for the released model;
text prompts tokenize longer with the generated vocabulary, so text-side times are pessimistic. Labels mean nothing.

1. Cost per entity (3 frames x masked + context crop, one batch) and per zero-shot pair frame (one union crop),
   over the entities of the example's scene graph.
2. The pipeline on a bundled example (classic backend, its preset click), built twice in one process: without
   semantics (geometry, default names) and with CLIP names + zero-shot predicates. The one-off embedding of the 126
   class prompts (once per process and vocabulary) is done before timing and reported apart. Target: semantics
   adds <= 15% to the pipeline's time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from click2graph.examples import load_examples
from click2graph.pipeline import Pipeline
from click2graph.semantics.base import EntityView
from click2graph.semantics.clip import ClipEmbedder, ClipEntityClassifier
from click2graph.semantics.models import SemanticModels
from click2graph.semantics.zero_shot import ZeroShotPredicateScorer, copresence_runs, sample_frames
from click2graph.video import VideoPolicy, load_video


def build_once(pipeline: Pipeline, video, prompts) -> tuple[float, object]:
    started = time.perf_counter()
    session = pipeline.open(video)
    pipeline.prompt_subject(session, prompts)
    graph = pipeline.build(session)
    return time.perf_counter() - started, graph


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench semantics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--example", default="ball_touch", help="a bundled example (default ball_touch)")
    parser.add_argument("--repeats", type=int, default=2, help="builds per variant; the fastest counts")
    args = parser.parse_args(argv)
    example = next((e for e in load_examples() if e.name == args.example), None)
    if example is None or not example.prompts:
        parser.error(f"no bundled example {args.example!r} with a preset click")
    video = load_video(example.path, VideoPolicy())

    started = time.perf_counter()
    embedder = ClipEmbedder.from_random_weights(seed=0, tiny=False)
    classifier = ClipEntityClassifier(embedder, frames_per_entity=2)  # as make_semantics builds it
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    classifier.label_embeddings()
    labels_s = time.perf_counter() - started
    print(
        f"CLIP ViT-B/32, RANDOM weights, {torch.get_num_threads()} torch threads; model built in {build_s:.1f} s, "
        f"126 class prompt sets embedded in {labels_s:.1f} s (once per process and vocabulary)"
    )

    plain = Pipeline()
    semantic = Pipeline(semantics=SemanticModels(classifier=classifier, embedder=embedder))
    times = {"without semantics": [], "with CLIP semantics": []}
    graph = None
    for _ in range(args.repeats):
        times["without semantics"].append(build_once(plain, video, example.prompts)[0])
        seconds, graph = build_once(semantic, video, example.prompts)
        times["with CLIP semantics"].append(seconds)

    views = [EntityView(e) for e in graph.entities]
    started = time.perf_counter()
    classifier.entity_embeddings(views, video.frames)
    per_entity = (time.perf_counter() - started) / max(1, len(views))
    scorer = ZeroShotPredicateScorer(embedder, video.frames)
    subject = next(v for v in views if v.entity.is_subject)
    pair_frames, started = 0, time.perf_counter()
    for obj in (v for v in views if not v.entity.is_subject):
        scorer.score_pair(subject, obj, len(video))
        present = np.array([subject.present(t) and obj.present(t) for t in range(len(video))])
        pair_frames += len(sample_frames(copresence_runs(present), scorer.frame_step, scorer.max_samples))
    pair_s = time.perf_counter() - started

    print(f"\nexample {example.name}: {len(video)} frames {video.width}x{video.height}, {len(graph.entities)} entities")
    print("| step | s |\n|---|---|")
    print(f"| CLIP names, per entity ({classifier.frames_per_entity} frames x 2 crops) | {per_entity:.2f} |")
    if pair_frames:
        print(f"| zero-shot predicates, per sampled pair frame (1 crop) | {pair_s / pair_frames:.3f} |")
    best = {name: min(values) for name, values in times.items()}
    for name, seconds in best.items():
        print(f"| pipeline build, {name} | {seconds:.2f} |")
    added = best["with CLIP semantics"] / best["without semantics"] - 1
    verdict = "meets" if added <= 0.15 else "misses"
    print(f"semantics adds {100 * added:.0f}% to the pipeline's time ({verdict} the target <= 15%)")
    return 0
