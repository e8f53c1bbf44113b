"""The pipeline's semantic step: name the entities, relate every pair with every scorer, apply the user's
corrections and what they teach, caching per entity and per pair so an edit recomputes only what it changed.

Entity names, by precedence: the user's label ("user"); a prototype taught by a correction of a look-alike
("correction"); the classifier's best class ("model", with its probability and top 5); else the default name.
Predicates: the video's scorers (:meth:`~click2graph.semantics.models.SemanticModels.scorers`), fused with the
class prior or, by ``RelationConfig.ranking``, one scorer's scores ranked raw as in the paper
(:func:`~click2graph.semantics.relations.build_relations`); then a relation the user renamed takes its
new predicate ("user"), and one whose pair looks like a renamed pair takes the same renaming ("correction").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

from click2graph.graph import Entity, Relation
from click2graph.semantics.base import EntityView, PredicateScorer
from click2graph.semantics.embedder import union_crop
from click2graph.semantics.models import SemanticModels
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.semantics.relations import RelationConfig, build_relations
from click2graph.semantics.vocab import OPENPVSG

logger = logging.getLogger(__name__)

PredicateKey = tuple[int, int, str]  # (subject id, object id, predicate)


@dataclass
class EntityNaming:
    """What the classifier said about one entity's current masks."""

    signature: int
    top5: list[tuple[str, float]]
    embedding: np.ndarray | None


@dataclass
class SemanticCache:
    """Per-video results that stay valid until an entity's masks (or, for pairs, labels) change."""

    entities: dict[int, EntityNaming] = field(default_factory=dict)
    pair_embeddings: dict[tuple, np.ndarray | None] = field(default_factory=dict)
    zero_shot: object | None = None  # the video's ZeroShotPredicateScorer (it caches its crops' embeddings)


def name_entities(
    entities: Sequence[Entity],
    frames: np.ndarray,
    models: SemanticModels,
    cache: SemanticCache,
    memory: PrototypeMemory,
) -> list[Entity]:
    """Entities with labels (see the module docstring); user-labelled ones keep theirs but get the top 5 too."""
    classifier = models.classifier
    if classifier is None:
        return list(entities)
    stale = [e for e in entities if _stale(cache.entities.get(e.entity_id), e)]
    if stale:
        embeddings = classifier.entity_embeddings([EntityView(e) for e in stale], frames)
        present = [e for e in stale if embeddings[e.entity_id] is not None]
        probs = classifier.probabilities(np.stack([embeddings[e.entity_id] for e in present])) if present else []
        top5 = {e.entity_id: _top(classifier.labels, row, 5) for e, row in zip(present, probs)}
        for e in stale:
            cache.entities[e.entity_id] = EntityNaming(
                e.mask_signature(), top5.get(e.entity_id, []), embeddings[e.entity_id]
            )
    named = []
    for e in entities:
        naming = cache.entities[e.entity_id]
        e = replace(e, top5=list(naming.top5))
        if e.label_source != "user":
            e = _model_or_correction(e, naming, memory)
        named.append(e)
    return named


def _stale(naming: EntityNaming | None, entity: Entity) -> bool:
    return naming is None or naming.signature != entity.mask_signature()


def _top(labels: Sequence[str], row: np.ndarray, k: int) -> list[tuple[str, float]]:
    best = np.argsort(-row, kind="stable")[:k]
    return [(labels[j], round(float(row[j]), 4)) for j in best]


def _model_or_correction(entity: Entity, naming: EntityNaming, memory: PrototypeMemory) -> Entity:
    match = memory.match("entity", naming.embedding) if naming.embedding is not None and len(memory) else None
    if match is not None:
        prototype, similarity = match
        label, source, score = prototype.label, "correction", similarity
    elif naming.top5:
        (label, score), source = naming.top5[0], "model"
    else:
        return entity
    is_thing = OPENPVSG.is_thing(label) if label in OPENPVSG.classes else True
    return replace(entity, label=label, label_source=source, label_score=round(float(score), 4), is_thing=is_thing)


def relate(
    entities: Sequence[Entity],
    frames: np.ndarray,
    scorers: Sequence[PredicateScorer],
    models: SemanticModels,
    cache: SemanticCache,
    memory: PrototypeMemory,
    renamed: Mapping[PredicateKey, str],
    config: RelationConfig = RelationConfig(),
) -> list[Relation]:
    """Relations of the named entities scored by ``scorers`` (in fusion order) and ranked as ``config`` says, with
    the user's predicate renamings and what they teach applied."""
    relations = build_relations(entities, num_frames=len(frames), scorers=scorers, prior=models.prior, config=config)
    if not renamed and not any(p.kind == "predicate" for p in memory.prototypes):
        return relations
    by_id = {e.entity_id: e for e in entities}
    out: dict[PredicateKey, Relation] = {}
    for r in relations:
        key = (r.subject_id, r.object_id, r.predicate)
        if key in renamed:
            r = replace(r, predicate=renamed[key], sources=["user"])
        elif models.embedder is not None:
            embedding = pair_embedding(by_id[r.subject_id], by_id[r.object_id], r, frames, models, cache)
            match = memory.match("predicate", embedding, replaces=r.predicate) if embedding is not None else None
            if match is not None:
                r = replace(r, predicate=match[0].label, sources=[*r.sources, "correction"])
        new_key = (r.subject_id, r.object_id, r.predicate)
        out[new_key] = _merge(out[new_key], r) if new_key in out else r
    return list(out.values())


def _merge(a: Relation, b: Relation) -> Relation:
    """One relation from two with the same triplet (after a renaming): spans united, the better score."""
    frames = sorted({t for r in (a, b) for s, e in r.spans for t in range(s, e + 1)})
    spans, start = [], frames[0]
    for prev, t in zip(frames, frames[1:] + [None]):
        if t is None or t != prev + 1:
            spans.append((start, prev))
            start = t
    return replace(
        a,
        spans=spans,
        score=max(a.score, b.score),
        sources=list(dict.fromkeys(a.sources + b.sources)),
        frame_scores={**b.frame_scores, **a.frame_scores},
    )


def pair_embedding(
    subject: Entity, obj: Entity, relation: Relation, frames: np.ndarray, models: SemanticModels, cache: SemanticCache
) -> np.ndarray | None:
    """Mean union-crop embedding of the pair over (up to 4 frames of) the relation's spans; cached."""
    key = (subject.entity_id, obj.entity_id, subject.mask_signature(), obj.mask_signature(), tuple(relation.spans))
    if key not in cache.pair_embeddings:
        span_frames = [t for s, e in relation.spans for t in range(s, e + 1)]
        picks = [span_frames[i] for i in np.linspace(0, len(span_frames) - 1, min(4, len(span_frames))).astype(int)]
        crops = [
            c
            for t in picks
            if (a := subject.mask(t)) is not None
            and (b := obj.mask(t)) is not None
            and (c := union_crop(frames[t], a, b)) is not None
        ]
        if crops:
            mean = models.embedder.embed_images(crops).mean(axis=0)
            cache.pair_embeddings[key] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        else:
            cache.pair_embeddings[key] = None
    return cache.pair_embeddings[key]
