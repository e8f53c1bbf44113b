"""Predicate scorers come from the semantic models' factories: a registered scorer reaches the graph with no other
change; built-in factories keep the fusion order; SCH needs a segmenter that declares SAM 2's features."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from click2graph import synth
from click2graph.errors import CheckpointError
from click2graph.learned.inference import LearnedModules
from click2graph.prompts import Click
from click2graph.segment import FeatureSegmenter, require_features
from click2graph.segment.classic import ClassicSegmenter
from click2graph.semantics import scorers
from click2graph.semantics.base import EntityView, PredicateScorer
from click2graph.semantics.geometric import GeometricScorer
from click2graph.semantics.models import SemanticModels
from click2graph.semantics.scorers import ScorerInputs
from click2graph.semantics.step import SemanticCache
from click2graph.semantics.zero_shot import ZeroShotPredicateScorer
from click2graph.settings import Settings
from click2graph.video import Video

CLIP = "ball_touch"  # label 1 = the subject, label 2 = the ball
FRAMES = 8


class AlwaysHolding:
    """Says "holding" with certainty on every frame where both entities are present."""

    name = "toy"
    predicates = ("holding",)

    def score_pair(self, subject: EntityView, obj: EntityView, num_frames: int) -> np.ndarray:
        both = [subject.present(t) and obj.present(t) for t in range(num_frames)]
        return np.where(np.array(both), 1.0, np.nan)[:, None]


def test_a_registered_scorer_reaches_the_graph(monkeypatch):
    """Registered once, the toy scores pairs in the pipeline that settings assemble, as the CLI and the app do."""
    clip = synth.render_clip(CLIP)
    video = Video.from_frames(clip.frames[:FRAMES], clip.fps)
    seen = []

    def toy(inputs: ScorerInputs) -> PredicateScorer:
        seen.append(inputs)
        return AlwaysHolding()

    monkeypatch.setattr(scorers, "_FACTORIES", scorers.registered_scorers())  # the registry as it was, after
    scorers.register_scorer(toy)
    scorers.register_scorer(lambda inputs: None)  # does not apply here: adds nothing
    pipeline = Settings(backend="classic", semantics="off").assemble().pipeline
    session = pipeline.open(video)
    x, y, frame = synth.preset_click(clip)
    pipeline.prompt_subject(session, [Click(x, y, frame_idx=frame)])
    ys, xs = np.nonzero(clip.labels[0] == 2)
    ball = pipeline.add_object(session, [Click(float(np.median(xs)), float(np.median(ys)), frame_idx=0)])
    graph = pipeline.build(session)

    holding = [r for r in graph.relations if r.predicate == "holding"]
    assert [(r.subject_id, r.object_id) for r in holding if r.object_id == ball] == [(1, ball)]
    assert all(r.sources == ["toy"] for r in holding)
    assert seen and seen[-1].segmenter is pipeline.segmenter and seen[-1].state is session.state


def test_built_in_scorers_keep_the_fusion_order_and_registered_ones_follow():
    class Embedder:
        def embed_images(self, images): ...

        def embed_texts(self, texts): ...

    models = SemanticModels(embedder=Embedder())
    models.scorer_factories.append(lambda inputs: AlwaysHolding())
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    state = ClassicSegmenter().init_state(Video.from_frames(frames, 10.0))
    cache = SemanticCache()
    inputs = ScorerInputs(models, frames, 10.0, cache, ClassicSegmenter(), state)
    scorers = models.scorers(inputs)
    assert [type(s) for s in scorers] == [GeometricScorer, ZeroShotPredicateScorer, AlwaysHolding]
    assert scorers[1].frame_step == 10 and models.scorers(inputs)[1] is scorers[1] is cache.zero_shot
    plain = SemanticModels()
    assert [type(s) for s in plain.scorers(replace(inputs, models=plain))] == [GeometricScorer]


def test_sch_needs_a_segmenter_with_features():
    classic = ClassicSegmenter()
    state = classic.init_state(Video.from_frames(np.zeros((2, 8, 8, 3), np.uint8), 10.0))
    learned = LearnedModules(didm=None, sch=object(), source=Path("learned.pt"), step=1)
    assert not isinstance(classic, FeatureSegmenter)
    assert learned.predicate_scorer(classic, state) is None and learned.entity_classifier(classic, state) is None
    with pytest.raises(CheckpointError, match="need the SAM 2 backend"):
        require_features(classic)
