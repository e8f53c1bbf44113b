"""The semantic step in the pipeline: entity names by precedence, caching, own words, and learning from corrections.

The image-text model is a test double whose embeddings are colour histograms, so which crops look alike is known:
the same ball in another video matches, the person does not. The CLIP classifier's own code runs on top of it.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from oracle import OracleSegmenter

from click2graph import synth
from click2graph.errors import CheckpointError, PromptError
from click2graph.pipeline import Pipeline
from click2graph.prompts import Click
from click2graph.semantics.entity_naming import ClipEntityClassifier
from click2graph.semantics.models import SemanticModels, make_semantics
from click2graph.semantics.prior import PredicatePrior
from click2graph.semantics.prototypes import PrototypeMemory
from click2graph.video import Video

CLIP = "ball_touch"  # label 1 = the subject (a person), label 2 = the ball
LABELS = ("adult", "ball", "table", "dog")


class ColourEmbedder:
    """Colour histograms (4 bins per channel, 64-d) as image embeddings; texts map to fixed random directions."""

    name = "clip"
    logit_scale = 100.0

    def __init__(self) -> None:
        self.image_calls = 0
        self.images = 0

    def embed_images(self, images):
        self.image_calls += 1
        self.images += len(images)
        rows = []
        for image in images:
            bins = (np.asarray(image).reshape(-1, 3) // 64).astype(int)
            hist = np.bincount(bins[:, 0] * 16 + bins[:, 1] * 4 + bins[:, 2], minlength=64).astype(np.float32)
            rows.append(np.sqrt(hist) / np.linalg.norm(np.sqrt(hist)))
        return np.stack(rows)

    def embed_texts(self, texts):
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=64) for t in texts]
        return np.stack([r / np.linalg.norm(r) for r in rows]).astype(np.float32)


@pytest.fixture(scope="module")
def clip():
    return synth.render_clip(CLIP)


def _pipeline(clip, embedder=None, labels=LABELS):
    embedder = embedder or ColourEmbedder()
    classifier = ClipEntityClassifier(embedder, labels=labels, frames_per_entity=2)
    return Pipeline(OracleSegmenter(clip.labels), semantics=SemanticModels(classifier=classifier, embedder=embedder))


def _build(pipeline, clip, memory=None):
    session = pipeline.open(Video.from_frames(clip.frames, clip.fps), memory=memory)
    x, y, frame = synth.preset_click(CLIP)
    pipeline.prompt_subject(session, [Click(x, y, frame_idx=frame)])
    return session, pipeline.build(session)


def _ball(graph):
    return next(e for e in graph.entities if not e.is_subject)


def test_without_models_entities_keep_default_names(clip):
    pipeline = Pipeline(OracleSegmenter(clip.labels))
    _, graph = _build(pipeline, clip)
    assert [e.label for e in graph.entities][:2] == ["subject", f"object {_ball(graph).entity_id}"]
    assert all(e.label_source == "default" and not e.top5 for e in graph.entities)


def test_the_classifier_names_every_entity_with_a_score_and_a_top5(clip):
    pipeline = _pipeline(clip)
    _, graph = _build(pipeline, clip)
    for entity in graph.entities:
        assert entity.label in LABELS and entity.label_source == "model"
        assert 0 < entity.label_score <= 1 and entity.label == entity.top5[0][0]
        assert [p for _, p in entity.top5] == sorted((p for _, p in entity.top5), reverse=True)
    assert any("clip" in r.sources or "geometric" in r.sources for r in graph.relations)


def test_names_are_cached_until_the_masks_change(clip):
    embedder = ColourEmbedder()
    pipeline = _pipeline(clip, embedder)
    session, _ = _build(pipeline, clip)
    before = embedder.images
    pipeline.relabel(session, 1, "runner")  # no mask changes: no entity is embedded again
    graph = pipeline.graph(session)
    assert embedder.images == before
    subject = graph.entity(1)
    assert subject.label == "runner" and subject.label_source == "user" and subject.top5  # the model's view stays


def test_own_words_replace_the_vocabulary(clip):
    pipeline = _pipeline(clip)
    session, _ = _build(pipeline, clip)
    pipeline.set_classes(session, ["cat", " kettle ", "kettle"])
    graph = pipeline.graph(session)
    assert {e.label for e in graph.entities} <= {"cat", "kettle"}
    with pytest.raises(PromptError, match="two class names"):
        pipeline.set_classes(session, ["cat"])
    with pytest.raises(PromptError, match="CLIP"):
        Pipeline(OracleSegmenter(clip.labels)).set_classes(session, ["cat", "dog"])


def test_a_relabel_teaches_look_alikes_in_later_videos_but_not_other_entities(clip):
    pipeline = _pipeline(clip)
    memory = PrototypeMemory(min_similarity=0.9)
    session, graph = _build(pipeline, clip, memory)
    ball = _ball(graph)
    pipeline.relabel(session, ball.entity_id, "my ball")
    assert len(memory) == 1

    _, second = _build(pipeline, clip, memory)  # the next video of the same user session
    ball2 = _ball(second)
    assert ball2.label == "my ball" and ball2.label_source == "correction" and ball2.label_score >= 0.9
    subject = second.entity(1)
    assert subject.label != "my ball" and subject.label_source == "model"


def test_a_predicate_correction_follows_to_a_look_alike_pair(clip):
    pipeline = _pipeline(clip)
    memory = PrototypeMemory(min_similarity=0.9)
    session, graph = _build(pipeline, clip, memory)
    relation = graph.ranked_relations()[0]
    key = (relation.subject_id, relation.object_id, relation.predicate)
    pipeline.rename_predicate(session, *key, "kicking")
    corrected = pipeline.graph(session)
    assert any(
        (r.subject_id, r.object_id, r.predicate) == (key[0], key[1], "kicking") and r.sources == ["user"]
        for r in corrected.relations
    )
    _, second = _build(pipeline, clip, memory)
    kicking = [r for r in second.relations if r.predicate == "kicking"]
    assert kicking and "correction" in kicking[0].sources
    assert not [r for r in second.relations if r.predicate == relation.predicate and r.object_id == key[1]]
    with pytest.raises(PromptError, match="no relation"):
        pipeline.rename_predicate(session, 1, 99, "holding", "kicking")


def test_make_semantics_falls_back_with_a_notice_and_loads_a_prior(tmp_path, shared_data):
    models = make_semantics("auto", model=str(tmp_path / "no-such-model"), allow_download=False)
    assert models.classifier is None and models.notice.startswith("no CLIP labels")
    assert "default names" in models.describe()
    with pytest.raises(CheckpointError):
        make_semantics("clip", model=str(tmp_path / "no-such-model"), allow_download=False)
    prior = PredicatePrior.build(shared_data / "openpvsg" / "pvsg_subset.json", split="train")
    path = prior.save(tmp_path / "prior.json")
    models = make_semantics("off", prior_path=path)
    assert models.prior is not None and "predicate prior" in models.describe()
    with pytest.raises(ValueError, match="two class names"):
        make_semantics("off", classes=["cat"])
