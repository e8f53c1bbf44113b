"""Tests for click2graph/semantics: vocabulary, geometric predicates, smoothing and relation building."""

from __future__ import annotations

import math

import numpy as np
import pytest

from click2graph.graph import Entity
from click2graph.masks import rle_encode
from click2graph.semantics import (
    OPENPVSG,
    EntityView,
    GeometricScorer,
    PredicateScorer,
    RelationConfig,
    SmoothingConfig,
    build_relations,
    default_labels,
    smooth_scores,
)

H, W = 120, 160  # small frames: EntityView's small masks are then full size (factor 1)


def rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """bool (H, W) mask of an inclusive rectangle."""
    mask = np.zeros((H, W), dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = True
    return mask


def entity(
    entity_id: int, masks: list[np.ndarray | None], *, is_subject: bool = False, subject_id: int | None = None, **kwargs
) -> Entity:
    """An entity with one mask per frame (None = absent on that frame)."""
    return Entity(
        entity_id=entity_id,
        label=kwargs.pop("label", "object"),
        is_subject=is_subject,
        subject_id=subject_id,
        masks={t: rle_encode(m) for t, m in enumerate(masks) if m is not None},
        **kwargs,
    )


def scores_on(a_masks: list, b_masks: list) -> dict[str, np.ndarray]:
    """Geometric scores of pair (A, B): predicate -> float (T,)."""
    scorer = GeometricScorer()
    out = scorer.score_pair(EntityView(entity(1, a_masks)), EntityView(entity(2, b_masks)), len(a_masks))
    return {p: out[:, i] for i, p in enumerate(scorer.predicates)}


# -- vocabulary --------------------------------------------------------------------------------------------


def test_vocab_counts_and_kinds():
    assert (len(OPENPVSG.thing_classes), len(OPENPVSG.stuff_classes), len(OPENPVSG.predicates)) == (115, 11, 57)
    assert len(OPENPVSG.classes) == 126 and OPENPVSG.classes[115] == "ceiling"
    assert OPENPVSG.is_thing("ball") and OPENPVSG.is_thing("fence") and not OPENPVSG.is_thing("tree")
    assert {"ballon", "vaccum", "scissor", "simmering", "others"} <= set(OPENPVSG.thing_classes)  # data's spelling
    with pytest.raises(KeyError, match="object"):
        OPENPVSG.is_thing("object")


def test_geometric_scorer_produces_only_openpvsg_predicates():
    scorer = GeometricScorer()
    assert isinstance(scorer, PredicateScorer)
    assert set(scorer.predicates) <= set(OPENPVSG.predicates)


# -- geometric predicates on hand-built masks --------------------------------------------------------------


def test_side_by_side_is_beside_not_on():
    s = scores_on([rect(20, 40, 59, 99)], [rect(64, 60, 89, 99)])  # same floor line, 4 px apart
    assert s["beside"][0] > 0.9 and s["next to"][0] > 0.9
    assert s["on"][0] < 0.05 and s["over"][0] < 0.05 and s["in front of"][0] < 0.05


def test_stacked_is_on_and_touching():
    top, bottom = rect(60, 40, 89, 59), rect(40, 60, 119, 99)  # a box resting on a wider box
    s = scores_on([top], [bottom])
    assert s["on"][0] > 0.9 and s["touching"][0] > 0.9 and s["over"][0] < 0.05 and s["beside"][0] < 0.05
    assert scores_on([bottom], [top])["on"][0] < 0.05  # "on" is directional


def test_above_without_contact_is_over_not_on():
    s = scores_on([rect(60, 5, 79, 24)], [rect(40, 60, 119, 99)])
    assert s["over"][0] > 0.9 and s["on"][0] < 0.05 and s["touching"][0] < 0.05


@pytest.mark.parametrize(
    "gap_px, touching",
    [
        (0, True),  # adjacent pixels: contact
        (30, False),  # clearly apart
    ],
)
def test_touching_vs_apart(gap_px, touching):
    s = scores_on([rect(20, 40, 59, 99)], [rect(60 + gap_px, 60, 89 + gap_px, 99)])
    assert (s["touching"][0] > 0.9) == touching and (s["touching"][0] < 0.05) == (not touching)


def test_scores_are_continuous_in_the_gap():
    beside = [scores_on([rect(10, 40, 49, 99)], [rect(50 + g, 60, 79 + g, 99)])["beside"][0] for g in range(0, 80, 4)]
    assert all(a >= b - 1e-9 for a, b in zip(beside, beside[1:]))  # farther apart never scores higher
    assert any(0.1 < v < 0.9 for v in beside)  # a ramp, not a 0/1 step


def test_inside_and_in_front_of():
    ring = rect(40, 30, 119, 99) & ~rect(60, 50, 99, 79)  # a frame around a hole
    assert scores_on([rect(60, 50, 99, 79)], [ring])["in"][0] > 0.9
    # a tall entity standing nearer (bottom lower) covers the middle of a shorter one behind it
    near, far = rect(60, 20, 89, 115), rect(40, 50, 109, 90)
    s = scores_on([near], [far & ~near])
    assert s["in front of"][0] > 0.9 and s["touching"][0] < 0.05 and s["beside"][0] < 0.05
    assert scores_on([far & ~near], [near])["in front of"][0] < 0.05


def test_toward_needs_the_subject_to_approach():
    obj = [rect(130, 60, 149, 99)] * 10
    approach = [rect(10 + 8 * t, 40, 39 + 8 * t, 99) for t in range(10)]
    leave = approach[::-1]
    assert scores_on(approach, obj)["toward"][2:8].min() > 0.9
    assert scores_on(leave, obj)["toward"].max() < 0.05
    assert scores_on([approach[0]] * 10, obj)["toward"].max() < 0.05  # standing still
    assert scores_on(obj, approach)["toward"].max() < 0.05  # the *object* approaching does not count


def test_absent_entity_gives_nan_rows():
    s = scores_on([rect(20, 40, 59, 99)] * 3, [rect(64, 60, 89, 99), None, rect(64, 60, 89, 99)])
    assert all(math.isnan(v[1]) for v in s.values())
    assert not any(math.isnan(v[0]) or math.isnan(v[2]) for v in s.values())


def test_entity_view_decodes_each_frame_once():
    a = EntityView(entity(1, [rect(20, 40, 59, 99)] * 4))
    b, c = EntityView(entity(2, [rect(64, 60, 89, 99)] * 4)), EntityView(entity(3, [rect(100, 60, 119, 99)] * 4))
    scorer = GeometricScorer()
    scorer.score_pair(a, b, 4)
    scorer.score_pair(a, c, 4)
    scorer.score_pair(b, a, 4)
    assert (a.decoded, b.decoded, c.decoded) == (4, 4, 4)


# -- smoothing ---------------------------------------------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize(
    "scores, spans",
    [
        ([], ()),  # empty input
        ([0.2, 0.2, 0.2], ()),  # never reaches `on`
        ([0.0, 0.6, 0.7, 0.0], ((1, 2),)),  # plain run above `on`
        ([0.35, 0.4, 0.6, 0.4, 0.35, 0.0], ((0, 4),)),  # hysteresis: extends both ways while >= `off`
        ([0.4, 0.4, 0.4, 0.4], ()),  # above `off` but never `on`: no span
        ([0.0, 0.9, 0.0, 0.0, 0.0, 0.0], ()),  # one frame: shorter than min_duration, dropped
        ([0.8, 0.8, 0.0, 0.0, 0.8, 0.8], ((0, 5),)),  # gap of 2 frames filled
        ([0.8, 0.8, 0.0, 0.0, 0.0, 0.8, 0.8], ((0, 1), (5, 6))),  # gap of 3 frames kept
        ([0.9, 0.0, 0.0, 0.9], ((0, 3),)),  # two 1-frame spans merge into one long enough to keep
        ([0.8, 0.8, NAN, 0.8, 0.8], ((0, 4),)),  # a frame without score (absent) bridged by gap filling
        ([NAN, NAN], ()),  # no scores at all
    ],
)
def test_smoothing_table(scores, spans):
    result = smooth_scores(np.array(scores, dtype=float), SmoothingConfig(on=0.5, off=0.3, max_gap=2, min_duration=2))
    assert result.spans == spans


def test_smoothing_scores_skip_missing_frames():
    result = smooth_scores(np.array([0.6, NAN, 1.0, 0.0]))
    assert (
        result.spans == ((0, 2),) and result.span_scores == pytest.approx((0.8,)) and result.score == pytest.approx(0.8)
    )
    assert smooth_scores(np.zeros(5)).score == 0.0


def test_smoothing_config_validates():
    with pytest.raises(ValueError, match="off <= on"):
        SmoothingConfig(on=0.3, off=0.5)


# -- relations ---------------------------------------------------------------------------------------------


def walk_and_touch_scene() -> list[Entity]:
    """Subject walks right for 6 frames, stands touching the ball for 6, then the ball disappears for 2."""
    xs = [10, 18, 26, 34, 42, 50] + [60] * 8
    subject = entity(1, [rect(x, 30, x + 29, 99) for x in xs], is_subject=True, label="subject")
    ball = entity(2, [rect(90, 80, 109, 99)] * 12 + [None, None], subject_id=1)
    other_subjects_object = entity(3, [rect(130, 80, 139, 99)] * 14, subject_id=99)
    return [subject, ball, other_subjects_object]


def test_build_relations_on_hand_made_entities():
    relations = build_relations(walk_and_touch_scene(), num_frames=14)
    found = {(r.subject_id, r.object_id, r.predicate): r for r in relations}
    assert {k[:2] for k in found} == {(1, 2)}  # entity 3 belongs to another subject: never paired
    assert found[(1, 2, "toward")].spans == [(0, 7)]  # walks on frames 0-6; the velocity window is +-2 frames
    assert found[(1, 2, "touching")].spans == [(6, 11)]
    assert found[(1, 2, "next to")].spans[0][1] == 11 and (1, 2, "on") not in found
    touching = found[(1, 2, "touching")]
    assert touching.sources == ["geometric"] and 0.0 < touching.score <= 1.0
    assert set(touching.frame_scores) == set(range(6, 12)) and all(
        v == round(v, 3) for v in touching.frame_scores.values()
    )


class ConstantScorer:
    """A stand-in learned scorer: one predicate with a fixed score everywhere both entities are present."""

    name = "constant"

    def __init__(self, predicate: str, value: float) -> None:
        self.predicates = (predicate,)
        self.value = value

    def score_pair(self, subject, obj, num_frames):
        present = [subject.present(t) and obj.present(t) for t in range(num_frames)]
        return np.where(np.array(present)[:, None], self.value, np.nan)


@pytest.mark.parametrize(
    "weights, low, high",
    [
        ({}, 0.9, 0.96),  # mean(geometric ~1.0 while touching, 0.9) ~ 0.95
        ({"constant": 3.0}, 0.9, 0.94),  # (1.0 + 3 x 0.9) / 4 ~ 0.925
    ],
)
def test_fusion_over_scorers(weights, low, high):
    scorers = [GeometricScorer(), ConstantScorer("touching", 0.9), ConstantScorer("looking at", 0.8)]
    relations = build_relations(
        walk_and_touch_scene(), num_frames=14, scorers=scorers, config=RelationConfig(weights=weights)
    )
    found = {r.predicate: r for r in relations}
    assert found["looking at"].sources == ["constant"] and found["looking at"].spans == [(0, 11)]
    assert found["touching"].sources == ["geometric", "constant"]
    assert low <= found["touching"].frame_scores[8] <= high


def test_subjects_are_paired_with_each_other():
    a = entity(1, [rect(20, 40, 59, 99)] * 3, is_subject=True)
    b = entity(2, [rect(62, 40, 99, 99)] * 3, is_subject=True)
    relations = build_relations([a, b], num_frames=3)
    assert {(r.subject_id, r.object_id) for r in relations} == {(1, 2), (2, 1)}


def test_default_labels_keep_user_labels():
    entities = [
        entity(1, [], is_subject=True),
        entity(2, [], subject_id=1),
        entity(3, [], subject_id=1, label="my cup", label_source="user"),
        entity(4, [], subject_id=1, label="ball", label_source="model"),
    ]
    labels = [e.label for e in default_labels(entities)]
    assert labels == ["subject", "object 2", "my cup", "ball"]  # names carry the entity id
    assert entities[1].label == "object"  # inputs unchanged
    two = default_labels([entity(1, [], is_subject=True), entity(2, [], is_subject=True)])
    assert [e.label for e in two] == ["subject 1", "subject 2"]
