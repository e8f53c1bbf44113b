"""Tests for click2graph/semantics/zero_shot.py with a fake image-text embedder whose outputs are known.

The fake maps a crop to the one-hot vector ``e_k`` where ``k = round(mean red / 40)``, and the i-th text of an
``embed_texts`` call to ``e_i``. With the frame painted in the red level of predicate k, the softmax of
``logit_scale * cosine`` over P predicates gives ``e^s / (e^s + P - 1)`` to predicate k and ``1 / (e^s + P - 1)``
to every other one. With P = 4 and ``logit_scale = log 9``: 0.75 and 1/12, which the default calibration
(``r / (r + 2)``, ``r = 4 x``) maps to 3/5 and 1/7.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from click2graph.graph import Entity
from click2graph.masks import rle_encode
from click2graph.semantics.base import EntityView, PredicateScorer
from click2graph.semantics.embedder import ImageTextEmbedder, union_crop
from click2graph.semantics.fusion import Calibration
from click2graph.semantics.vocab import OPENPVSG
from click2graph.semantics.zero_shot import (
    ZeroShotPredicateScorer,
    copresence_runs,
    noun_phrase,
    predicate_prompts,
    sample_frames,
)

H, W = 40, 60
PREDICATES = ("holding", "on", "looking at", "sitting on")
WIN, LOSE = 3 / 5, 1 / 7  # calibrated scores of the winning and of a losing predicate (module docstring)


class FakeEmbedder:
    name = "fake"
    logit_scale = math.log(9.0)

    def __init__(self, dim: int = len(PREDICATES)) -> None:
        self.dim = dim
        self.image_calls: list[list[np.ndarray]] = []
        self.text_calls: list[list[str]] = []

    def embed_images(self, images):
        self.image_calls.append([np.array(im) for im in images])
        out = np.zeros((len(images), self.dim), np.float32)
        for n, im in enumerate(images):
            out[n, int(round(im[..., 0].mean() / 40))] = 1.0
        return out

    def embed_texts(self, texts):
        self.text_calls.append(list(texts))
        return np.eye(len(texts), self.dim, dtype=np.float32)


def rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = True
    return mask


def view(entity_id: int, present: list[bool], box: tuple[int, int, int, int], label: str) -> EntityView:
    masks = {t: rle_encode(rect(*box)) for t, on in enumerate(present) if on}
    return EntityView(Entity(entity_id=entity_id, label=label, masks=masks))


def painted(winners: list[int]) -> np.ndarray:
    """uint8 (T, H, W, 3) frames, frame t painted in the red level of predicate ``winners[t]``."""
    frames = np.zeros((len(winners), H, W, 3), np.uint8)
    for t, k in enumerate(winners):
        frames[t, ..., 0] = 40 * k
    return frames


def test_fake_embedder_satisfies_the_protocols():
    scorer = ZeroShotPredicateScorer(FakeEmbedder(), painted([0]), PREDICATES)
    assert isinstance(FakeEmbedder(), ImageTextEmbedder) and isinstance(scorer, PredicateScorer)
    assert scorer.predicates == PREDICATES and scorer.name == "clip"
    assert Calibration.softmax(4)([0.75, 1 / 12]).tolist() == pytest.approx([WIN, LOSE])


def test_shape_nan_and_winning_predicate():
    T = 8
    winners = [0, 0, 1, 1, 2, 2, 3, 3]
    present_a = [True] * T
    present_b = [False, True, True, True, True, True, True, False]
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted(winners), PREDICATES, frame_step=1)
    out = scorer.score_pair(view(1, present_a, (5, 5, 20, 30), "adult"), view(2, present_b, (30, 10, 50, 30), "cup"), T)
    assert out.shape == (T, len(PREDICATES))
    assert np.isnan(out[[0, 7]]).all() and np.isfinite(out[1:7]).all()
    for t in range(1, 7):
        expected = np.full(len(PREDICATES), LOSE)
        expected[winners[t]] = WIN
        assert out[t] == pytest.approx(expected)
        assert int(np.argmax(out[t])) == winners[t]
    assert len(embedder.image_calls) == 1 and len(embedder.image_calls[0]) == 6  # one batch, frames 1..6


def test_full_vocabulary_output_shape():
    embedder = FakeEmbedder(dim=len(OPENPVSG.predicates))
    scorer = ZeroShotPredicateScorer(embedder, painted([1] * 5), frame_step=2)
    out = scorer.score_pair(
        view(1, [True] * 5, (0, 0, 9, 9), "subject"), view(2, [True] * 5, (20, 0, 29, 9), "object 2"), 5
    )
    assert out.shape == (5, 57) and scorer.predicates == OPENPVSG.predicates
    assert int(np.argmax(out[2])) == 1 and np.isfinite(out).all()


def test_interpolation_between_samples_within_runs():
    # both present on 0..4 and 7..9 (absent 5, 6); frame_step 2 samples 0, 2, 4 and 7, 9 (run ends included)
    winners = [0, 3, 1, 3, 0, 3, 3, 2, 3, 1]
    present = [True] * 5 + [False, False] + [True] * 3
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted(winners), PREDICATES, frame_step=2)
    a, b = view(1, [True] * 10, (0, 0, 9, 9), "adult"), view(2, present, (20, 20, 29, 29), "table")
    out = scorer.score_pair(a, b, 10)
    mid = (WIN + LOSE) / 2
    assert out[1] == pytest.approx([mid, mid, LOSE, LOSE])  # between samples 0 (holding) and 2 (on)
    assert out[3] == pytest.approx([mid, mid, LOSE, LOSE])  # between 2 (on) and 4 (holding)
    assert np.isnan(out[5:7]).all()  # absent: not interpolated across the gap
    assert out[8] == pytest.approx([LOSE, mid, mid, LOSE])  # between 7 (looking at) and 9 (on)
    assert len(embedder.image_calls[0]) == 5  # the frames painted 3 (never a winner above) were not sampled


def test_sampling_respects_the_budget():
    assert copresence_runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 2), (4, 4)]
    assert sample_frames([(0, 9)], 3, 16) == [0, 3, 6, 9]
    assert sample_frames([(0, 10)], 3, 16) == [0, 2, 5, 8, 10]  # evenly spaced, at most 3 apart, ends kept
    assert sample_frames([(0, 0), (5, 6)], 3, 16) == [0, 5, 6]
    many = sample_frames([(0, 199)], 1, 16)
    assert len(many) <= 16 and many[0] == 0 and many[-1] == 199
    runs = [(2 * i, 2 * i) for i in range(30)]  # 30 one-frame runs, budget 16: one frame per chosen run
    assert len(sample_frames(runs, 1, 16)) == 16
    assert sample_frames([], 3, 16) == []


def test_run_without_a_sample_takes_the_nearest_one():
    winners = [1, 0, 2, 0, 3]
    present = [True, False, True, False, True]  # three one-frame runs, budget 2
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted(winners), PREDICATES, max_samples=2)
    out = scorer.score_pair(view(1, [True] * 5, (0, 0, 9, 9), "a"), view(2, present, (20, 0, 29, 9), "b"), 5)
    assert len(embedder.image_calls[0]) == 2  # frames 0 and 4
    assert int(np.argmax(out[0])) == 1 and int(np.argmax(out[4])) == 3
    assert out[2] == pytest.approx(out[0])  # equidistant from frames 0 and 4: the earlier sample
    assert np.isnan(out[[1, 3]]).all()


def test_text_embeddings_cached_per_label_pair_and_one_image_batch_per_pair():
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted([0] * 6), PREDICATES, frame_step=1)
    a = view(1, [True] * 6, (0, 0, 9, 9), "adult")
    b = view(2, [True] * 6, (20, 0, 29, 9), "child")
    c = view(3, [True] * 6, (40, 0, 49, 9), "child")
    scorer.score_pair(a, b, 6)
    scorer.score_pair(a, c, 6)  # same labels: texts reused
    assert len(embedder.text_calls) == 1 and len(embedder.image_calls) == 2
    scorer.score_pair(b, a, 6)  # (child, adult) is another pair of labels
    assert len(embedder.text_calls) == 2
    assert embedder.text_calls[0] == [
        "a photo of an adult holding a child.",
        "a photo of an adult on a child.",
        "a photo of an adult looking at a child.",
        "a photo of an adult sitting on a child.",
    ]
    assert [len(call) for call in embedder.image_calls] == [6, 6, 6]


def test_no_copresence_means_all_nan_and_no_model_call():
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted([0] * 4), PREDICATES)
    out = scorer.score_pair(
        view(1, [True, True, False, False], (0, 0, 9, 9), "a"),
        view(2, [False, False, True, True], (0, 0, 9, 9), "b"),
        4,
    )
    assert out.shape == (4, 4) and np.isnan(out).all()
    assert embedder.image_calls == [] and embedder.text_calls == []


def test_crops_are_union_crops():
    frames = np.random.default_rng(0).integers(0, 40, (3, H, W, 3), dtype=np.uint8)
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, frames, PREDICATES, frame_step=1, pad=0.1)
    scorer.score_pair(view(1, [True] * 3, (5, 5, 14, 14), "a"), view(2, [True] * 3, (30, 20, 39, 29), "b"), 3)
    for t, crop in enumerate(embedder.image_calls[0]):
        assert np.array_equal(crop, union_crop(frames[t], rect(5, 5, 14, 14), rect(30, 20, 39, 29), 0.1))


def test_default_labels_give_generic_prompts():
    assert predicate_prompts("subject", "object 3", ("holding", "shaking hand with", "picking")) == [
        "a photo of someone holding something.",
        "a photo of someone shaking hands with something.",
        "a photo of someone picking up something.",
    ]
    assert noun_phrase("subject 2") == "someone" and noun_phrase("object") == "something"
    assert noun_phrase("adult") == "an adult" and noun_phrase("floor") == "the floor"
    assert noun_phrase("red  kite") == "a red kite" and noun_phrase("the sofa") == "the sofa"
    assert noun_phrase("others") == "something"


def test_custom_calibration_and_size_checks():
    embedder = FakeEmbedder()
    scorer = ZeroShotPredicateScorer(embedder, painted([2] * 3), PREDICATES, calibration=Calibration.identity())
    out = scorer.score_pair(view(1, [True] * 3, (0, 0, 9, 9), "a"), view(2, [True] * 3, (20, 0, 29, 9), "b"), 3)
    assert out[0] == pytest.approx([1 / 12, 1 / 12, 0.75, 1 / 12])  # the raw softmax
    small = np.zeros((3, 20, 30, 3), np.uint8)
    with pytest.raises(ValueError, match="masks of size"):
        ZeroShotPredicateScorer(embedder, small, PREDICATES).score_pair(
            view(1, [True] * 3, (0, 0, 9, 9), "a"), view(2, [True] * 3, (20, 0, 29, 9), "b"), 3
        )
    with pytest.raises(ValueError):
        ZeroShotPredicateScorer(embedder, small, PREDICATES, frame_step=0)
