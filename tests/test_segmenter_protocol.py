"""One protocol suite for every VideoSegmenter backend: shapes, ids, directions and bookkeeping.

Quality is measured elsewhere (benchmarks, the DAVIS tests); this checks the contract every caller relies on.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import label_centre
from oracle import OracleSegmenter

from click2graph import synth
from click2graph.masks import mask_iou, rle_encode
from click2graph.prompts import FramePrompt
from click2graph.segment import VideoSegmenter, track_both_directions
from click2graph.segment.base import joined_tracks
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import Video

CLIP = synth.render_clip("ball_touch")
FRAMES = CLIP.frames[:12]
LABELS = CLIP.labels[:12].astype(np.int32)


def subject_point(t: int) -> tuple[float, float]:
    return label_centre(LABELS[t], 1)


def ball_point(t: int) -> tuple[float, float]:
    return label_centre(LABELS[t], 2)


@pytest.fixture(params=["classic", "oracle", "sam2", "sam2_stride3"])
def backend(request) -> VideoSegmenter:
    if request.param.startswith("sam2"):
        return sam2_random_weights(stride=3 if request.param == "sam2_stride3" else 1)
    return ClassicSegmenter() if request.param == "classic" else OracleSegmenter(LABELS)


def sam2_random_weights(stride: int) -> VideoSegmenter:
    """SAM 2.1 tiny at 256 px with random weights (seed 0 gives non-empty masks on these clicks), on every
    ``stride``-th frame."""
    pytest.importorskip("torch")
    pytest.importorskip("sam2.sam2_video_predictor", reason="sam2 (pip install sam2==1.1.0) is not installed")
    from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter

    return Sam2Segmenter.from_random_weights(Sam2Config(image_size=256, device="cpu", stride=stride), seed=0)


@pytest.fixture()
def video() -> Video:
    return Video.from_frames(FRAMES, fps=CLIP.fps)


def test_is_a_video_segmenter(backend):
    assert isinstance(backend, VideoSegmenter)
    assert backend.describe()


def test_prompt_returns_the_mask_at_once_and_stores_it(backend, video):
    state = backend.init_state(video)
    mask = backend.add_prompt(state, 7, FramePrompt.from_points(5, [subject_point(5)]))
    assert mask.dtype == bool and mask.shape == (video.height, video.width) and mask.any()
    assert state.obj_ids == [7]
    np.testing.assert_array_equal(state.mask(7, 5), mask)
    assert state.track(7).prompt_frames == [5]


def test_propagation_runs_from_the_prompt_frame_in_each_direction(backend, video):
    state = backend.init_state(video)
    backend.add_prompt(state, 1, FramePrompt.from_points(5, [subject_point(5)]))
    backend.add_prompt(state, 2, FramePrompt.from_points(8, [ball_point(8)]))
    forward = list(backend.propagate(state))
    assert [t for t, _, _ in forward] == list(range(5, 12))
    for t, ids, masks in forward:
        assert ids == ([1] if t < 8 else [1, 2])
        assert masks.dtype == bool and masks.shape == (len(ids), video.height, video.width)
    backward = list(backend.propagate(state, obj_ids=[2], reverse=True))
    assert [t for t, _, _ in backward] == list(range(8, -1, -1))
    assert all(ids == [2] for _, ids, _ in backward)
    assert sorted(state.track(2).masks) == list(range(12))
    assert sorted(state.track(1).masks) == list(range(5, 12))  # object 1 was not tracked backward


def test_add_mask_remove_object_and_candidates(backend, video):
    state = backend.init_state(video)
    ball = LABELS[3] == 2
    kept = backend.add_mask(state, 4, 3, ball)
    assert kept.shape == ball.shape and state.track(4).prompt_frames == [3]
    backend.remove_object(state, 4)
    assert state.obj_ids == []
    points = np.array([ball_point(3), subject_point(3)], np.float32)
    candidates = backend.decode_candidates(state, 3, points, avoid=LABELS[3] == 1)
    assert candidates.masks.shape == (2, video.height, video.width) and candidates.masks.dtype == bool
    assert candidates.scores.shape == (2,)
    assert state.obj_ids == []  # decoding adds no object
    assert not (candidates.masks[1] & (LABELS[3] == 1)).any()  # avoided pixels stay out


def test_tracking_again_follows_a_correction(backend, video):
    """A correction on a tracked frame (here the ball's mask given to the tracked subject on frame 4, as discovery
    gives a split subject its new mask) is kept there, and tracking again changes the frames after it. A backend
    that reuses its earlier outputs when tracking again fails this (the SAM 2 backend did, from the second frame
    of every run on)."""
    state = backend.init_state(video)
    backend.add_prompt(state, 1, FramePrompt.from_points(0, [subject_point(0)]))
    list(backend.propagate(state))
    first = [state.mask(1, t) for t in range(len(FRAMES))]
    ball = LABELS[4] == 2
    kept = backend.add_mask(state, 1, 4, ball)
    list(backend.propagate(state))
    again = [state.mask(1, t) for t in range(len(FRAMES))]
    assert np.logical_and(again[4], ball).sum() >= 0.8 * np.logical_or(again[4], ball).sum()
    np.testing.assert_array_equal(again[4], kept)
    changed = [t for t in range(5, len(FRAMES)) if (again[t] != first[t]).mean() > 0.001]
    assert len(changed) >= 5, f"frames after the correction that changed: {changed}"


def test_an_object_prompted_on_two_frames_joins_its_two_tracks_where_they_last_agree(backend, video):
    """Prompts on frames 2 and 9 (a user correcting the track on frame 9): both directions track the frames between
    them; the forward track is kept up to the latest frame where the two agree, the backward one after it (each
    where it is not empty), and the prompted masks stay as given. Before, the backward track from frame 9 replaced
    the forward one on every frame between."""
    prompts = [FramePrompt.from_points(t, [subject_point(t)]) for t in (2, 9)]

    def prompted_state():
        state = backend.init_state(video)
        given = {p.frame_idx: backend.add_prompt(state, 1, p) for p in prompts}
        return state, given

    runs, alone = [], prompted_state()[0]  # the two passes as track_both_directions runs them, unjoined
    for reverse in (False, True):
        list(backend.propagate(alone, reverse=reverse))
        runs.append({t: alone.mask(1, t) for t in range(3, 9)})
    forward_alone, backward_alone = runs
    state, given = prompted_state()
    track_both_directions(backend, state, [1])
    assert sorted(state.track(1).masks) == list(range(len(FRAMES)))
    for t, mask in given.items():
        np.testing.assert_array_equal(state.mask(1, t), mask)

    def agreement(t):
        a, b = forward_alone[t], backward_alone[t]
        return 1.0 if not a.any() and not b.any() else mask_iou(a, b)

    agreed = [t for t in range(3, 9) if agreement(t) >= 0.5]
    handover = max(agreed) if agreed else 5  # the latest frame the tracks agree on, else half-way
    for t in range(3, 9):
        kept, other = (forward_alone[t], backward_alone[t]) if t <= handover else (backward_alone[t], forward_alone[t])
        expected = kept if kept.any() or not other.any() else other
        np.testing.assert_array_equal(state.mask(1, t), expected, err_msg=f"frame {t}, handover {handover}")


def test_two_tracks_hand_over_where_they_last_agree_and_an_empty_mask_gives_way_to_the_other():
    def rle(*columns: int) -> dict:
        mask = np.zeros((4, 8), bool)
        mask[:, list(columns)] = True
        return rle_encode(mask)

    # frames 1-6 between prompts on 0 and 7: the tracks agree (IoU >= 0.5) on frames 2 and 3, and not after
    forward = {1: rle(), 2: rle(0, 1), 3: rle(2, 3), 4: rle(4), 5: rle(5, 6), 6: rle(7)}
    backward = {1: rle(0), 2: rle(1), 3: rle(2, 3), 4: rle(), 5: rle(7), 6: rle(6)}
    kept = joined_tracks([7, 0], forward, backward)
    assert kept == {1: backward[1], 2: forward[2], 3: forward[3], 4: forward[4], 5: backward[5], 6: backward[6]}
    assert joined_tracks([0, 1], forward, backward) == {}  # adjacent prompts: nothing between
    # never agreeing (one track holds a part, or is lost): each keeps the half nearer its prompt
    part, whole = {t: rle(0) for t in range(1, 6)}, {t: rle(0, 1, 2) for t in range(1, 6)}
    assert joined_tracks([0, 6], whole, part) == {1: whole[1], 2: whole[2], 3: whole[3], 4: part[4], 5: part[5]}
