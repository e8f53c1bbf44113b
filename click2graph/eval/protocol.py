"""The paper's evaluation protocol on OpenPVSG-layout data: simulated prompts, pipeline runs, scores, the table.

One **query** is one ground-truth subject of one video (a GT object that is the subject of at least one relation).
For each query:

1. **Prompt** on the prompt frame: the frame inside the subject's relation spans where its GT mask is largest
   (ties: the earliest). ``point``: one pixel drawn uniformly from the subject's mask; ``box``: its tight box with
   each side moved by Gaussian noise of 10% of the box's width/height (at most 20 px, as in SAM's box
   evaluation), kept inside the frame; ``mask``: the mask itself (no randomness, so one seed). The random draw is
   seeded by (seed, video, subject), so a query's prompt is the same in every run.
2. **Run** the pipeline (a fresh session per query) on every annotated frame at the working size, and keep the
   scene graph (``runs/<prompt>/seed<k>/<video_id>/subject_<id>.json``; a file that exists is not run again, so
   an interrupted batch resumes; a query whose prompt segments nothing, or whose run kept raising, is recorded as
   ``.failed`` = no predictions, and counted in the table's ``failed`` column). Each query is a
   :class:`Query` job, run here or on a Ray cluster (:mod:`click2graph.jobs`): the graphs are the same.
3. **Score** the graph (:func:`score_graph`) against the query's GT triplets (the relations of that subject):
   its relations ranked by score are the predictions (R@K, mR@K, SpIR@K of :mod:`click2graph.eval.metrics`).
   PLR, as the paper defines it, counts every point discovery proposed (``SceneGraph.proposed_points``: also those
   of proposals that the per-keyframe cap, an implausible track or the relation filter dropped) that lies on any
   GT object related to the subject; ``PLR-kept`` counts only the prompt points of the objects the graph kept (the
   figure reported before, higher since the filters remove misses). A graph that records no proposed points
   (written before they were recorded, or by another tool) has only its kept points to count, for both.

Scoring a folder counts exactly as OpenPVSG's ``tools/rel_test_full.py``: every GT relation of every video of the
split is in the denominator, so a video or query without a prediction file counts as missed (and is named in a
warning); GT relations whose predicate is not one of the 57 are dropped when the annotation is loaded
(:func:`click2graph.data.openpvsg.load_pvsg`). Predicted masks are brought from working to original size by sampling
the working pixel under each original pixel's centre (``cv2.INTER_NEAREST_EXACT``; plain ``INTER_NEAREST``
samples the top-left corner and moves a mask by up to a working pixel).

A seed's metrics aggregate all queries of a data source (micro, as the official code over videos); the table
gives mean ± std (sample std, ddof=1) over seeds per source and overall, beside the published Table 3.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from click2graph.data.frames import load_frames
from click2graph.data.openpvsg import PvsgDataset, PvsgVideo
from click2graph.discovery.registry import strategy_names
from click2graph.errors import Click2GraphError
from click2graph.eval.metrics import (
    DEFAULT_KS,
    PanopticMaskSource,
    PredTriplet,
    VideoScores,
    aggregate,
    evaluate_video,
    gt_triplets_from_pvsg,
    plr_percent,
    prompt_localization_recall,
)
from click2graph.eval.predictions import load_prediction
from click2graph.graph import SceneGraph, VideoMeta
from click2graph.jobs import Result, Worker, write_atomically, write_failed
from click2graph.masks import bbox_xyxy, rle_decode, to_original_size, to_working_size
from click2graph.prompts import Box, Click
from click2graph.video import Video

logger = logging.getLogger(__name__)

PromptKind = Literal["point", "box", "mask"]
PROMPT_KINDS: tuple[PromptKind, ...] = ("point", "box", "mask")
SOURCE_TITLES = {"epic_kitchen": "EPIC-K", "ego4d": "Ego4D", "vidor": "VidOR"}
# The Click2Graph paper's Table 3 (R@3 / SpIR / PLR), shown beside our figures.
PUBLISHED = {
    ("epic_kitchen", "mask"): ("1.78", "24.22", "30.67"),
    ("epic_kitchen", "point"): ("1.14±0.38", "23.04±1.08", "32.06±0.81"),
    ("epic_kitchen", "box"): ("2.08±0.06", "25.02±0.09", "31.96±0.09"),
    ("ego4d", "mask"): ("0.73", "17.22", "38.37"),
    ("ego4d", "point"): ("0.56±0.04", "16.21±1.04", "39.87±0.38"),
    ("ego4d", "box"): ("0.72±0.06", "17.49±0.32", "38.97±0.11"),
    ("vidor", "mask"): ("3.33", "18.77", "30.82"),
    ("vidor", "point"): ("2.72±0.25", "15.37±0.55", "28.86±0.34"),
    ("vidor", "box"): ("3.18±0.10", "17.59±0.36", "30.13±0.23"),
}
# Click2Graph, Table 4 (R@3 / SpIR / PLR): the heuristic sampler against DIDM (the learned discovery). The research
# notes warn that the DIDM rows mix values of Table 3's prompt types.
PUBLISHED_TABLE4 = {
    ("epic_kitchen", "heuristic"): ("0.62", "5.14", "10.60"),
    ("epic_kitchen", "learned"): ("2.08", "25.02", "32.06"),
    ("ego4d", "heuristic"): ("0.28", "4.26", "9.30"),
    ("ego4d", "learned"): ("0.73", "17.49", "39.87"),
    ("vidor", "heuristic"): ("0.62", "4.66", "10.19"),
    ("vidor", "learned"): ("3.33", "18.77", "30.82"),
}
OVERALL = "overall"


# -- prompts ------------------------------------------------------------------------------------------------------


def subjects_of(video: PvsgVideo) -> list[int]:
    """GT object ids that are the subject of at least one relation, sorted."""
    return sorted({rel.subject_id for rel in video.relations})


def prompt_frame(video: PvsgVideo, subject_id: int) -> int:
    """The frame inside the subject's relation spans where its GT mask is largest (ties: the earliest)."""
    frames = sorted(
        {t for rel in video.relations if rel.subject_id == subject_id for t in rel.frames(video.num_frames)}
    )
    areas = [int((video.panoptic(t) == subject_id).sum()) for t in frames]
    if not frames or max(areas) == 0:
        raise Click2GraphError(f"video {video.video_id}: subject {subject_id} is never visible in its relations")
    return frames[int(np.argmax(areas))]


@dataclass(frozen=True)
class SimulatedPrompt:
    """A user prompt derived from the GT, in original pixels and frame numbers."""

    kind: PromptKind
    frame: int
    click: Click | None = None
    box: Box | None = None
    mask: np.ndarray | None = field(default=None, repr=False)


def noisy_box(mask: np.ndarray, rng: np.random.Generator, frac: float = 0.1) -> tuple[float, float, float, float]:
    """A user's box around ``mask`` (bool (h, w)): its tight box (end exclusive) with each side moved by Gaussian
    noise of ``frac`` of the box's width / height, at most 20 px, kept inside the frame and at least 1 px wide."""
    x0, y0, x1, y1 = bbox_xyxy(mask)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    noise = rng.normal(0.0, frac, 4) * np.array([w, h, w, h])
    x0, y0, x1, y1 = np.array([x0, y0, x1 + 1, y1 + 1], float) + np.clip(noise, -20, 20)
    height, width = mask.shape
    x0, x1 = sorted((float(np.clip(x0, 0, width - 1)), float(np.clip(x1, 1, width))))
    y0, y1 = sorted((float(np.clip(y0, 0, height - 1)), float(np.clip(y1, 1, height))))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def simulate_prompt(video: PvsgVideo, subject_id: int, kind: PromptKind, seed: int) -> SimulatedPrompt:
    """The prompt of one query (see the module docstring); deterministic in (seed, video, subject)."""
    frame = prompt_frame(video, subject_id)
    mask = video.panoptic(frame) == subject_id
    rng = np.random.default_rng([seed, zlib.crc32(video.video_id.encode()), subject_id])
    if kind == "mask":
        return SimulatedPrompt(kind, frame, mask=mask)
    if kind == "point":
        ys, xs = np.nonzero(mask)
        k = int(rng.integers(len(xs)))
        return SimulatedPrompt(kind, frame, click=Click(float(xs[k]) + 0.5, float(ys[k]) + 0.5, frame_idx=frame))
    if kind == "box":
        return SimulatedPrompt(kind, frame, box=Box(*noisy_box(mask, rng), frame_idx=frame))
    raise ValueError(f"prompt must be one of {PROMPT_KINDS}, got {kind!r}")


# -- one query ----------------------------------------------------------------------------------------------------


def run_query(pipeline, frames: Video, prompt: SimulatedPrompt, *, progress=None) -> SceneGraph:
    """Prompt the subject, build, and return the scene graph (a fresh session).

    Raises:
        PromptError: the prompt segments nothing.
    """
    session = pipeline.open(frames)
    if prompt.kind == "mask":
        work_frame = frames.work_index(prompt.frame)
        mask = to_working_size(prompt.mask, (frames.width, frames.height), frames.region)
        pipeline.prompt_subject_mask(session, work_frame, mask)
    else:
        pipeline.prompt_subject(session, [prompt.click or prompt.box])
    return pipeline.build(session, progress=progress)


# -- scoring ------------------------------------------------------------------------------------------------------


class _PredictedMasks:
    """Entity masks of a scene graph on original frames at the original size (decoded on demand)."""

    def __init__(self, graph: SceneGraph) -> None:
        meta = graph.video
        self.size = (meta.width, meta.height)
        self.region = meta.region_xywh
        self.work_of = {orig: work for work, orig in enumerate(meta.frame_indices_orig)}
        self.masks = {e.entity_id: e.masks for e in graph.entities}

    def __call__(self, entity_id: int, frame: int) -> np.ndarray | None:
        work = self.work_of.get(frame)
        rle = self.masks.get(entity_id, {}).get(work) if work is not None else None
        return None if rle is None else to_original_size(rle_decode(rle), self.size, self.region)


def pred_triplets(graph: SceneGraph) -> list[PredTriplet]:
    """The graph's relations as predictions: labels of their entities, frames mapped to original indices."""
    orig = graph.video.frame_indices_orig
    label = {e.entity_id: e.label for e in graph.entities}
    return [
        PredTriplet(
            subject_id=r.subject_id,
            object_id=r.object_id,
            subject_class=label[r.subject_id],
            object_class=label[r.object_id],
            predicate=r.predicate,
            score=float(r.score),
            frames=frozenset(orig[t] for a, b in r.spans for t in range(a, b + 1) if t < len(orig)),
        )
        for r in graph.relations
    ]


def _to_original(meta: VideoMeta, frame: int, x: float, y: float) -> tuple[int, float, float]:
    """A working-frame point as (original frame, x, y) in original pixels."""
    return meta.frame_indices_orig[frame], *meta.to_original_xy(x, y)


def kept_points(graph: SceneGraph) -> list[tuple[int, float, float]]:
    """Prompt points of the discovered objects the graph kept, as (original frame, x, y) in original pixels."""
    points = []
    for entity in graph.entities:
        for prompt in entity.prompts:
            if prompt.get("type") == "discovery" and prompt.get("frame_idx") is not None:
                points += [_to_original(graph.video, prompt["frame_idx"], x, y) for x, y in prompt.get("points_xy", [])]
    return points


def proposed_points(graph: SceneGraph) -> list[tuple[int, float, float]]:
    """Every point discovery proposed (kept or not), as (original frame, x, y) in original pixels; the kept points
    when the graph records no proposals (module docstring)."""
    if not graph.proposed_points:
        return kept_points(graph)
    return [_to_original(graph.video, int(frame), x, y) for _, frame, x, y in graph.proposed_points]


@dataclass(frozen=True)
class QueryScore:
    video_id: str
    subject_id: int | None  # None: the whole video's GT
    scores: VideoScores
    plr: tuple[int, int]  # (points inside, points) over every proposed discovery point
    plr_kept: tuple[int, int] = (0, 0)  # the same over the prompt points of the kept objects only
    failed: bool = False  # the run is recorded as failed (``.failed``): no predictions


def score_graph(
    graph: SceneGraph | None, video: PvsgVideo, subject_id: int | None, ks: Sequence[int] = DEFAULT_KS
) -> QueryScore:
    """Score one run: its ranked relations against the GT of ``subject_id`` (all of the video's when None).

    ``graph`` None = a failed run: no predictions. Predicted masks are compared at the original size.
    """
    gt = [g for g in gt_triplets_from_pvsg(video) if subject_id is None or g.subject_id == subject_id]
    preds = pred_triplets(graph) if graph is not None else []
    masks = PanopticMaskSource(video.panoptic, _PredictedMasks(graph) if graph is not None else lambda e, t: None)
    scores = evaluate_video(gt, preds, masks, ks=ks, video_id=video.video_id)
    partners = {g.object_id for g in gt}

    def partner_mask(frame: int) -> np.ndarray | None:
        if frame >= video.num_frames:
            return None
        return np.isin(video.panoptic(frame), list(partners))

    if graph is None:
        return QueryScore(video.video_id, subject_id, scores, (0, 0))
    return QueryScore(
        video.video_id,
        subject_id,
        scores,
        prompt_localization_recall(proposed_points(graph), partner_mask),
        prompt_localization_recall(kept_points(graph), partner_mask),
    )


# -- the queries as jobs -------------------------------------------------------------------------------------------


def run_path(out_dir: Path, kind: str, seed: int, video_id: str, subject_id: int) -> Path:
    return Path(out_dir) / "runs" / kind / f"seed{seed}" / video_id / f"subject_{subject_id}.json"


def seeds_for(kind: PromptKind, seeds: int) -> list[int]:
    return [0] if kind == "mask" else list(range(seeds))


@dataclass(frozen=True)
class Query:
    """One query as a job (:mod:`click2graph.jobs`): its scene graph goes to ``path``, or ``.failed`` beside it
    when the prompt segments nothing (= no predictions)."""

    video: PvsgVideo
    subject_id: int
    kind: PromptKind
    seed: int
    path: Path

    @property
    def name(self) -> str:
        return f"{self.video.video_id} subject {self.subject_id} {self.kind} seed {self.seed}"

    @property
    def failed_path(self) -> Path:
        return self.path.with_suffix(".failed")

    def done(self) -> bool:
        return self.path.is_file() or self.failed_path.is_file()

    def compute(self, worker: Worker) -> Result:
        frames = worker.frames(self.video.video_id, lambda: load_frames(self.video))
        try:
            graph = run_query(
                worker.pipeline, frames, simulate_prompt(self.video, self.subject_id, self.kind, self.seed)
            )
        except Click2GraphError as exc:
            return Result(failure=str(exc))
        return Result({self.path.name: json.dumps(graph.to_dict()).encode()})

    def save(self, result: Result) -> None:
        if result.failure is None:
            write_atomically(self.path, result.files[self.path.name])
            return
        logger.warning("%s: %s", self.name, result.failure)
        write_failed(self.failed_path, result.failure)


def queries(dataset: PvsgDataset, video_ids: Sequence[str], out_dir: Path, kind: PromptKind, seeds: int) -> list[Query]:
    """Every (video, subject, seed) query, a video's queries together; graphs go under ``out_dir/runs``."""
    return [
        Query(dataset.videos[vid], sid, kind, seed, run_path(out_dir, kind, seed, vid, sid))
        for vid in video_ids
        for sid in subjects_of(dataset.videos[vid])
        for seed in seeds_for(kind, seeds)
    ]


def score_folder(
    dataset: PvsgDataset, folder: Path, video_ids: Sequence[str], ks: Sequence[int] = DEFAULT_KS
) -> list[tuple[str, QueryScore]]:
    """Score saved graphs: ``folder/<video_id>.json`` (whole video) or ``folder/<video_id>/subject_<id>.json``
    (one query per GT subject; ``subject_<id>.failed`` = a run that predicted nothing).

    Every GT relation of ``video_ids`` is counted, as OpenPVSG does: a video, or a GT subject of a per-subject
    folder, without a file scores as no predictions, and the missing files are named in one warning.

    Raises:
        PredictionError: a file that exists is not a scoreable scene graph.
    """
    folder = Path(folder)
    per_subject = any((folder / vid).is_dir() for vid in video_ids)
    results, missing = [], []
    for vid in video_ids:
        video = dataset.videos[vid]
        whole = folder / f"{vid}.json"
        if whole.is_file():
            results.append((video.source, score_graph(load_prediction(whole), video, None, ks)))
            continue
        if not per_subject:
            missing.append(whole.name)
            results.append((video.source, score_graph(None, video, None, ks)))
            continue
        for sid in subjects_of(video):
            path = folder / vid / f"subject_{sid}.json"
            graph = load_prediction(path) if path.is_file() else None
            failed = graph is None and path.with_suffix(".failed").is_file()
            if graph is None and not failed:
                missing.append(str(path.relative_to(folder)))
            results.append((video.source, replace(score_graph(graph, video, sid, ks), failed=failed)))
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        logger.warning(
            "%d prediction file(s) missing in %s, their ground truth counted as missed: %s", len(missing), folder, shown
        )
    return results


# -- the table ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """Mean and std over seeds of one (source, prompt) cell group; values in percent."""

    source: str
    prompt: str
    seeds: int
    queries: int
    gt_triplets: int
    mean: dict[str, float]
    std: dict[str, float]
    failed: int = 0  # runs recorded as failed, over all seeds


def metric_names(ks: Sequence[int]) -> list[str]:
    return [f"R@{k}" for k in ks] + [f"mR@{k}" for k in ks] + [f"SpIR@{k}" for k in ks] + ["PLR", "PLR-kept"]


def seed_metrics(scores: Sequence[QueryScore], ks: Sequence[int]) -> dict[str, float]:
    """All metrics of one seed's queries (micro over them)."""
    m = aggregate([s.scores for s in scores], ks)
    values = {f"R@{k}": m.recall[k] for k in ks} | {f"mR@{k}": m.mean_recall[k] for k in ks}
    values |= {f"SpIR@{k}": m.spir[k] for k in ks}
    values["PLR"] = plr_percent(s.plr for s in scores)
    values["PLR-kept"] = plr_percent(s.plr_kept for s in scores)
    return values


def summarize(
    per_seed: dict[int, list[tuple[str, QueryScore]]], prompt: str, ks: Sequence[int] = DEFAULT_KS
) -> list[Row]:
    """One row per source (in the paper's order, then others) and an overall row."""
    by_source: dict[str, dict[int, list[QueryScore]]] = defaultdict(lambda: defaultdict(list))
    for seed, results in per_seed.items():
        for source, score in results:
            by_source[source or "-"][seed].append(score)
            by_source[OVERALL][seed].append(score)
    order = [s for s in ("epic_kitchen", "ego4d", "vidor") if s in by_source]
    order += sorted(s for s in by_source if s not in order and s != OVERALL) + [OVERALL]
    rows = []
    for source in order:
        seeds = by_source[source]
        values = [seed_metrics(scores, ks) for scores in seeds.values()]
        names = metric_names(ks)
        first = next(iter(seeds.values()))
        rows.append(
            Row(
                source=source,
                prompt=prompt,
                seeds=len(values),
                queries=len(first),
                gt_triplets=sum(len(s.scores.scores) for s in first),
                mean={n: float(np.mean([v[n] for v in values])) for n in names},
                std={n: float(np.std([v[n] for v in values], ddof=1)) if len(values) > 1 else 0.0 for n in names},
                failed=sum(s.failed for scores in seeds.values() for s in scores),
            )
        )
    return rows


def _cell(row: Row, name: str) -> str:
    return f"{row.mean[name]:.2f}" + (f"±{row.std[name]:.2f}" if row.seeds > 1 else "")


def markdown_table(rows: Sequence[Row]) -> str:
    """The paper's Table 3 layout (R@3 / SpIR / PLR), our value beside the published one, then more columns."""
    lines = [
        "| Source | Prompt | R@3 | SpIR@3 | PLR | R@20 | mR@3 | paper R@3 | paper SpIR | paper PLR | seeds | queries "
        "| GT triplets | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        paper = PUBLISHED.get((row.source, row.prompt), ("–", "–", "–"))
        title = SOURCE_TITLES.get(row.source, row.source)
        r20 = _cell(row, "R@20") if "R@20" in row.mean else "–"
        lines.append(
            f"| {title} | {row.prompt} | {_cell(row, 'R@3')} | {_cell(row, 'SpIR@3')} | {_cell(row, 'PLR')} | {r20} "
            f"| {_cell(row, 'mR@3')} | {paper[0]} | {paper[1]} | {paper[2]} | {row.seeds} | {row.queries} "
            f"| {row.gt_triplets} | {row.failed} |"
        )
    return "\n".join(lines)


def write_table(rows: Sequence[Row], out_dir: Path, name: str = "table") -> tuple[Path, Path]:
    """``out_dir/<name>.json`` (every metric, mean and std) and ``out_dir/<name>.md``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps([row.__dict__ for row in rows], indent=1) + "\n")
    md_path.write_text(markdown_table(rows) + "\n")
    return json_path, md_path


def comparison_table(out_root: Path, prompt: str) -> str | None:
    """The discovery strategies evaluated under ``out_root/<strategy>/`` with ``prompt``, side by side (Table 4's
    layout, with the paper's numbers); None when fewer than two have a table."""
    found = [(name, out_root / name / f"table_{prompt}.json") for name in strategy_names()]
    found = [(name, json.loads(path.read_text())) for name, path in found if path.is_file()]
    if len(found) < 2:
        return None
    lines = [
        f"| Source | Discovery ({prompt} prompts) | R@3 | SpIR@3 | PLR | paper R@3 | paper SpIR | paper PLR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in found:
        for data in rows:
            row = Row(**data)
            paper = PUBLISHED_TABLE4.get((row.source, name), ("–", "–", "–"))
            title = SOURCE_TITLES.get(row.source, row.source)
            lines.append(
                f"| {title} | {name} | {_cell(row, 'R@3')} | {_cell(row, 'SpIR@3')} | {_cell(row, 'PLR')} "
                f"| {paper[0]} | {paper[1]} | {paper[2]} |"
            )
    return "\n".join(lines)
