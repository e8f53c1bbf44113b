"""What the semantic step costs: CLIP per crop, per entity and per pair frame, and the time it adds to the pipeline.

    python -m click2graph.bench semantics [--example ball_touch] [--backend classic|sam2] [--repeats 2]
                                          [--clip-model NAME|DIR]

The model is CLIP ViT-B/32 at full size with RANDOM weights and a generated tokenizer unless ``--clip-model`` names
a model that is present (nothing is downloaded): the compute per image does not depend on the weights, so the
image-side times stand for the released model; the generated vocabulary tokenizes prompts to ~13 tokens against ~11
for the real one, so text times are slightly pessimistic. With random weights labels mean nothing.

1. Precision: the same crops (and the prompts of one pair of labels) through float32 and int8 CLIP, seconds per
   crop and per prompt in batches as the pipeline sends them, and the cosine between the two precisions'
   embeddings. With a real model (``--clip-model``) also how often int8 and float32 give the same best class of
   the 126 for a crop: whether int8 is safe for real weights, which random weights cannot tell.
2. Cost per entity (2 frames x masked + context crop, one batch) and per zero-shot pair frame (one union crop),
   int8, over the entities of the example's scene graph.
3. The pipeline on a bundled example, its preset click, built in one process without semantics (geometry, default
   names) and with int8 CLIP names + zero-shot predicates, alternately ``--repeats`` times. The 126 class prompt
   sets are embedded before timing (once per process, or never again once on disk) and reported apart. The first
   build with semantics is **cold**: its pairs' 57 predicate prompts are new; later ones are **warm** (the prompts
   are cached, as they are on disk once a pair of labels has been seen). The baseline is the fastest build without
   semantics. Target: semantics adds <= 15% to the pipeline's time. Tracking times vary by +-15% between builds
   on a shared 2-core machine, so the added time is also given from the builds' last phase alone (entities, names,
   relations: where all semantic work happens): (that phase with semantics - without) / the fastest build without.

``--backend sam2`` runs the pipeline on SAM 2.1 tiny with random weights at 512 px (the default on a CPU when its
checkpoint is present; the masks, and so the number of entities, are arbitrary); default: the classic backend.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from click2graph.bench.random_clip import random_clip_embedder
from click2graph.examples import load_examples
from click2graph.pipeline import Pipeline
from click2graph.semantics.base import EntityView
from click2graph.semantics.clip_embedder import ClipEmbedder
from click2graph.semantics.embedder import union_crop
from click2graph.semantics.entity_naming import ClipEntityClassifier
from click2graph.semantics.models import SemanticModels
from click2graph.semantics.zero_shot import ZeroShotPredicateScorer, copresence_runs, sample_frames
from click2graph.video import VideoPolicy, load_video


def build_once(pipeline: Pipeline, video, prompts) -> tuple[float, float, object]:
    """Seconds of the whole build, seconds of its last phase (entities, names, relations), the graph."""
    marks = {}

    def progress(_fraction: float, desc: str) -> None:
        marks.setdefault(desc, time.perf_counter())

    started = time.perf_counter()
    session = pipeline.open(video)
    pipeline.prompt_subject(session, prompts)
    graph = pipeline.build(session, progress=progress)
    ended = time.perf_counter()
    return ended - started, ended - marks["relations"], graph


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def load_embedder(model: str | None, precision: str) -> ClipEmbedder:
    """The named model when present (no download, no text file), else ViT-B/32 with random weights."""
    if model is None:
        return random_clip_embedder(seed=0, precision=precision)
    return ClipEmbedder.load(model, allow_download=False, precision=precision, text_cache=False)


def compare_precisions(model: str | None, crops: list[np.ndarray], prompts: list[str]) -> None:
    """Table 1: float32 against int8 on the same crops and prompts."""
    fp32, int8 = load_embedder(model, "fp32"), load_embedder(model, "int8")
    print(f"\n| CLIP ViT-B/32 | s / crop ({len(crops)} crops, batches of {fp32.batch_size}) | s / prompt |")
    print("|---|---|---|")
    out = {}
    for name, embedder in (("fp32", fp32), ("int8", int8)):
        embedder.embed_images(crops[:2])  # warm-up
        image_s, images = timed(embedder.embed_images, crops)
        text_s, texts = timed(embedder.embed_texts, prompts)
        out[name] = images, texts
        print(f"| {name} | {image_s / len(crops):.3f} | {text_s / len(prompts):.4f} |")
    image_cos = (out["fp32"][0] * out["int8"][0]).sum(axis=1)
    text_cos = (out["fp32"][1] * out["int8"][1]).sum(axis=1)
    weights = "random weights" if model is None else fp32.source
    print(
        f"cosine int8 vs fp32 ({weights}): images mean {image_cos.mean():.4f} min {image_cos.min():.4f}; "
        f"prompts mean {text_cos.mean():.4f} min {text_cos.min():.4f}"
    )
    if model is not None:
        best = {
            name: ClipEntityClassifier(embedder).probabilities(images).argmax(axis=1)
            for name, (embedder, images) in (("fp32", (fp32, out["fp32"][0])), ("int8", (int8, out["int8"][0])))
        }
        print(f"same best OpenPVSG class for {np.mean(best['fp32'] == best['int8']):.0%} of the crops")


def pair_crops(graph, frames, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` union crops of the subject with each object, object by object, frame by frame."""
    subject = next(e for e in graph.entities if e.is_subject)
    crops = []
    for obj in (e for e in graph.entities if not e.is_subject):
        for t in range(len(frames)):
            a, b = subject.mask(t), obj.mask(t)
            if a is not None and b is not None and (crop := union_crop(frames[t], a, b)) is not None:
                crops.append(crop)
                if len(crops) == limit:
                    return crops
    return crops


def random_weights_segmenter(backend: str):
    if backend == "classic":
        return None
    from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter

    return Sam2Segmenter.from_random_weights(Sam2Config(image_size=512, device="cpu"), seed=0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench semantics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--example", default="ball_touch", help="a bundled example (default ball_touch)")
    parser.add_argument("--backend", choices=["classic", "sam2"], default="classic", help="tracking backend")
    parser.add_argument("--repeats", type=int, default=2, help="builds per variant (the first semantic one is cold)")
    parser.add_argument("--clip-model", metavar="NAME|DIR", help="a CLIP model that is present (default: random)")
    args = parser.parse_args(argv)
    example = next((e for e in load_examples() if e.name == args.example), None)
    if example is None or not example.prompts:
        parser.error(f"no bundled example {args.example!r} with a preset click")
    video = load_video(example.path, VideoPolicy())

    build_s, embedder = timed(load_embedder, args.clip_model, "int8")
    classifier = ClipEntityClassifier(embedder, frames_per_entity=2)  # as make_semantics builds it
    labels_s, _ = timed(classifier.label_embeddings)
    print(
        f"CLIP int8, {embedder.source}, {torch.get_num_threads()} torch threads; model built in {build_s:.1f} s, "
        f"126 class prompt sets ({len(classifier.labels) * len(classifier.templates)} prompts) embedded in "
        f"{labels_s:.1f} s (once per process, or never again once on disk)"
    )

    segmenter = random_weights_segmenter(args.backend)
    kwargs = {} if segmenter is None else {"segmenter": segmenter}
    plain = Pipeline(**kwargs)
    semantic = Pipeline(semantics=SemanticModels(classifier=classifier, embedder=embedder), **kwargs)
    plain_s, plain_phase, semantic_s, semantic_phase, graph = [], [], [], [], None
    for _ in range(args.repeats):
        seconds, phase, _ = build_once(plain, video, example.prompts)
        plain_s.append(seconds)
        plain_phase.append(phase)
        seconds, phase, graph = build_once(semantic, video, example.prompts)
        semantic_s.append(seconds)
        semantic_phase.append(phase)

    views = [EntityView(e) for e in graph.entities]
    per_entity = timed(classifier.entity_embeddings, views, video.frames)[0] / max(1, len(views))
    scorer = ZeroShotPredicateScorer(embedder, video.frames)
    subject = next(v for v in views if v.entity.is_subject)
    pair_frames, started = 0, time.perf_counter()
    for obj in (v for v in views if not v.entity.is_subject):
        scorer.score_pair(subject, obj, len(video))
        present = np.array([subject.present(t) and obj.present(t) for t in range(len(video))])
        pair_frames += len(sample_frames(copresence_runs(present), scorer.frame_step, scorer.max_samples))
    pair_s = time.perf_counter() - started

    crops = pair_crops(graph, video.frames, limit=24)
    if crops:
        compare_precisions(args.clip_model, crops, scorer.prompts(graph.entities[0].label, graph.entities[-1].label))

    pairs = len(graph.entities) - 1
    print(
        f"\nexample {example.name}, {args.backend} backend: {len(video)} frames {video.width}x{video.height} at "
        f"{video.fps:g} fps, {len(graph.entities)} entities, {pairs} subject-object pairs"
    )
    print("| step (int8) | s |\n|---|---|")
    print(f"| CLIP names, per entity ({classifier.frames_per_entity} frames x 2 crops) | {per_entity:.2f} |")
    if pair_frames:
        print(f"| zero-shot predicates, per sampled pair frame (1 crop, prompts cached) | {pair_s / pair_frames:.3f} |")
    baseline, base_phase = min(plain_s), min(plain_phase)
    print(f"| pipeline build without semantics (fastest; last phase {base_phase:.2f}) | {baseline:.2f} |")
    runs = [("cold (new label pairs)", semantic_s[0], semantic_phase[0])]
    if len(semantic_s) > 1:
        runs.append(("warm (prompts cached)", min(semantic_s[1:]), min(semantic_phase[1:])))
    for name, seconds, phase in runs:
        print(f"| pipeline build with CLIP semantics, {name} (last phase {phase:.2f}) | {seconds:.2f} |")
    for name, seconds, phase in runs:
        whole, by_phase = seconds / baseline - 1, (phase - base_phase) / baseline
        verdict = "meets" if by_phase <= 0.15 else "misses"
        print(
            f"semantics {name}: +{100 * by_phase:.0f}% by the last phase, +{100 * whole:.0f}% by whole builds "
            f"({verdict} the target <= 15%)"
        )
    return 0
