"""The box cut's GrabCut with a texture feature (``segment/classic_box.py``) on generated frames."""

from __future__ import annotations

import numpy as np

from click2graph.masks import bbox_xyxy, mask_iou
from click2graph.prompts import FramePrompt
from click2graph.segment import classic_click
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.classic_box import texture_grabcut
from click2graph.segment.classic_click import _box_region
from click2graph.video import Video

H, W = 120, 160
WALL, GRASS, RED = (200, 200, 200), (40, 90, 40), (180, 60, 40)


def _scene(*, own_colour_part: bool) -> tuple[np.ndarray, np.ndarray]:
    """A light wall over dark grass, both flat, and an elliptic object in front of them whose coat is a fine
    check of the wall's and the grass's colours (a dog's fur among the poles and the grass: no colour of its own);
    with ``own_colour_part`` its left part is a red of its own. Mild pixel noise everywhere. Returns (frame uint8
    (H, W, 3), object bool (H, W))."""
    yy, xx = np.mgrid[:H, :W]
    frame = np.where((yy < H // 2)[..., None], WALL, GRASS).astype(np.int32)
    obj = ((xx - 80) / 40.5) ** 2 + ((yy - 65) / 30.5) ** 2 <= 1
    check = ((yy // 2 + xx // 2) % 2).astype(bool)
    frame[obj & check], frame[obj & ~check] = WALL, GRASS
    if own_colour_part:
        frame[obj & (xx < 70)] = RED
    frame += np.random.default_rng(0).integers(-6, 7, size=frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8), obj


def _box(obj: np.ndarray) -> np.ndarray:
    return np.asarray(bbox_xyxy(obj), float)


def test_texture_grabcut_separates_an_object_whose_colours_are_the_backgrounds():
    frame, obj = _scene(own_colour_part=False)
    box = _box_region(_box(obj), obj.shape)
    none = np.zeros_like(obj)
    assert mask_iou(texture_grabcut(frame, box, none, ~box, 5), obj) > 0.9


def test_a_box_around_an_object_coloured_like_its_surroundings_gets_it_whole():
    """Colour alone finds the object's red part (its box fit about half); with texture the whole object, which
    fills the box, and that cut is kept."""
    frame, obj = _scene(own_colour_part=True)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(frame[None], fps=10.0))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, np.zeros((0, 2)), [], _box(obj)))
    assert mask_iou(mask, obj) > 0.9


def test_the_texture_cut_is_kept_only_when_it_fills_the_box_better(monkeypatch):
    """A texture cut that holds a part of the object (a flamingo's body without its neck) leaves the colour cut."""
    frame, obj = _scene(own_colour_part=False)
    frame[obj] = RED  # colour alone now finds the whole object
    part = obj & (np.mgrid[:H, :W][1] < 80)
    monkeypatch.setattr(classic_click, "texture_grabcut", lambda *args: part)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(frame[None], fps=10.0))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, np.zeros((0, 2)), [], _box(obj)))
    assert mask_iou(mask, obj) > 0.9


def test_a_failed_colour_cut_is_redone_even_when_the_texture_cut_fits_the_box(monkeypatch):
    """The colour cut latched onto a speck: GrabCut is redone at working resolution although the texture cut, a
    large part of the object, fits the box above the retry threshold (a texture cut can latch onto a part too); the
    redone cut, the whole object, fits best and is kept."""
    frame, obj = _scene(own_colour_part=False)
    yy, xx = np.mgrid[:H, :W]
    speck = obj & (abs(xx - 80) < 3) & (abs(yy - 65) < 3)
    part = obj & (xx < 100)
    monkeypatch.setattr(classic_click, "_grabcut", lambda *args, **kwargs: speck)
    monkeypatch.setattr(classic_click, "texture_grabcut", lambda *args: part)
    monkeypatch.setattr(classic_click, "_box_cut_full_res", lambda *args: obj)
    segmenter = ClassicSegmenter()
    state = segmenter.init_state(Video.from_frames(frame[None], fps=10.0))
    mask = segmenter.add_prompt(state, 1, FramePrompt.from_points(0, np.zeros((0, 2)), [], _box(obj)))
    assert mask_iou(mask, obj) > 0.9
