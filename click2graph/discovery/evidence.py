"""What else a discovery candidate can be: a part of the subject, a piece of background, or a contour sliver.

Each test takes measurements of one candidate (see :func:`measure`) and the :class:`DiscoveryConfig` knobs it
names; :mod:`.training_free` rejects a candidate any test claims.

* **Part of the subject**: it touches the subject and either moves with it (the subject moves unlike the
  background and so does the candidate: one moving body, often a part the subject's mask missed, until it
  separates), has the subject's colours (the subject's colour model explains it) or continues its silhouette
  (it lies within the subject's extent across their contact: a head above a mask that holds only the shirt, legs
  below it, still or not; what the subject holds, rides or stands on sticks out beside that extent); or, touching
  or not, it moves rigidly with a moving subject (the same flow: a leg the mask missed beyond a gap, a carried
  object that has not separated yet). For the part tests a candidate also touches the subject across a narrow gap
  of the subject's own colours (a mask that stops short of a part it missed: a dog's white chest between its body
  and its head); the background tests read only true contact.
* **Background**: its colours are those of the background away from the subject and it does not move unlike
  its immediate surroundings; or, touching the subject or not, its colours are those of its immediate
  surroundings (an object stands out from what surrounds it; a patch of lawn, of a wall or of the ground at the
  subject's feet does not); or, apart from the subject in a moving shot, it moves as the background's motion model
  says, or as that of its own surroundings (still in the world: a patch of a wall or a road marking the subject
  rides toward, a banner nearer the camera than the far background (parallax); a still object there cannot be
  told from the background it lies on).
* **Passed surface**: it touches a subject that moves unlike the background and moves like the background itself
  (co-motion), or, in a moving shot, it is still in the world as above while the subject moves in it (against the
  background's median flow or its motion model: a camera following the subject mixes pan and zoom): a wall nearer
  the camera than the far background moves unlike it, as the subject does. Ground, a wall, a road or a guard rail
  the subject passes over or in front of, not something it handles.
* **Sliver**: thinner than the segmentation's own uncertainty along an edge (a size relative to the frame), so a
  thin real object (a pole, a racket handle, a bike frame) is kept while a contour halo is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from click2graph.cv.colour import bhattacharyya, colour_histogram
from click2graph.cv.flow import affine_motion, motion_residual_px
from click2graph.discovery.base import DiscoveryConfig
from click2graph.masks import bbox_xyxy, dilate

COLOUR_BINS = 8  # Lab bins per channel of the codes :func:`measure` reads (click2graph.cv.colour.lab_codes)
_COS_45 = float(np.cos(np.pi / 4))
ELONGATION = 1.25  # a subject has a long axis (and ends) when it is this many times longer than wide
SPAN_REACH_FRAC = 0.3  # the subject's extent at a contact is read from its pixels this * s from the contact
SURROUND_GAP_FRAC = 0.25  # a candidate's local motion model is fitted beyond this * its size...
SURROUND_DEPTH_FRAC = 0.5  # ...this * its size deep (:func:`surroundings`)
BRIDGE_FRAC = 0.1  # a gap up to this * s wide, of the subject's colours, is bridged (:func:`touches_across`)


@dataclass(frozen=True)
class Evidence:
    """Measurements of one candidate against its frame.

    Attributes:
        touching: some candidate pixel lies within ``contact_radius_px`` of the subject.
        bridged: not touching, but within ``contact_radius_px`` of the subject's colours continuing it across a
            narrow gap (:func:`touches_across`): a part its mask stops short of.
        own_motion_px: |candidate flow - background flow| (None without flow).
        lag_px: |candidate flow - subject flow| (None without flow).
        ring_motion_px: |candidate flow - flow of the ring around it| (None without flow).
        subject_motion_px: |subject flow - background flow| (None without flow).
        camera_motion_px: |background flow| (None without flow).
        still_px: median distance of its flow from the background's affine motion model: 0 for a region still in
            the world; measured only in a moving shot (``camera_motion_px`` at least ``surface_motion_px``), None
            otherwise.
        local_still_px: ...from the affine motion model of its own surroundings (``surroundings``: nearer or
            farther than the far background, parallax moves them differently), measured likewise; None also when
            the surroundings are too small to fit a model.
        subject_still_px: ``still_px`` of the subject, measured likewise: how far the subject moves in the world.
            A camera that follows the subject moves the far background by translation, zoom and rotation, whose
            median (``subject_motion_px``) can lie near the subject's flow while its motion model does not (a
            cyclist filmed from a car: 1.4 px/frame against the median, 3.8 against the model).
        subject_likeness: Bhattacharyya coefficient of the candidate's and the subject's Lab histograms.
        background_likeness: ...of the candidate's and the far background's (outside the subject's search band).
        surround_likeness: ...of the candidate's and its surrounding ring's (0.0 when the ring has under 16 px).
        thickness_px: width of its widest part (twice the largest inscribed radius, less one: 1 for a line 1 or 2
            px wide).
        overhang: fraction of it lying beside the subject's extent across their contact (:func:`overhang`); 1.0
            when it does not touch the subject.
    """

    touching: bool
    bridged: bool
    own_motion_px: float | None
    lag_px: float | None
    ring_motion_px: float | None
    subject_motion_px: float | None
    camera_motion_px: float | None
    still_px: float | None
    local_still_px: float | None
    subject_still_px: float | None
    subject_likeness: float
    background_likeness: float
    surround_likeness: float
    thickness_px: float
    overhang: float


def measure(
    codes: np.ndarray,
    mask: np.ndarray,
    subject: np.ndarray,
    far_background: np.ndarray,
    ring: np.ndarray,
    dist_to_subject: np.ndarray,
    own_flow: np.ndarray | None,
    subject_flow: np.ndarray | None,
    background_flow: np.ndarray | None,
    ring_motion_px: float | None,
    config: DiscoveryConfig,
    *,
    flow: np.ndarray | None = None,
    background_model: np.ndarray | None = None,
    explained: np.ndarray | None = None,
    split_off: bool = False,
    subject_still_px: float | None = None,
) -> Evidence:
    """The :class:`Evidence` of ``mask``.

    Args:
        codes: int (H, W) Lab colour codes of the frame (:func:`~click2graph.cv.colour.lab_codes`, ``COLOUR_BINS``).
        mask, subject, far_background: bool (H, W).
        ring: bool (H, W) the unexplained pixels around the candidate.
        dist_to_subject: float32 (H, W) distance of every pixel to the subject (0 on it).
        own_flow, subject_flow, background_flow: (2,) median flows or None.
        ring_motion_px: see :class:`Evidence`.
        flow: (H, W, 2) the frame's flow, and background_model: the background's affine motion model
            (:func:`~click2graph.cv.flow.affine_motion`), both for ``still_px`` (None: not measured).
        explained: bool (H, W) subject and known objects, kept out of the candidate's :func:`surroundings`
            (None: ``local_still_px`` not measured).
        split_off: the candidate was split off the subject mask by a colour model (``Proposal.claims_subject``):
            that separates it, so its overhang is not measured (1.0; the subject left may keep shreds of it).
        subject_still_px: see :class:`Evidence`, when the caller has it for this ``subject`` (the same for every
            candidate of a frame); None: measured here.
    """
    candidate = colour_histogram(codes[mask], COLOUR_BINS)
    subject_colours = colour_histogram(codes[subject], COLOUR_BINS)
    background_colours = colour_histogram(codes[far_background], COLOUR_BINS)
    own = lag = subject_motion = None
    if own_flow is not None and subject_flow is not None and background_flow is not None:
        own = float(np.linalg.norm(own_flow - background_flow))
        lag = float(np.linalg.norm(own_flow - subject_flow))
        subject_motion = float(np.linalg.norm(subject_flow - background_flow))
    inside = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)
    contact = mask & (dist_to_subject <= config.contact_radius_px)
    camera_motion = None if background_flow is None else float(np.linalg.norm(background_flow))
    measure_still = (
        flow is not None
        and background_model is not None
        and camera_motion is not None
        and camera_motion >= config.surface_motion_px
    )
    if measure_still and subject_still_px is None:
        subject_still_px = motion_residual_px(flow, subject, background_model)
    reach_px = max(config.contact_radius_px, SPAN_REACH_FRAC * float(np.sqrt(subject.sum())))
    return Evidence(
        touching=bool(contact.any()),
        bridged=not contact.any()
        and touches_across(subject_colours > background_colours, codes, mask, subject, dist_to_subject, config),
        own_motion_px=own,
        lag_px=lag,
        ring_motion_px=ring_motion_px,
        subject_motion_px=subject_motion,
        camera_motion_px=camera_motion,
        still_px=motion_residual_px(flow, mask, background_model) if measure_still else None,
        local_still_px=_local_still_px(flow, mask, surroundings(mask, explained, config.contact_radius_px))
        if measure_still and explained is not None
        else None,
        subject_still_px=subject_still_px if measure_still else None,
        subject_likeness=bhattacharyya(candidate, subject_colours),
        background_likeness=bhattacharyya(candidate, background_colours) if far_background.any() else 0.0,
        surround_likeness=bhattacharyya(candidate, colour_histogram(codes[ring], COLOUR_BINS))
        if ring.sum() >= 16
        else 0.0,
        thickness_px=2.0 * float(inside.max()) - 1.0,
        overhang=overhang(mask, subject, contact, reach_px, config.contact_radius_px)
        if contact.any() and not split_off
        else 1.0,
    )


def touches_across(
    liked: np.ndarray,
    codes: np.ndarray,
    mask: np.ndarray,
    subject: np.ndarray,
    dist_to_subject: np.ndarray,
    config: DiscoveryConfig,
) -> bool:
    """Whether ``mask`` lies within ``contact_radius_px`` of the subject grown across a gap of at most
    ``BRIDGE_FRAC`` of its size through pixels of the subject's colours (``liked``: bool per colour code, those more
    frequent in the subject than in the far background): a mask that stops short of a part it missed (a dog's white
    chest between its body and its head) still touches that part. Only pixels connected to the subject through
    such pixels count."""
    radius = config.contact_radius_px
    bridge_px = BRIDGE_FRAC * float(np.sqrt(subject.sum()))
    if bridge_px <= radius:
        return False
    near = dilate(mask, int(np.ceil(bridge_px)) + radius) & (dist_to_subject <= bridge_px)
    if not (near & ~subject).any():
        return False
    x0, y0, x1, y1 = bbox_xyxy(near)
    box = (slice(y0, y1 + 1), slice(x0, x1 + 1))
    grown = near[box] & (subject[box] | (liked[codes[box]] & ~mask[box]))
    _, labels = cv2.connectedComponents(grown.astype(np.uint8), connectivity=8)
    reached = np.isin(labels, np.unique(labels[subject[box] & grown]))  # (subject pixels are never label 0)
    return bool((dilate(reached, radius) & mask[box]).any())


def surroundings(mask: np.ndarray, explained: np.ndarray, margin_px: int) -> np.ndarray:
    """bool (H, W): the pixels around ``mask`` beyond a gap of ``SURROUND_GAP_FRAC`` of its size,
    ``SURROUND_DEPTH_FRAC`` of it deep (at least 3 px each), more than ``margin_px`` from ``explained``: flow
    smooths over edges, so only beyond the gap does it read the surroundings' own motion, not the candidate's."""
    size = float(np.sqrt(mask.sum()))
    gap = max(3, int(SURROUND_GAP_FRAC * size))
    outer = dilate(mask, gap + max(3, int(SURROUND_DEPTH_FRAC * size)))
    return outer & ~dilate(mask, gap) & ~dilate(explained, margin_px)


def _local_still_px(flow: np.ndarray, mask: np.ndarray, around: np.ndarray) -> float | None:
    """Residual of ``mask``'s flow from the affine motion model of ``around``; None under 20 pixels there."""
    model = affine_motion(flow, around)
    return None if model is None else motion_residual_px(flow, mask, model)


def overhang(mask: np.ndarray, subject: np.ndarray, contact: np.ndarray, reach_px: float, slack_px: float) -> float:
    """Fraction of ``mask`` lying beside the subject's extent at an end of its long axis, in [0, 1].

    The contact direction runs from the subject's centroid to that of ``contact`` (the candidate's pixels touching
    the subject). When it points to an end of the subject's long axis (within 45 degrees), the subject's extent
    across that axis is that of its pixels within ``reach_px`` of the contact (2nd to 98th percentile, widened by
    ``slack_px`` on each side). A head above a shirt or legs below it lie within (0); a ball at a foot or a board
    under the feet stick out. Beside the subject, what lies within its extent is what it holds (a ball against its
    side), so a contact there gives 1.0, as do a subject with no long axis (see ``ELONGATION``) and an undefined
    direction (the contact surrounds the subject's centre).
    """
    sy, sx = np.nonzero(subject)
    cy, cx = np.nonzero(contact)
    direction = np.array([cx.mean() - sx.mean(), cy.mean() - sy.mean()])
    norm = float(np.linalg.norm(direction))
    axis = _long_axis(sx, sy)
    if norm < 1.0 or axis is None or abs(float(direction @ axis)) < _COS_45 * norm:
        return 1.0
    across = np.array([-axis[1], axis[0]])
    near = subject & (cv2.distanceTransform((~contact).astype(np.uint8), cv2.DIST_L2, 3) <= reach_px)
    ny, nx = np.nonzero(near)
    if not len(nx):
        return 1.0
    lo, hi = np.percentile(nx * across[0] + ny * across[1], (2, 98))
    my, mx = np.nonzero(mask)
    position = mx * across[0] + my * across[1]
    return float(((position < lo - slack_px) | (position > hi + slack_px)).mean())


def _long_axis(xs: np.ndarray, ys: np.ndarray) -> np.ndarray | None:
    """Unit vector (x, y) along the principal axis of the pixel coordinates; None when they are not elongated
    (the axes' lengths differ by less than ``ELONGATION``: a disc or a square has no ends)."""
    if len(xs) < 3:
        return None
    values, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    if values[-1] < ELONGATION**2 * max(values[0], 1e-9):
        return None
    return vectors[:, -1]


def is_part_of_subject(e: Evidence, config: DiscoveryConfig) -> bool:
    """Touching (or bridged to) and moving with a moving subject, coloured like it or continuing its silhouette (at
    most ``config.part_max_overhang`` of it beside the subject), or moving rigidly with a moving subject (within
    ``config.rigid_lag_frac`` of its motion; see the module docstring)."""
    subject_moves = e.subject_motion_px is not None and e.subject_motion_px >= config.surface_motion_px
    if subject_moves and e.lag_px <= config.rigid_lag_frac * e.subject_motion_px:
        return True
    if not (e.touching or e.bridged):
        return False
    moving = subject_moves and e.own_motion_px >= config.surface_motion_px
    continues = e.overhang <= config.part_max_overhang
    return moving or continues or e.subject_likeness >= config.part_colour_likeness


def is_background(e: Evidence, config: DiscoveryConfig) -> bool:
    """Coloured like the far background and moving like its surroundings, or coloured like its surroundings, or
    apart from the subject and still in the world in a moving shot (see the module docstring)."""
    if e.surround_likeness >= config.surround_colour_likeness:
        return True
    if not e.touching and is_still_in_moving_shot(e, config):
        return True
    still = e.ring_motion_px is None or e.ring_motion_px < config.surface_motion_px
    return still and e.background_likeness >= config.background_colour_likeness


def is_passed_surface(e: Evidence, contact: float, comotion: float, config: DiscoveryConfig) -> bool:
    """In contact (``contact``, see ``surface_contact``) with a subject that moves unlike the background by
    ``config.surface_motion_px`` or more, while moving like the background (``comotion`` below
    ``config.surface_comotion``); or, in a moving shot, still in the world (:func:`is_still_in_moving_shot`) while
    the subject moves that much against the background's median flow or its motion model (``subject_still_px``)."""
    if contact < config.surface_contact:
        return False
    moves = e.subject_motion_px is not None and e.subject_motion_px >= config.surface_motion_px
    if moves and comotion < config.surface_comotion:
        return True
    moves_in_world = e.subject_still_px is not None and e.subject_still_px >= config.surface_motion_px
    return (moves or moves_in_world) and is_still_in_moving_shot(e, config)


def is_sliver(e: Evidence, frame_hw: tuple[int, int], config: DiscoveryConfig) -> bool:
    """Thinner than ``config.min_thickness_frac`` of the frame's longer side (at least 2 px)."""
    return e.thickness_px < max(2.0, config.min_thickness_frac * max(frame_hw))


def is_still_in_moving_shot(e: Evidence, config: DiscoveryConfig) -> bool:
    """The camera moves (``config.surface_motion_px`` or more: only then are ``still_px`` and ``local_still_px``
    measured) and the candidate's flow stays within ``config.still_motion_frac`` of that motion of the background's
    motion model, or within what that allows at the least camera motion the rule acts on (``still_motion_frac *
    surface_motion_px``) of its own surroundings' model: nearer background moves faster than far (parallax), and
    a local model absorbs parallax and zoom, so what is left of a still region's motion does not grow with the
    camera's."""
    if e.still_px is None:
        return False
    local_limit = config.still_motion_frac * config.surface_motion_px
    return e.still_px < config.still_motion_frac * e.camera_motion_px or (
        e.local_still_px is not None and e.local_still_px < local_limit
    )
