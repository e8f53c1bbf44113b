"""What every discovery strategy shares: the call (:class:`DiscoveryStrategy`), its knobs and its proposals.

A strategy finds the objects a subject interacts with on one frame. The pipeline calls the one it was given at
each discovery keyframe; :mod:`.registry` names the strategies the CLI, the evaluation and the app offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

if TYPE_CHECKING:
    from click2graph.segment.base import SegmenterState, VideoSegmenter


@dataclass(frozen=True)
class DiscoveryConfig:
    """Knobs of discovery; lengths relative to the subject scale s = sqrt(subject area).

    The training-free strategy (:func:`~click2graph.discovery.training_free.discover_objects`) reads them all; the
    point-sampling strategies only ``max_objects`` and ``min_area_vs_subject``.
    """

    max_objects: int = 3  # N_q = 3 in the paper: a subject rarely interacts with more than two objects
    band_inner_px: int = 3  # seeds start this far outside the subject: contour pixels are ambiguous
    band_outer_frac: float = 0.6  # ...and reach up to this * s (a held object reaches about half a body away)
    num_salient_seeds: int = 5  # seeds at colour/motion saliency peaks
    num_spread_seeds: int = 4  # seeds spread evenly over the band (farthest-point sampling)
    num_region_seeds: int = 5  # seeds inside the largest colour-uniform regions of the band (one per region):
    # saliency peaks and spread points can all miss a plain object beside the subject; a region cannot
    region_colour_step: int = 32  # Lab quantisation step defining "colour-uniform" (after a 3 px median blur)
    region_max_rim_frac: float = 0.1  # a colour covering more of the band's outer rim is a surface (wall, floor)
    # Also propose what a subject-seeded cut attaches to the subject (.cuts). Off by default: what it attaches
    # touches the subject and moves with it, which makes it a part of the subject until it separates (.evidence).
    subject_cut: bool = False
    # With click points, also split off objects the subject mask swallowed (a bike under its rider). Off by
    # default: colour alone cannot tell a swallowed object from the subject's own differently coloured parts
    # (a person's trousers or head).
    split_subject: bool = False
    cut_expand_frac: float = 0.3  # the cuts may grow this fraction of the subject's box size on each side
    cut_work_scale: float = 0.5  # the cuts run at this image scale: a quarter of the pixels, the same regions
    split_core_scale: float = 1.5  # surely-subject core = disc of this * (click's distance d to the mask edge);
    # a click near one edge of a part (a shirt) needs the disc to reach past that part's far edge
    split_seed_gap: float = 0.5  # object seeds lie at least this * (that distance) outside the core
    split_rarity_ratio: float = 4.0  # seed colours are this many times more frequent off the core than in it
    split_min_part_frac: float = 0.08  # a split part under this fraction of the subject is a detail (head ~ .05)
    split_max_part_frac: float = 0.7  # ...over it, too little subject would remain to trust the click's side
    seed_spacing_frac: float = 0.15  # minimum distance between seeds, * s
    max_area_frac: float = 0.15  # a candidate larger than this fraction of the frame is background
    max_area_vs_subject: float = 4.0  # ...or larger than this many subject areas
    # A candidate smaller than this many subject areas is a speck of texture on a floor or a wall, which would
    # take the object slots before real objects come near (a ball held by a person is about 0.1 subject areas)
    min_area_vs_subject: float = 0.02
    # ...unless its box's longer side reaches this * s: a thin object (a pole, a racket handle) has little area
    # for its length, a speck has neither (training-free strategy only)
    min_length_vs_scale: float = 0.3
    max_border_frac: float = 0.3  # ...or with more than this fraction of its box perimeter on the frame border
    max_subject_overlap: float = 0.2  # fraction of the candidate inside the subject to reject it
    # A candidate thinner than this fraction of the frame's longer side (>= 2 px; 3.4 px at 854x480) is a sliver
    # along an edge: segmentation is that uncertain at a boundary. A thin real object (a pole, a bike frame) is
    # thicker, whatever its length or its contact with the subject (.evidence).
    min_thickness_frac: float = 0.004
    # A candidate touching the subject is a part of it when it moves with it (see surface_motion_px) or when its
    # Lab histogram is at least this alike the subject's (Bhattacharyya coefficient) (.evidence).
    part_colour_likeness: float = 0.5
    # ...or when at most this fraction of it lies beside the subject's extent across their contact: it continues
    # the subject's silhouette (a head or legs beyond a click mask that holds only the shirt), while what the
    # subject holds, rides or stands by sticks out beside it (.evidence.overhang).
    part_max_overhang: float = 0.25
    # ...and, touching or not, when its flow differs from the subject's by at most this fraction of the subject's
    # motion relative to the background (a moving subject: see surface_motion_px).
    rigid_lag_frac: float = 0.4
    # A candidate without motion of its own whose histogram is at least this alike that of the background outside
    # the search band is a piece of background: a window, a floor (.evidence).
    background_colour_likeness: float = 0.4
    # A candidate whose histogram is at least this alike that of the ring around it (the subject left out) is a
    # patch of its surroundings (a lawn, a wall, the ground under the subject): an object stands out from what
    # surrounds it, touching the subject or not (.evidence).
    surround_colour_likeness: float = 0.6
    # When the camera moves (the far background's median flow reaches surface_motion_px), a candidate apart from
    # the subject whose flow stays within this fraction of that motion of the background's affine motion model is
    # still in the world, like the background around it: a patch of a wall or a road the subject passes (.evidence).
    # An object the subject interacts with in a moving shot is one it moves; a still one there is not told apart.
    still_motion_frac: float = 0.35
    # A candidate apart from the subject that the subject moves past over this many seconds around the keyframe
    # (each carried by its median flow) without coming closer is background or unrelated: an object the subject
    # interacts with is one it reaches or has just left (.passing). 0 turns the test off.
    pass_window_s: float = 1.0
    # ...moving past: the subject moves relative to it by at least this times their gap, which never shrinks
    # below this times itself (had it moved that far toward the candidate, the gap would have shrunk as much)
    pass_ratio: float = 0.5
    max_known_overlap: float = 0.5  # fraction inside, or IoU with, a known object to call it a duplicate
    min_objectness: float = 0.15  # decoder score (or motion distinctness) under which a mask is background
    contact_radius_px: int = 4  # candidate pixels this close to the subject count as touching
    contact_len_frac: float = 0.3  # shared boundary of this * s pixels counts as full adjacency
    comotion_margin_frac: float = 0.1  # co-motion is read this * s (>= 8 px) away from the subject: flow is smooth
    # A candidate touching a subject that moves unlike the background, while itself moving like the background
    # (co-motion below ``surface_comotion``) or, in a moving shot, still in the world (see still_motion_frac: a
    # near wall moves unlike the far background, by parallax), is a surface the subject passes over or in front of
    # (ground, wall, road), not something it handles: rejected. Motion tells this only when subject and background
    # flows differ by ``surface_motion_px`` or more (for stillness, also when the subject's flow is that far from
    # the background's motion model); a static object merely near the subject (no contact) stays.
    surface_comotion: float = 0.3
    surface_motion_px: float = 2.0
    surface_contact: float = 0.5
    nms_iou: float = 0.5  # a candidate with more than this of its area inside a better one is a duplicate
    weight_contact: float = 0.5  # ranking = weighted mean of contact, co-motion and objectness
    weight_comotion: float = 0.2  # lower than contact: a static scene makes co-motion uninformative (0.5)
    weight_objectness: float = 0.3
    min_score: float = 0.2  # proposals ranking below this are dropped


@dataclass
class Proposal:
    """An object discovered around a subject on one frame.

    Attributes:
        frame_idx: working frame index.
        mask: bool (H, W), working pixels.
        points_xy: float32 (N, 2), the prompt point(s) that produced it, working pixels (the PLR metric uses them).
        score: ranking score in [0, 1].
        contact: contact with the subject in [0, 1].
        comotion: co-motion with the subject in [0, 1] (0.5 when motion says nothing).
        claims_subject: True when the object was split off the subject mask (which had swallowed it): ``mask``
            then overlaps the subject, and the caller should remove ``mask`` from the subject on ``frame_idx``
            before tracking both. False: ``mask`` lies (almost) outside the subject.
    """

    frame_idx: int
    mask: np.ndarray
    points_xy: np.ndarray
    score: float
    contact: float
    comotion: float
    claims_subject: bool = False


class DiscoveryStrategy(Protocol):
    """A discovery strategy: any callable with this signature (a function or an object with ``__call__``)."""

    def __call__(
        self,
        segmenter: VideoSegmenter,
        state: SegmenterState,
        subject_mask: np.ndarray,
        frame_idx: int,
        *,
        known_masks: Sequence[np.ndarray] = (),
        subject_points_xy: np.ndarray | None = None,
        config: DiscoveryConfig = DiscoveryConfig(),
    ) -> list[Proposal]:
        """Propose the objects the subject interacts with on ``frame_idx``.

        Args:
            segmenter: the :class:`~click2graph.segment.VideoSegmenter` that tracks the video; strategies decode
                their point prompts with its ``decode_candidates`` (nothing is added to the session).
            state: its :class:`~click2graph.segment.SegmenterState` for the video (frames and cached flow).
            subject_mask: bool (H, W), the subject on ``frame_idx``, working pixels.
            frame_idx: working frame index.
            known_masks: bool (H, W) masks of objects already tracked on this frame (not the subject itself);
                never proposed again.
            subject_points_xy: float (K, 2) positive clicks that prompted the subject on this frame, working
                pixels, or None. A strategy may use them to split off objects the subject mask swallowed
                (``claims_subject`` proposals).
            config: the knobs; each strategy documents those it honours.

        Returns:
            Proposals sorted best first, at most ``config.max_objects``; empty when the subject mask is empty.
        """
        ...
