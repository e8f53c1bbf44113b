"""From tracked entities to relations: score every pair with the scorers, fuse, smooth, emit :class:`Relation`.

Two rankings (``RelationConfig.ranking``): "fused" (the default) fuses the scorers and the class prior and keeps
the spans where the fused score passes the smoothing's hysteresis; "raw" is the paper's: one scorer (SCH) labels
the pair with its top predicate on each frame, and its scores are ranked as they are (no fusion, prior, threshold
or smoothing).

Pairs are subject-centric, as in Click2Graph: each subject with each of *its* objects (``obj.subject_id ==
subject.entity_id``) and with every other subject. ``RelationConfig.object_pairs`` adds object-object pairs
within a subject's objects (OpenPVSG annotates those too, e.g. "ball on table").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal, Mapping, Sequence

import numpy as np

from click2graph.graph import Entity, Relation
from click2graph.semantics.base import EntityView, PredicateScorer
from click2graph.semantics.fusion import columns_by_predicate, fuse, supporting_scorers
from click2graph.semantics.geometric import GeometricScorer
from click2graph.semantics.prior import PredicatePrior
from click2graph.semantics.smoothing import SmoothingConfig, frame_runs, smooth_scores

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelationConfig:
    """How scorer outputs become relations (fusion: :func:`click2graph.semantics.fusion.fuse`)."""

    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    # Per predicate, the weighted mean of the calibrated scores of the scorers that produce it (unlisted: 1).
    weights: Mapping[str, float] = field(default_factory=dict)
    prior_weight: float = 0.5  # how far the class prior may lift or damp a fused score (odds x lift ** weight)
    max_lift: float = 4.0  # the prior's lift is clipped to [1 / max_lift, max_lift]
    object_pairs: bool = False  # also relate a subject's objects to each other (both directions)
    mask_side: int = 160  # longest side of the small masks used for contact tests (see EntityView)
    # "fused": the fields above turn all scorers' outputs into relations; "raw": a single scorer's top predicate per
    # frame, scored as it is (weights, prior and smoothing unused; see the module docstring).
    ranking: Literal["fused", "raw"] = "fused"

    def __post_init__(self) -> None:
        if self.ranking not in ("fused", "raw"):
            raise ValueError(f"ranking must be 'fused' or 'raw', got {self.ranking!r}")


def build_relations(
    entities: Sequence[Entity],
    *,
    num_frames: int,
    scorers: Sequence[PredicateScorer] | None = None,
    prior: PredicatePrior | None = None,
    config: RelationConfig = RelationConfig(),
) -> list[Relation]:
    """Score, fuse and smooth every relevant ordered pair into relations.

    Args:
        entities: subjects and objects with masks (COCO RLE, working resolution) keyed by working frame.
        num_frames: number of working frames T.
        scorers: predicate scorers, outputs calibrated to [0, 1]; default ``[GeometricScorer()]``.
        prior: P(predicate | subject class, object class), applied to the fused scores by the entities' labels.
        config: fusion, smoothing and pairing settings.

    Returns:
        One :class:`Relation` per (subject, object, predicate) that holds on at least one span, ordered by pair
        then predicate name; with ``config.ranking`` "raw", see :func:`top_predicate_relations`. Otherwise
        ``score`` = mean frame score inside the spans x (0.5 + 0.5 x coverage), where
        coverage is the fraction of the frames with both entities present that the spans cover: a relation
        that holds all along ranks above an equally confident flash. ``sources`` names the scorers that reach
        ``smoothing.on`` on a frame inside the spans; ``frame_scores`` holds the fused score of every scored
        frame inside the spans, rounded to 3 decimals.
    """
    scorers = [GeometricScorer()] if scorers is None else list(scorers)
    views = {e.entity_id: EntityView(e, mask_side=config.mask_side) for e in entities}
    relations: list[Relation] = []
    for subject_id, object_id in relation_pairs(entities, object_pairs=config.object_pairs):
        relations.extend(_pair_relations(views[subject_id], views[object_id], num_frames, scorers, prior, config))
    logger.info("%d relations from %d entities over %d frames", len(relations), len(entities), num_frames)
    return relations


def relation_pairs(entities: Sequence[Entity], *, object_pairs: bool = False) -> list[tuple[int, int]]:
    """Ordered (subject_id, object_id) pairs to score, in entity order, without repeats."""
    subjects = [e for e in entities if e.is_subject]
    pairs: list[tuple[int, int]] = []
    for subject in subjects:
        objects = [e for e in entities if not e.is_subject and e.subject_id == subject.entity_id]
        pairs += [(subject.entity_id, o.entity_id) for o in objects]
        pairs += [(subject.entity_id, s.entity_id) for s in subjects if s.entity_id != subject.entity_id]
        if object_pairs:
            pairs += [(a.entity_id, b.entity_id) for a in objects for b in objects if a.entity_id != b.entity_id]
    return list(dict.fromkeys(pairs))


def _pair_relations(
    subject: EntityView,
    obj: EntityView,
    num_frames: int,
    scorers: Sequence[PredicateScorer],
    prior: PredicatePrior | None,
    config: RelationConfig,
) -> list[Relation]:
    outputs = [(s.name, s.predicates, s.score_pair(subject, obj, num_frames)) for s in scorers]
    if config.ranking == "raw":
        return top_predicate_relations(subject.entity_id, obj.entity_id, outputs)
    table = columns_by_predicate(outputs)
    lifts = prior.lift(subject.entity.label, obj.entity.label, tuple(table)) if prior is not None else None
    present = np.array([subject.present(t) and obj.present(t) for t in range(num_frames)])
    relations = []
    for k, (predicate, columns) in enumerate(table.items()):
        lift = None if lifts is None else float(lifts[k])
        fused = fuse(columns, config.weights, lift, config.prior_weight, max_lift=config.max_lift)
        smoothed = smooth_scores(fused, config.smoothing)
        if not smoothed.spans:
            continue
        in_spans = np.zeros(num_frames, dtype=bool)
        for start, end in smoothed.spans:
            in_spans[start : end + 1] = True
        coverage = (in_spans & present).sum() / max(1, present.sum())
        sources = supporting_scorers(columns, in_spans, config.smoothing.on)
        if lift is not None and lift != 1.0:
            sources.append("prior")
        relations.append(
            Relation(
                subject_id=subject.entity_id,
                object_id=obj.entity_id,
                predicate=predicate,
                spans=list(smoothed.spans),
                score=round(smoothed.score * (0.5 + 0.5 * float(coverage)), 4),
                sources=sources,
                frame_scores={
                    int(t): round(float(fused[t]), 3) for t in np.flatnonzero(in_spans) if np.isfinite(fused[t])
                },
            )
        )
    return relations


def top_predicate_relations(
    subject_id: int, object_id: int, outputs: Sequence[tuple[str, Sequence[str], np.ndarray]]
) -> list[Relation]:
    """The paper's ranking of one pair: on every frame the scorer scores, the pair holds its top predicate (ties: the
    first); a predicate's spans are the runs of frames where it is on top, and its ``score`` the mean of its own
    score over them, as the scorer gave it (a 0.3 is ranked as 0.3). Ordered by predicate name.

    Args:
        outputs: ``(scorer name, its predicates, its float (T, P) scores)`` of at most one scorer (none: no
            relations); NaN rows are frames it does not score.

    Raises:
        ValueError: more than one scorer (their scores would have to be fused).
    """
    if len(outputs) > 1:
        raise ValueError(f"raw ranking reads one scorer, got {[name for name, _, _ in outputs]}")
    relations = []
    for name, predicates, scores in outputs:
        scores = np.asarray(scores, dtype=float)
        scored = ~np.isnan(scores).all(axis=1)
        top = np.full(len(scores), -1)
        if scored.any():
            top[scored] = np.nanargmax(scores[scored], axis=1)
        for k in sorted(set(top[scored].tolist()), key=lambda k: predicates[k]):
            runs = frame_runs(top == k, scores[:, k])
            relations.append(
                Relation(
                    subject_id=subject_id,
                    object_id=object_id,
                    predicate=predicates[k],
                    spans=list(runs.spans),
                    score=round(runs.score, 4),
                    sources=[name],
                    frame_scores={int(t): round(float(scores[t, k]), 3) for t in np.flatnonzero(top == k)},
                )
            )
    return relations


def default_labels(entities: Sequence[Entity]) -> list[Entity]:
    """Entities with default names: "subject" (or "subject <id>" when there are several) and "object <id>".

    Names use the entity id, so they stay the same when other entities are dropped or added. Only entities whose
    ``label_source`` is "default" are renamed: a user's label (and a classifier's) is kept.
    Returns new entities; the inputs are not changed.
    """
    several = sum(e.is_subject for e in entities) > 1

    def name(e: Entity) -> str:
        if e.is_subject:
            return f"subject {e.entity_id}" if several else "subject"
        return f"object {e.entity_id}"

    return [replace(e, label=name(e)) if e.label_source == "default" else e for e in entities]
