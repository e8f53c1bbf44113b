"""Dynamic Interaction Discovery, training-free: find the objects a subject interacts with on one frame.

The paper's DIDM learns to place N = 3 point prompts on the objects that interact with the subject, then lets
SAM 2 turn each point into a mask. Without training we place the points by rule and keep the masks that behave
like interacting objects:

1. **Seeds** in a band around the subject (just outside its contour, up to about half its size away), picked
   greedily from a saliency map that is high where the colour is rare in the subject's neighbourhood or where
   the pixel moves unlike the background, plus evenly spread band points so quiet objects are not missed.
2. **Decode** each seed with :meth:`VideoSegmenter.decode_candidates`, the subject and known objects given as
   ``avoid`` (decoder only: nothing is added to the session). Optionally, region proposals from one GrabCut
   around the subject join them (:mod:`.cuts`): what a subject-seeded cut attaches to the subject, and, given the
   click, objects split off a subject mask that swallowed them (``Proposal.claims_subject``).
3. **Reject** background-like masks (too large, lying along the frame border, low decoder score and no motion
   of their own, touching a moving subject while moving with the background or still in the world, coloured
   like the far background without motion of their own, apart from the subject and still in the world in a
   moving shot), parts of the subject (touching it and moving with it or coloured like it, or moving rigidly
   with it: :mod:`.evidence`), specks (tiny next to the subject), slivers (thinner than the segmentation's
   uncertainty at an edge, relative to the frame) and masks that overlap the subject (unless split off it) or an
   already tracked object.
4. **Score** by contact with the subject (distance and length of shared boundary), co-motion (flow, read away
   from the subject, closer to the subject's than to the background's) and objectness (the decoder's score, or
   motion unlike the surroundings where the candidate's pixels show it moving); non-max-suppress
   duplicates (mostly inside a better candidate); drop, best first, what the subject only moves past over a
   second around the frame without coming closer (:mod:`.passing`); keep N.

All pixels are working-frame pixels; masks are bool (H, W).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import cv2
import numpy as np

from click2graph.cv.colour import colour_rarity, lab_codes
from click2graph.cv.flow import affine_motion, motion_residual_px, warp_errors
from click2graph.discovery import evidence, passing
from click2graph.discovery.base import DiscoveryConfig, Proposal
from click2graph.discovery.cuts import split_subject, subject_cut
from click2graph.masks import bbox_xyxy, border_fraction, dilate, mask_iou

logger = logging.getLogger(__name__)

UNMOVED_MARGIN = 1.0  # grey levels: the median pixel must tell unmoved from moved by more (Scene.shows_no_motion)
_SALIENCY_BINS = 8  # Lab histogram bins per channel for the colour rarity of the seed saliency


def discover_objects(
    segmenter,
    state,
    subject_mask: np.ndarray,
    frame_idx: int,
    *,
    known_masks: Sequence[np.ndarray] = (),
    subject_points_xy: np.ndarray | None = None,
    config: DiscoveryConfig = DiscoveryConfig(),
) -> list[Proposal]:
    """The training-free :class:`~click2graph.discovery.base.DiscoveryStrategy` (the module docstring's steps);
    works on any backend and honours every :class:`DiscoveryConfig` knob. With ``subject_points_xy`` and
    ``config.split_subject``, objects the subject mask swallowed are split off (``claims_subject`` proposals)."""
    subject = np.asarray(subject_mask, dtype=bool)
    if not subject.any():
        return []
    scene = Scene.read(state, frame_idx, subject, known_masks, config)
    return select(scene, candidates(segmenter, state, scene, subject_points_xy, config), config)


@dataclass(frozen=True)
class Scene:
    """What the rules judge a candidate against on one frame: the subject, known objects and the motion."""

    frame_idx: int
    frame: np.ndarray  # uint8 RGB (H, W, 3)
    subject: np.ndarray  # bool (H, W)
    known: tuple[np.ndarray, ...]  # bool (H, W) each: objects already tracked
    flow: np.ndarray | None  # (H, W, 2) to the next frame, or None for a one-frame video
    scale: float  # sqrt(subject area)
    subject_flow: np.ndarray | None  # (2,) median flows, or None
    background_flow: np.ndarray | None  # ...of the far background
    background_model: np.ndarray | None  # (3, 2) affine motion model of the far background's flow, or None
    far_background: np.ndarray  # bool (H, W): outside the subject's search band
    codes: np.ndarray  # int (H, W) Lab colour codes of the frame (evidence's bins)
    window: passing.Window | None  # the flows around the frame (None when the passing test is off)
    # (H, W) each: how well no motion and the flow explain the frame (flow.warp_errors), or None without flow
    warp_errors: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def explained(self) -> np.ndarray:
        """Subject and known objects together."""
        return _union(self.subject, self.known)

    def shows_no_motion(self, mask: np.ndarray) -> bool:
        """Whether the pixels of the non-empty ``mask`` match the flow's other frame better unmoved than moved by
        the flow (the median pixel by over ``UNMOVED_MARGIN``, :func:`~click2graph.cv.flow.warp_errors`): the
        flow there is smoothed onto a still thing from a fast mover beside it, not motion of its own. A flat region
        tells nothing either way (False)."""
        if self.warp_errors is None:
            return False
        unmoved, moved = self.warp_errors
        return bool(np.median(unmoved[mask] - moved[mask]) < -UNMOVED_MARGIN)

    @cached_property
    def subject_still_px(self) -> float | None:
        """How far the subject moves in the world (:attr:`evidence.Evidence.subject_still_px`), computed once per
        frame; None without flow."""
        if self.flow is None or self.background_model is None:
            return None
        return motion_residual_px(self.flow, self.subject, self.background_model)

    @cached_property
    def dist_to_subject(self) -> np.ndarray:
        """float32 (H, W) distance of every pixel to the subject (0 on it), computed once per frame."""
        return _distance_to(self.subject)

    @classmethod
    def read(cls, state, frame_idx: int, subject: np.ndarray, known_masks, config: DiscoveryConfig) -> Scene:
        known = tuple(np.asarray(m, dtype=bool) for m in known_masks)
        scale = float(np.sqrt(subject.sum()))
        flow = flow_at(state, frame_idx)
        background = ~dilate(_union(subject, known), max(8, int(config.band_outer_frac * scale)))
        frame = state.video.frames[frame_idx]
        partner = flow_partner(state, frame_idx)
        errors = None
        if partner is not None:
            errors = warp_errors(frame, state.video.frames[partner], state.flows.get(frame_idx, partner))
        codes = lab_codes(cv2.cvtColor(frame, cv2.COLOR_RGB2LAB), evidence.COLOUR_BINS)
        steps = passing.window_steps(state.video.fps, config.pass_window_s) if config.pass_window_s > 0 else 0
        cuts = state.flows.shot_starts()
        window = passing.Window(state.flows, frame_idx, len(state.video), steps, cuts=cuts) if steps else None
        return cls(
            frame_idx,
            frame,
            subject,
            known,
            flow,
            scale,
            _mean_flow(flow, subject),
            _mean_flow(flow, background),
            None if flow is None else affine_motion(flow, background),
            background,
            codes,
            window,
            errors,
        )


@dataclass(frozen=True)
class Candidate:
    """A mask to judge: the point that produced it, the producer's objectness, whether it claims subject pixels."""

    point: np.ndarray  # float32 (2,) xy
    mask: np.ndarray
    objectness: float
    claims: bool


def candidates(segmenter, state, scene: Scene, subject_points_xy, config: DiscoveryConfig) -> list[Candidate]:
    """Steps 1-2 of the module docstring: seeds decoded by the segmenter, and the region proposals of the cuts."""
    explained = scene.explained
    points = _seed_points(scene.frame, scene.subject, explained, scene.flow, scene.scale, config)
    out: list[Candidate] = []
    if len(points):
        decoded = segmenter.decode_candidates(state, scene.frame_idx, points, avoid=explained)
        out += [Candidate(p, m, float(v), False) for p, m, v in zip(points, decoded.masks, decoded.scores)]
    cut_args = dict(expand_frac=config.cut_expand_frac, work_scale=config.cut_work_scale)
    extra = []
    if config.subject_cut:
        cut = subject_cut(
            scene.frame,
            scene.subject,
            explained,
            scene.flow,
            scene.subject_flow,
            scene.background_flow,
            **cut_args,
            contact_radius_px=config.contact_radius_px,
        )
        extra.append((cut, False))
    if config.split_subject and subject_points_xy is not None and len(subject_points_xy):
        split = split_subject(
            scene.frame,
            scene.subject,
            explained,
            np.asarray(subject_points_xy),
            **cut_args,
            core_scale=config.split_core_scale,
            seed_gap=config.split_seed_gap,
            rarity_ratio=config.split_rarity_ratio,
            min_part_frac=config.split_min_part_frac,
            max_part_frac=config.split_max_part_frac,
        )
        extra.append((split, True))
    for (regions, region_points, region_scores), claim in extra:
        out += [Candidate(p, m, float(v), claim) for p, m, v in zip(region_points, regions, region_scores)]
    return out


def select(scene: Scene, found: Sequence[Candidate], config: DiscoveryConfig) -> list[Proposal]:
    """Steps 3-4 of the module docstring: reject, rank, non-max-suppress, keep ``config.max_objects``."""
    scored = [p for p in (_score(c, scene, config) for c in found) if p is not None]
    kept: list[Proposal] = []
    for proposal in sorted(scored, key=lambda p: -p.score):
        # a duplicate: mostly inside a better one (a part of an object beside the whole; covers IoU > nms_iou)
        if any((proposal.mask & k.mask).sum() > config.nms_iou * proposal.mask.sum() for k in kept):
            continue
        if scene.window is not None and not proposal.claims_subject:
            touch = config.contact_radius_px
            dist_to_subject = scene.dist_to_subject
            if passing.gap_px(proposal.mask, dist_to_subject) > touch:  # the flows are read only past this
                relative = scene.window.offsets(proposal.mask) - scene.window.subject_offsets(scene.subject)
                if passing.passes_by(proposal.mask, dist_to_subject, relative, config.pass_ratio, touch):
                    continue
        kept.append(proposal)
        if len(kept) == config.max_objects:
            break
    logger.debug(
        "discovery on frame %d: %d candidates, %d scored, %d kept", scene.frame_idx, len(found), len(scored), len(kept)
    )
    return kept


# -- seeds ----------------------------------------------------------------------------------------------------


def _seed_points(
    frame: np.ndarray,
    subject: np.ndarray,
    explained: np.ndarray,
    flow: np.ndarray | None,
    scale: float,
    config: DiscoveryConfig,
) -> np.ndarray:
    """Prompt points, float32 (K, 2) xy: saliency peaks in the band around the subject, then spread points."""
    outer = max(config.band_inner_px + 4, int(config.band_outer_frac * scale))
    band = dilate(subject, outer) & ~dilate(explained, config.band_inner_px)
    if not band.any():
        return np.zeros((0, 2), np.float32)
    saliency = _saliency(frame, subject, band, flow, outer)
    spacing = max(4.0, config.seed_spacing_frac * scale)
    points = _greedy_peaks(saliency, band, config.num_salient_seeds, spacing)
    rim = band & ~dilate(subject, max(1, outer - 2))
    colours = _BandColours.read(frame, band, rim, config)
    points += _region_points(colours, points, spacing, config)
    points = _farthest_points(band, points, config.num_spread_seeds, spacing)
    # last, so that they add seeds without moving the spread ones
    points += _area_points(colours, points, spacing, config)
    return np.asarray(points, np.float32).reshape(-1, 2)


@dataclass(frozen=True)
class _BandColours:
    """The seed band's colours (codes of a ``region_colour_step`` grid, over the band's box at ``origin``) and the
    band pixels off its surfaces (colours covering much of the band's outer rim: they continue far beyond the
    subject's surroundings)."""

    origin: tuple[int, int]
    band: np.ndarray  # bool, the band's box
    codes: np.ndarray  # int, the band's box
    off_surfaces: np.ndarray  # bool, the band's box

    @classmethod
    def read(cls, frame: np.ndarray, band: np.ndarray, rim: np.ndarray, config: DiscoveryConfig) -> _BandColours:
        x0, y0, x1, y1 = bbox_xyxy(band)
        crop_band = band[y0 : y1 + 1, x0 : x1 + 1]
        crop_rim = rim[y0 : y1 + 1, x0 : x1 + 1]
        rim_area = max(1, int(crop_rim.sum()))
        crop = np.ascontiguousarray(frame[y0 : y1 + 1, x0 : x1 + 1])
        lab = cv2.cvtColor(cv2.medianBlur(crop, 3), cv2.COLOR_RGB2LAB)
        codes = lab_codes(lab, 256 // config.region_colour_step)
        rim_codes, rim_counts = np.unique(codes[crop_rim], return_counts=True)
        surfaces = rim_codes[rim_counts > config.region_max_rim_frac * rim_area]
        return cls((x0, y0), crop_band, codes, crop_band & ~np.isin(codes, surfaces))


def _region_points(
    colours: _BandColours, taken: list[tuple[float, float]], spacing: float, config: DiscoveryConfig
) -> list[tuple[float, float]]:
    """Up to ``num_region_seeds`` points inside colour-uniform regions of the band off its surfaces, one per region,
    largest regions first: each the region pixel farthest from the region's edge (:func:`_deepest_points`)."""
    if config.num_region_seeds <= 0:
        return []
    codes, off = colours.codes, colours.off_surfaces
    uniform = [colours.band & (codes == code) for code in np.unique(codes[off])]
    return _deepest_points(uniform, colours.origin, taken, config.num_region_seeds, spacing**2 / 4)


def _area_points(
    colours: _BandColours, taken: list[tuple[float, float]], spacing: float, config: DiscoveryConfig
) -> list[tuple[float, float]]:
    """As many points as :func:`_region_points`, inside connected areas of the band off its surfaces: a textured
    object (stripes, print) falls apart into uniform patches smaller than plain ones, but is one such area."""
    if config.num_region_seeds <= 0:
        return []
    return _deepest_points([colours.off_surfaces], colours.origin, taken, config.num_region_seeds, spacing**2 / 4)


def _deepest_points(
    areas: Sequence[np.ndarray],
    origin: tuple[int, int],
    taken: list[tuple[float, float]],
    count: int,
    min_area: float,
) -> list[tuple[float, float]]:
    """Up to ``count`` points, one per connected region of the ``areas`` (bool masks of a crop at ``origin``),
    largest regions first down to ``min_area`` px, skipping regions holding a point of ``taken``: each the
    region's pixel farthest from its edge, in frame coordinates."""
    x0, y0 = origin
    regions = []
    for index, area_mask in enumerate(areas):
        n, comp, stats, _ = cv2.connectedComponentsWithStats(area_mask.astype(np.uint8), 8)
        regions += [(int(stats[k, cv2.CC_STAT_AREA]), index, k, comp) for k in range(1, n)]
    points: list[tuple[float, float]] = []
    for area, _, k, comp in sorted(regions, key=lambda r: (-r[0], r[1], r[2])):
        if len(points) == count or area < min_area:
            break
        region = comp == k
        if any(
            region[int(py) - y0, int(px) - x0]
            for px, py in taken + points
            if 0 <= int(py) - y0 < region.shape[0] and 0 <= int(px) - x0 < region.shape[1]
        ):
            continue
        inside = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)
        points.append((float(x + x0), float(y + y0)))
    return points


def _saliency(
    frame: np.ndarray, subject: np.ndarray, band: np.ndarray, flow: np.ndarray | None, outer: int
) -> np.ndarray:
    """float32 (H, W) in [0, 1], zero outside ``band``: max of colour rarity and motion unlike the background.

    Colour rarity is measured against the neighbourhood (the subject's box grown by ``outer`` on every side,
    subject excluded): an object stands out from what surrounds it, not from the whole frame. Both maps are
    box-blurred so that peaks fall inside regions rather than on edges.
    """
    h, w = subject.shape
    x0, y0, x1, y1 = bbox_xyxy(subject)
    x0, y0 = max(0, x0 - 2 * outer), max(0, y0 - 2 * outer)
    x1, y1 = min(w, x1 + 2 * outer + 1), min(h, y1 + 2 * outer + 1)
    codes = lab_codes(cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2LAB), _SALIENCY_BINS)
    # common colours (at least a quarter as frequent as the most common one) -> 0
    maps = [colour_rarity(codes, codes[~subject[y0:y1, x0:x1]], _SALIENCY_BINS, gain=4.0)]
    if flow is not None:
        crop_flow = flow[y0:y1, x0:x1]
        outside = ~dilate(subject, outer)[y0:y1, x0:x1]
        bg = np.median(crop_flow[outside], axis=0) if outside.any() else np.zeros(2, np.float32)
        diff = np.linalg.norm(crop_flow - bg, axis=-1)
        maps.append(np.clip(diff / max(2.0, float(np.percentile(diff, 99))), 0.0, 1.0))
    k = max(3, outer // 6) | 1
    local = np.maximum.reduce([cv2.blur(m.astype(np.float32), (k, k)) for m in maps])
    out = np.zeros((h, w), np.float32)
    out[y0:y1, x0:x1] = local
    out[~band] = 0.0
    return out


def _greedy_peaks(saliency: np.ndarray, band: np.ndarray, count: int, spacing: float) -> list[tuple[float, float]]:
    """Up to ``count`` highest points of ``saliency`` inside ``band``, at least ``spacing`` apart."""
    ys, xs = np.nonzero(band)
    order = np.argsort(-saliency[ys, xs], kind="stable")
    points: list[tuple[float, float]] = []
    for i in order:
        if len(points) == count or saliency[ys[i], xs[i]] <= 0:
            break
        if all((xs[i] - px) ** 2 + (ys[i] - py) ** 2 >= spacing**2 for px, py in points):
            points.append((float(xs[i]), float(ys[i])))
    return points


def _farthest_points(
    band: np.ndarray, points: list[tuple[float, float]], count: int, spacing: float
) -> list[tuple[float, float]]:
    """Add ``count`` band points, each the farthest from those chosen so far (stops when closer than spacing)."""
    ys, xs = np.nonzero(band)
    coords = np.stack([xs, ys], axis=1).astype(np.float32)
    nearest = np.full(len(coords), np.inf, np.float32)
    for px, py in points:
        nearest = np.minimum(nearest, np.hypot(coords[:, 0] - px, coords[:, 1] - py))
    out = list(points)
    for _ in range(count):
        i = int(np.argmax(nearest)) if out else len(coords) // 2
        if out and nearest[i] < spacing:
            break
        out.append((float(coords[i, 0]), float(coords[i, 1])))
        nearest = np.minimum(nearest, np.hypot(coords[:, 0] - coords[i, 0], coords[:, 1] - coords[i, 1]))
    return out


# -- scores ---------------------------------------------------------------------------------------------------


def _score(candidate: Candidate, scene: Scene, config: DiscoveryConfig) -> Proposal | None:
    """Reject a candidate that is background, a part of the subject, a sliver or a duplicate, or rank it; None when
    rejected.

    A candidate that ``claims`` subject pixels is judged against the subject it leaves (subject minus it).
    """
    mask, subject, known, flow, scale = candidate.mask, scene.subject, scene.known, scene.flow, scene.scale
    h, w = subject.shape
    area = int(mask.sum())
    if (
        area == 0
        or area > config.max_area_frac * h * w
        or area > config.max_area_vs_subject * subject.sum()
        or _is_speck(mask, area, subject, scale, config)
    ):
        return None
    if candidate.claims:
        subject = subject & ~mask
    elif (mask & subject).sum() > config.max_subject_overlap * area:
        return None
    if any(
        (mask & m).sum() > config.max_known_overlap * area or mask_iou(mask, m) > config.max_known_overlap
        for m in known
    ):
        return None
    if border_fraction(mask) > config.max_border_frac:
        return None
    explained = _union(subject, known)
    ring = _ring(mask, explained)
    if scene.shows_no_motion(mask):
        # Its flow is smoothed onto it from a mover beside it (a deck between moving hands): its pixels say it moves
        # unlike its surroundings only as the camera moves them. The rejection tests still read its flow as it is:
        # judged still there, a table's edge line beside a swinging player is kept (docs/discovery.md).
        ring_motion = None if scene.background_flow is None else float(np.linalg.norm(scene.background_flow))
    else:
        ring_motion = _ring_motion_px(flow, mask, ring)
    # motion distinctness, in [0, 1] (1 px/frame gives 0.5), also marks an object
    objectness = max(candidate.objectness, 0.0 if ring_motion is None else ring_motion / (ring_motion + 1.0))
    if objectness < config.min_objectness:
        return None
    dist_to_subject = _distance_to(subject) if candidate.claims else scene.dist_to_subject
    contact = _contact(mask, dist_to_subject, scale, config)
    # Flow estimators smooth over edges, so pixels next to a moving subject seem to move with it: read the
    # candidate's own motion away from the subject (all of it when too little is that far).
    interior = mask & (dist_to_subject > max(8.0, config.comotion_margin_frac * scale))
    own_flow = _mean_flow(flow, interior if interior.sum() >= 16 else mask)
    # (a candidate that claims subject pixels is judged against the subject it leaves)
    subject_flow = _mean_flow(flow, subject) if candidate.claims else scene.subject_flow
    background_flow = scene.background_flow
    found = evidence.measure(
        scene.codes,
        mask,
        subject,
        scene.far_background & ~mask,
        ring,
        dist_to_subject,
        own_flow,
        subject_flow,
        background_flow,
        ring_motion,
        config,
        split_off=candidate.claims,
        flow=flow,
        background_model=scene.background_model,
        explained=explained,
        subject_still_px=None if candidate.claims else scene.subject_still_px,
    )
    if (
        evidence.is_sliver(found, (h, w), config)
        or evidence.is_background(found, config)
        or evidence.is_part_of_subject(found, config)
    ):
        return None
    # Co-motion mostly ranks: a static object that a moving subject walks toward or past moves like the
    # background and is still an object (a chair the subject passes). Only one that also touches the subject is
    # rejected, as the surface the subject moves over.
    comotion = _comotion(own_flow, subject_flow, background_flow)
    if evidence.is_passed_surface(found, contact, comotion, config):
        return None
    total = config.weight_contact + config.weight_comotion + config.weight_objectness
    score = (
        config.weight_contact * contact + config.weight_comotion * comotion + config.weight_objectness * objectness
    ) / total
    if score < config.min_score:
        return None
    point = candidate.point.reshape(1, 2).astype(np.float32)
    return Proposal(scene.frame_idx, mask, point, score, contact, comotion, candidate.claims)


def _is_speck(mask: np.ndarray, area: int, subject: np.ndarray, scale: float, config: DiscoveryConfig) -> bool:
    """Small next to the subject in area and in length (see ``min_area_vs_subject``)."""
    if area >= config.min_area_vs_subject * subject.sum():
        return False
    x0, y0, x1, y1 = bbox_xyxy(mask)
    return max(x1 - x0, y1 - y0) + 1 < config.min_length_vs_scale * scale


def _union(first: np.ndarray, others: Sequence[np.ndarray]) -> np.ndarray:
    out = first.copy()
    for m in others:
        out |= m
    return out


def flow_at(state, frame_idx: int) -> np.ndarray | None:
    """Flow (H, W, 2) from ``frame_idx`` to its next frame (previous one, negated, on the last frame of the video
    or of its shot); None for a frame alone in its shot (or video)."""
    partner = flow_partner(state, frame_idx)
    if partner is None:
        return None
    flow = state.flows.get(frame_idx, partner)
    return flow if partner > frame_idx else -flow


def flow_partner(state, frame_idx: int) -> int | None:
    """The frame :func:`flow_at` reads the flow to (see there); None for a frame alone in its shot."""
    n, cuts = len(state.video), state.flows.shot_starts()
    if frame_idx + 1 < n and frame_idx + 1 not in cuts:
        return frame_idx + 1
    if frame_idx > 0 and frame_idx not in cuts:
        return frame_idx - 1
    return None


def _mean_flow(flow: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    if flow is None or not mask.any():
        return None
    return np.median(flow[mask], axis=0)


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """float32 (H, W) distance of every pixel to ``mask`` (0 on it)."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)


def _ring(mask: np.ndarray, explained: np.ndarray) -> np.ndarray:
    """bool (H, W): the unexplained pixels around ``mask``, a quarter of its size (at least 3 px) deep."""
    return dilate(mask, max(3, int(0.25 * np.sqrt(mask.sum())))) & ~mask & ~explained


def _ring_motion_px(flow: np.ndarray | None, mask: np.ndarray, ring: np.ndarray) -> float | None:
    """How differently (px/frame) the mask moves from the ``ring`` around it (:func:`_ring`); None without flow.

    The ring, not the global background: next to a moving subject the (smooth) flow field makes every patch
    move unlike the background, and a moving camera moves near and far background differently (parallax, zoom),
    so only a difference from the immediate surroundings marks a separate object.
    """
    own, around = _mean_flow(flow, mask), _mean_flow(flow, ring)
    if own is None or around is None:
        return None
    return float(np.linalg.norm(own - around))


def _comotion(own: np.ndarray | None, subject: np.ndarray | None, background: np.ndarray | None) -> float:
    """In [0, 1]: 1 when the candidate moves with the subject and unlike the background, 0.5 when undecided."""
    if own is None or subject is None or background is None:
        return 0.5
    to_subject = float(np.linalg.norm(own - subject))
    to_background = float(np.linalg.norm(own - background))
    return (to_background + 0.5) / (to_subject + to_background + 1.0)  # +0.5/+1: sub-pixel differences are noise


def _contact(mask: np.ndarray, dist_to_subject: np.ndarray, scale: float, config: DiscoveryConfig) -> float:
    """In [0, 1]: proximity (decays with the gap to the subject) times adjacency (length of shared boundary)."""
    d = dist_to_subject[mask]
    gap = float(d.min())
    proximity = float(np.exp(-max(0.0, gap - config.contact_radius_px) / max(4.0, 0.1 * scale)))
    touching = int((d <= config.contact_radius_px).sum()) / max(1, config.contact_radius_px)
    adjacency = min(1.0, touching / max(4.0, config.contact_len_frac * scale))
    return proximity * (0.5 + 0.5 * adjacency)
