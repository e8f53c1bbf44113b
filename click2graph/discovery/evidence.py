"""What else a discovery candidate can be: a part of the subject, a piece of background, or a contour sliver.

Each test takes measurements of one candidate (see :func:`measure`) and the :class:`DiscoveryConfig` knobs it
names; :mod:`.training_free` rejects a candidate any test claims.

* **Part of the subject**: it touches the subject and either moves with it (the subject moves unlike the
  background and so does the candidate: one moving body, often a part the subject's mask missed, until it
  separates) or has the subject's colours (the subject's colour model explains it); or, touching or not, it moves
  rigidly with a moving subject (the same flow: a leg the mask missed beyond a gap, a carried object that has not
  separated yet).
* **Background**: its colours are those of the background away from the subject and it does not move unlike
  its immediate surroundings.
* **Sliver**: thinner than the segmentation's own uncertainty along an edge (a size relative to the frame), so a
  thin real object (a pole, a racket handle, a bike frame) is kept while a contour halo is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from click2graph.cv.colour import bhattacharyya, colour_histogram
from click2graph.discovery.base import DiscoveryConfig

COLOUR_BINS = 8  # Lab bins per channel of the codes :func:`measure` reads (click2graph.cv.colour.lab_codes)


@dataclass(frozen=True)
class Evidence:
    """Measurements of one candidate against its frame.

    Attributes:
        touching: some candidate pixel lies within ``contact_radius_px`` of the subject.
        own_motion_px: |candidate flow - background flow| (None without flow).
        lag_px: |candidate flow - subject flow| (None without flow).
        ring_motion_px: |candidate flow - flow of the ring around it| (None without flow).
        subject_motion_px: |subject flow - background flow| (None without flow).
        subject_likeness: Bhattacharyya coefficient of the candidate's and the subject's Lab histograms.
        background_likeness: ...of the candidate's and the far background's (outside the subject's search band).
        thickness_px: width of its widest part (twice the largest inscribed radius, less one: 1 for a line 1 or 2
            px wide).
    """

    touching: bool
    own_motion_px: float | None
    lag_px: float | None
    ring_motion_px: float | None
    subject_motion_px: float | None
    subject_likeness: float
    background_likeness: float
    thickness_px: float


def measure(
    codes: np.ndarray,
    mask: np.ndarray,
    subject: np.ndarray,
    far_background: np.ndarray,
    gap_px: float,
    own_flow: np.ndarray | None,
    subject_flow: np.ndarray | None,
    background_flow: np.ndarray | None,
    ring_motion_px: float | None,
    config: DiscoveryConfig,
) -> Evidence:
    """The :class:`Evidence` of ``mask``.

    Args:
        codes: int (H, W) Lab colour codes of the frame (:func:`~click2graph.cv.colour.lab_codes`, ``COLOUR_BINS``).
        mask, subject, far_background: bool (H, W).
        gap_px: distance from the candidate to the subject.
        own_flow, subject_flow, background_flow: (2,) median flows or None.
        ring_motion_px: see :class:`Evidence`.
    """
    candidate = colour_histogram(codes[mask], COLOUR_BINS)
    own = lag = subject_motion = None
    if own_flow is not None and subject_flow is not None and background_flow is not None:
        own = float(np.linalg.norm(own_flow - background_flow))
        lag = float(np.linalg.norm(own_flow - subject_flow))
        subject_motion = float(np.linalg.norm(subject_flow - background_flow))
    inside = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)
    return Evidence(
        touching=gap_px <= config.contact_radius_px,
        own_motion_px=own,
        lag_px=lag,
        ring_motion_px=ring_motion_px,
        subject_motion_px=subject_motion,
        subject_likeness=bhattacharyya(candidate, colour_histogram(codes[subject], COLOUR_BINS)),
        background_likeness=bhattacharyya(candidate, colour_histogram(codes[far_background], COLOUR_BINS))
        if far_background.any()
        else 0.0,
        thickness_px=2.0 * float(inside.max()) - 1.0,
    )


def is_part_of_subject(e: Evidence, config: DiscoveryConfig) -> bool:
    """Touching and moving with a moving subject or coloured like it, or moving rigidly with a moving subject
    (within ``config.rigid_lag_frac`` of its motion; see the module docstring)."""
    subject_moves = e.subject_motion_px is not None and e.subject_motion_px >= config.surface_motion_px
    if subject_moves and e.lag_px <= config.rigid_lag_frac * e.subject_motion_px:
        return True
    if not e.touching:
        return False
    moving = subject_moves and e.own_motion_px >= config.surface_motion_px
    return moving or e.subject_likeness >= config.part_colour_likeness


def is_background(e: Evidence, config: DiscoveryConfig) -> bool:
    """Coloured like the far background and moving like its surroundings (see the module docstring)."""
    still = e.ring_motion_px is None or e.ring_motion_px < config.surface_motion_px
    return still and e.background_likeness >= config.background_colour_likeness


def is_sliver(e: Evidence, frame_hw: tuple[int, int], config: DiscoveryConfig) -> bool:
    """Thinner than ``config.min_thickness_frac`` of the frame's longer side (at least 2 px)."""
    return e.thickness_px < max(2.0, config.min_thickness_frac * max(frame_hw))
