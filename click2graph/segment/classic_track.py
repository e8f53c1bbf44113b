"""Frame-to-frame tracking of one object in the classic backend: predict with flow, correct with a graph cut.

Each step from frame ``t_prev`` to ``t`` (either direction):

1. Motion: the camera's affine motion (RANSAC on flow outside the object) and the object's (RANSAC on the flow
   of its pixels that pass a forward-backward check). The object's velocity relative to the camera is gated
   against its running value (constant velocity in camera-compensated coordinates): a measurement that jumps
   (typically: an occluder or the background takes over the flow inside the mask and the object's motion
   collapses onto the camera's) is rejected, as is one from too few reliable pixels, and the object coasts on
   its remembered relative velocity. A jump of the camera's estimate alone (the object's image motion continues
   its last one) does not reject it.
2. Prediction: the previous mask warped pixel by pixel along reliable backward flow (articulation), and by the
   object's affine where the flow is unreliable (occlusion boundaries), plus the *extent*: the object's last
   unoccluded mask carried along by its affine motion. The extent is the memory that lets a partly hidden object
   grow back when the occluder passes (a pure flow tracker shrinks under an occluder and never regrows).
3. Correction: a graph cut in a window around the prediction with colour (persistent object histogram vs a
   fast-adapting local background histogram; near the outline, in proportion to their confidence, the local
   colour classifiers of :mod:`~click2graph.segment.classic_local` carried along by the flow), texture given
   colour (:mod:`~click2graph.segment.classic_texture`), co-motion and a shape prior on the prediction. After the
   leak and remnant steps below, the cut's pieces that are still in the camera-compensated frame difference and
   coloured like the rest of the window go (:func:`_without_still_pieces`): co-motion reads DIS's flow, which
   smooths the object's motion over what surrounds it, and the shape prior carries a piece of background the cut
   took on to the next frame (the rocks above a walking rhino's back, a little more every frame).
4. Update: when the new mask covers most of the extent it becomes the new extent; a much smaller mask is treated as
   an occlusion (the extent is kept), a much larger one than the running area as a leak (cut back to near the extent,
   which is kept) unless what it adds beyond the extent is as object-like as what lies within it (growth: an object
   coming at the camera, a dancer whose limbs swing out). Growth back to a size the object has had is learned as a
   healthy mask is: it becomes the extent, the running area follows it and what its motion allows rises to it;
   otherwise a running area that noisy scale measurements shrank below the object's size would call every later mask
   of it a leak, and the first one that fails the growth test is cut back to the stale extent (:func:`_update`).
   Growth past any size it has had is kept but not learned: only its measured motion makes it larger (a leak into
   look-alike water, learned, would move the growth test's own reference onto the water). A mask far below the
   running area that is not lost is a remnant of a fast object the prediction fell behind: the moving region around
   it that the object's colours hold joins it (and the motion memory restarts from that region when the gate refused
   the remnant's motion). An extent past the leak test's limit that the mask left mostly empty stops growing with the
   measured scale until a mask fills it again: only the flow said it grows. The local background colours are learned
   outside mask *and* extent, so an object the cut missed does not become background, and not at all while the object
   is lost; the local classifiers are learned afresh on a new extent's outline.
5. A small object (a hit ball) can move several times its own size between frames: the flow smooths it away, the
   prediction stays behind and the co-motion term calls it background at its new place. When such an object is
   lost, or only a remnant of it is left, it is looked for by what changed since the last frame it was held on
   (the camera-compensated frame difference) near where it was and where it is expected, and once found that way
   the next frame looks for it there first, where its velocity carries it (:func:`_changed_object_near`).

Everything is in processing pixels (see :mod:`click2graph.segment.classic_features`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from click2graph.masks import bbox_xyxy, centroid_xy, dilate, largest_component
from click2graph.segment.classic_box import drop_still_pieces
from click2graph.segment.classic_difference import frame_change, moves_against_backdrop
from click2graph.segment.classic_energy import (
    MAX_NATS,
    ColourModel,
    affine_flow,
    colour_costs,
    fit_affine,
    graph_cut,
    motion_costs,
    moving_pixels,
    shape_costs,
)
from click2graph.segment.classic_features import FrameFeatures
from click2graph.segment.classic_local import LocalWindows
from click2graph.segment.classic_shots import across_cut
from click2graph.segment.classic_texture import TEXTURE_REACH_PX, TextureModel, texture_ratio

logger = logging.getLogger(__name__)

_CHANGE_FLOOR = 8.0  # CIELAB distance (OpenCV's 8-bit scale) under which a pixel never counts as changed
_ALONE = 3.0  # a region found by what changed lies in a changed area at most this many times its size
# The colour mixtures that tell a still piece of the mask from the object are fitted on about this many pixels per
# side: fitted on all of the window's pixels they halved the tracking rate (one-off runs: 6 against 11 fps)
_STILL_SAMPLES = 4000


@dataclass(frozen=True)
class TrackConfig:
    """Settings of the frame-to-frame tracker (lengths in processing pixels)."""

    # The tracking benchmark (python -m click2graph.bench tracking) measures these defaults.
    smoothness: float = 12.0  # Potts weight in nats at zero contrast: masks follow colour edges, not flow noise
    colour_weight: float = 1.5  # colour nats count 1.5x: colour is the only term not smeared by flow smoothing
    shape_scale: float = 0.12  # prior softness as a fraction of sqrt(object area): scale-invariant
    margin_frac: float = 0.35  # search window beyond the predicted box, fraction of the object's size
    motion_noise_px: float = 2.0  # flow noise of the co-motion term, processing pixels: DIS smooths flow across
    # object edges, so a smaller value makes masks fat; the term is what grows back limbs a click's mask missed
    fg_rate: float = 0.0  # object colour EMA per healthy frame; frozen (0): a model that keeps learning drifts
    # towards the background the mask leaks into
    bg_rate: float = 0.3  # local background colour EMA: fast, the surroundings change as the object moves
    occluded_ratio: float = 0.7  # mask area below this fraction of the extent's = (partly) hidden, keep memory
    leak_ratio: float = 1.3  # mask area above this multiple of the running area = leaked (unless what it adds is
    # as object-like as the rest: growth). A running mean (not the last area) as reference stops a leak that grows
    # a little every frame.
    area_rate: float = 0.2
    max_cut_px: int | None = 30000  # the graph cut of a larger window runs downscaled to this many pixels
    # (:func:`~click2graph.segment.classic_energy.graph_cut`): max-flow was 60 % of the time per frame on large
    # objects, and detail finer than ~1/170 of the object's box adds little to its IoU
    detached_frac: float = 0.5  # a piece farther than this times sqrt(area) from the largest piece is dropped
    ring_px: int = 4  # pixels around the mask that are neither object nor background when learning colours
    # Motion gate (constant velocity relative to the camera): a moving subject's relative velocity changes by a
    # few pixels per frame; when an occluder passes, the fit can lock onto the background and the measured
    # velocity jumps at once, which the gate refuses.
    gate_min_px: float = 3.0  # a velocity change below this is always accepted (articulation, DIS noise)
    gate_sigmas: float = 4.0  # ... and below this many running spreads
    gate_after: int = 2  # measurements accepted unconditionally at the start (no velocity to predict from yet)
    velocity_rate: float = 0.5  # EMA of the relative velocity
    spread_rate: float = 0.2  # EMA of its spread: slower, so that a run of poor fits does not open the gate
    min_support: float = 0.25  # fraction of the extent that must have reliable flow for a motion measurement
    # Re-acquisition: a mask below this fraction of the running area means the object is lost (flow carried the
    # prediction off it, or it left and came back). The remembered extent first gets the chance to bring it back
    # (an occluder passing takes a few frames); after this many lost frames the whole frame is searched by colour.
    lost_frac: float = 0.1
    lost_patience: int = 5
    # A piece found by colour is taken only if its area is within these multiples of the running area (a
    # look-alike patch of background is rarely the object's size as well).
    reacquire_area: tuple[float, float] = (0.3, 1.5)
    # Before the patience runs out, every lost frame also searches near where the object is expected: a region
    # moving unlike the camera (residual flow above ``moving_sigmas`` noise spreads and 1 px) within ``search_reach``
    # object sizes of the carried extent, of a plausible area, whose colours the object model explains better than
    # the surroundings by ``min_evidence`` nats per pixel (a region that merely moves is not the object).
    search_reach: float = 1.0
    moving_sigmas: float = 4.0
    min_evidence: float = 0.5
    # A small object can move many times its own size in a frame (a hit ball), beyond the flow and the reach
    # above: a lost object is also searched for, within this fraction of the frame's longest side of where it is
    # expected, as a region that changed since the last frame, is object-coloured now and was not there before,
    # and lies farther than its own size from where it was (nearer, the flow follows it) ...
    fast_reach_frac: float = 0.15
    fast_max_frac: float = 0.01  # ... for objects up to this fraction of the frame's area; once found that way, the
    # next frame looks for it that way first, where its velocity carries it (the flow's prediction stays behind)
    fast_min_evidence: float = 2.0  # nats per pixel: a jump the flow does not support needs colours that single
    # the object out (e^2 ~ 7 times likelier as the object's than as the backdrop's), not the searches' 0.5
    # Local colour classifiers (Video SnapCut, :mod:`~click2graph.segment.classic_local`): windows of this fraction
    # of sqrt(object area) along the outline (0: none); a window's colour term replaces the global one in proportion
    # to how far its discriminability on the frame it was learned from exceeds ``local_cutoff``, except that it
    # never weakens global evidence it agrees with.
    local_size: float = 0.3
    local_cutoff: float = 0.5
    # Texture given colour (:mod:`~click2graph.segment.classic_texture`): its log-ratio is what the joint
    # (colour, texture) histograms add to the colour term's, so weight 1 counts nothing twice; 0 turns it off.
    texture_weight: float = 1.0
    # Pieces of the cut that the frame difference sees still and that are coloured like the background are dropped
    # (:func:`_without_still_pieces`): the flow's co-motion term misses them (DIS smooths the object's motion over
    # its surroundings) and the shape prior carries them on (rocks behind a walking rhino, on its frames encoded
    # again). False: kept, as before.
    drop_still: bool = True


@dataclass
class ObjectModel:
    """What the tracker remembers about one object between frames (plain arrays, processing pixels)."""

    fg: ColourModel
    bg: ColourModel
    extent: np.ndarray  # bool (h, w): the object's last unoccluded mask, moved along with the object
    relative_motion: np.ndarray  # float (2,) object translation per frame relative to the camera
    camera_shift: np.ndarray = field(default_factory=lambda: np.zeros(2))  # the camera's translation at the
    # object's centre on the last frame whose measurement passed the gate, px per frame
    motion_spread: float = 1.0  # running mean of |measured - predicted relative velocity|, px per frame
    motion_frames: int = 0  # how many object motions were measured (and accepted) so far
    area: float = 0.0  # running mean of the unoccluded mask area, px: the reference of the leak test
    sized_area: float = 0.0  # the prompted area times every measured scale change since, or the last mask learned
    # as growth when larger: what its motion allows
    held_area: float = 0.0  # the largest mask learned within the leak test (or prompted): a size the object has had,
    # up to which growth is learned
    overgrown: bool = False  # the last extent exceeded ``leak_ratio`` x ``area`` and the mask filled under
    # ``occluded_ratio`` of it
    lost_frames: int = 0  # consecutive frames with (almost) nothing of the object
    remnant_frames: int = 0  # consecutive frames with only a remnant of the object that nothing regrew
    outran: bool = False  # the last frame found the object by what changed, far from where the flow put it
    seen: tuple[int, np.ndarray] | None = None  # the last frame (and mask) the object was held on before it was lost
    windows: LocalWindows | None = None  # local colour classifiers on the last mask's outline, on its frame
    fg_tex: TextureModel | None = None  # texture given colour of the object / its surroundings, learned where
    bg_tex: TextureModel | None = None  # ``fg`` / ``bg`` are

    @classmethod
    def start(
        cls, feat: FrameFeatures, t: int, mask: np.ndarray, config: TrackConfig, *, partial: bool = False
    ) -> "ObjectModel":
        """Initialise from a (prompted) mask on frame ``t``. ``partial``: the mask was segmented from a click or a
        box, not given by the user, so it may hold background: the object's colours and its extent are then
        learned from the mask's moving part when it moves (see :func:`_moving_part`)."""
        _, bins = feat.frame(t)
        tex = feat.texture(t)
        window = _window(mask, feat.proc_hw, config.margin_frac)
        own = _moving_part(feat, t, mask, config) if partial else None
        if own is None:
            own = mask
        outside = ~dilate(mask, config.ring_px)[window]
        return cls(
            fg=ColourModel.fit(bins[own]),
            bg=ColourModel.fit(bins[window][outside]),
            fg_tex=TextureModel.fit(tex[_texture_core(own)]),
            bg_tex=TextureModel.fit(tex[window][outside]),
            extent=own.copy(),
            area=float(mask.sum()),
            sized_area=float(mask.sum()),
            held_area=float(mask.sum()),
            relative_motion=np.zeros(2),
            windows=_learn_windows(bins, mask, config),
        )


def _texture_core(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its outline band, whose texture codes see across the edge (the structure tensor's window
    reaches ``TEXTURE_REACH_PX``), or the whole mask when less than half of it would remain. Learned on the band,
    the object's texture holds the edge's, and any edge nearby then looks like the object."""
    core = mask & ~dilate(~mask, TEXTURE_REACH_PX)
    return core if core.sum() >= 0.5 * mask.sum() else mask


def _moving_part(feat: FrameFeatures, t: int, mask: np.ndarray, config: TrackConfig) -> np.ndarray | None:
    """The pixels of ``mask`` on frame ``t`` that move unlike the camera towards the next frame (the previous one
    on the last), when they are at least ``min_support`` of it; None for a mask that does not move or a single
    frame. A click's or box's mask cut from one frame's colours often holds static background next to a moving
    subject (the poles a dog runs past): learned as object colours and remembered as its extent, it holds the
    mask on the background while the subject leaves."""
    n = len(feat.frames)
    if n < 2 or not mask.any():
        return None
    t2 = t + 1 if t + 1 < n else t - 1
    flow = feat.flow(t, t2)
    flow_cam = affine_flow(feat.camera(t, t2, exclude=_near(mask, mask.sum())), flow.shape[:2])
    _, moving = moving_pixels(flow, flow_cam, sigmas=config.moving_sigmas, min_px=1.0)
    own = mask & moving
    return own if own.sum() >= config.min_support * mask.sum() else None


def _near(region: np.ndarray, area: float) -> np.ndarray:
    """``region`` grown by a tenth of the size of an object of ``area`` px (at least 4 px): what the camera's fit
    leaves out, since flow smears the object's motion a little way past its outline."""
    return dilate(region, max(4, int(0.1 * np.sqrt(max(area, 1)))))


def track_step(
    feat: FrameFeatures, model: ObjectModel, prev: np.ndarray, t_prev: int, t: int, config: TrackConfig
) -> np.ndarray:
    """Mask (bool (h, w), processing pixels) of the object on frame ``t`` from its mask ``prev`` on ``t_prev``.

    Updates ``model`` in place (colour models, extent, motion memory).
    """

    # Across a shot cut nothing of the last shot says where the object is: only a search finds it (classic_shots).
    def search() -> np.ndarray:
        return _lost(feat, model, t, np.zeros(prev.shape, bool), config)

    if (found := across_cut(feat, model, t_prev, t, config.lost_patience, search)) is not None:
        return found
    fwd = feat.flow(t_prev, t)
    bwd = feat.flow(t, t_prev)
    reliable_prev = feat.reliable(t_prev, t)
    reliable_now = feat.reliable(t, t_prev)
    h, w = prev.shape

    camera = feat.camera(t_prev, t, exclude=_near(prev | model.extent, np.count_nonzero(model.extent)))
    feat.prefetch(t, 2 * t - t_prev)  # the next step's flows, on a worker thread while this step runs
    if model.outran and (found := _outrunning(feat, model, prev, t_prev, t, camera, config)).any():
        return found
    obj, measured = _object_motion(model, camera, fwd, prev & reliable_prev, config)
    logger.debug(
        "frame %d: camera shift %s, relative velocity %s (measured %s, spread %.2f), prev area %d, extent %d",
        t,
        np.round(camera[:, 2], 1),
        np.round(model.relative_motion, 1),
        measured,
        model.motion_spread,
        np.count_nonzero(prev),
        np.count_nonzero(model.extent),
    )
    # An object shrinking in the image (moving away, the camera zooming out) tightens the leak test at once:
    # without this, a receding object's mask kept the area it had and grew into the ground around it. Growth is
    # not applied at once: fitted on a mask that has leaked into flowing surroundings (water), the affine's scale
    # is biased upwards (a few % a frame) and would let the leak compound; it only caps how far the running
    # area may follow the mask (``sized_area``, see :func:`_update`).
    scale = float(abs(np.linalg.det(obj[:, :2]))) if measured else 1.0
    if scale > 1.0 and model.overgrown:
        # The carried extent already exceeds the leak test's limit and the last cut left most of it empty: flow
        # alone made it grow (over water, ripples spreading from a duck read as the duck growing 6x in 80 frames
        # even on its true outline), so it grows no further until a cut fills it.
        obj = _scaled_about(obj, model.extent, 1.0 / np.sqrt(scale))
        scale = 1.0
    model.area *= min(1.0, scale)
    model.sized_area *= scale
    warped = _warp_prev(prev, bwd, reliable_now, obj)
    extent = cv2.warpAffine(model.extent.astype(np.uint8), obj, (w, h), flags=cv2.INTER_NEAREST) > 0
    prior = warped | extent
    if not prior.any():  # the prediction left the frame
        return _lost(feat, model, t, prior, config)

    win = _window(prior, (h, w), config.margin_frac)
    rgb, bins = feat.frame(t)
    tex = feat.texture(t)
    oy, ox = win[0].start, win[1].start
    windows = model.windows.moved(fwd, prev, reliable_prev) if model.windows is not None else None
    cost_fg, cost_bg = _colour_costs(bins, win, model, windows, config, tex)
    crop_hw = cost_fg.shape
    flow_obj = affine_flow(cv2.invertAffineTransform(obj), crop_hw, (ox, oy))
    flow_cam = affine_flow(cv2.invertAffineTransform(camera), crop_hw, (ox, oy))
    mf, mb = motion_costs(bwd[win], flow_obj, flow_cam, noise_px=config.motion_noise_px, reliable=reliable_now[win])
    sf, sb = shape_costs(prior[win], config.shape_scale * np.sqrt(max(np.count_nonzero(prior), 1)))
    cw = config.colour_weight
    cut = graph_cut(
        rgb[win],
        cw * cost_fg + mf + sf,
        cw * cost_bg + mb + sb,
        smoothness=config.smoothness,
        max_pixels=config.max_cut_px,
    )
    mask = np.zeros((h, w), bool)
    mask[win] = _near_main_piece(_keep_overlapping(cut, prior[win]), config.detached_frac)
    grew = False
    if np.count_nonzero(mask) > config.leak_ratio * max(model.area, 1.0):
        if _grows_alike(mask[win], extent[win], cost_bg - cost_fg):
            # more of the object: learned when the object has been this large (:func:`_update`)
            grew = np.count_nonzero(mask) <= model.held_area
        else:
            # Leaked into look-alike surroundings: keep only what lies within the remembered extent (a band
            # around it, as before, let a leak grow by the band every frame).
            mask &= dilate(extent, 2)
    if config.lost_frac * model.area <= np.count_nonzero(mask) < config.occluded_ratio * model.area:
        regrown = _regrown(feat, model, t, mask, extent, (bwd, camera), config, restart=not measured)
        if (
            regrown is mask
            and _outruns_flow(model, config)
            and (found := _changed_object_near(feat, model, t, t_prev, camera, prev, extent, config)).any()
        ):
            return found  # a remnant left behind by a small object that outran the prediction
        model.remnant_frames = model.remnant_frames + 1 if regrown is mask else 0
        mask = (
            regrown
            if model.remnant_frames <= config.lost_patience
            else _stale_remnant(feat, model, t, mask, config, bwd, camera)
        )
    else:
        model.remnant_frames = 0
    if config.drop_still:
        mask = _without_still_pieces(feat, t, t_prev, camera, mask, win)
    # A lost object may be anywhere near its coasting extent (out from behind a tree, not found yet): its window
    # is not known to be background, and learned as such it makes the object's colours unlikely where the search
    # for it looks (bmx-trees: the rider beside the extent for five frames, then never found again).
    lost = np.count_nonzero(mask) < config.lost_frac * model.area
    _update(model, mask, extent, bins, win, config, tex, learn_background=not lost, grew=grew)
    if model.extent is mask:
        model.windows = _learn_windows(bins, mask, config, windows, dilate(extent, config.ring_px))
    else:
        model.windows = windows
    if lost:
        return _lost(feat, model, t, mask, config, moved=(bwd, camera), changed=(t_prev, prev))
    model.lost_frames = 0
    return mask


def _without_still_pieces(
    feat: FrameFeatures, t: int, t_prev: int, camera: np.ndarray, mask: np.ndarray, win
) -> np.ndarray:
    """``mask`` on frame ``t`` without its pieces that are still in the camera-compensated difference from the step's
    previous frame ``t_prev`` (``camera``: the step's ``t_prev -> t`` affine) and coloured like the rest of the window
    ``win`` (:func:`~click2graph.segment.classic_box.drop_still_pieces`), when the mask moves against its backdrop
    there (:func:`~click2graph.segment.classic_difference.moves_against_backdrop`: not a still duck on rippling
    water). Unchanged when those pieces are most of the mask: the object itself is then still (a standing flamingo
    whose neck moves). One neighbour, whose flow and camera the step has: the next frame's flow, which the
    difference's usual neighbours on both sides need, is still being computed then (waiting for it made tracking
    9-17 % slower on three sequences, for about the same masks)."""
    if not mask.any():
        return mask
    region = np.zeros(mask.shape, bool)
    region[win] = True
    cue = frame_change(feat, t, t_prev, cv2.invertAffineTransform(camera), within=region | mask)  # all it reads
    if not moves_against_backdrop(cue, mask, region):
        return mask
    kept = drop_still_pieces(feat.frame(t)[0], mask, region, cue, max_samples=_STILL_SAMPLES)
    return mask if 2 * np.count_nonzero(kept) < np.count_nonzero(mask) else kept


def _colour_costs(
    bins: np.ndarray,
    win: tuple[slice, slice],
    model: ObjectModel,
    windows: LocalWindows | None,
    config: TrackConfig,
    tex: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(cost_fg, cost_bg) of the appearance term in the window ``win``: the global object / background colour
    models, replaced near the outline by the local windows in proportion to their confidence where that disagrees
    with them or is more decided, plus texture given colour (``tex``: the frame's joint codes)."""
    cost_fg, cost_bg = colour_costs(bins[win], model.fg, model.bg)
    if windows is None:
        return _with_texture(cost_fg, cost_bg, tex, win, model, config)
    prob, disc, cover = windows.probability(bins[win], (win[1].start, win[0].start))
    ratio = cost_fg - cost_bg  # the global models' nats against the object, kept where no window reaches
    if (box := bbox_xyxy(cover > 0)) is not None:
        near = np.s_[box[1] : box[3] + 1, box[0] : box[2] + 1]
        ratio[near] = _blend_local(ratio[near], prob[near], disc[near], cover[near], config)
    return _with_texture(np.maximum(ratio, 0.0), np.maximum(-ratio, 0.0), tex, win, model, config)


def _blend_local(
    glob: np.ndarray, prob: np.ndarray, disc: np.ndarray, cover: np.ndarray, config: TrackConfig
) -> np.ndarray:
    """float32 nats against the object: the global models' ``glob`` replaced by the local windows' object
    probability ``prob`` in proportion to their confidence (discriminability ``disc`` above the cutoff, times their
    ``cover``); 0 cover leaves ``glob``."""
    conf = np.clip((disc - config.local_cutoff) / (1.0 - config.local_cutoff), 0.0, 1.0) * np.minimum(cover, 1.0)
    eps = np.exp(-MAX_NATS)
    local = np.log(np.clip(1.0 - prob, eps, 1.0)) - np.log(np.clip(prob, eps, 1.0))  # nats against the object
    ratio = conf * np.clip(local, -MAX_NATS, MAX_NATS) + (1.0 - conf) * glob
    # Where the windows agree with the global models they only ever sharpen them (a window's few pixels give
    # softer probabilities than the whole object's histogram); where they disagree, their confidence decides.
    return np.where((ratio * glob > 0) & (np.abs(glob) > np.abs(ratio)), glob, ratio).astype(np.float32)


def _with_texture(
    cost_fg: np.ndarray,
    cost_bg: np.ndarray,
    tex: np.ndarray,
    win: tuple[slice, slice],
    model: ObjectModel,
    config: TrackConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The colour costs in ``win`` plus the texture-given-colour nats of the frame's joint codes ``tex``
    (unchanged without texture models or weight)."""
    if model.fg_tex is None or model.bg_tex is None or not config.texture_weight:
        return cost_fg, cost_bg
    extra = config.texture_weight * texture_ratio(tex[win], model.fg_tex, model.bg_tex, MAX_NATS)
    ratio = np.clip(cost_fg - cost_bg + extra, -MAX_NATS, MAX_NATS)
    return np.maximum(ratio, 0.0), np.maximum(-ratio, 0.0)


def _learn_windows(
    bins: np.ndarray,
    mask: np.ndarray,
    config: TrackConfig,
    history: LocalWindows | None = None,
    not_background: np.ndarray | None = None,
) -> LocalWindows | None:
    # A 1 px ring: a window is a few dozen pixels across, the global models' 4 px ring would empty small ones.
    return LocalWindows.learn(
        bins, mask, size_frac=config.local_size, ring_px=1, history=history, not_background=not_background
    )


def _lost(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    mask: np.ndarray,
    config: TrackConfig,
    moved: tuple[np.ndarray, np.ndarray] | None = None,
    changed: tuple[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Count a frame with (almost) nothing of the object and search for it: near its expected place by motion
    and colour (``moved``: the flow ``t -> t_prev`` and the camera's affine ``t_prev -> t``), then by what changed
    since the last frame it was seen on (``changed``: ``t_prev`` and the object's mask there;
    :func:`_changed_object_near`), and past the patience over the
    whole frame by colour; ``mask`` (what was found of it) when it is not found again. Its remembered extent keeps
    moving with its motion meanwhile, so the next frame's prediction still looks where it is expected to reappear."""
    if changed is not None and model.lost_frames == 0:
        model.seen = changed
    model.lost_frames += 1
    if moved is not None:
        found = _search_near(feat, model, t, *moved, config)
        if found.any():
            return found
    if (
        changed is not None
        and model.seen is not None
        and abs(t - model.seen[0]) <= config.lost_patience  # what changed since then still tells where it went
        and _outruns_flow(model, config)
    ):
        # Hidden for a frame or blurred into a streak, a ball still left the place it was last seen on.
        t_seen, seen = model.seen
        camera = moved[1] if moved is not None and t_seen == changed[0] else feat.camera(t_seen, t)
        found = _changed_object_near(feat, model, t, t_seen, camera, seen, model.extent, config)
        if found.any():
            return found
    if model.lost_frames > config.lost_patience:
        found = _reacquire(feat, model, t, config)
        if found.any():
            return found
    return mask


def _reacquire(feat: FrameFeatures, model: ObjectModel, t: int, config: TrackConfig) -> np.ndarray:
    """Search the whole frame for a lost object by its colours: the piece of a colour-only graph cut with the
    most object evidence, if its area is plausible. On success the motion memory restarts from it; otherwise the
    mask is empty and the model waits (its extent is not moved: the search is global)."""
    rgb, bins = feat.frame(t)
    full = np.s_[:, :]
    cost_fg, cost_bg = _with_texture(*colour_costs(bins, model.fg, model.bg), feat.texture(t), full, model, config)
    cw = config.colour_weight
    cut = graph_cut(rgb, cw * cost_fg, cw * cost_bg, smoothness=config.smoothness, max_pixels=config.max_cut_px)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cut.astype(np.uint8), connectivity=8)
    lo, hi = (r * model.area for r in config.reacquire_area)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    plausible = np.flatnonzero((sizes >= lo) & (sizes <= hi)) + 1
    if not len(plausible):
        return np.zeros(cut.shape, bool)  # the extent stays where it was predicted
    evidence = np.bincount(labels.ravel(), weights=(cost_bg - cost_fg).ravel(), minlength=count)
    mask = labels == plausible[np.argmax(evidence[plausible])]
    logger.debug("frame %d: object re-acquired by colour (%d px, running area %d)", t, mask.sum(), model.area)
    _restart(model, mask, np.zeros(2))
    return mask


def _search_near(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    bwd: np.ndarray,
    camera: np.ndarray,
    config: TrackConfig,
    apart_from: np.ndarray | None = None,
) -> np.ndarray:
    """The lost object near its carried extent (:func:`_moving_object_near`); on success the motion memory
    restarts from it with the region's own motion. A region touching ``apart_from`` (a remnant the regrowth
    refused) does not count: empty then."""
    mask = _moving_object_near(feat, model, t, bwd, camera, config, model.extent)
    if not mask.any() or (apart_from is not None and (mask & apart_from).any()):
        return np.zeros_like(mask)
    logger.debug("frame %d: object re-acquired nearby by motion and colour (%d px)", t, mask.sum())
    _restart(model, mask, _relative_motion(mask, bwd, camera))
    return mask


def _moving_object_near(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    bwd: np.ndarray,
    camera: np.ndarray,
    config: TrackConfig,
    around: np.ndarray,
    remnant: np.ndarray | None = None,
) -> np.ndarray:
    """The region moving unlike the camera within ``search_reach`` object sizes of ``around`` whose colours the
    object model explains best (at least ``min_evidence`` nats per pixel), of a plausible area, refined by a colour
    cut around it; empty when there is none. With ``remnant`` (what the cut kept of a partly lost object) only
    regions that overlap it count. A subject the camera follows, or one passing behind a tree, moves unlike the
    background, and its colours single it out among the things that move (a parallax branch)."""
    if not around.any():
        return np.zeros(bwd.shape[:2], bool)
    h, w = bwd.shape[:2]
    win = _window(around, (h, w), config.search_reach)
    oy, ox = win[0].start, win[1].start
    crop_hw = bwd[win].shape[:2]
    flow = bwd[win]
    flow_cam = affine_flow(cv2.invertAffineTransform(camera), crop_hw, (ox, oy))
    residual, moving = moving_pixels(flow, flow_cam, sigmas=config.moving_sigmas, min_px=1.0)
    rgb, bins = feat.frame(t)
    cost_fg, cost_bg = _with_texture(*colour_costs(bins[win], model.fg, model.bg), feat.texture(t), win, model, config)
    evidence = cost_bg - cost_fg  # nats per pixel in favour of the object
    lo, hi = (r * model.area for r in config.reacquire_area)
    count, labels = cv2.connectedComponents(moving.astype(np.uint8), connectivity=8)
    # Around a remnant the moving region that holds it is the object's whole, whatever the evidence of the flow
    # halo around it: the colour cut within it decides.
    best, best_evidence = None, config.min_evidence if remnant is None else -np.inf
    for k in range(1, count):
        blob = labels == k
        if blob.sum() < lo or (remnant is not None and not (blob & remnant[win]).any()):
            continue
        # DIS smooths flow across edges, so a moving blob is a halo around what moves: a pixel belongs to the
        # blob's motion when its flow is nearer the blob's median flow than the camera's.
        own = np.median(flow[blob], axis=0)
        region = blob & (np.linalg.norm(flow - own, axis=-1) < residual)
        score = float(evidence[region].mean()) if region.any() else -np.inf
        logger.debug("frame %d: moving blob %d px, core %d px, evidence %.2f", t, blob.sum(), region.sum(), score)
        if region.sum() >= lo and score >= best_evidence:
            best, best_evidence = region, score
    if best is None:
        return np.zeros((h, w), bool)
    region = best
    cw = config.colour_weight
    # The moving region is a superset (a flow halo): colours decide within it, nothing outside it is the object.
    # The window spans several object sizes: the cut is downscaled as the tracker's own is.
    cut = graph_cut(
        rgb[win],
        cw * cost_fg,
        cw * cost_bg,
        smoothness=config.smoothness,
        sure_bg=~region,
        max_pixels=config.max_cut_px,
    )
    if not cut.any():
        return np.zeros((h, w), bool)
    # A partly lost object's pieces may be split by thin occluders (poles): they are kept as the tracker keeps its
    # own (:func:`_near_main_piece`).
    cut = largest_component(cut) if remnant is None else _near_main_piece(cut, config.detached_frac)
    mask = np.zeros((h, w), bool)
    mask[win] = cut
    logger.debug("frame %d: moving region %d px, its cut %d px", t, region.sum(), mask.sum())
    if not lo <= mask.sum() <= hi:
        return np.zeros((h, w), bool)
    return mask


def _outruns_flow(model: ObjectModel, config: TrackConfig) -> bool:
    """Whether the object is small enough (``fast_max_frac`` of the frame) to move farther than the flow follows."""
    return model.area <= config.fast_max_frac * model.extent.size


def _outrunning(
    feat: FrameFeatures,
    model: ObjectModel,
    prev: np.ndarray,
    t_prev: int,
    t: int,
    camera: np.ndarray,
    config: TrackConfig,
) -> np.ndarray:
    """A small object the last frame found by what changed (:func:`_changed_object_near`), looked for the same
    way where its velocity carries it; empty (and the flag cleared) when it is not there."""
    predicted = camera.copy()
    predicted[:, 2] += model.relative_motion
    h, w = model.extent.shape
    expected = cv2.warpAffine(model.extent.astype(np.uint8), predicted, (w, h), flags=cv2.INTER_NEAREST) > 0
    found = _changed_object_near(feat, model, t, t_prev, camera, prev, expected, config)
    model.outran = bool(found.any())
    return found


def _changed_object_near(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    t_prev: int,
    camera: np.ndarray,
    left: np.ndarray,
    expected: np.ndarray,
    config: TrackConfig,
) -> np.ndarray:
    """The object as a region, within ``fast_reach_frac`` of the frame (or ``search_reach`` object sizes) of
    where it is ``expected`` or where it was, that changed since ``t_prev`` (the camera's motion ``camera``,
    ``t_prev -> t``, undone), whose colours the object model explains by at least ``fast_min_evidence`` nats per
    pixel and did not on ``t_prev`` (the object arrived there), of a plausible area, alone in the changed area
    around it and farther than the object's size from where it was; the one nearest the expected place. Empty when
    there is none, or when the place the object ``left`` (its mask on ``t_prev``) did not change. On success the
    motion memory restarts with the velocity that moved it there from where it was held: its displacement since
    ``t_prev``, the camera's undone, per frame. (Not the velocity that carried ``expected`` plus the miss spread
    over the frames it was lost: an extent that coasted away from the object's last masks, which stayed with it,
    made that a wrong velocity, and the next frames' prediction left the object again.)

    A ball hit across the frame is a few pixels wide and moves many times that between frames: the flow smooths it
    away and the prediction stays behind, so the tracker's cut and the searches by motion find nothing. What moved
    shows in the frame difference twice, where it is now and where it was; its colours tell which is which."""
    if not expected.any():
        return np.zeros(expected.shape, bool)
    h, w = expected.shape
    # Something that moved away leaves the backdrop where it was (``left``, its mask on t_prev, moved with the
    # camera): a patch of the backdrop the track lost has not gone anywhere.
    gone_from = cv2.warpAffine(left.astype(np.uint8), camera, (w, h), flags=cv2.INTER_NEAREST) > 0
    if not gone_from.any():
        return np.zeros((h, w), bool)
    # Around both where it is expected and where it was: a ball hit back lies nearer the latter.
    x0, y0, x1, y1 = bbox_xyxy(expected | gone_from)
    reach = int(max(config.search_reach * np.sqrt(model.area), config.fast_reach_frac * max(h, w)))
    win = np.s_[max(0, y0 - reach) : y1 + reach + 1, max(0, x0 - reach) : x1 + reach + 1]
    origin = np.array([win[1].start, win[0].start])
    to_prev = feat.camera(t, t_prev)
    change = frame_change(feat, t, t_prev, to_prev)
    level = float(np.median(change[win]))
    spread = 1.4826 * float(np.median(np.abs(change[win] - level)))
    changed_everywhere = change > max(_CHANGE_FLOOR, level + config.moving_sigmas * spread)
    if changed_everywhere[gone_from].mean() < 0.5:
        return np.zeros((h, w), bool)
    changed = changed_everywhere[win]
    # The object's learned background is its close surroundings, a few pixels wide for a small object: the
    # search window's own colours on t_prev (less where the object was expected) are the backdrop it may cross.
    _, bins = feat.frame(t)
    bins_before = _warped_bins(feat, t_prev, to_prev)[win]
    backdrop = ColourModel.fit(bins_before[~dilate(expected, config.ring_px)[win]])
    bg = model.bg.blend(backdrop, 0.5)
    cost_fg, cost_bg = colour_costs(bins[win], model.fg, bg)
    evidence = cost_bg - cost_fg
    before_fg, before_bg = colour_costs(bins_before, model.fg, bg)
    before = before_bg - before_fg
    lo, hi = (r * model.area for r in config.reacquire_area)
    count, labels = cv2.connectedComponents((changed & (evidence > 0)).astype(np.uint8), connectivity=8)
    _, change_labels, change_stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    centre = np.array(centroid_xy(expected)) - origin
    start = np.array(centroid_xy(gone_from)) - origin
    best, best_distance = None, np.inf
    for k in range(1, count):
        region = labels == k
        if not lo <= region.sum() <= hi:
            continue
        if evidence[region].mean() < config.fast_min_evidence or before[region].mean() >= config.min_evidence:
            continue
        # A small thing crossing the backdrop changes the frame by itself (where it is, where it was); a piece of
        # a larger changing area (a player's moving shirt) is not it.
        around = change_stats[change_labels[region][0], cv2.CC_STAT_AREA]
        if around > _ALONE * region.sum():
            continue
        at = np.array(centroid_xy(region))
        # It outran the flow: it lies farther than its own size from where it was (nearer, the flow follows it).
        if np.hypot(*(at - start)) < np.sqrt(model.area):
            continue
        distance = float(np.hypot(*(at - centre)))
        if distance < best_distance:
            best, best_distance, best_at = region, distance, at
            best_evidence = float(evidence[region].mean())
    mask = np.zeros((h, w), bool)
    if best is None:
        return mask
    mask[win] = best
    logger.debug(
        "frame %d: object re-acquired by change and colour (%d px, %.1f px from its extent, %.2f nats a pixel)",
        t,
        mask.sum(),
        best_distance,
        best_evidence,
    )
    _restart(model, mask, (best_at - start) / max(1, abs(t - t_prev)))  # moved since t_prev (window pixels)
    model.outran = True
    # That velocity is a measurement the flow could not make: the gate holds it against the next frames' flow,
    # which sees the object standing still.
    model.motion_frames = config.gate_after
    return mask


def _warped_bins(feat: FrameFeatures, t2: int, affine: np.ndarray) -> np.ndarray:
    """Frame ``t2``'s colour codes warped onto frame ``t`` by the camera's motion ``affine`` (``feat.camera(t,
    t2)``), nearest neighbour."""
    _, bins = feat.frame(t2)
    h, w = bins.shape
    warped = cv2.warpAffine(
        bins.astype(np.uint16),
        affine.astype(np.float32),
        (w, h),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )  # OpenCV warps no int32; the codes fit 16 bits
    return warped.astype(bins.dtype)


def _regrown(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    mask: np.ndarray,
    extent: np.ndarray,
    moved: tuple[np.ndarray, np.ndarray],
    config: TrackConfig,
    *,
    restart: bool,
) -> np.ndarray:
    """``mask``, a remnant of a partly lost object (a fast one the prediction fell behind), joined with the moving
    region around it that the object's colours hold (:func:`_moving_object_near`) when that is larger, touches it
    and adds only what is as object-like as the remnant. The cut only sees a window around a prediction carried
    by a motion fitted on the remnant, so the rest of the object, gone ahead, would otherwise not come back.
    ``moved``: the flow ``t -> t_prev`` and the camera's affine ``t_prev -> t``. With ``restart`` (the gate
    refused this frame's measurement: the remembered velocity disagrees with what the object does) the motion
    memory restarts from the regrown region's own motion; after an accepted measurement it is kept (restarted from
    a fast run, the gate then refused the run's reversal: DAVIS dog-agility from the mask 0.573 -> 0.508, against
    0.592 kept, measured before the object-like test)."""
    bwd, camera = moved
    found = _moving_object_near(feat, model, t, bwd, camera, config, extent | mask, remnant=mask)
    logger.debug("frame %d: partly lost (%d px of %d), moving region %d px", t, mask.sum(), model.area, found.sum())
    if np.count_nonzero(found) <= np.count_nonzero(mask) or not (found & dilate(mask, 2)).any():
        return mask
    # As for growth (:func:`_grows_alike`): a moving region that overlaps the remnant may be another thing moving
    # beside it (a second child on the bed).
    union = mask | found
    win = _window(union, union.shape, 0.0)
    _, bins = feat.frame(t)
    cost_fg, cost_bg = _with_texture(*colour_costs(bins[win], model.fg, model.bg), feat.texture(t), win, model, config)
    if not _grows_alike(union[win], mask[win], cost_bg - cost_fg):
        return mask
    if restart:
        model.relative_motion = _relative_motion(found, bwd, camera)
        model.motion_frames = 0
    return mask | found


def _stale_remnant(
    feat: FrameFeatures,
    model: ObjectModel,
    t: int,
    mask: np.ndarray,
    config: TrackConfig,
    bwd: np.ndarray,
    camera: np.ndarray,
) -> np.ndarray:
    """``mask``, a remnant that nothing regrew for more than ``lost_patience`` frames, or the lost object's nearby
    search (:func:`_search_near`) when it finds a region apart from the remnant. A remnant that stays while the
    object runs on beside it is a look-alike the cut clings to (dog-agility's track on the poles' red bands while
    the dog runs past), and it is never small enough for the searches of a lost object to run."""
    found = _search_near(feat, model, t, bwd, camera, config, apart_from=mask)
    return found if found.any() else mask


def _relative_motion(mask: np.ndarray, bwd: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Roughly the velocity (2,) of the region ``mask`` on frame t relative to the camera (its affine
    ``t_prev -> t``), from the backward flow ``bwd`` (``t -> t_prev``) of its pixels."""
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean(), ys.mean(), 1.0])
    shift = -np.median(bwd[ys, xs], axis=0)  # the region's own motion t_prev -> t
    return shift - (camera @ centre - centre[:2])


def _restart(model: ObjectModel, mask: np.ndarray, relative_motion: np.ndarray) -> None:
    """Restart the motion memory from a re-acquired mask."""
    model.extent = mask
    model.relative_motion = relative_motion
    model.motion_frames = model.lost_frames = model.remnant_frames = 0
    model.outran = False


def _object_motion(
    model: ObjectModel, camera: np.ndarray, fwd: np.ndarray, support: np.ndarray, config: TrackConfig
) -> tuple[np.ndarray, bool]:
    """The object's affine motion (2x3) and whether it was measured (True) or predicted (False).

    Measured: RANSAC on the forward flow of ``support`` (bool (h, w): object pixels with reliable flow). It is
    accepted when its translation relative to the camera, taken at the object's centre, is within a gate of the
    remembered relative velocity (constant velocity in camera-compensated coordinates), or when the camera's
    estimate jumped while the object's image motion continues its last one; otherwise, or with too
    few pixels, the object is predicted to keep that velocity. The gate rejects the typical failure where an
    occluder or look-alike background takes over the flow inside the mask and the object's motion collapses
    onto the camera's.
    """
    predicted = camera.copy()
    predicted[:, 2] += model.relative_motion
    ys, xs = np.nonzero(support)
    enough = len(xs) >= max(20, config.min_support * np.count_nonzero(model.extent))
    obj = fit_affine(np.stack([xs, ys], -1).astype(np.float32), fwd[ys, xs]) if enough else None
    if obj is None:
        return predicted, False
    centre = np.array([xs.mean(), ys.mean(), 1.0])
    relative = obj @ centre - camera @ centre
    camera_shift = camera @ centre - centre[:2]
    innovation = float(np.linalg.norm(relative - model.relative_motion))
    gate = max(config.gate_min_px, config.gate_sigmas * model.motion_spread)
    if model.motion_frames >= config.gate_after and innovation > gate:
        # The jump may be the camera estimate's, not the object's (a subject that fills the frame, flow failing
        # on a fast pan: motocross-bumps' camera "reverses" for a frame). When the object's own image motion
        # continues and the camera's jumped, the measurement stands; the remembered velocities are kept.
        image_shift = obj @ centre - centre[:2]
        continues = np.linalg.norm(image_shift - (model.camera_shift + model.relative_motion)) <= gate
        if continues and np.linalg.norm(camera_shift - model.camera_shift) > gate:
            return obj, True
        return predicted, False
    model.camera_shift = camera_shift
    if model.motion_frames > 0:
        model.motion_spread += config.spread_rate * (innovation - model.motion_spread)
        relative = model.relative_motion + config.velocity_rate * (relative - model.relative_motion)
    model.relative_motion = relative
    model.motion_frames += 1
    return obj, True


def _scaled_about(obj: np.ndarray, region: np.ndarray, factor: float) -> np.ndarray:
    """The affine ``obj`` (2x3) with its linear part scaled by ``factor`` about the centroid of ``region`` (bool
    (h, w)), which it still moves where ``obj`` does."""
    ys, xs = np.nonzero(region)
    if not len(xs):
        return obj
    centre = np.array([xs.mean(), ys.mean()])
    out = obj.copy()
    out[:, :2] *= factor
    out[:, 2] += (obj[:, :2] - out[:, :2]) @ centre
    return out


def _warp_prev(prev: np.ndarray, bwd: np.ndarray, reliable: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """Pull ``prev`` to the new frame: along the backward flow where it is reliable, else by the object's affine."""
    h, w = prev.shape
    xs = np.arange(w, dtype=np.float32)[None]  # a row and a column: broadcast, not meshed
    ys = np.arange(h, dtype=np.float32)[:, None]
    inv = cv2.invertAffineTransform(obj)
    ax = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    ay = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    map_x = np.where(reliable, xs + bwd[..., 0], ax).astype(np.float32)
    map_y = np.where(reliable, ys + bwd[..., 1], ay).astype(np.float32)
    return cv2.remap(prev.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0) > 0.5


def _window(mask: np.ndarray, shape_hw: tuple[int, int], margin_frac: float) -> tuple[slice, slice]:
    """Slices of the mask's box grown by ``margin_frac`` of its size (at least 8 px) on each side."""
    h, w = shape_hw
    x0, y0, x1, y1 = bbox_xyxy(mask)
    m = max(8, int(margin_frac * max(x1 - x0, y1 - y0)))
    return np.s_[max(0, y0 - m) : min(h, y1 + m + 1), max(0, x0 - m) : min(w, x1 + m + 1)]


def _keep_overlapping(cut: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Drop connected pieces of the cut that do not touch the prediction (look-alike background nearby)."""
    count, labels = cv2.connectedComponents(cut.astype(np.uint8), connectivity=8)
    if count <= 2:
        return cut
    keep = np.bincount(labels[cut & prior], minlength=count) > 0
    keep[0] = False
    return keep[labels]


def _near_main_piece(mask: np.ndarray, detached_frac: float) -> np.ndarray:
    """Drop pieces farther from the largest piece than ``detached_frac`` of its size (sqrt of its area): a
    look-alike that flow once carried into the mask (another flamingo, a textured rock) otherwise rides along
    as a second object for good, while parts the cut split off (a leg behind a pole) lie close."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    dist = cv2.distanceTransform((labels != main).astype(np.uint8), cv2.DIST_L2, 3)
    reach = detached_frac * np.sqrt(stats[main, cv2.CC_STAT_AREA])
    near = np.bincount(labels[dist <= reach], minlength=count) > 0  # a piece with a pixel within reach
    near[0] = False
    return near[labels]


def _grows_alike(mask: np.ndarray, extent: np.ndarray, evidence: np.ndarray) -> bool:
    """Whether what ``mask`` adds beyond ``extent`` (more than 2 px from it) is at least as object-like as the
    mask within it, by the mean ``evidence`` (nats per pixel in favour of the object). A leak takes in pixels the
    appearance model explains worse than the object's own (a reflection, the ground); growth takes in more of the
    object, explained as well as the rest of it even where the model never saw its colours (motocross-bumps: the
    rider, a few pixels on frame 0, fills a quarter of the frame later)."""
    added = mask & ~dilate(extent, 2)
    own = mask & extent
    if not added.any() or not own.any():
        return False
    return bool(evidence[added].mean() >= evidence[own].mean())


def _update(
    model: ObjectModel,
    mask: np.ndarray,
    extent: np.ndarray,
    bins,
    win,
    config: TrackConfig,
    tex: np.ndarray,
    *,
    learn_background: bool = True,
    grew: bool = False,
) -> None:
    """Learn the step's ``mask`` (its extent, running area, colours) when it is healthy: it fills most of the
    carried ``extent`` and is not a leak, i.e. within ``leak_ratio`` of the running area or, past it, growth to a size
    the object has had (``grew``: :func:`_grows_alike` judged what it adds as object-like as the rest, and it is no
    larger than ``held_area``). Growth also lifts ``sized_area`` to it and the running area to where a mask of its
    size passes the leak test: the scale measured on a deforming object (a spinning dancer) is noise, whose falls
    shrink the running area at once, so the area its masks show must be able to lift it back."""
    area, extent_area = np.count_nonzero(mask), np.count_nonzero(extent)
    model.overgrown = extent_area > config.leak_ratio * model.area and area < config.occluded_ratio * extent_area
    # The object's predicted extent is not background even where the cut lost it (occluded, or a miss): learning
    # it as background would make the object's own colours unlikely where it reappears.
    local_bg = ~dilate(mask[win] | extent[win], config.ring_px)
    if learn_background and local_bg.any():
        model.bg = model.bg.blend(ColourModel.fit(bins[win][local_bg]), config.bg_rate)
        if model.bg_tex is not None:
            model.bg_tex = model.bg_tex.blend(TextureModel.fit(tex[win][local_bg]), config.bg_rate)
    if config.occluded_ratio * extent_area <= area and (grew or area <= config.leak_ratio * model.area):
        model.extent = mask
        followed = model.area + config.area_rate * (area - model.area)
        if grew:  # the object's own mask, no leak: the next one of its size passes the leak test
            model.sized_area = max(model.sized_area, float(area))
            model.area = max(followed, area / config.leak_ratio)
        else:
            model.held_area = max(model.held_area, float(area))
            # The reference area follows the mask only up to what the object's motion allows (``sized_area``: the
            # prompted area scaled by its measured motion, approaching or zooming, or the last growth learned): a
            # mask that creeps into look-alike surroundings a little every frame otherwise drags the reference (and
            # so the leak test) along with it.
            model.area = min(followed, max(model.sized_area, model.area))
        if area and config.fg_rate:  # a frozen model (rate 0) would blend in nothing
            model.fg = model.fg.blend(ColourModel.fit(bins[mask]), config.fg_rate)
            if model.fg_tex is not None:
                model.fg_tex = model.fg_tex.blend(TextureModel.fit(tex[mask]), config.fg_rate)
    else:
        model.extent = extent
