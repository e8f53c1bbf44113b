"""Discovery's own rejection rules, with a decoder that does not honour ``avoid``.

The classic decoder already keeps away from subject and known-object pixels, so tests driving it cannot tell
whether discovery rejects overlapping candidates itself. Here the decoder behaves like a point decoder that
ignores ``avoid`` (SAM 2's does not take it): a seed on an object touching the subject comes back merged with the
subject, and a seed just beside an object (a known one included) comes back as that object. The background rules
(too large, along the frame border, a speck, a low score without motion) are checked the same way, each shown to be
the rule that rejects its candidate. Then what is not an object although it looks like one: a part of the subject
(moving with it, or coloured like it), a background patch, a contour sliver, a region the subject only moves past;
and what is: a thin object beside the subject, a held object once it separates, an object the subject comes to.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from click2graph.discovery import evidence
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
    # (above and below it 6 px off: touching the ends of its long axis within its width, they would be its parts)
    for k, (y0, y1, x0, x1) in enumerate([(45, 70, 91, 106), (45, 70, 44, 59), (24, 34, 62, 88), (86, 96, 62, 88),
                                          (24, 39, 91, 106)]):  # fmt: skip
        labels[y0:y1, x0:x1] = 2 + k
    decoder, state = LeakyDecoder(labels), _state(labels)
    assert len(discover_objects(decoder, state, labels == SUBJECT, 0, config=CONFIG)) == 3
    allowed = DiscoveryConfig(subject_cut=False, max_objects=5)
    five = discover_objects(decoder, state, labels == SUBJECT, 0, config=allowed)
    assert sorted(int(np.bincount(labels[p.mask]).argmax()) for p in five) == [2, 3, 4, 5, 6]


def _moving_scene(object_dx: int, object_x0: int) -> tuple[SegmenterState, np.ndarray]:
    """A red subject moving 4 px right over a still, textured background, and a blue object starting at column
    ``object_x0`` that moves ``object_dx`` px right. Returns (state, labels of frame 0)."""
    background = np.random.default_rng(0).integers(100, 150, (H, W, 3)).astype(np.uint8)
    label_maps, frames = [], []
    for step in (0, 1):
        labels = np.zeros((H, W), int)
        labels[40:80, 50 + 4 * step : 90 + 4 * step] = SUBJECT
        x0 = object_x0 + object_dx * step
        labels[50:72, x0 : x0 + 11] = 2
        frame = background.copy()
        frame[labels == SUBJECT], frame[labels == 2] = (200, 30, 30), (30, 40, 200)
        label_maps.append(labels)
        frames.append(frame)
    return SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0)), label_maps[0]


def test_a_held_object_is_a_part_of_the_subject_until_it_separates():
    """Touching the subject and moving with it, a held object is one body with the subject (which is how the
    subject's own parts behave: a leg its mask missed): not proposed, by the subject cut (which attaches it) nor by
    the decoder. Once it separates (a gap, its own motion) it is an object."""
    state, labels = _moving_scene(object_dx=4, object_x0=91)  # 1 px off: the leaky decoder keeps it apart
    subject, held = labels == SUBJECT, labels == 2
    with_cut = DiscoveryConfig(subject_cut=True)
    decoder = LeakyDecoder(labels)
    assert discover_objects(decoder, state, subject, 0, config=with_cut) == []
    assert 2 in decoder.decoded, "no seed reached the held object: the test would prove nothing"
    # Without the part rules the same candidates are kept: they are what rejects the held object.
    relaxed = DiscoveryConfig(subject_cut=True, surface_motion_px=1e6, part_colour_likeness=1.1)
    assert any(mask_iou(p.mask, held) > 0.8 for p in discover_objects(decoder, state, subject, 0, config=relaxed))
    state, labels = _moving_scene(object_dx=-3, object_x0=100)  # thrown back, 10 px away
    proposals = discover_objects(LeakyDecoder(labels), state, subject, 0, config=with_cut)
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in proposals] == [2]


def _missed_head_scene(gap_colour: tuple[int, int, int]) -> tuple[SegmenterState, np.ndarray, np.ndarray]:
    """A red body moving 4 px right and a blue head beside it moving 7 px (it turns: not rigid), both textured (the
    texture moves with them: flow reads their motion), over a still textured background; the subject's mask stops
    5 px short of the head, where the gap has ``gap_colour``. Returns (state, labels of frame 0 (the decoder's view:
    subject mask, head), the subject mask)."""
    h, w = 160, 200
    rng = np.random.default_rng(4)
    background = rng.integers(100, 150, (h, w, 3)).astype(np.uint8)
    body = np.asarray((200, 30, 30)) + rng.integers(-12, 13, (60, 61, 1))
    body[:, 56:] = np.asarray(gap_colour) + rng.integers(-12, 13, (60, 5, 1))
    head = np.asarray((30, 40, 200)) + rng.integers(-12, 13, (30, 15, 1))
    frames, label_maps = [], []
    for step in (0, 1):
        labels = np.zeros((h, w), int)
        x, hx = 40 + 4 * step, 101 + 7 * step
        labels[50:110, x : x + 56] = SUBJECT
        labels[65:95, hx : hx + 15] = 2
        frame = background.copy()
        frame[50:110, x : x + 61] = body
        frame[65:95, hx : hx + 15] = head
        frames.append(frame)
        label_maps.append(labels)
    state = SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0))
    return state, label_maps[0], label_maps[0] == SUBJECT


def test_a_part_the_mask_stops_short_of_touches_the_subject_across_its_colours():
    """The subject's mask missed a strip of its own colour, beyond which a part of it (a head) moves with it: across
    that strip the part touches the subject, so it is a part (not an object). Across a strip of background it does
    not touch, and the same head is proposed: the strip's colour is what decides."""
    state, labels, subject = _missed_head_scene((200, 30, 30))
    decoder = LeakyDecoder(labels)
    assert discover_objects(decoder, state, subject, 0, config=CONFIG) == []
    assert 2 in decoder.decoded, "no seed reached the head: the test would prove nothing"
    state, labels, subject = _missed_head_scene((125, 125, 125))
    found = discover_objects(LeakyDecoder(labels), state, subject, 0, config=CONFIG)
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in found] == [2]


@pytest.mark.parametrize(
    ("gap_px", "gap_code", "bridged"),
    [(5, 1, True), (5, 2, False), (12, 1, False)],
    ids=["narrow gap of the subject's colour", "gap of another colour", "gap wider than a tenth of the subject"],
)
def test_a_gap_is_bridged_only_when_narrow_and_of_the_subject_colours(gap_px, gap_code, bridged):
    """:func:`evidence.touches_across` on colour codes: a 60x60 subject (code 1) on background (code 2), a gap
    strip beside it, then a candidate. Only a gap of the subject's own colours, at most a tenth of its size (6 px)
    wide, bridges; and the candidate's own pixels never count as the bridge."""
    codes = np.full((100, 140), 2)
    subject = np.zeros(codes.shape, bool)
    subject[20:80, 20:80] = True
    codes[subject] = 1
    codes[20:80, 80 : 80 + gap_px] = gap_code
    mask = np.zeros(codes.shape, bool)
    mask[35:65, 80 + gap_px : 100 + gap_px] = True
    codes[mask] = 3
    liked = np.zeros(512, bool)
    liked[1] = True  # the subject's colours: more frequent in it than in the far background
    dist = cv2.distanceTransform((~subject).astype(np.uint8), cv2.DIST_L2, 3)
    assert evidence.touches_across(liked, codes, mask, subject, dist, DiscoveryConfig()) is bridged


def test_a_part_of_the_subject_coloured_like_it_is_not_an_object():
    """A still scene: the subject's mask missed its lower half (the same two-colour texture), which touches it. Its
    colour model explains that half: not an object. A differently coloured box touching the subject still is one."""
    labels = np.zeros((H, W), int)
    labels[30:60, 60:90] = SUBJECT
    labels[61:90, 60:90] = 3  # the missed half of the subject (1 px off, see LeakyDecoder)
    labels[40:55, 91:105] = 2
    rng = np.random.default_rng(2)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    body = (labels == SUBJECT) | (labels == 3)
    frame[body] = rng.integers(0, 2, (int(body.sum()), 1)) * [120, 0, 0] + [100, 30, 30]
    frame[labels == 2] = (30, 40, 200)
    state = SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))
    decoder = LeakyDecoder(labels)
    found = [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, labels == 1, 0)]
    assert 3 in decoder.decoded, "no seed reached the missed half: the test would prove nothing"
    assert found == [2]
    # The colour rule rejects it (also without the silhouette rule); without both it is kept.
    decoded = discover_objects(decoder, state, labels == 1, 0, config=DiscoveryConfig(part_max_overhang=-1.0))
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in decoded] == [2]
    relaxed = DiscoveryConfig(part_colour_likeness=1.1, part_max_overhang=-1.0)
    assert 3 in [
        int(np.bincount(labels[p.mask]).argmax())
        for p in discover_objects(decoder, state, labels == 1, 0, config=relaxed)
    ]


def test_a_thin_object_beside_the_subject_is_kept_and_a_contour_sliver_is_not():
    """A pole 4 px wide along the subject's side (a racket handle, a bike frame) is an object; a 2 px halo along
    the subject's contour (a segmentation artefact) is a sliver."""
    labels = np.zeros((H, W), int)
    labels[30:90, 60:90] = SUBJECT
    labels[32:88, 91:95] = 2  # the pole, 4 px wide, 1 px off the subject's right side all along
    labels[25:27, 55:93] = 3  # the halo a few px over the subject's top
    labels[25:90, 55:57] = 3  # ...and down its left side
    rng = np.random.default_rng(3)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    frame[labels == SUBJECT], frame[labels == 2], frame[labels == 3] = (200, 30, 30), (30, 40, 200), (220, 200, 40)
    state = SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))
    decoder = LeakyDecoder(labels)
    found = [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, labels == 1, 0)]
    assert 3 in decoder.decoded, "no seed reached the halo: the test would prove nothing"
    assert found == [2]


def test_a_background_patch_is_not_an_object():
    """A window in a wall beside a still subject: its colours are the wall's (the background away from the
    subject) and it does not move: background. It touches the subject and is also coloured like its surroundings,
    so that rule alone claims it too; without both it is kept."""
    rng = np.random.default_rng(4)
    wall = np.clip(rng.normal((150, 160, 175), 12, (H, W, 3)), 0, 255).astype(np.uint8)
    labels = np.zeros((H, W), int)
    labels[40:90, 60:85] = SUBJECT
    labels[30:60, 88:110] = 2  # the window: a pane framed by the wall, near the subject
    frame = wall.copy()
    frame[labels == SUBJECT] = (200, 30, 30)
    pane = labels == 2
    frame[pane] = np.clip(wall[pane].astype(int) + 25, 0, 255)  # lighter, same hue: the wall's colours
    state = SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))
    decoder = LeakyDecoder(labels)
    assert discover_objects(decoder, state, labels == SUBJECT, 0) == []
    assert 2 in decoder.decoded, "no seed reached the window: the test would prove nothing"
    for far, around, kept in [(1.1, 0.6, False), (0.4, 1.1, False), (1.1, 1.1, True)]:
        relaxed = DiscoveryConfig(background_colour_likeness=far, surround_colour_likeness=around)
        proposals = discover_objects(decoder, state, labels == SUBJECT, 0, config=relaxed)
        assert any(mask_iou(p.mask, pane) > 0.9 for p in proposals) == kept


def test_a_thin_object_is_not_a_speck_for_its_small_area():
    """Beside a large subject (3600 px), a pole 3 px wide and 22 px long covers less than 2% of its area, as does
    an 8 px square blob; the pole's length makes it an object, the blob is a speck (kept when the rule is off)."""
    labels = np.zeros((H, W), int)
    labels[30:90, 50:110] = SUBJECT
    labels[50:72, 111:114] = 2  # the pole, 1 px off the subject's right side
    labels[92:100, 70:78] = 3  # the blob, 2 px under the subject
    rng = np.random.default_rng(5)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    frame[labels == SUBJECT], frame[labels == 2], frame[labels == 3] = (200, 30, 30), (30, 40, 200), (220, 200, 40)
    state = SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))
    subject = labels == SUBJECT
    assert (labels == 2).sum() < DiscoveryConfig().min_area_vs_subject * subject.sum()
    decoder = LeakyDecoder(labels)
    found = [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0)]
    assert 3 in decoder.decoded, "no seed reached the blob: the test would prove nothing"
    assert found == [2]
    relaxed = DiscoveryConfig(min_area_vs_subject=0.0)
    assert 3 in [
        int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0, config=relaxed)
    ]


def _still_person(ball: tuple[int, int, int, int]) -> tuple[LeakyDecoder, SegmenterState, np.ndarray]:
    """A still frame: a subject mask holding only a shirt (30 wide, 40 tall), the head above it and the legs below
    it (their own colours, each 1 px off, see LeakyDecoder), and a ball (rows, then columns) touching it."""
    labels = np.zeros((H, W), int)
    labels[35:75, 60:90] = SUBJECT  # the shirt
    labels[18:34, 67:83] = 2  # the head
    labels[76:110, 62:88] = 3  # the legs
    y0, y1, x0, x1 = ball
    labels[y0:y1, x0:x1] = 4
    rng = np.random.default_rng(6)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    for label, colour in {SUBJECT: (200, 30, 30), 2: (230, 180, 150), 3: (30, 40, 120), 4: (220, 200, 40)}.items():
        frame[labels == label] = colour
    return LeakyDecoder(labels), SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0)), labels


@pytest.mark.parametrize("ball", [(92, 108, 89, 105), (45, 60, 91, 105)], ids=["at the feet", "held at the side"])
def test_parts_continuing_a_still_subject_are_not_objects_and_a_touching_ball_is(ball):
    """Nothing moves and the head and legs are not the shirt's colours: they continue the subject's silhouette
    beyond the ends of its long axis, within its width there, so they are parts. A ball touching the subject sticks
    out beside its extent at the feet, or touches it on a side (not an end of its long axis): an object. Without
    the rule the head and legs are kept."""
    decoder, state, labels = _still_person(ball)
    subject = labels == SUBJECT
    config = DiscoveryConfig(max_objects=5)
    found = [
        int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0, config=config)
    ]
    assert {2, 3} <= set(decoder.decoded), "no seed reached the head or the legs: the test would prove nothing"
    assert found == [4]
    relaxed = DiscoveryConfig(max_objects=5, part_max_overhang=-1.0)
    kept = {
        int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0, config=relaxed)
    }
    assert {2, 3, 4} <= kept


def test_ground_in_front_of_a_still_subject_is_a_part_and_a_board_under_it_an_object():
    """A wide subject (an animal, long axis horizontal) standing still: a patch of grass in front of it (unlike the
    background beyond), within its height, continues its silhouette: the rule claims it, as it claims the ground
    patches before a slow rhino on DAVIS (kept without the rule). A board under it touches its long side: an
    object."""
    labels = np.zeros((H, W), int)
    labels[40:70, 30:100] = SUBJECT
    labels[45:66, 101:120] = 2  # the patch in front, 1 px off
    labels[71:80, 20:110] = 3  # the board, wider than the subject
    rng = np.random.default_rng(7)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    frame[labels == SUBJECT], frame[labels == 3] = (90, 70, 60), (220, 200, 40)
    frame[labels == 2] = np.clip(frame[labels == 2].astype(int) + (-60, 50, -60), 0, 255)  # a patch of grass
    state = SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0))
    decoder = LeakyDecoder(labels)
    found = [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, labels == 1, 0)]
    assert 2 in decoder.decoded, "no seed reached the patch: the test would prove nothing"
    assert found == [3]
    relaxed = DiscoveryConfig(part_max_overhang=-1.0)
    assert 2 in [
        int(np.bincount(labels[p.mask]).argmax())
        for p in discover_objects(decoder, state, labels == 1, 0, config=relaxed)
    ]


def _lawn_scene(
    patch_colour: tuple[int, int, int] | None, touching: bool = False
) -> tuple[LeakyDecoder, SegmenterState, np.ndarray]:
    """A still subject standing on a lawn (a green texture around its feet, unlike the grey wall beyond) and a
    patch of that lawn 7 px from the subject (``touching``: 2 px from its foot, beside it): lawn itself, or an
    object of ``patch_colour`` there."""
    rng = np.random.default_rng(8)
    frame = rng.integers(100, 150, (H, W, 3)).astype(np.uint8)
    lawn = np.zeros((H, W), bool)
    lawn[72:102, 62:116] = True
    frame[lawn] = np.clip(rng.normal((60, 150, 50), 20, (int(lawn.sum()), 3)), 0, 255).astype(np.uint8)
    labels = np.zeros((H, W), int)
    labels[30:75, 70:90] = SUBJECT
    if touching:
        labels[76:90, 91:105] = 2
    else:
        labels[80:92, 93:107] = 2  # the patch, 7 px below-right of the subject's feet
    frame[labels == SUBJECT] = (200, 30, 30)
    if patch_colour is not None:
        frame[labels == 2] = patch_colour
    return LeakyDecoder(labels), SegmenterState(video=Video.from_frames(np.stack([frame, frame]), fps=10.0)), labels


def test_a_patch_coloured_like_its_surroundings_is_not_an_object_and_an_object_there_is():
    """Apart from the subject, a patch of the lawn it stands on has its surroundings' colours (but not those of
    the wall beyond, which the far-background rule reads): background; kept without the rule. A yellow object in
    the same place stands out from its surroundings: kept."""
    decoder, state, labels = _lawn_scene(None)
    subject = labels == SUBJECT
    assert discover_objects(decoder, state, subject, 0) == []
    assert 2 in decoder.decoded, "no seed reached the patch: the test would prove nothing"
    relaxed = DiscoveryConfig(surround_colour_likeness=1.1)
    assert [
        int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0, config=relaxed)
    ] == [2]
    decoder, state, labels = _lawn_scene((220, 200, 40))
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0)] == [2]


def test_a_patch_of_the_ground_touching_the_subject_is_not_an_object_and_an_object_there_is():
    """The same lawn patch, touching the subject's foot beside it (it does not continue the subject's silhouette,
    nor move with it, nor has its colours): still background by its surroundings' colours (the ground patches at a
    dog's feet or beside a player's hand on the shipped examples); kept without the rule. A yellow object there is
    kept."""
    decoder, state, labels = _lawn_scene(None, touching=True)
    subject = labels == SUBJECT
    assert discover_objects(decoder, state, subject, 0) == []
    assert 2 in decoder.decoded, "no seed reached the patch: the test would prove nothing"
    relaxed = DiscoveryConfig(surround_colour_likeness=1.1)
    kept = discover_objects(decoder, state, subject, 0, config=relaxed)
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in kept] == [2] and kept[0].contact > 0.5
    decoder, state, labels = _lawn_scene((220, 200, 40), touching=True)
    assert [int(np.bincount(labels[p.mask]).argmax()) for p in discover_objects(decoder, state, subject, 0)] == [2]


def _passing_scene(subject_dx: int) -> tuple[SegmenterState, np.ndarray]:
    """21 frames at 10 fps over a still, textured background: a red textured subject moving ``subject_dx`` px
    right per frame, a still blue box above its path (8 px above it on frame 10) and a still green box ahead
    of it in its path (10 px right of it on frame 10). Returns (state, labels of frame 10)."""
    rng = np.random.default_rng(5)
    background = rng.integers(90, 160, (H, W, 3)).astype(np.uint8)
    texture = rng.integers(-25, 25, (H, W, 3))
    frames, labels_at = [], {}
    for t in range(21):
        labels = np.zeros((H, W), int)
        x0 = 40 + subject_dx * (t - 10)
        labels[50:90, x0 : x0 + 30] = SUBJECT
        labels[30:42, 48:64] = 2  # above the path
        labels[55:85, 80:92] = 3  # in the path
        frame = background.copy()
        for label, colour in ((SUBJECT, (200, 40, 40)), (2, (40, 50, 200)), (3, (40, 190, 60))):
            ys, xs = np.nonzero(labels == label)
            # texture that moves with the region, so the flow inside it follows it
            frame[ys, xs] = np.clip(np.array(colour) + texture[ys, xs - (x0 - 40 if label == SUBJECT else 0)], 0, 255)
        frames.append(frame)
        labels_at[t] = labels
    return SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0)), labels_at[10]


def test_an_object_the_subject_only_moves_past_is_not_proposed_and_one_it_comes_to_is():
    """Over a second around the keyframe the subject slides under the blue box, never closer than on the
    keyframe: it passes it by (a banner behind a running dog). It walks into the green box: that one is kept.
    Without the temporal test both are; a still subject gives no evidence, so both stay."""

    def found(subject_dx: int, config: DiscoveryConfig) -> list[int]:
        state, labels = _passing_scene(subject_dx)
        decoder = LeakyDecoder(labels)
        proposals = discover_objects(decoder, state, labels == SUBJECT, 10, config=config)
        assert {2, 3} <= set(decoder.decoded), "no seed reached a box: the test would prove nothing"
        return sorted(int(np.bincount(labels[p.mask]).argmax()) for p in proposals)

    assert found(3, CONFIG) == [3]
    assert found(3, DiscoveryConfig(subject_cut=False, pass_window_s=0.0)) == [2, 3]
    assert found(0, CONFIG) == [2, 3]


def _panning_scene(pan: int) -> tuple[SegmenterState, np.ndarray]:
    """3 frames at 10 fps of a camera panning ``pan`` px/frame over a textured wall: a red subject moving with the
    camera (it stays in place in the frame), a blue patch painted on the wall (still in the world: it moves with
    the wall) and a green box sliding down the wall on its own, both apart from the subject. Returns (state,
    labels of frame 1)."""
    rng = np.random.default_rng(7)
    wall = cv2.GaussianBlur(rng.integers(40, 220, (H, W + 3 * pan + 2, 3)).astype(np.uint8), (5, 5), 0)
    texture = cv2.GaussianBlur(rng.integers(40, 220, (H + 10, W, 3)).astype(np.uint8), (5, 5), 0)
    frames, labels_at = [], {}
    for t in range(3):
        view = wall[:, pan * t : pan * t + W].copy()  # the camera moves right: the wall moves left in the frame
        labels = np.zeros((H, W), int)
        labels[40:80, 60:85] = SUBJECT
        labels[45:60, 100 - pan * t : 118 - pan * t] = 2  # painted on the wall
        labels[52 + 3 * t : 70 + 3 * t, 40:54] = 3  # slides down by itself (the camera follows the subject)
        for label, colour, dy in ((SUBJECT, (200, 40, 40), 0), (2, (40, 50, 200), None), (3, (40, 190, 60), 3 * t)):
            ys, xs = np.nonzero(labels == label)
            # textured, so the flow reads each region's motion: the patch has the wall's, the others their own
            seen = view[ys, xs] if dy is None else texture[ys - dy + 5, xs]
            view[ys, xs] = np.clip(0.5 * seen + 0.5 * np.array(colour), 0, 255)
        frames.append(view)
        labels_at[t] = labels
    return SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0)), labels_at[1]


@pytest.mark.parametrize("pan, kept", [(5, [3]), (0, [2, 3])])
def test_a_patch_still_in_the_world_of_a_moving_shot_is_not_an_object(pan, kept):
    """The camera pans with the subject: the patch painted on the wall moves as the wall does (background, like
    a road marking the subject rides toward), the box sliding down the wall moves on its own (kept). Without the
    rule both are kept; with a still camera motion tells nothing, so both are kept too."""
    state, labels = _panning_scene(pan)
    config = DiscoveryConfig(subject_cut=False, pass_window_s=0.0)  # this rule alone

    def found(config: DiscoveryConfig) -> list[int]:
        decoder = LeakyDecoder(labels)
        proposals = discover_objects(decoder, state, labels == SUBJECT, 1, config=config)
        assert {2, 3} <= set(decoder.decoded), "no seed reached a box: the test would prove nothing"
        return sorted(int(np.bincount(labels[p.mask]).argmax()) for p in proposals)

    assert found(config) == kept
    assert found(DiscoveryConfig(subject_cut=False, pass_window_s=0.0, still_motion_frac=0.0)) == [2, 3]


def _parallax_scene(near_pan: int) -> tuple[SegmenterState, np.ndarray]:
    """3 frames at 10 fps of a camera panning over a far textured wall (3 px/frame in the frame) and, beside the
    subject, a near fence seen through a window of the frame that moves ``near_pan`` px/frame (parallax: nearer,
    faster): a red subject moving with the camera, a blue patch painted on the fence (still in the world: it moves
    as the fence does) and a green box sliding right in front of the far wall on its own, both apart from the
    subject. Returns (state, labels of frame 1)."""
    rng = np.random.default_rng(11)
    wall = cv2.GaussianBlur(rng.integers(40, 220, (H, W + 6, 3)).astype(np.uint8), (5, 5), 0)
    fence = cv2.GaussianBlur(rng.integers(40, 220, (60, 64 + 2 * near_pan, 3)).astype(np.uint8), (5, 5), 0)
    # coarse blobs: the flow follows the box only with texture coarser than the wall's
    texture = cv2.normalize(
        cv2.GaussianBlur(rng.integers(0, 255, (H, W, 3)).astype(np.uint8), (9, 9), 0), None, 0, 255, cv2.NORM_MINMAX
    )
    frames, labels_at = [], {}
    for t in range(3):
        view = wall[:, 3 * t : 3 * t + W].copy()  # the camera moves right: the wall moves left in the frame
        view[20:80, 66:130] = fence[:, near_pan * t : near_pan * t + 64]
        labels = np.zeros((H, W), int)
        labels[40:80, 40:65] = SUBJECT
        labels[42:58, 80 + near_pan * (1 - t) : 96 + near_pan * (1 - t)] = 2  # painted on the fence
        labels[86:112, 16 + 3 * t : 42 + 3 * t] = 3  # slides right by itself (the camera follows the subject)
        for label, colour, dx in ((SUBJECT, (200, 40, 40), 0), (2, (40, 50, 200), None), (3, (40, 190, 60), 3 * t)):
            ys, xs = np.nonzero(labels == label)
            seen = view[ys, xs] if dx is None else texture[ys, xs - dx]
            view[ys, xs] = np.clip(0.5 * seen + 0.5 * np.array(colour), 0, 255)
        frames.append(view)
        labels_at[t] = labels
    return SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0)), labels_at[1]


@pytest.mark.parametrize("local, kept", [(True, [3]), (False, [2, 3])])
def test_a_patch_still_on_a_near_surface_of_a_moving_shot_is_not_an_object(local, kept, monkeypatch):
    """The near fence moves faster than the far wall (parallax), so the far background's motion model does not
    explain the patch painted on it; the motion model of the patch's own surroundings does: background. The box
    sliding right moves unlike its surroundings: kept. Without the local model (the far background's alone) the
    patch is kept too."""
    state, labels = _parallax_scene(5)
    decoder = LeakyDecoder(labels)
    if not local:
        monkeypatch.setattr(evidence, "surroundings", lambda mask, explained, margin_px: np.zeros_like(mask))
    config = DiscoveryConfig(subject_cut=False, pass_window_s=0.0)  # this rule alone
    proposals = discover_objects(decoder, state, labels == SUBJECT, 1, config=config)
    assert {2, 3} <= set(decoder.decoded), "no seed reached a box: the test would prove nothing"
    assert sorted(int(np.bincount(labels[p.mask]).argmax()) for p in proposals) == kept


def _evidence(**measured) -> evidence.Evidence:
    """The evidence of a candidate touching the subject in a panning shot, with ``measured`` replacing values."""
    values = dict(
        touching=True,
        bridged=False,
        own_motion_px=0.9,
        lag_px=1.2,
        ring_motion_px=0.5,
        subject_motion_px=1.4,
        camera_motion_px=3.7,
        still_px=0.76,
        local_still_px=0.76,
        subject_still_px=3.8,
        subject_likeness=0.1,
        background_likeness=0.2,
        surround_likeness=0.3,
        thickness_px=12.0,
        overhang=1.0,
    )
    return evidence.Evidence(**{**values, **measured})


@pytest.mark.parametrize(
    "measured, passed",
    [
        ({}, True),  # the cyclist's rail strip: the rider moves 1.4 px/frame against the median, 3.8 against the model
        ({"subject_still_px": 1.0}, False),  # the subject still in the world too: no evidence
        ({"still_px": 2.0, "local_still_px": 1.5}, False),  # the candidate moves in the world
        ({"camera_motion_px": 0.5, "still_px": None, "local_still_px": None, "subject_still_px": None}, False),
        ({"subject_motion_px": 3.4, "subject_still_px": None}, True),  # bmx-trees' graffiti (median alone tells)
    ],
)
def test_a_still_candidate_touching_a_subject_that_moves_in_the_world_is_a_passed_surface(measured, passed):
    """In a moving shot a candidate still in the world that touches a subject moving in the world is a surface
    the subject passes (a guard rail beside a cyclist filmed from a car), whether the subject's motion shows
    against the background's median flow or only against its motion model (the camera follows the subject while
    moving toward the scene: the median mixes pan and zoom). Co-motion 0.36: above the co-motion limit."""
    config = DiscoveryConfig()
    assert evidence.is_passed_surface(_evidence(**measured), contact=0.8, comotion=0.36, config=config) is passed
    assert not evidence.is_passed_surface(_evidence(**measured), contact=0.2, comotion=0.36, config=config)


def _smeared_scene(panel_moves: bool) -> tuple[SegmenterState, np.ndarray]:
    """3 frames at 10 fps of a still shot: a red subject and, apart from it, a textured blue panel that stays put
    (or moves 3 px right a frame). The flow the discovery reads moves the panel 3 px/frame either way and nothing
    else, as DIS smooths a fast mover's flow onto a still thing beside it. Returns (state, labels of frame 1)."""
    rng = np.random.default_rng(13)
    background = np.full((H, W, 3), 128, np.uint8)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (H, W, 3)).astype(np.uint8), (3, 3), 0)
    frames, labels_at = [], {}
    for t in range(3):
        dx = 3 * t if panel_moves else 0
        labels = np.zeros((H, W), int)
        labels[40:80, 30:55] = SUBJECT
        labels[30:60, 63 + dx : 93 + dx] = 2
        frame = background.copy()
        frame[labels == SUBJECT] = (200, 40, 40)
        ys, xs = np.nonzero(labels == 2)
        frame[ys, xs] = np.clip(0.5 * texture[ys, xs - dx] + 0.5 * np.array([40, 50, 200]), 0, 255)
        frames.append(frame)
        labels_at[t] = labels
    state = SegmenterState(video=Video.from_frames(np.stack(frames), fps=10.0))
    flow = np.zeros((H, W, 2), np.float32)
    flow[labels_at[1] == 2, 0] = 3.0
    state.flows.get = lambda frame_from, frame_to: flow if frame_to > frame_from else -flow
    return state, labels_at[1]


@pytest.mark.parametrize("panel_moves, kept", [(False, []), (True, [2])])
def test_motion_the_pixels_do_not_show_does_not_make_an_object(panel_moves, kept):
    """The decoder is unsure of the panel (0.1, under ``min_objectness``): only motion unlike its surroundings
    would make it an object. The flow says it moves; when its pixels show it still (they match the next frame
    unmoved, not moved by the flow), that motion is not its own and it is not proposed. A panel that does move
    is."""
    state, labels = _smeared_scene(panel_moves)
    decoder = LeakyDecoder(labels, scores={2: 0.1})
    config = DiscoveryConfig(subject_cut=False, pass_window_s=0.0)
    proposals = discover_objects(decoder, state, labels == SUBJECT, 1, config=config)
    assert 2 in decoder.decoded, "no seed reached the panel: the test would prove nothing"
    assert sorted(int(np.bincount(labels[p.mask]).argmax()) for p in proposals) == kept
