"""A click on a small object is cut at working resolution (click2graph/segment/classic_small.py)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from click2graph.masks import mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment.classic_click import ClickConfig
from click2graph.segment.classic_small import small_object

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _mottled(h: int = 240, w: int = 320) -> np.ndarray:
    """A backdrop of smoothed noise around a mid grey (a wall or lawn, not a flat colour)."""
    noise = np.random.default_rng(0).normal(0, 18, (h, w, 3)).astype(np.float32)
    return np.clip(110 + cv2.GaussianBlur(noise, (0, 0), 1.5) * 2.0, 0, 255).astype(np.uint8)


def _disk(frame: np.ndarray, centre: tuple[int, int], diameter: int, colour) -> np.ndarray:
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.circle(mask, centre, diameter // 2, 1, -1)
    frame[mask.astype(bool)] = colour
    return mask.astype(bool)


@pytest.mark.parametrize("diameter", [6, 10, 16])
def test_a_click_on_a_small_disk_gives_the_disk(diameter):
    frame = _mottled()
    truth = _disk(frame, (150, 120), diameter, (245, 240, 230))
    mask = small_object(frame, FramePrompt.from_points(0, [[150, 120]]), ClickConfig())
    assert mask is not None and mask_iou(mask, truth) > 0.7


def test_a_click_on_a_large_object_or_on_a_flat_backdrop_is_left_to_the_click_path():
    frame = _mottled()
    frame[60:200, 80:260] = (200, 60, 40)  # a large block: its cut reaches the small window's sides
    assert small_object(frame, FramePrompt.from_points(0, [[170, 130]]), ClickConfig()) is None
    flat = np.full((240, 320, 3), 120, np.uint8)  # nothing to cut out: the cut fills the window or collapses
    assert small_object(flat, FramePrompt.from_points(0, [[160, 120]]), ClickConfig()) is None


def test_a_small_disk_on_a_long_bar_of_its_colour_is_left_to_the_click_path():
    """The disk's cut runs on along the bar to the small square's side: the bar is what the click path must see."""
    frame = _mottled()
    _disk(frame, (160, 120), 10, (245, 240, 230))
    frame[117:124, 160:300] = (245, 240, 230)
    assert small_object(frame, FramePrompt.from_points(0, [[160, 120]]), ClickConfig()) is None


def test_a_piece_of_a_large_subject_that_ends_inside_the_small_square_is_not_taken_for_a_small_object(davis_root):
    """breakdance-flare's frame 0, the dancer's deepest pixel: the small square's cut is a 610 px piece of her that
    ends inside it along image edges; only the larger square's different cut keeps the click path's."""
    from dataclasses import replace

    from click2graph.bench.discovery import click_point
    from click2graph.bench.tracking import load_davis

    video, gt = load_davis(davis_root, "breakdance-flare", max_frames=1)
    prompt = FramePrompt.from_points(0, [list(click_point(gt[0]))])
    assert small_object(video.frames[0], prompt, ClickConfig()) is None
    piece = small_object(video.frames[0], prompt, replace(ClickConfig(), small_stable=0.0))
    assert piece is not None and mask_iou(piece, gt[0]) < 0.1


@pytest.mark.parametrize("click", [(76, 56), (43, 56), (60, 45)])
def test_a_click_on_a_large_flat_coloured_object_is_left_to_the_click_path_even_near_its_corner(click):
    """A flat red block on flat green, clicked 3 px from its corner: the square's outside holds the block's red as
    background, so GrabCut keeps a corner piece that ends inside the square along the block's two edges and through
    flat red elsewhere, in both squares. Its outline is not on image edges all around: not a small object."""
    frame = np.full((90, 120, 3), (40, 140, 60), np.uint8)
    frame[30:60, 40:80] = (220, 30, 30)
    assert small_object(frame, FramePrompt.from_points(0, [list(click)]), ClickConfig()) is None


def test_a_box_is_left_to_the_click_path():
    frame = _mottled()
    _disk(frame, (150, 120), 10, (245, 240, 230))
    box = FramePrompt.from_points(0, [[150, 120]], box_xyxy=np.array([140, 110, 160, 130], np.float32))
    assert small_object(frame, box, ClickConfig()) is None


def test_a_click_on_the_ping_pong_ball_gives_the_ball_not_the_player_wall_and_table():
    """The pingpong example's ball on frame 0 (about 14 px across at 640x360): the classic backend's click gave the
    player, a block of wall and the table (62,000 px) before the small-object cut."""
    from click2graph.segment.classic import ClassicSegmenter
    from click2graph.video import VideoPolicy, load_video

    video = load_video(EXAMPLES / "pingpong.mp4", VideoPolicy())
    frame = video.frames[0]
    truth = np.zeros(frame.shape[:2], bool)
    truth[238:256, 398:418] = frame[238:256, 398:418].mean(axis=-1) > 160  # the white ball on the dark table
    segmenter = ClassicSegmenter()
    mask = segmenter.add_prompt(segmenter.init_state(video), 1, FramePrompt.from_points(0, [[407, 245]]))
    assert mask_iou(mask, truth) > 0.7
    assert mask.sum() < 2 * truth.sum()
