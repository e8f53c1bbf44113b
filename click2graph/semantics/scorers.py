"""Where a video's predicate scorers come from: factories, each building one scorer when what it needs is there.

:func:`register_scorer` adds one to the list every :class:`~click2graph.semantics.models.SemanticModels` made
afterwards starts from (its ``scorer_factories``). On every graph the pipeline calls each factory with the
video's :class:`ScorerInputs`, and every scorer returned scores every pair. The list's order is the fusion order:
the order of a relation's ``sources`` and of the terms of the fused mean.

Built in, in this order: the geometric scorer (always), SCH (learned modules with a trained SCH on a segmenter that
gives SAM 2's object pointers), the zero-shot scorer (a CLIP model is loaded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from click2graph.semantics.base import PredicateScorer
from click2graph.semantics.geometric import GeometricScorer

if TYPE_CHECKING:
    from click2graph.learned.inference import LearnedModules
    from click2graph.segment.base import SegmenterState, VideoSegmenter
    from click2graph.semantics.models import SemanticModels
    from click2graph.semantics.step import SemanticCache


@dataclass(frozen=True)
class ScorerInputs:
    """What a factory may build a video's scorer from.

    Attributes:
        models: the video's semantic models (CLIP embedder, prior).
        frames: uint8 RGB (T, H, W, 3) working frames.
        fps: working frame rate.
        cache: the video's semantic cache (a scorer that keeps per-video results lives there).
        segmenter, state: the segmentation backend and its state of this video.
        learned: trained DIDM/SCH, or None.
    """

    models: SemanticModels
    frames: np.ndarray
    fps: float
    cache: SemanticCache
    segmenter: VideoSegmenter
    state: SegmenterState
    learned: LearnedModules | None = None


ScorerFactory = Callable[[ScorerInputs], PredicateScorer | None]
"""Builds a scorer from a video's inputs, or returns None when it does not apply (e.g. its model is missing)."""


def geometric_scorer(inputs: ScorerInputs) -> PredicateScorer:
    return GeometricScorer()


def sch_scorer(inputs: ScorerInputs) -> PredicateScorer | None:
    return None if inputs.learned is None else inputs.learned.predicate_scorer(inputs.segmenter, inputs.state)


def zero_shot_scorer(inputs: ScorerInputs) -> PredicateScorer | None:
    """The video's zero-shot scorer, kept in its cache (it keeps its crops' embeddings) while the embedder stays.

    It looks at a pair about once a second, at most 4 times (interpolated in between: OpenPVSG's relations mostly
    last seconds, and each crop costs ~0.06 s on a CPU, so semantics stays within ~15% of the classic backend's
    time on a 5 s clip; see ``bench semantics``).
    """
    embedder, cache = inputs.models.embedder, inputs.cache
    if embedder is None:
        return None
    if cache.zero_shot is None or cache.zero_shot.embedder is not embedder:
        from click2graph.semantics.zero_shot import ZeroShotPredicateScorer

        step = max(1, round(inputs.fps))
        cache.zero_shot = ZeroShotPredicateScorer(embedder, inputs.frames, frame_step=step, max_samples=4)
    return cache.zero_shot


_FACTORIES: list[ScorerFactory] = [geometric_scorer, sch_scorer, zero_shot_scorer]


def register_scorer(factory: ScorerFactory) -> None:
    """Score every pair with what ``factory(inputs)`` builds for a video (None where it does not apply), after the
    scorers registered before, in every pipeline made from now on."""
    _FACTORIES.append(factory)


def registered_scorers() -> list[ScorerFactory]:
    """The registered factories, in fusion order (see the module docstring)."""
    return list(_FACTORIES)
