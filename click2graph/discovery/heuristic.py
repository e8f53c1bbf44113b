"""The paper's Table 4 baseline: point prompts drawn from a whole-frame object heat map, not from the subject."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from click2graph.cv.colour import colour_rarity, lab_codes
from click2graph.discovery.base import DiscoveryConfig, Proposal
from click2graph.discovery.points import decode_points

_HEAT_BINS = 8  # Lab histogram bins per channel for the heat map's colour rarity


class HeuristicDiscovery:
    """A :class:`~click2graph.discovery.base.DiscoveryStrategy`: ``num_points`` points sampled from
    :func:`object_heat_map` off the subject (seeded per frame), decoded by the segmenter; honours ``max_objects``
    and ``min_area_vs_subject``."""

    def __init__(self, num_points: int = 3, seed: int = 0) -> None:
        self.num_points = num_points
        self.seed = seed

    def __call__(
        self,
        segmenter,
        state,
        subject_mask: np.ndarray,
        frame_idx: int,
        *,
        known_masks: Sequence[np.ndarray] = (),
        subject_points_xy: np.ndarray | None = None,
        config: DiscoveryConfig = DiscoveryConfig(),
    ) -> list[Proposal]:
        subject = np.asarray(subject_mask, bool)
        if not subject.any():
            return []
        heat = object_heat_map(state.video.frames[frame_idx])
        heat[subject] = 0.0
        flat = heat.ravel() / max(float(heat.sum()), 1e-12)
        rng = np.random.default_rng([self.seed, frame_idx])
        picks = rng.choice(flat.size, size=min(self.num_points, int((flat > 0).sum())), replace=False, p=flat)
        h, w = subject.shape
        points = np.stack([picks % w, picks // w], axis=1).astype(np.float32) + 0.5
        known = [np.asarray(m, bool) for m in known_masks]
        return decode_points(segmenter, state, frame_idx, points, heat.ravel()[picks], subject, known, config)


def object_heat_map(frame: np.ndarray) -> np.ndarray:
    """float32 (H, W) in [0, 1]: colour rarity over the whole frame (rare Lab colours are more likely objects than
    the floor or the wall), blurred so that peaks fall inside regions."""
    codes = lab_codes(cv2.cvtColor(frame, cv2.COLOR_RGB2LAB), _HEAT_BINS)
    rarity = colour_rarity(codes, codes, _HEAT_BINS, normalised=False)
    rarity = cv2.blur(rarity, (9, 9))
    return (rarity / max(float(rarity.max()), 1e-12)).astype(np.float32)
