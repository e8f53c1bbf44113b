"""Single-frame segmentation from clicks or a box, without weights: choose the object's extent, then GrabCut.

A click says *where* the object is but not how far it extends. We take the extent from motion when the video
has it: the object moves differently from the camera, so the connected region around the click whose flow
departs from the camera's affine motion is the object (rider and bike together, a whole tennis player). GrabCut
then separates the object from the rest of that region by colour, with everything outside it as background. In
a clip, GrabCut that also sees texture and the camera-compensated frame difference
(:mod:`click2graph.segment.classic_difference`) cuts the region too, and the cut whose mask follows the difference
better is kept, as for a box (below): DIS's halo around a walker reaches the floor beside his legs, whose colours the
legs share, and which pixels tip the colour cut into keeping a block of it is chance (codec noise), while the floor
is still in the difference. A colour cut that collapsed to a speck goes to the motion candidate below instead (a
breakdancer's texture cut holds a tenth of her).

A subject the camera follows, or one that moves slowly, has no such region (or a sliver whose cut collapses to
a speck): the frame alone must then do. GrabCut runs on windows of several sizes around the clicks, each with
the outside fixed as background and with it only probably background, and the candidate whose outline runs
along image edges wins.

When the moving region exists but its cut collapses (a dog whose colours are those of the poles and grass
around it), the region still says which pixels are the object. In a clip, the camera-compensated frame difference
(:mod:`click2graph.segment.classic_difference`) gives the motion candidate: the pieces of the click's moving area
that change as the blob does (DIS smears the flow over the backdrop, the frame difference does not). Without it,
GrabCut seeded with the moving blob as sure foreground, in a window somewhat larger than the blob, gives it. A
static candidate then counts only when it agrees with it (a window cut that took the grass with the dog does not),
and the motion candidate is kept when none does.

A moving region's cut keeps the parts whose colours stand out from its surroundings, and the region itself holds
only the pixels moving like the clicked one: a dancer's torso without the kicking legs, a scooter without its
rider. So when the click is on something moving, the best static candidate adds its pixels that belong to the
click's connected moving area (whatever their motion): the other parts of the object that move too, without the
static background the window cut may have taken. That area is DIS's halo too (flow is smooth across edges), and
the best-aligned cut can hold the flat wall and table beside a player: where the frame difference tells what moves
(:mod:`click2graph.segment.classic_difference`), only the part of that cut that a cut within it following the
difference best also holds is added. A mask that is still a small fragment of that moving area (a rider's white
shirt: every window cut stops at its edges) grows by GrabCut of the area itself: the colours its surroundings lack
join (shorts, bike), the halo over the backdrop does not. One that stays a fragment (a breakdancer's leg, whose
other parts have colours of their own that the wall and flowers share) takes the area's pieces that change in the
frame difference as it does.

A click can also land on a part that does not move between the two frames (a dog's head at the top of its jump, a
dancer's supporting hand) while the rest of the subject does: no moving region holds the click, and the window cuts
alone keep that part. When the best window cut (the clicked part) holds moving pixels, its moving pixel nearest the
click plays a second click for the motion path, and the part joins its result, unless that result holds the click
and the part's cut holds all of it but is not much larger: the cut then ran past the subject the motion found into
things of its colours (the red cars beside a red scooter) and adds only them. When none of it moves (a walking
rhino's sunlit rump or its head), the moving pixel nearest the click within the part's size around it plays that
click, and the result is kept only when it explains the part's colours better than the rest of the frame does: the
rippling water beside a still duck does not, and the duck stays alone.

A box's cut (GrabCut inside it) loses the parts whose colours the surroundings share: a tennis player's legs on
clay, a motion-blurred dog among poles and grass (its cut keeps a sliver of pole). GrabCut with a texture feature
(:mod:`click2graph.segment.classic_box`) separates some of them, but loses thin parts whose every pixel is an
edge (a flamingo's neck): the box says which cut to keep, since the object reaches its sides, so the texture cut
replaces the colour cut only when its own bounding box fits the box better (the colour cut's fit alone decides
whether GrabCut is redone at working resolution: a texture cut can latch onto a tall pole as well). In a video the
texture cut also sees the camera-compensated frame difference (:mod:`click2graph.segment.classic_difference`:
the backdrop lines up with the neighbour frames, the subject does not): the wall block and curtain beside a
dancer share her colours but not her motion. Both cuts then fit the box (0.99 each), so the one whose mask
correlates better with the cue over the box is kept (the colour cut of a flamingo, whose texture cut took a rock),
and at the end the box cut's pieces that are still in the cue and coloured like the background go (the grass under
a dog: :func:`~click2graph.segment.classic_box.drop_still_background`). No cue when the colour cut is darker in
it than the rest of the box: a still subject on a changing backdrop (a duck on rippling water). When the video
moves, the moving region at the box's clicks (else its centre) is cut as for a click, and its pixels that move like
the box cut's own moving pixels join the box cut. A loose box (around an upside-down dancer) is mostly background,
and its cut can take a block of it (a wall beside the leg): a still piece of the cut whose flow follows the camera
as much as the box's background does goes first. A drawn box is not the object's tight box: when the cut of
one collapses to a sliver (a side drawn through a flamingo's back), the cut is redone in grown boxes
(:mod:`click2graph.segment.classic_box_slack`).

A window cut can run past a still object into a touching one of other colours (a person's cut that takes the
table at their hand), and that object's strong outline then wins on edge alignment: before the choice, each static
cut loses its pieces that no other window's cut holds and whose colours are foreign to the part the cuts agree on
(:mod:`click2graph.segment.classic_support`; the free cuts, which their windows do not bound, count as one window:
two of them took the red cups standing in front of a clicked shirt). The moving parts that a static cut adds to a
moving click's mask come from the cuts pruned as before, each supported by any other cut: what joins there must
move, so still cups cannot, while a moving part of other colours that only the free cuts hold can (a kicking leg).

Edge alignment, not colour contrast with the surroundings, picks among the static candidates: contrast favours
a distinctly coloured part over the whole object, and no single window size fits objects of every size. Edge
alignment can favour such a part too (a cyclist's blue jersey over jersey, shorts and helmet): when most other
windows hold the best-aligned cut in one whole they agree on, and it scores near the part, the whole is kept.
That pick stays where the window cuts serve the motion path (the clicked part, the moving parts a cut adds). Where
the frame alone decides the mask (no motion, or a collapsed moving region), the window cuts often fail together
(all collapse to the click when its colours are common around it, or all run into a touching thing of its colour),
so a second kind of cut joins them: geodesic cuts (:mod:`click2graph.cv.geodesic`), which stop at the first
strong colour edge around the click, and GrabCut started from them. The cut agreeing most with all the others is
kept (:func:`_frame_alone_mask`), and, as a geodesic cut can stop at a part's edge (a shirt), the windows' whole
when at least half the window cuts hold it and are larger. Not when every window cut collapsed (a click on
background), nor when a collapsed moving region seeded a cut of its own (the window cuts agreeing with that cut,
else that cut, as before).
Each click decision above reads one frame pair's flow, and its noise flips some of them (the moving area's noise
bar, which window cut wins: on a clip encoded again, or at a duplicated frame, which has no motion at all). A click
on a frame between two others is therefore segmented with the motion to three neighbours in turn (the next, the
previous, the one after next), and the mask that agrees most with the other two is kept (a pair pick, the
nearer neighbour's of the two masks that agree most, keeps the outlier whenever it is in that pair: worse); at the
clip's ends the next frame alone decides.
``python -m click2graph.bench tracking`` measures the result (frame-0 IoU from one click; ``--click-frames`` on
frames across the clip).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from click2graph.cv.geodesic import GeodesicDistance
from click2graph.cv.grabcut import grabcut
from click2graph.masks import bbox_xyxy, dilate, largest_component, mask_iou, resize_mask
from click2graph.prompts import FramePrompt
from click2graph.segment.classic_box import drop_still_background, grabcut_surroundings, texture_grabcut
from click2graph.segment.classic_box_slack import MIN_PIECE_FIT, box_fit, grown_boxes, main_piece_fit
from click2graph.segment.classic_difference import background_difference, cue_agreement, moves_against_backdrop
from click2graph.segment.classic_energy import affine_flow, moving_pixels
from click2graph.segment.classic_features import FrameFeatures
from click2graph.segment.classic_support import drop_unsupported_pieces, explained_by

logger = logging.getLogger(__name__)
# A box's colour cut replaces its texture cut (which saw the frame difference) only when it follows that cue better
# by more than this (correlation, :func:`~click2graph.segment.classic_difference.cue_agreement`): nearer, the choice
# is noise (DAVIS boxes: scooter-black's cuts 0.418 / 0.422, IoU 0.742 / 0.711; flamingo's colour cut, the better
# one, leads by 0.024; motocross-bumps' noisy boxes tie within 0.003 with IoU within 0.008).
CUE_TIE = 0.01


@dataclass(frozen=True)
class ClickConfig:
    """Settings of single-frame segmentation (lengths in processing pixels unless stated)."""

    motion_gap: int = 1  # frames from the prompt frame to its motion neighbour, backward when negative or past the end
    # A click on a frame with neighbours on both sides is segmented with the motion to each of these neighbours in
    # turn, and the one agreeing most with the others is kept (:func:`_agreed_click_mask`); the first two settle it
    # when they agree to IoU ``consensus_settled``. At the clip's ends gap 1 alone decides: gaps 2 and 3 see twice
    # and three times the motion (car-shadow's frame-0 click: IoU 0.84 at gap 1, 0.54 and 0.26 at gaps 2 and 3).
    consensus_gaps: tuple[int, ...] = (1, -1, 2)
    consensus_settled: float = 0.9
    motion_sigmas: float = 4.0  # a pixel moves "differently" when its residual flow exceeds this many noise sigmas
    min_motion_px: float = 1.0  # ... and at least this much (DIS is not more accurate than ~0.5 px)
    max_seed_frac: float = 0.35  # a motion region larger than this fraction of the frame is the background
    min_seed_px: int = 60  # smaller motion regions are noise
    # Without motion, GrabCut runs on windows around the clicks (half-sizes: fractions of max(H, W)), each twice:
    # with everything outside the window fixed as background, and with it only *probably* background (the cut
    # may then grow past the window; a thin frame border stays background). The object's extent is unknown, so
    # the candidate whose outline follows image edges best is kept (see :func:`edge_alignment`).
    window_fracs: tuple[float, ...] = (0.1, 0.16, 0.25)
    border_frac: float = 0.02  # frame border fixed as background in the free candidates, fraction of max(H, W)
    min_area_frac: float = 0.002  # a mask below this fraction of the frame is a speck (the cut failed), not a part
    # When the moving region's cut collapses: the blob seeds a cut in its bounding box grown by this fraction of its
    # size on each side (larger windows took the background: 0.6 and 1.0 lowered the dev-set mean), and a static
    # candidate is kept only when its IoU with that motion candidate reaches ``min_agreement``.
    seed_window_grow: float = 0.3
    min_agreement: float = 0.5
    # A static cut is a part of a larger one that holds this fraction of its pixels (see :func:`_whole_holding`;
    # 0.95 makes the same choices on the dev set's deepest-pixel and spread clicks), and the whole is kept when
    # the part's edge alignment leads it by at most ``part_lead`` of the part's: cuts agreeing on one object differ
    # by as much (a cyclist 5.20-5.52, a dancer 4.75-5.17); bmx-trees' rider's part leads his whole by 14 %.
    part_held: float = 0.9
    part_lead: float = 0.1
    # The clicked part's cut holds the motion path's result (see :func:`_subject_within`) either as a whole holds a
    # piece (a still person's shirt, from a moving pixel of his: 0.21 of the cut's area) or as a leak holds the
    # subject it ran past (scooter-black's cut into the red cars: 0.43-0.45, a flamingo's into a lit rock: 0.61).
    subject_of_part: float = 0.3
    # A click's mask under this fraction of the click's connected moving area is a fragment of what moves there (a
    # rider's shirt): the area is DIS's halo-widened superset of the moving object. On the DAVIS dev set's clicks
    # (deepest-pixel and 8 spread ones) the masks held at least 0.21 of it (tennis, whose fuller cut takes the clay
    # between the legs), the fragments 0.02-0.13 (bmx-trees' shirt, scooter-black, breakdance-flare's shoe).
    fragment_of_moving: float = 0.15
    static_side: int = 224  # the six static cuts run at this longest side (px): 4x fewer pixels, same choice
    # A click on a small object is cut first at working resolution (:mod:`.classic_small`): in a square of half-size
    # ``small_window_frac`` of the frame's longest side, kept when the cut grew to ``small_min_growth`` times the
    # clicks' 1 px disks, ends inside the square, runs along image edges on ``small_edge_share`` of its outline, and
    # is the same (IoU >= ``small_stable``) in one twice as large.
    small_window_frac: float = 0.04
    small_min_growth: float = 4.0
    small_edge_share: float = 0.9
    small_stable: float = 0.8
    grabcut_iters: int = 5
    click_radius: int = 3  # hard constraint disk around each click
    # A user's box is tight around the object: a box cut whose own bounding box overlaps it by less than this
    # (IoU) has latched onto a part (the poles in front of a dog) and is redone at working resolution.
    min_box_fit: float = 0.5


def segment_prompt(feat: FrameFeatures, t: int, prompt: FramePrompt, config: ClickConfig) -> np.ndarray:
    """Segment one frame from a prompt.

    Args:
        feat: processing-resolution features of the video.
        t: frame index of the prompt.
        prompt: clicks (positive/negative) and/or a box, in working pixels.

    Returns:
        bool (h, w) mask in processing pixels (possibly empty if the prompt's area is all background).
    """
    if prompt.box_xyxy is None:
        return _agreed_click_mask(feat, t, prompt, config)
    mask = _segment_once(feat, t, prompt, config)
    box = feat.to_proc_xy(prompt.box_xyxy.reshape(2, 2)).ravel()
    if main_piece_fit(mask, box) >= MIN_PIECE_FIT:
        return mask
    # the cut collapsed to a sliver: the drawn box cut the object or is mostly background (classic_box_slack)
    for grown in grown_boxes(prompt.box_xyxy.astype(float), feat.frames[t].shape[:2]):
        cut = _segment_once(feat, t, replace(prompt, box_xyxy=grown.astype(np.float32)), config)
        if main_piece_fit(cut, box) >= MIN_PIECE_FIT:
            return cut
    return mask


def _agreed_click_mask(feat: FrameFeatures, t: int, prompt: FramePrompt, config: ClickConfig) -> np.ndarray:
    """The clicks' mask on a frame between two others: segmented with the motion to each neighbour of
    ``config.consensus_gaps``, and the mask with the highest summed IoU with the others kept (the earliest on a tie).
    Every decision of the click path reads one frame pair's flow, and its noise flips some of them: a threshold on
    the moving area, which window cut wins. Whatever flips for one pair rarely flips the same way for the two others,
    and a duplicated frame (no motion at all) is outvoted. When the first two masks agree to IoU
    ``config.consensus_settled``, the first is kept without computing the third."""
    if not 0 < t < len(feat.frames) - 1:
        return _segment_once(feat, t, prompt, config)
    masks: list[np.ndarray] = []
    frame_cuts: dict = {}  # they read no motion: made once, shared by the neighbours
    for gap in config.consensus_gaps:
        masks.append(_segment_once(feat, t, prompt, replace(config, motion_gap=gap), frame_cuts=frame_cuts))
        if len(masks) == 2 and mask_iou(masks[0], masks[1]) >= config.consensus_settled:
            break
    return masks[_most_agreed(masks)]


def _most_agreed(masks: list[np.ndarray]) -> int:
    """Index of the mask with the highest summed IoU with the others (the earliest on a tie)."""
    agreement = [sum(mask_iou(mask, other) for other in masks) for mask in masks]
    return int(np.argmax(agreement))


def _segment_once(
    feat: FrameFeatures, t: int, prompt: FramePrompt, config: ClickConfig, *, frame_cuts: dict | None = None
) -> np.ndarray:
    """:func:`segment_prompt` without the second try of a collapsed box cut. ``frame_cuts`` (clicks only: a box
    moves the cuts to its centre): a dict to keep the clicks' cuts of the frame alone in once made, or one holding
    them (:func:`_static_candidates` and :func:`_geodesic_candidates` read no motion, so the same clicks on another
    motion neighbour reuse them)."""
    rgb, bins = feat.frame(t)
    h, w = bins.shape
    pos = np.round(feat.to_proc_xy(prompt.positive_points_xy)).astype(int)
    neg = np.round(feat.to_proc_xy(prompt.negative_points_xy)).astype(int)
    pos = np.clip(pos, 0, [w - 1, h - 1])
    neg = np.clip(neg, 0, [w - 1, h - 1])
    box = None if prompt.box_xyxy is None else feat.to_proc_xy(prompt.box_xyxy.reshape(2, 2)).ravel()

    sure_fg = _disks(pos, (h, w), config.click_radius)
    sure_bg = _disks(neg, (h, w), config.click_radius)
    if box is not None:
        sure_bg |= ~_box_region(box, (h, w))
    sure_fg &= ~sure_bg

    user_pos, user_fg = pos, sure_fg  # the cuts of the frame alone read these (a proxy below differs per neighbour)
    region, moving = _probable_region(feat, t, rgb, pos, box, config)
    part = static = None  # the clicked still part, when its moving pixels lead to the rest (see the module doc)
    if region is None and box is None and len(pos):
        static = _window_cuts(frame_cuts, rgb, pos, sure_fg, sure_bg, config)
        clicked = _pick_static(static.by_window, config)
        # a whole that most windows hold the best-aligned cut in (see _whole_holding) is the object already
        best = max(static.by_window, key=lambda candidate: candidate[1])[0]
        proxy, beside = _moving_point_in(feat, t, clicked, pos, config) if clicked is best else (None, False)
        if proxy is not None:
            part = clicked
            region, moving = _probable_region(feat, t, rgb, proxy, None, config)
            sure_fg = sure_fg | (_disks(proxy, (h, w), config.click_radius) & ~sure_bg)
            pos = np.concatenate([pos, proxy])
    mask = colour = motion_cut = cue = None
    if region is not None:
        mask = colour = _keep_clicked(_grabcut(rgb, region & ~sure_bg, sure_fg, sure_bg, config.grabcut_iters), pos)
        if box is not None or not _is_speck(colour, config):  # the cut that also sees texture and motion (module doc)
            cue = background_difference(feat, t)
            if cue is not None and not moves_against_backdrop(cue, colour, region & ~sure_bg):
                cue = None  # a still subject on a changing backdrop: the cue would point at the backdrop
        if cue is not None or box is not None:
            textured = texture_grabcut(rgb, region & ~sure_bg, sure_fg, sure_bg, config.grabcut_iters, cue=cue)
            textured = _keep_clicked(textured, pos)
            if cue is not None:  # the cut that follows the cue better (a box: both fit it at about 0.99)
                keep = _follows_cue_better(cue, textured, colour, region)
            else:
                keep = box_fit(textured, box) > box_fit(mask, box)
            mask = textured if keep else mask
        if box is None and _is_speck(mask, config):
            motion_cut = _motion_seeded_cut(feat, t, rgb, region, moving, sure_fg, sure_bg, pos, config)
    if box is not None and box_fit(colour, box) < config.min_box_fit:  # the colour cut latched onto a part
        retry = _box_cut_full_res(feat.frames[t], prompt, rgb.shape[:2], config)
        mask = retry if box_fit(retry, box) > box_fit(mask, box) else mask
    clicks = pos  # the user's own positive clicks (a box's centre below is not one)
    if not len(pos) and box is not None:  # a box alone: its centre plays the positive click from here on
        pos = np.array([[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]]).astype(int)
    collapsed = mask is None or _is_speck(mask, config)
    if static is None and (collapsed or moving is not None):
        static = _window_cuts(frame_cuts, rgb, pos, sure_fg, sure_bg, config)
    if collapsed and motion_cut is not None and not _is_speck(motion_cut, config):
        # the moving region's cut collapsed, and the cut it seeded says which pixels move: a window cut agreeing with
        # it, else that cut (see :func:`_pick_static`)
        mask = _pick_static(static.by_window, config, motion_cut=motion_cut)
    elif collapsed and box is None:
        # No motion, or the cut of the moving region collapsed: a subject moving like the camera, a blurred one.
        # The frame alone decides, by the consensus of two kinds of cut (see :func:`_frame_alone_mask`).
        geodesic = _cached(
            frame_cuts, "geodesic", lambda: _geodesic_candidates(rgb, user_pos, user_fg, sure_bg, config)
        )
        mask = _frame_alone_mask([m for m, _ in static.by_window], geodesic, config)
    elif collapsed:  # a box cut that collapsed: the window cuts around its centre
        mask = _pick_static(static.by_window, config)
    if moving is not None:  # a static cut adds the object's other moving parts (see the module doc)
        mask = _keep_clicked(mask | (_cut_for_moving_parts(feat, t, static.by_cut, moving, mask, config) & moving), pos)
        mask = _whole_of_fragment(feat, t, rgb, mask, moving, sure_fg, sure_bg, pos, config)
    if box is not None:  # the box cut adds the parts that move with it (see :func:`_box_moving_parts`)
        neg_disks = _disks(neg, (h, w), config.click_radius)
        mask = _box_moving_parts(feat, t, rgb, box, mask, pos, neg_disks, config, clicks=clicks)
        if cue is not None:  # the pieces still and coloured like the background go (see drop_still_background)
            mask = drop_still_background(rgb, mask, _box_region(box, (h, w)), cue, keep_xy=clicks)
    if part is not None:
        if beside and not explained_by(rgb, part, mask | part):  # the moving thing beside it is another one
            mask = part
        if not _subject_within(mask, part, clicks, config):
            mask = _keep_clicked(mask | part, pos)
    return _remove_negative_regions(mask, pos, neg, config.click_radius)


def _follows_cue_better(cue: np.ndarray, cut: np.ndarray, than: np.ndarray, region: np.ndarray) -> bool:
    """Whether the texture-and-cue ``cut`` is kept over the colour cut ``than``: it follows the frame difference
    ``cue`` over ``region`` better (:func:`~click2graph.segment.classic_difference.cue_agreement`), or no more than
    ``CUE_TIE`` worse."""
    return cue_agreement(cue, cut, region) > cue_agreement(cue, than, region) - CUE_TIE


def _subject_within(result: np.ndarray, part: np.ndarray, clicks: np.ndarray, config: ClickConfig) -> bool:
    """Whether the motion path's ``result`` is the subject that the clicked ``part``'s cut ran past (the red cars
    beside a red scooter), so the part adds nothing of it: the result holds the clicks, the part holds it
    (``config.part_held`` of its pixels), and it is not a mere piece of the part (at least
    ``config.subject_of_part`` of its area: a still person's shirt found from a moving pixel is one)."""
    area = result.sum()
    held = (result & part).sum() >= config.part_held * area
    return bool(result[clicks[:, 1], clicks[:, 0]].all() and held and area >= config.subject_of_part * part.sum())


def _cut_for_moving_parts(feat, t, static, moving, cut, config: ClickConfig) -> np.ndarray:
    """The static cut whose pixels in the click's ``moving`` area join the click's ``cut``: the one whose outline
    best follows image edges (:func:`_pick_static`). Where the frame difference tells what moves (a video with
    enough neighbours, :func:`~click2graph.segment.classic_difference.background_difference`, and a cut that moves
    against its backdrop), only its pixels that another cut within it (holding ``config.part_held`` of its pixels
    in it) also holds, the one that follows that cue best over the moving area: DIS spreads a player's motion over
    the flat wall and table beside him, which the frame difference sees still, and a window cut that took them can
    still win on edge alignment (the table's white lines). The cue only takes away: a cut reaching another moving
    thing (a child beside the clicked one) is never chosen for following the cue there."""
    best = _pick_static(static, config)
    cue = background_difference(feat, t)
    if cue is None or not moves_against_backdrop(cue, cut, moving):
        return best
    usable = [mask for mask, score in static if score > -np.inf]
    within = [mask for mask in usable if (mask & best).sum() >= config.part_held * mask.sum()]
    return best & max(within, key=lambda mask: cue_agreement(cue, mask, moving), default=best)


def _whole_of_fragment(feat, t, rgb, mask, moving, sure_fg, sure_bg, pos, config: ClickConfig) -> np.ndarray:
    """The click's ``mask`` and, when it is a fragment of the click's connected ``moving`` area (under
    ``config.fragment_of_moving`` of it: a rider's shirt whose window cuts all stop at its edges while the rider and
    bike move on around it), GrabCut of that area with the mask's moving pixels as sure foreground: the area's
    colours that its surroundings lack join (shorts, bike), the halo over the backdrop does not. Where the frame
    difference tells what moves (``feat`` a video, the cut moving against the area's rest), the cut over colour,
    texture and that difference replaces it when it follows the difference better, as for the click's region
    (:func:`_segment_once`). When that still leaves a fragment (a dancer's leg: her other leg, shirt and arms are
    colours of their own), the parts of the area that change in the frame difference as the fragment does join it
    (:func:`_changing_with`)."""
    if mask.sum() >= config.fragment_of_moving * moving.sum():
        return mask
    fg = (sure_fg | (mask & moving)) & ~sure_bg
    area = moving & ~sure_bg
    grown = _grabcut(rgb, area, fg, sure_bg, config.grabcut_iters)
    cue = None if feat is None else background_difference(feat, t)
    if cue is not None and moves_against_backdrop(cue, grown, moving):
        textured = texture_grabcut(rgb, area, fg, sure_bg, config.grabcut_iters, cue=cue)
        if _follows_cue_better(cue, textured, grown, moving):
            grown = textured
    mask = _keep_clicked(mask | grown, pos)
    if mask.sum() >= config.fragment_of_moving * moving.sum():
        return mask
    return _keep_clicked(mask | (_changing_with(feat, t, mask, moving) & ~sure_bg), pos)


def _changing_with(feat, t, mask, moving) -> np.ndarray:
    """The pieces of the ``moving`` area that touch ``mask`` and change in the frame difference
    (:func:`~click2graph.segment.classic_difference.background_difference`) more than halfway from the backdrop's
    level to the mask's (mean log(1 + cue) outside the area / on the mask), closed over 2 px gaps; none without a
    cue or when the mask does not move against its backdrop. DIS smears the flow of a moving thing over its
    backdrop (the moving area is a halo-widened superset of it), the frame difference does not."""
    cue = background_difference(feat, t)
    if cue is None or moving.all() or not moves_against_backdrop(cue, mask, moving):
        return np.zeros_like(mask)
    log_cue = np.log1p(cue)
    changing = moving & (log_cue > 0.5 * (float(log_cue[mask].mean()) + float(log_cue[~moving].mean())))
    changing = cv2.morphologyEx(changing.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0
    _, labels = cv2.connectedComponents(changing.astype(np.uint8))
    touching = np.unique(labels[dilate(mask, 2) & changing])
    return np.isin(labels, touching[touching > 0])


def _moving_point_in(feat, t, part, pos, config: ClickConfig) -> tuple[np.ndarray | None, bool]:
    """(int (1, 2) xy or None, beside): the moving pixel of the clicked ``part`` nearest the clicks; when none of
    it moves, the one nearest the clicks within the part's size (the square root of its area) around it, with
    ``beside`` True; None when there is none either."""
    motion = _motion(feat, t, config)
    if motion is None:
        return None, False
    beside = False
    ys, xs = np.nonzero(part & motion[3])
    if not len(xs) and part.any():
        beside = True
        ys, xs = np.nonzero(dilate(part, int(np.sqrt(part.sum()))) & motion[3])
    if not len(xs):
        return None, False
    d = np.min(np.hypot(xs[:, None] - pos[None, :, 0], ys[:, None] - pos[None, :, 1]), axis=1)
    i = int(np.argmin(d))
    return np.array([[xs[i], ys[i]]]), beside


def _box_moving_parts(feat, t, rgb, box, mask, pos, neg_disks, config: ClickConfig, clicks=None) -> np.ndarray:
    """The box cut plus the parts it lost because their colours are the surroundings' (legs on clay), found by
    motion: the click path's cut of the moving region at ``pos`` (the box's clicks, else its centre) adds its
    pixels inside the box that move like the box cut's own moving pixels (flow nearer their median than the
    camera's), so static background and differently moving things stay out; before that, the cut's still pieces
    that follow the camera go (:func:`_drop_still_pieces`; ``clicks``, the user's positive clicks, keep theirs).
    Unchanged for a subject that does not move, a centre on nothing moving, and a single frame."""
    motion = _motion(feat, t, config)
    if motion is None:
        return mask
    flow, flow_cam, _, moving = motion
    own = mask & moving
    if own.sum() < config.min_seed_px:
        return mask
    f_obj = np.median(flow[own].astype(np.float32), axis=0)
    nearer = np.linalg.norm(flow - f_obj, axis=-1) < np.linalg.norm(flow - flow_cam, axis=-1)
    inside = _box_region(box, mask.shape)
    clicks = np.zeros((0, 2), int) if clicks is None else clicks
    mask = _drop_still_pieces(mask, moving, nearer, inside & ~mask, clicks)
    like = moving & inside & nearer
    if not (like & ~mask).any():
        return mask
    region, _ = _probable_region(feat, t, rgb, pos, None, config)
    if region is None:
        return mask
    sure_fg = _disks(pos, mask.shape, config.click_radius) & ~neg_disks
    cut = _keep_clicked(_grabcut(rgb, region & ~neg_disks, sure_fg, neg_disks, config.grabcut_iters), pos)
    return mask | (cut & like)


def _drop_still_pieces(mask, moving, nearer, background, pos) -> np.ndarray:
    """The box cut without its still pieces that move like the box's background (a wall block the cut took
    beside an upside-down dancer). A piece is a connected area of the cut's pixels that do not move; it goes when
    the fraction of its pixels whose flow is ``nearer`` the object's than the camera's is no higher than that
    fraction over the box's ``background`` (the rate at which flow noise alone puts background pixels nearer
    the object). A still part of a slow subject keeps more of the object's motion than its background does (its
    flow comes from the moving edges around it) and stays; pieces holding a positive click stay too. Nothing goes
    when those pieces are most of the cut: the box's object is then still itself (a standing flamingo whose neck
    moves), and its moving pixels are a part of it or flow noise, not the object the still pieces are beside."""
    if not background.any():
        return mask
    rate = float(nearer[background].mean())
    still = mask & ~moving
    count, labels = cv2.connectedComponents(still.astype(np.uint8), connectivity=8)
    size = np.bincount(labels[still], minlength=count)
    near = np.bincount(labels[still], weights=nearer[still], minlength=count)
    foreign = np.flatnonzero(near <= rate * size)
    foreign = np.setdiff1d(foreign, [0, *(int(labels[y, x]) for x, y in pos)])
    dropped = np.isin(labels, foreign)
    if 2 * int(dropped.sum()) > int(mask.sum()):  # most of the cut: the subject itself is still (see above)
        return mask
    return mask & ~dropped


def _motion_seeded_cut(feat, t, rgb, region, moving, sure_fg, sure_bg, pos, config: ClickConfig) -> np.ndarray:
    """The object when the cut of the moving blob (``region`` is it dilated by the click radius) collapsed: in a
    clip, the pieces of the click's ``moving`` area that change in the frame difference as the blob does
    (:func:`_changing_with`). Otherwise (no frame difference, or a blob that does not move against its backdrop),
    GrabCut with the blob as sure foreground and its bounding box grown by ``config.seed_window_grow`` as probable
    foreground: the blob gives the object's colours even where the surroundings share them, and the window lets
    the cut reach parts that did not move, but it leaks where they share them all around (clay-coloured legs)."""
    blob = ~dilate(~region, config.click_radius)
    changing = _keep_clicked(_changing_with(feat, t, blob & moving, moving) | sure_fg, pos) & ~sure_bg
    if not _is_speck(changing, config):
        return changing
    x0, y0, x1, y1 = bbox_xyxy(region)
    gx, gy = int(config.seed_window_grow * (x1 - x0)), int(config.seed_window_grow * (y1 - y0))
    window = _box_region((x0 - gx, y0 - gy, x1 + gx, y1 + gy), region.shape)
    cut = _grabcut(rgb, window & ~sure_bg, (sure_fg | blob) & ~sure_bg, sure_bg, config.grabcut_iters)
    return _keep_clicked(cut, pos)


def _box_region(box: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """bool (h, w): the pixels of an ``x0, y0, x1, y1`` box (inclusive; fractional corners rounded outwards)."""
    x0, y0, x1, y1 = box
    region = np.zeros(shape_hw, bool)
    region[max(0, int(y0)) : int(np.ceil(y1)) + 1, max(0, int(x0)) : int(np.ceil(x1)) + 1] = True
    return region


def _box_cut_full_res(
    frame: np.ndarray, prompt: FramePrompt, proc_hw: tuple[int, int], config: ClickConfig
) -> np.ndarray:
    """GrabCut inside the box at working resolution (slower; GrabCut's colour mixtures settle differently on the
    finer pixels), clicks as hard constraints; returned in processing pixels (``proc_hw``)."""
    h, w = frame.shape[:2]
    inside = _box_region(prompt.box_xyxy.astype(float), (h, w))
    radius = max(1, round(config.click_radius * w / proc_hw[1]))
    pos = np.round(prompt.positive_points_xy).astype(int).reshape(-1, 2)
    sure_bg = ~inside | _disks(np.round(prompt.negative_points_xy).astype(int).reshape(-1, 2), (h, w), radius)
    sure_fg = _disks(pos, (h, w), radius) & ~sure_bg
    mask = _keep_clicked(_grabcut(frame, inside & ~sure_bg, sure_fg, sure_bg, config.grabcut_iters), pos)
    return resize_mask(mask, (proc_hw[1], proc_hw[0]))


def _motion(feat: FrameFeatures, t: int, config: ClickConfig):
    """(flow, camera flow, residual noise level, moving pixels) from frame t to its neighbour ``config.motion_gap``
    frames away (:func:`~click2graph.segment.classic_energy.moving_pixels`), or None for a single frame."""
    n = len(feat.frames)
    if n < 2:
        return None
    t2 = t + config.motion_gap
    if not 0 <= t2 < n:  # past either end: the other way, else the nearest neighbour
        t2 = t - config.motion_gap if 0 <= t - config.motion_gap < n else (t + 1 if t + 1 < n else t - 1)
    flow = feat.flow(t, t2)
    cam = affine_flow(feat.camera(t, t2), flow.shape[:2])
    residual, moving = moving_pixels(
        flow, cam, sigmas=config.motion_sigmas, min_px=config.min_motion_px, reliable=feat.reliable(t, t2)
    )
    return flow, cam, residual, moving


def _probable_region(feat, t, rgb, pos, box, config: ClickConfig):
    """(where the object may be, what moves), each bool (h, w) or None.

    Where: the box, else the union of the moving regions at the clicks (each positive click says "this is part of
    the object"; a click off any moving region adds a fallback window around itself), else None (the caller then
    tries windows around the clicks). What moves: the connected areas of pixels whose flow departs from the
    camera's that hold a click (None for a box and for clicks on nothing moving; DIS smooths flow across object
    edges, so these areas already reach past the object)."""
    h, w = rgb.shape[:2]
    if box is not None:
        return _box_region(box, (h, w)), None
    motion = _motion(feat, t, config)
    if motion is None:
        return None, None
    flow, _, residual, moving = motion
    regions = [_moving_region(flow, residual, moving, (int(x), int(y)), config) for x, y in pos]
    if all(r is None for r in regions):
        return None, None
    union = np.zeros((h, w), bool)
    for (x, y), region in zip(pos, regions):
        union |= region if region is not None else _window(np.array([[x, y]]), (h, w), _half_sizes((h, w), config)[0])
    logger.debug("click extent from motion: %d px", union.sum())
    moving_with_clicks = np.zeros((h, w), bool)
    for x, y in pos:
        if moving[y, x]:
            moving_with_clicks |= largest_component(moving, containing_xy=(int(x), int(y)))
    return union, moving_with_clicks


def _moving_region(flow, residual, moving, click_xy: tuple[int, int], config: ClickConfig) -> np.ndarray | None:
    """The region moving with the clicked pixel (dilated: a superset), or None if the click is not moving."""
    x, y = click_xy
    h, w = moving.shape
    if not moving[y, x]:
        return None
    # Two motions compete: the camera's and the clicked object's (the flow at the click). A pixel joins the
    # object when its flow is nearer the object's: DIS smooths flow across edges, and a magnitude threshold
    # alone keeps the whole smeared halo.
    r = config.click_radius
    f_obj = np.median(flow[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1].reshape(-1, 2), axis=0)
    region = largest_component(moving & (np.linalg.norm(flow - f_obj, axis=-1) < residual), containing_xy=(x, y))
    if not config.min_seed_px <= region.sum() <= config.max_seed_frac * h * w:
        return None
    # DIS flow is smooth across object edges, so the moving blob is a margin too wide: a superset.
    return dilate(region, config.click_radius)


def _half_sizes(shape_hw: tuple[int, int], config: ClickConfig) -> list[int]:
    """Half-sizes of the static windows around the clicks, smallest first."""
    return [max(6, int(f * max(shape_hw))) for f in config.window_fracs]


def _is_speck(mask: np.ndarray, config: ClickConfig) -> bool:
    return mask.sum() < config.min_area_frac * mask.size


@dataclass(frozen=True)
class WindowCuts:
    """The window cuts of a click (:func:`_static_candidates`), each as (mask, edge alignment of its outline, -inf
    for a speck), without their unsupported pieces of foreign colours (:func:`drop_unsupported_pieces`):
    ``by_window`` supported by the cuts of other windows (the free cuts one window), which choose the clicked object;
    ``by_cut`` supported by any other cut, whose moving pixels join a moving click's mask
    (:func:`_cut_for_moving_parts`). What joins there must move, so a still object that two free cuts ran into
    cannot, while a moving part of other colours that only they hold can (a kicking leg); what one cut alone holds
    still goes (a free cut that ran from a window blind into the player and the wall beside it)."""

    by_window: list[tuple[np.ndarray, float]]
    by_cut: list[tuple[np.ndarray, float]]


def _window_cuts(kept: dict | None, rgb, pos, sure_fg, sure_bg, config: ClickConfig) -> WindowCuts:
    """:func:`_static_candidates`, from the cache ``kept`` (see :func:`_cached`)."""
    return _cached(kept, "window", lambda: _static_candidates(rgb, pos, sure_fg, sure_bg, config))


def _cached(kept: dict | None, key: str, make):
    """``kept[key]`` when ``kept`` holds it, else ``make()`` (put in ``kept`` if it is a dict)."""
    if kept is not None and key in kept:
        return kept[key]
    value = make()
    if kept is not None:
        kept[key] = value
    return value


def _at_static_side(rgb, pos, sure_fg, sure_bg, config: ClickConfig):
    """(rgb, pos, sure_fg, sure_bg, scale): the inputs of the frame-alone cuts at ``config.static_side`` (4x fewer
    pixels, the same choices), the clicks keeping their disks; scale 1.0 (the inputs as they are) for a small frame."""
    full_hw = rgb.shape[:2]
    scale = min(1.0, config.static_side / max(full_hw))
    if scale < 1.0:
        size = (max(8, round(full_hw[1] * scale)), max(8, round(full_hw[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        sure_fg, sure_bg = resize_mask(sure_fg, size), resize_mask(sure_bg, size)
        pos = np.clip(np.round(pos * scale).astype(int), 0, [size[0] - 1, size[1] - 1])
        sure_fg |= _disks(pos, rgb.shape[:2], config.click_radius)
    return rgb, pos, sure_fg, sure_bg, scale


def _frame_border(shape_hw: tuple[int, int], config: ClickConfig) -> np.ndarray:
    """bool (h, w): the thin frame border the free cuts keep as background."""
    h, w = shape_hw
    border = np.ones((h, w), bool)
    b = max(2, int(config.border_frac * max(h, w)))
    border[b:-b, b:-b] = False
    return border


def _static_candidates(rgb, pos, sure_fg, sure_bg, config: ClickConfig) -> WindowCuts:
    """From the frame alone: GrabCut on windows of several sizes around the clicks, closed (outside = background)
    and free (outside = probably background), with and without their unsupported pieces of foreign colours (see
    :func:`drop_unsupported_pieces`). Computed at ``config.static_side``; masks at the size of ``rgb``."""
    full_hw = rgb.shape[:2]
    rgb, pos, sure_fg, sure_bg, scale = _at_static_side(rgb, pos, sure_fg, sure_bg, config)
    h, w = rgb.shape[:2]
    border = _frame_border((h, w), config)
    masks, sources = [], []  # the closed cuts' source is their window, the free cuts' is -1 (drop_unsupported_pieces)
    for window, half in enumerate(_half_sizes((h, w), config)):
        region = _window(pos, (h, w), half) & ~sure_bg
        for outside in (cv2.GC_BGD, cv2.GC_PR_BGD):
            bg = sure_bg if outside == cv2.GC_BGD else sure_bg | (border & ~sure_fg)
            masks.append(_keep_clicked(_grabcut(rgb, region, sure_fg, bg, config.grabcut_iters, outside=outside), pos))
            sources.append(window if outside == cv2.GC_BGD else -1)
    usable = [not _is_speck(mask, config) for mask in masks]
    by_window = [_keep_clicked(mask, pos) for mask in drop_unsupported_pieces(rgb, masks, usable, sources)]
    by_cut = [_keep_clicked(mask, pos) for mask in drop_unsupported_pieces(rgb, masks, usable, list(range(len(masks))))]
    gradient = _gradient_magnitude(rgb)

    def scored(cuts: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        return [
            (
                resize_mask(mask, (full_hw[1], full_hw[0])) if scale < 1.0 else mask,
                -np.inf if _is_speck(mask, config) else edge_alignment(gradient, mask),
            )
            for mask in cuts
        ]

    return WindowCuts(scored(by_window), scored(by_cut))


def _geodesic_candidates(rgb, pos, sure_fg, sure_bg, config: ClickConfig) -> list[np.ndarray]:
    """A second kind of cut from the frame alone, whose failures differ from the window cuts' GrabCut (which
    collapses to the click when its colours are common all around): per window of :func:`_static_candidates`, the
    pixels geodesically nearer the clicks than the window's edge (:mod:`click2graph.cv.geodesic`: the first strong
    colour edge around the click), and GrabCut started from them, with the window's rest probably background and
    outside it background (closed) or probably background but for the frame border (free). Nine bool masks at the
    size of ``rgb``, computed at ``config.static_side``."""
    full_hw = rgb.shape[:2]
    rgb, pos, sure_fg, sure_bg, scale = _at_static_side(rgb, pos, sure_fg, sure_bg, config)
    h, w = rgb.shape[:2]
    border = _frame_border((h, w), config)
    distance = GeodesicDistance(rgb)
    from_clicks = distance.from_seeds(sure_fg)
    steps = _steps_from(sure_fg)
    masks = []
    for half in _half_sizes((h, w), config):
        window = _window(pos, (h, w), half)
        edge = ~cv2.erode(window.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        near = _keep_clicked(from_clicks < distance.from_seeds((edge | sure_bg) & ~sure_fg), pos)
        if mask_iou(near, _keep_clicked(steps < _steps_from(edge | sure_bg), pos)) >= config.part_held:
            continue  # it met no colour edge: the split of a flat area midway between the click and the window
        for outside in (~window, border & ~sure_fg):
            cut = _grabcut(rgb, near, sure_fg, sure_bg | outside, config.grabcut_iters, outside=cv2.GC_PR_BGD)
            masks.append(_keep_clicked(cut, pos))
        masks.append(near)
    return [resize_mask(mask, (full_hw[1], full_hw[0])) if scale < 1.0 else mask for mask in masks]


def _steps_from(seeds: np.ndarray) -> np.ndarray:
    """float32 (h, w): 4-neighbour steps to the nearest ``seeds`` pixel (the geodesic distance of a flat image)."""
    return cv2.distanceTransform((~seeds).astype(np.uint8), cv2.DIST_L1, 3)


def _frame_alone_mask(window_cuts: list[np.ndarray], geodesic: list[np.ndarray], config: ClickConfig) -> np.ndarray:
    """The mask the frame alone gives: of the cuts that are not specks (the ``window_cuts`` of
    :func:`_static_candidates` and the ``geodesic`` ones of :func:`_geodesic_candidates`), the one agreeing most
    with the others. Edge alignment favours a distinctly coloured part, and among the window cuts alone, which
    often fail together, agreement is no better; the two kinds rarely fail the same way.

    Geodesic cuts stop at the first colour edge, and the smallest window's cut often does too, so the consensus can
    settle on such a part (a shirt): when at least half the window cuts that are not specks differ from it (IoU <
    ``config.part_held``), and each of those holds it (that fraction of its pixels) and is larger, and what each adds
    to it another adds too (:func:`_corroborated`), the windows saw a whole around it, and the one of them agreeing
    most with the others is kept (a still person's whole, not his shirt: the geodesic cuts' votes, parts by
    construction, do not settle part against whole).

    When every window cut is a speck, the first is kept: GrabCut found no object at any size around the click (a
    click on background), and a geodesic cut there takes a blob of it."""
    if all(_is_speck(mask, config) for mask in window_cuts):
        return window_cuts[0]
    usable = [mask for mask in window_cuts + geodesic if not _is_speck(mask, config)]
    chosen = usable[_most_agreed(usable)]
    windows = [mask for mask in window_cuts if not _is_speck(mask, config)]
    others = [mask for mask in windows if mask_iou(mask, chosen) < config.part_held]  # not the same cut
    area = chosen.sum()
    holders = [mask for mask in others if mask.sum() > area and (mask & chosen).sum() >= config.part_held * area]
    if (
        holders
        and len(holders) == len(others)
        and 2 * len(others) >= len(windows)
        and _corroborated(holders, chosen, config)
    ):
        return holders[_most_agreed(holders)]
    return chosen


def _corroborated(cuts: list[np.ndarray], part: np.ndarray, config: ClickConfig) -> bool:
    """Whether what each of the ``cuts`` (which hold ``part``) adds to the part, another of them adds too (at least
    ``config.min_agreement`` of it): the larger windows saw one whole around the part. What one cut alone adds is its
    own leak (a dog at the frame's edge: two windows took the floor beside it, a third the walker's legs above it)."""
    added = [cut & ~part for cut in cuts]
    return all(
        any((a & b).sum() >= config.min_agreement * a.sum() for j, b in enumerate(added) if j != i)
        for i, a in enumerate(added)
    )


def _pick_static(candidates: list[tuple[np.ndarray, float]], config: ClickConfig, *, motion_cut=None) -> np.ndarray:
    """The candidate of :func:`_static_candidates` whose outline best follows image edges (the first when all
    are specks), or the whole that most other windows hold it in (see :func:`_whole_holding`): the clicked part
    whose moving pixels may lead to the rest, and the cut whose moving pixels join a moving click's mask.

    With a ``motion_cut`` (bool; see :func:`_motion_seeded_cut`) that is not a speck, only candidates agreeing
    with it (IoU >= ``config.min_agreement``) count, and it is returned when none does."""
    if motion_cut is not None and _is_speck(motion_cut, config):
        motion_cut = None
    if motion_cut is not None:
        candidates = [(m, s) for m, s in candidates if mask_iou(m, motion_cut) >= config.min_agreement]
        if not any(s > -np.inf for _, s in candidates):
            return motion_cut
    scores = [score for _, score in candidates]
    if max(scores) == -np.inf:
        return candidates[0][0]
    return candidates[_whole_holding(candidates, int(np.argmax(scores)), config)][0]


def _whole_holding(candidates: list[tuple[np.ndarray, float]], best: int, config: ClickConfig) -> int:
    """Index of the candidate to keep instead of ``best``: a distinctly coloured part (a cyclist's jersey) can
    follow image edges better than the whole object does. When most of the other (non-speck) cuts hold the best
    one (``config.part_held`` of its pixels) without agreeing with it (IoU < ``config.min_agreement``) and agree
    with each other, they saw a whole of which it is a part: the best-aligned of them is kept when its edge
    alignment is within ``config.part_lead`` of the part's. Otherwise ``best``."""
    part = candidates[best][0]
    usable = [i for i, (_, score) in enumerate(candidates) if score > -np.inf and i != best]
    larger = [
        i
        for i in usable
        if (candidates[i][0] & part).sum() >= config.part_held * part.sum()
        and mask_iou(candidates[i][0], part) < config.min_agreement
    ]
    if not larger or 2 * len(larger) < len(usable):
        return best
    pairs = [(i, j) for i in larger for j in larger if i < j]
    if any(mask_iou(candidates[i][0], candidates[j][0]) < config.min_agreement for i, j in pairs):
        return best
    whole = max(larger, key=lambda i: candidates[i][1])
    return whole if candidates[whole][1] >= (1.0 - config.part_lead) * candidates[best][1] else best


def _disks(pos: np.ndarray, shape_hw: tuple[int, int], radius: int) -> np.ndarray:
    """bool (h, w): disks of ``radius`` around the points ``pos`` (int (N, 2) xy)."""
    out = np.zeros(shape_hw, np.uint8)
    for x, y in pos:
        cv2.circle(out, (int(x), int(y)), radius, 1, -1)
    return out.astype(bool)


def _gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the grey image (float32 (h, w)) relative to its frame mean."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mag = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return mag / max(float(mag.mean()), 1e-6)


def edge_alignment(gradient: np.ndarray, mask: np.ndarray) -> float:
    """Mean relative gradient on the mask's outline away from the frame border: a cut along the object's real
    boundary runs over image edges, one through the object or through flat background does not. (Picking by
    colour contrast with the surroundings or by stability across window sizes favoured parts.)"""
    outline = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    outline[:2], outline[-2:], outline[:, :2], outline[:, -2:] = False, False, False, False
    return float(gradient[outline].mean()) if outline.any() else 0.0


def _window(pos: np.ndarray, shape_hw: tuple[int, int], half: int) -> np.ndarray:
    """bool (h, w): the union of squares of half-size ``half`` around each click."""
    h, w = shape_hw
    region = np.zeros((h, w), bool)
    for x, y in np.asarray(pos).astype(int):
        region[max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1] = True
    return region


def _grabcut(
    rgb: np.ndarray,
    region: np.ndarray,
    sure_fg: np.ndarray,
    sure_bg: np.ndarray,
    iters: int,
    *,
    outside: int = cv2.GC_BGD,
) -> np.ndarray:
    """GrabCut with ``region`` probable foreground and everything else ``outside`` (background, or probably
    background), on a crop around the region (the whole frame when outside is only probable)."""
    gc = np.where(region, cv2.GC_PR_FGD, outside).astype(np.uint8)
    gc[sure_bg] = cv2.GC_BGD
    gc[sure_fg] = cv2.GC_FGD
    win = grabcut_surroundings(region | sure_fg) if outside == cv2.GC_BGD else np.s_[:, :]  # for the bg model
    crop = np.ascontiguousarray(gc[win])
    img = cv2.cvtColor(np.ascontiguousarray(rgb[win]), cv2.COLOR_RGB2BGR)
    if not grabcut(img, crop, iters):  # degenerate colour models (flat crop): keep the probable region itself
        logger.debug("GrabCut failed on a flat crop; keeping the probable region")
    out = np.zeros(region.shape, bool)
    out[win] = (crop == cv2.GC_FGD) | (crop == cv2.GC_PR_FGD)
    return out


def progressive_merge(before: np.ndarray, after: np.ndarray, prompt: FramePrompt, rgb: np.ndarray) -> np.ndarray:
    """The mask after the prompt's last click: ``before`` (the mask without it) changed only by the connected part
    of what the clicks' new segmentation ``after`` adds (a positive click) or takes away (a negative one) at the
    click; the rest stays as the user saw it (the "progressive merge" of click-based interactive segmentation, e.g.
    FocalClick). A negative click takes away only the pixels nearer to it, along the frame's colours
    (:class:`~click2graph.cv.geodesic.GeodesicDistance`), than to what both segmentations hold and to the positive
    clicks: the new cut, seeded with background at the click, often gives up a large part of the object with it (a
    car's lower half with its shadow). A click the new segmentation changed nothing at (already on the right side
    of ``before``) leaves it as it was."""
    positive = bool(prompt.labels[-1])
    h, w = before.shape
    x, y = (min(max(int(round(float(v))), 0), n - 1) for v, n in zip(prompt.points_xy[-1], (w, h)))
    change = (after & ~before) if positive else (before & ~after)
    if not change[y, x]:
        return before
    if not positive:
        held = before & after
        clicks = np.round(prompt.points_xy[:-1][prompt.labels[:-1] == 1]).astype(int).reshape(-1, 2)
        held[np.clip(clicks[:, 1], 0, h - 1), np.clip(clicks[:, 0], 0, w - 1)] = True
        change &= _nearer_to(before, rgb, (x, y), held)
    _, labels = cv2.connectedComponents(change.astype(np.uint8), connectivity=8)
    part = labels == labels[y, x]
    return (before | part) if positive else (before & ~part)


def _nearer_to(mask: np.ndarray, rgb: np.ndarray, click_xy: tuple[int, int], others: np.ndarray) -> np.ndarray:
    """The pixels whose geodesic distance to the click is at most that to the nearest ``others`` pixel, computed on
    the box around ``mask``, the click and ``others``."""
    ys, xs = np.nonzero(mask | others)
    x0, x1 = min(xs.min(), click_xy[0]), max(xs.max(), click_xy[0]) + 1
    y0, y1 = min(ys.min(), click_xy[1]), max(ys.max(), click_xy[1]) + 1
    distances = GeodesicDistance(rgb[y0:y1, x0:x1])
    seed = np.zeros((y1 - y0, x1 - x0), bool)
    seed[click_xy[1] - y0, click_xy[0] - x0] = True
    nearer = np.zeros_like(mask)
    nearer[y0:y1, x0:x1] = distances.from_seeds(seed) <= distances.from_seeds(others[y0:y1, x0:x1])
    return nearer


def _keep_clicked(mask: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The connected components that contain a positive click (all of them when there is no click: box)."""
    if not len(pos) or not mask.any():
        return mask
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    ids = {int(labels[y, x]) for x, y in pos} - {0}
    return np.isin(labels, list(ids)) if ids else mask


def _remove_negative_regions(mask: np.ndarray, pos: np.ndarray, neg: np.ndarray, radius: int) -> np.ndarray:
    """Make a negative click that the cut still left inside the mask remove its part: the mask pixels nearer to a
    negative click than to every positive click go (a Voronoi split, like a user's "not this part")."""
    near = dilate(mask, 3 * radius)  # the click's own hard-background disk is a hole of this radius
    neg = neg[near[neg[:, 1], neg[:, 0]]] if len(neg) else neg
    if not len(neg) or not mask.any():
        return mask
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    pts = np.stack([xs, ys], -1).astype(np.float32)
    d_neg = np.min(np.linalg.norm(pts[:, None] - neg[None].astype(np.float32), axis=-1), axis=1)
    if len(pos):
        d_pos = np.min(np.linalg.norm(pts[:, None] - pos[None].astype(np.float32), axis=-1), axis=1)
    else:
        d_pos = np.full(len(pts), np.inf)
    keep = d_pos <= d_neg
    out = np.zeros((h, w), bool)
    out[ys[keep], xs[keep]] = True
    return _keep_clicked(out, pos)
