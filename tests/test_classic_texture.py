"""The texture code and the texture-given-colour models of the classic tracker (generated images only)."""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.segment.classic_energy import BINS
from click2graph.segment.classic_texture import (
    ENERGY_EDGES,
    TEXTURES,
    TextureModel,
    joint_codes,
    texture_codes,
    texture_ratio,
)

_ISOTROPIC_TOP = 2 * len(ENERGY_EDGES) - 1  # code of the highest energy level, isotropic
_ORIENTED_TOP = 2 * len(ENERGY_EDGES)


def _energy_level(codes: np.ndarray) -> np.ndarray:
    return (codes + 1) // 2


def test_codes_tell_flat_stripes_and_noise_apart():
    """A flat patch is flat, vertical stripes are oriented, pixel noise is isotropic; each at the top energy level
    for a contrast of 80 grey levels."""
    rng = np.random.default_rng(0)
    grey = np.full((60, 180), 120, np.uint8)
    grey[:, 60:120] = np.where((np.arange(60) // 3) % 2, 80, 160)[None, :]
    grey[:, 120:] = rng.integers(0, 256, size=(60, 60))
    codes = texture_codes(grey)
    inner = np.s_[10:-10]
    assert codes.shape == grey.shape and codes.dtype == np.int32
    assert codes.min() >= 0 and codes.max() < TEXTURES
    assert (codes[inner, 5:55] == 0).all()
    assert np.mean(codes[inner, 65:115] == _ORIENTED_TOP) > 0.6
    assert np.mean(codes[inner, 125:175] == _ISOTROPIC_TOP) > 0.6  # measured 0.75 (a small window)


def test_codes_are_deterministic_local_and_scale_sane():
    """The same image gives the same codes; a change far away changes none nearby; a brightness offset changes
    nothing; a contrast 3x lower moves the energy one level down (the levels are a factor of 3 apart); and the
    same smooth texture at half size stays within one energy level."""
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.normal(0.0, 1.0, (200, 200)).astype(np.float32), (0, 0), 3.0)
    smooth *= 8.0 / smooth.std()  # ~2-6 grey levels a pixel of gradient: the middle energy levels
    grey = np.clip(128 + smooth, 0, 255).astype(np.uint8)
    codes = texture_codes(grey)
    assert np.array_equal(codes, texture_codes(grey.copy()))
    far = grey.copy()
    far[:, 150:] = 255 - far[:, 150:]
    assert np.array_equal(texture_codes(far)[:, :140], codes[:, :140])
    assert np.array_equal(texture_codes(grey + np.uint8(20)), codes)

    noise = rng.integers(0, 241, size=(100, 100)).astype(np.float32)
    strong = texture_codes(noise.astype(np.uint8))
    weak = texture_codes((noise / 3.0).astype(np.uint8))
    inner = np.s_[5:-5, 5:-5]
    assert np.mean(_energy_level(weak[inner]) == _energy_level(strong[inner]) - 1) > 0.9

    half = texture_codes(cv2.resize(grey, (100, 100), interpolation=cv2.INTER_AREA))
    full_at_half = _energy_level(codes)[1::2, 1::2]
    assert np.mean(np.abs(_energy_level(half) - full_at_half)[inner] <= 1) > 0.9


def test_texture_adds_nothing_where_it_tells_no_more_than_colour():
    """Object and background with different colours but the same texture given each colour: the texture term is
    ~0 (no evidence counted twice). With the same colours and different textures it separates them."""
    rng = np.random.default_rng(2)
    colour = rng.integers(0, BINS**3, size=4000)
    tex = rng.integers(0, TEXTURES, size=4000)
    fg_sel, bg_sel = colour % 3 == 0, colour % 3 != 0  # disjoint colours...
    same = (
        TextureModel.fit(joint_codes(colour[fg_sel], tex[fg_sel])),
        TextureModel.fit(joint_codes(colour[bg_sel], tex[bg_sel])),
    )
    codes = joint_codes(colour, tex)
    assert np.abs(texture_ratio(codes, *same, 6.0)).mean() < 0.5

    flat, rough = np.zeros_like(tex), np.full_like(tex, TEXTURES - 1)  # ...and the same colours, other textures
    fg, bg = TextureModel.fit(joint_codes(colour, rough)), TextureModel.fit(joint_codes(colour, flat))
    assert (texture_ratio(joint_codes(colour, rough), fg, bg, 6.0) < -2.0).all()  # object
    assert (texture_ratio(joint_codes(colour, flat), fg, bg, 6.0) > 2.0).all()  # background


def _track_last_iou(frames: np.ndarray, gt: list[np.ndarray], texture_weight: float) -> float:
    from dataclasses import replace

    from click2graph.masks import mask_iou
    from click2graph.segment.classic import ClassicConfig, ClassicSegmenter
    from click2graph.video import Video

    config = ClassicConfig()
    segmenter = ClassicSegmenter(replace(config, track=replace(config.track, texture_weight=texture_weight)))
    state = segmenter.init_state(Video.from_frames(frames, fps=10.0))
    segmenter.add_mask(state, 1, 0, gt[0])
    for _ in segmenter.propagate(state):
        pass
    return mask_iou(state.mask(1, len(gt) - 1), gt[-1])


def test_tracker_keeps_to_an_object_whose_colours_its_surroundings_share_but_not_its_texture():
    """A square of red and white pixels mixed at random moves down between two strips of the same red and white
    in bands 4 px wide, over grey: colour alone (the global histograms and the local windows alike) cannot tell
    the strips from the square, whose mask shrinks until it is lost (measured IoU 0.50 on frame 3, 0 from
    frame 4); their texture (flat bands against pixel noise) can (measured 0.76-0.92 on every frame)."""
    h, w, n, side, strip = 96, 128, 12, 24, 8
    rng = np.random.default_rng(0)
    grey = rng.integers(108, 148, size=(h, w, 1)).repeat(3, axis=2).astype(np.uint8)
    red, white = np.array([200, 30, 30], np.uint8), np.array([235, 235, 235], np.uint8)
    bands = np.where(((np.arange(h) // 4) % 2)[:, None, None] == 1, red, white)
    x0 = 52
    frames, gt = [], []
    for t in range(n):
        frame = grey.copy()
        frame[:, x0 - strip : x0] = bands
        frame[:, x0 + side : x0 + side + strip] = bands
        y0 = 10 + 3 * t
        frame[y0 : y0 + side, x0 : x0 + side] = np.where(rng.random((side, side, 1)) < 0.5, red, white)
        mask = np.zeros((h, w), bool)
        mask[y0 : y0 + side, x0 : x0 + side] = True
        frames.append(frame)
        gt.append(mask)
    frames = np.stack(frames)
    assert _track_last_iou(frames, gt, 1.0) > 0.65
    assert _track_last_iou(frames, gt, 0.0) < 0.3  # colour alone loses it
