"""Discovery's own rejection rules, with a decoder that does not honour ``avoid``.

The classic decoder already keeps away from subject and known-object pixels, so tests driving it cannot tell
whether discovery rejects overlapping candidates itself. Here the decoder behaves like a point decoder that
ignores ``avoid`` (SAM 2's does not take it): a seed on an object touching the subject comes back merged with the
subject, and a seed just beside an object (a known one included) comes back as that object. The background rules
(too large, along the frame border, a speck, a low score without motion) are checked the same way, each shown to be
the rule that rejects its candidate. Last, with a decoder that finds nothing, the subject-seeded cut alone proposes
a held object.
"""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.discovery.base import DiscoveryConfig
from click2graph.discovery.training_free import discover_objects
from click2graph.masks import dilate, mask_iou
from click2graph.segment import Candidates, SegmenterState
from click2graph.video import Video

H, W = 120, 160
SUBJECT, TOUCHING, NEAR = 1, 2, 3
CONFIG = DiscoveryConfig(subject_cut=False)  # only the decoder's candidates: nothing else can be proposed


def _labels() -> np.ndarray:
    """int (H, W): a subject box, a box touching its right side and a box 6 px below it (0 = background)."""
    labels = np.zeros((H, W), int)
    labels[40:80, 40:70] = SUBJECT
    labels[45:70, 70:90] = TOUCHING
    labels[86:100, 35:75] = NEAR
    return labels


SNAP_PX = 6


class LeakyDecoder:
    """Decodes a point to the labelled region under it, or to an object within ``SNAP_PX`` of a background point;
    a region touching the subject comes with the subject."""

    def __init__(self, labels: np.ndarray, scores: dict[int, float] | None = None) -> None:
        self.labels = labels
        self.scores = scores or {}  # decoder confidence per label (default 0.9)
        self.subject = labels == SUBJECT
        self.merged = 0  # masks returned that include the subject
        self.decoded: list[int] = []  # label of each decoded point

    def _label_at(self, x: int, y: int) -> int:
        label = int(self.labels[y, x])
        if label:
            return label
        window = self.labels[max(0, y - SNAP_PX) : y + SNAP_PX + 1, max(0, x - SNAP_PX) : x + SNAP_PX + 1]
        nearby = window[(window != 0) & (window != SUBJECT)]
        return int(np.bincount(nearby).argmax()) if nearby.size else 0

    def decode_candidates(self, state, frame_idx, points_xy, *, avoid=None) -> Candidates:
        masks, scores = [], []
        for x, y in np.asarray(points_xy).reshape(-1, 2):
            label = self._label_at(int(x), int(y))
            self.decoded.append(label)
            scores.append(self.scores.get(label, 0.9))
            mask = self.labels == label if label else np.zeros_like(self.subject)
            if label != SUBJECT and (mask & dilate(self.subject, 1)).any():
                mask = mask | self.subject
                self.merged += 1
            masks.append(mask)
        return Candidates(masks=np.stack(masks), scores=np.asarray(scores, np.float32))


def _state(labels: np.ndarray) -> SegmenterState:
    """Two identical frames (no motion), one distinct colour per label."""
    colours = np.array([[128, 128, 128], [200, 30, 30], [30, 40, 200], [30, 190, 40], [220, 200, 40], [40, 200, 200],
                        [160, 60, 200], [250, 140, 20]], np.uint8)  # fmt: skip
    frame = colours[labels]
    return SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))


@pytest.fixture
def scene():
    labels = _labels()
    return LeakyDecoder(labels), _state(labels), labels


def test_candidates_swallowing_the_subject_are_rejected(scene):
    decoder, state, labels = scene
    subject = labels == SUBJECT
    proposals = discover_objects(decoder, state, subject, 0, config=CONFIG)
    assert decoder.merged > 0, "no seed fell on the touching box: the test would prove nothing"
    for p in proposals:
        assert (p.mask & subject).sum() <= CONFIG.max_subject_overlap * p.mask.sum()
    # The separate box is still found: the rejection is of overlap, not of everything near the subject.
    assert any(mask_iou(p.mask, labels == NEAR) > 0.9 for p in proposals)


def test_candidates_repeating_a_known_object_are_rejected(scene):
    decoder, state, labels = scene
    near = labels == NEAR
    first = discover_objects(decoder, state, labels == SUBJECT, 0, config=CONFIG)
    assert any(mask_iou(p.mask, near) > 0.9 for p in first)  # proposed while unknown
    decoder.decoded.clear()
    proposals = discover_objects(decoder, state, labels == SUBJECT, 0, known_masks=[near], config=CONFIG)
    assert NEAR in decoder.decoded, "no seed decoded to the known box: the test would prove nothing"
    assert all(mask_iou(p.mask, near) <= CONFIG.max_known_overlap for p in proposals)
    assert all((p.mask & near).sum() <= CONFIG.max_known_overlap * p.mask.sum() for p in proposals)


OBJECT, LARGE, BORDER, SPECK, FAINT, FAR = 2, 3, 4, 5, 6, 7


def _background_labels() -> np.ndarray:
    """A subject (1200 px) with, all within its search band: an object beside it; a region larger than 15% of the
    frame; one lying along the frame's bottom-left corner; a 16 px speck; a faint region (decoder score 0.05); a
    region 14 px away with a middling score (0.2: its ranking, mostly contact, stays under ``min_score``)."""
    labels = np.zeros((H, W), int)
    labels[40:80, 60:90] = SUBJECT
    labels[45:70, 91:106] = OBJECT
    labels[2:38, 62:151] = LARGE  # 3204 px > 0.15 * 160 * 120
    labels[84:120, 0:59] = BORDER  # half of its box perimeter is frame border
    labels[60:64, 50:54] = SPECK  # 16 px < 0.02 * 1200
    labels[15:38, 38:58] = FAINT
    labels[45:58, 38:46] = FAR
    return labels


@pytest.mark.parametrize(
    "label, relaxed",
    [
        (LARGE, {"max_area_frac": 1.0}),
        (BORDER, {"max_border_frac": 1.0}),
        (SPECK, {"min_area_vs_subject": 0.0}),
        (FAINT, {"min_objectness": 0.0}),
        (FAR, {"min_score": 0.0}),
    ],
)
def test_background_like_candidates_are_rejected_each_by_its_rule(label, relaxed):
    labels = _background_labels()
    decoder, state = LeakyDecoder(labels, scores={FAINT: 0.05, FAR: 0.2}), _state(labels)
    subject = labels == SUBJECT
    proposals = discover_objects(decoder, state, subject, 0, config=CONFIG)
    assert label in decoder.decoded, "no seed reached the candidate: the test would prove nothing"
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in proposals] == [OBJECT]
    relaxed_config = DiscoveryConfig(subject_cut=False, max_objects=6, **relaxed)
    found = discover_objects(decoder, state, subject, 0, config=relaxed_config)
    assert any(mask_iou(p.mask, labels == label) > 0.9 for p in found), "without its rule the candidate is kept"


def test_at_most_three_objects_per_keyframe_by_default():
    """The paper's N = 3: five separate objects around the subject, three proposed (all five when allowed)."""
    labels = np.zeros((H, W), int)
    labels[40:80, 60:90] = SUBJECT
    for k, (y0, y1, x0, x1) in enumerate([(45, 70, 91, 106), (45, 70, 44, 59), (24, 39, 62, 88), (81, 96, 62, 88),
                                          (24, 39, 91, 106)]):  # fmt: skip
        labels[y0:y1, x0:x1] = 2 + k
    decoder, state = LeakyDecoder(labels), _state(labels)
    assert len(discover_objects(decoder, state, labels == SUBJECT, 0, config=CONFIG)) == 3
    allowed = DiscoveryConfig(subject_cut=False, max_objects=5)
    five = discover_objects(decoder, state, labels == SUBJECT, 0, config=allowed)
    assert sorted(int(np.bincount(labels[p.mask]).argmax()) for p in five) == [2, 3, 4, 5, 6]


class EmptyDecoder:
    """A decoder that finds nothing: what discovery proposes then comes from its subject-seeded cut alone."""

    def decode_candidates(self, state, frame_idx, points_xy, *, avoid=None) -> Candidates:
        n = len(np.asarray(points_xy).reshape(-1, 2))
        return Candidates(masks=np.zeros((n, H, W), bool), scores=np.zeros(n, np.float32))


def test_the_subject_cut_proposes_what_moves_with_the_subject():
    """A held object (blue, beside a red subject) moving with it over a still, textured background: a point decoder
    that misses it leaves the subject-seeded cut to find it."""
    background = np.random.default_rng(0).integers(100, 150, (H, W, 3)).astype(np.uint8)
    label_maps, frames = [], []
    for dx in (0, 4):  # both move 4 px right
        labels = np.zeros((H, W), int)
        labels[40:80, 50 + dx : 90 + dx] = SUBJECT
        labels[50:72, 90 + dx : 101 + dx] = 2
        frame = background.copy()
        frame[labels == SUBJECT], frame[labels == 2] = (200, 30, 30), (30, 40, 200)
        label_maps.append(labels)
        frames.append(frame)
    first = label_maps[0]
    state = SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0))
    proposals = discover_objects(EmptyDecoder(), state, first == SUBJECT, 0)
    assert len(proposals) == 1 and mask_iou(proposals[0].mask, first == 2) > 0.8
    assert discover_objects(EmptyDecoder(), state, first == SUBJECT, 0, config=CONFIG) == []  # without the cut
