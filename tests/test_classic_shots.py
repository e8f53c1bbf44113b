"""The classic tracker at a shot cut: the object is lost, not carried onto whatever the new shot holds there."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.masks import mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic import ClassicSegmenter
from click2graph.video import Video

H, W, SIDE = 96, 128, 24
CUT, N = 6, 14
RED = np.array([210, 40, 40])


def _square(x: int, y: int, side: int = SIDE) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y : y + side, x : x + side] = True
    return mask


def _paint(frame: np.ndarray, region: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> None:
    """Mottled ``colour`` over ``region`` (optical flow cannot see a flat patch move)."""
    mottle = rng.integers(-30, 30, size=(int(region.sum()), 1))
    frame[region] = np.clip(colour + mottle, 0, 255)


def _cut_clip(second_shot) -> tuple[Video, list[np.ndarray]]:
    """A red square moving right over a grey panning background; at frame ``CUT`` a cut to a green scene drawn by
    ``second_shot(frame, t, rng)``, which returns the subject's mask there (empty when it is not in the shot).
    Returns the video and the subject's mask on every frame."""
    rng = np.random.default_rng(0)
    grey = rng.integers(70, 140, size=(H, W + N, 1)).repeat(3, axis=2).astype(np.uint8)
    green = (rng.integers(0, 40, size=(H, W + N, 3)) + np.array([40, 150, 70])).astype(np.uint8)
    frames, truth = [], []
    for t in range(N):
        if t < CUT:
            frame = np.ascontiguousarray(grey[:, t : t + W])
            subject = _square(20 + 3 * t, 30)
            _paint(frame, subject, RED, rng)
        else:
            frame = np.ascontiguousarray(green[:, t : t + W])
            subject = second_shot(frame, t, rng)
        frames.append(frame)
        truth.append(subject)
    return Video.from_frames(np.stack(frames), fps=10.0), truth


def _track(video: Video, truth: list[np.ndarray], *, reverse: bool = False) -> list[np.ndarray]:
    """The subject's mask on every frame, clicked at its centre on the first (``reverse``: last) frame."""
    t0 = N - 1 if reverse else 0
    ys, xs = np.nonzero(truth[t0])
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(video)
    segmenter.add_prompt(state, 1, FramePrompt.from_points(t0, [[xs.mean(), ys.mean()]]))
    for _ in segmenter.propagate(state, reverse=reverse):
        pass
    return [state.mask(1, t) for t in range(N)]


def _look_alike(frame: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """The new shot holds a red patch three times the subject's size where the subject was; the subject is gone."""
    _paint(frame, _square(30, 20, 42), RED, rng)
    return np.zeros((H, W), bool)


def test_after_a_cut_the_subject_is_lost_not_carried_onto_a_look_alike():
    video, truth = _cut_clip(_look_alike)
    masks = _track(video, truth)
    assert mask_iou(masks[CUT - 1], truth[CUT - 1]) > 0.7  # held up to the cut
    assert all(m.sum() == 0 for m in masks[CUT:])


def _subject_elsewhere(frame: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """The new shot shows the subject again, far from where it was, moving left."""
    subject = _square(96 - 3 * (t - CUT), 60)
    _paint(frame, subject, RED, rng)
    return subject


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "backward"])
def test_after_a_cut_the_subject_is_found_again_by_its_colours(reverse):
    """Either way across the cut, the first frame of the other shot already has the subject, wherever it is."""
    video, truth = _cut_clip(_subject_elsewhere)
    masks = _track(video, truth, reverse=reverse)
    across = range(CUT, N) if not reverse else range(CUT)
    assert min(mask_iou(masks[t], truth[t]) for t in across) > 0.7


def _two_colour_clip() -> tuple[Video, list[np.ndarray]]:
    """A red-and-blue square; after the cut the new shot holds a red square of its size elsewhere (only half its
    colours), and the subject is gone."""
    blue = np.array([40, 60, 210])

    def red_only(frame: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        _paint(frame, _square(80, 50), RED, rng)
        return np.zeros((H, W), bool)

    video, truth = _cut_clip(red_only)
    rng = np.random.default_rng(1)
    for t in range(CUT):  # the subject's lower half blue
        lower = truth[t] & (np.arange(H)[:, None] >= truth[t].nonzero()[0].mean())
        _paint(video.frames[t], lower, blue, rng)
    return video, truth


def test_after_a_cut_a_piece_with_only_some_of_the_subjects_colours_is_not_taken(monkeypatch):
    """The whole-frame search finds the red square (its colours are rare in the new scene and its size plausible);
    what rejects it is that it lacks the subject's blue."""
    from click2graph.segment import classic_shots

    video, truth = _two_colour_clip()
    masks = _track(video, truth)
    assert mask_iou(masks[CUT - 1], truth[CUT - 1]) > 0.7
    assert all(m.sum() == 0 for m in masks[CUT:])
    monkeypatch.setattr(classic_shots, "MIN_MATCH", 0.0)
    red = _square(80, 50)
    assert mask_iou(_track(video, truth)[CUT], red) > 0.5
