"""Tests of the region seeds of the training-free discovery on a generated frame."""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.discovery.base import DiscoveryConfig
from click2graph.discovery.training_free import _area_points, _BandColours, _region_points
from click2graph.masks import dilate

H, W = 120, 160


def _striped_scene():
    """A green textured wall (every Lab channel well inside one quantisation bin), a subject disc, a striped
    object (3 px stripes, 480 px) and a plain patch (100 px) beside it, both within the band and off its outer
    rim. Returns (frame, band, rim, object, patch)."""
    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal((100, 140, 100), 2, (H, W, 3)), 0, 255).astype(np.uint8)
    subject = np.zeros((H, W), np.uint8)
    cv2.circle(subject, (80, 60), 18, 1, -1)
    subject = subject.astype(bool)
    band = dilate(subject, 24) & ~dilate(subject, 3)
    rim = band & ~dilate(subject, 22)
    striped = np.zeros((H, W), bool)
    striped[48:72, 102:122] = True
    for row in range(48, 72):
        frame[row, 102:122] = (240, 240, 240) if (row // 3) % 2 else (170, 170, 170)
    patch = np.zeros((H, W), bool)
    patch[55:65, 48:58] = True
    frame[patch] = (30, 40, 160)
    return frame, band, rim, striped & band, patch & band


def _on(points, mask) -> list[bool]:
    return [bool(mask[int(y), int(x)]) for x, y in points]


def test_striped_object_gets_a_region_seed_beside_a_plain_patch():
    """Each stripe (60 px) is smaller than the plain patch, so the one colour-uniform seed goes to the patch; the
    striped object is one area off the wall's colours and gets its own seed (it got none before: the table of
    synth ball_on_table on 6 of 10 frames)."""
    frame, band, rim, striped, patch = _striped_scene()
    assert striped.sum() > patch.sum() > 60
    config = DiscoveryConfig(num_region_seeds=1)
    colours = _BandColours.read(frame, band, rim, config)
    points = _region_points(colours, [], 4.0, config)
    assert _on(points, patch) == [True] and _on(points, striped) == [False]
    points += _area_points(colours, points, 4.0, config)
    assert _on(points, patch) == [True, False] and _on(points, striped) == [False, True]


def test_the_wall_gets_no_region_seed():
    """The wall covers the rim: a surface, never seeded, even with seeds to spare."""
    frame, band, rim, striped, patch = _striped_scene()
    config = DiscoveryConfig(num_region_seeds=20)
    colours = _BandColours.read(frame, band, rim, config)
    points = _region_points(colours, [], 4.0, config)
    points += _area_points(colours, points, 4.0, config)
    assert points and all(s or p for s, p in zip(_on(points, striped), _on(points, patch)))
