"""The shot-cut detector (click2graph.cv.shots): fires once on a hard cut, never on pans, flashes or real footage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from click2graph.cv.shots import ShotConfig, frame_signature, shot_starts, signature_distance

H, W = 90, 160


def _panorama(seed: int, hue_range: tuple[int, int], width: int = 4 * W) -> np.ndarray:
    """A wide uint8 RGB scene: smooth blobs of hues in ``hue_range`` (OpenCV's 0-180 scale) with fine grain."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((H // 15 + 2, width // 15 + 2, 3)).astype(np.float32)
    field = cv2.resize(coarse, (width, H), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    hsv = np.empty((H, width, 3), np.uint8)
    hsv[..., 0] = hue_range[0] + field[..., 0] * (hue_range[1] - hue_range[0])
    hsv[..., 1] = 80 + field[..., 1] * 150
    hsv[..., 2] = np.clip(60 + field[..., 2] * 170 + rng.normal(0, 6, (H, width)), 0, 255)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _shot(scene: np.ndarray, n: int, step_px: int, start: int = 0) -> list[np.ndarray]:
    """``n`` frames of a camera panning across ``scene`` by ``step_px`` per frame."""
    return [np.ascontiguousarray(scene[:, start + t * step_px : start + t * step_px + W]) for t in range(n)]


def test_signature_distance_is_zero_for_the_same_frame_and_large_across_scenes():
    a = frame_signature(_panorama(0, (0, 30))[:, :W])
    b = frame_signature(_panorama(1, (90, 130))[:, :W])
    assert signature_distance(a, a) < 1e-6
    assert signature_distance(a, b) > 0.5


def test_a_hard_cut_between_two_scenes_fires_exactly_once():
    warm, cool = _panorama(0, (0, 30)), _panorama(1, (90, 130))
    frames = _shot(warm, 12, 4) + _shot(cool, 12, 4)
    assert shot_starts(np.stack(frames)) == [12]


def test_a_fast_pan_does_not_fire():
    """A whip across a scene whose colours change along it, a third of the frame per frame: consecutive frames
    differ by a cut's distance where the colours change, but so does the running level around them."""
    scene = np.concatenate([_panorama(0, (0, 30), 4 * W), _panorama(1, (90, 130), 4 * W)], axis=1)
    frames = _shot(scene, 20, W // 3)
    signatures = [frame_signature(f) for f in frames]
    steps = [signature_distance(a, b) for a, b in zip(signatures, signatures[1:])]
    assert max(steps) > ShotConfig().min_distance  # the absolute threshold alone would fire
    assert shot_starts(frames) == []


def test_a_flash_does_not_fire():
    frames = _shot(_panorama(0, (0, 30)), 16, 3)
    frames[8] = (0.3 * frames[8] + 0.7 * 255).astype(np.uint8)  # a camera flash: one near-white frame
    assert shot_starts(frames) == []


def test_short_clips_have_no_cut():
    frame = _panorama(0, (0, 30))[:, :W]
    assert shot_starts([]) == []
    assert shot_starts([frame]) == []
    assert shot_starts([frame, _panorama(1, (90, 130))[:, :W]]) == [1]


@pytest.fixture(scope="module")
def davis_frames(davis_root):
    """Every DAVIS sequence's frames at 160 px, as the working frames of a 10 fps clip (the app's sampling)."""
    from click2graph.video import VideoPolicy, load_video

    folders = sorted((davis_root / "JPEGImages" / "480p").iterdir())
    return {f.name: load_video(f, VideoPolicy(max_side=160)).frames for f in folders}


def test_no_cut_in_any_davis_sequence(davis_frames):
    assert {name: shot_starts(frames) for name, frames in davis_frames.items()} == {n: [] for n in davis_frames}


def test_concatenated_davis_sequences_cut_once_at_the_junction(davis_frames):
    names = sorted(davis_frames)
    for a, b in zip(names, names[1:] + names[:1]):
        first, second = davis_frames[a][-8:], davis_frames[b][:8]
        assert shot_starts(np.concatenate([first, second])) == [8], (a, b)


def test_a_jump_within_one_scene_cuts_when_the_view_changes(davis_frames):
    """Two parts of the same-looking scene: bmx-trees' first and last thirds (the rider passes different trees)."""
    frames = davis_frames["bmx-trees"]
    n = len(frames)
    assert shot_starts(np.concatenate([frames[: n // 3], frames[2 * n // 3 :]])) == [n // 3]
