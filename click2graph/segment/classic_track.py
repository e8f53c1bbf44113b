"""Frame-to-frame tracking of one object in the classic backend: predict with flow, correct with a graph cut.

Each step from frame ``t_prev`` to ``t`` (either direction):

1. Motion: the camera's affine motion (RANSAC on flow outside the object) and the object's (RANSAC on the flow
   of its pixels that pass a forward-backward check). Where no object pixels are left (hidden), the object keeps
   its last motion relative to the camera.
2. Prediction: the previous mask warped pixel by pixel along reliable backward flow (articulation), and by the
   object's affine where the flow is unreliable (occlusion boundaries), plus the *extent*: the object's last
   unoccluded mask carried along by its affine motion. The extent is the memory that lets a partly hidden object
   grow back when the occluder passes (a pure flow tracker shrinks under an occluder and never regrows).
3. Correction: a graph cut in a window around the prediction with colour (persistent object histogram vs a
   fast-adapting local background histogram), co-motion and a shape prior on the prediction.
4. Update: when the new mask covers most of the extent it becomes the new extent and teaches the object colour
   model (slowly); a much smaller mask is treated as an occlusion: the extent and the colour model are kept.

Everything is in processing pixels (see :mod:`click2graph.segment.classic_features`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from click2graph.masks import bbox_xyxy, dilate
from click2graph.segment.classic_energy import (
    ColourModel,
    affine_flow,
    colour_costs,
    fit_affine,
    graph_cut,
    motion_costs,
    shape_costs,
)
from click2graph.segment.classic_features import FrameFeatures


@dataclass(frozen=True)
class TrackConfig:
    """Settings of the frame-to-frame tracker (lengths in processing pixels)."""

    smoothness: float = 4.0  # Potts weight in nats at zero contrast
    shape_scale: float = 0.12  # prior softness as a fraction of sqrt(object area): scale-invariant
    margin_frac: float = 0.35  # search window beyond the predicted box, fraction of the object's size
    motion_noise_px: float = 1.0  # flow noise of the co-motion term (DIS at ~450 px is good to about 1 px)
    fg_rate: float = 0.05  # object colour EMA per healthy frame: slow, the object's look is stable
    bg_rate: float = 0.3  # local background colour EMA: fast, the surroundings change as the object moves
    occluded_ratio: float = 0.7  # mask area below this fraction of the extent's = (partly) hidden, keep memory
    motion_pulls_fg: bool = True
    colour_weight: float = 1.0
    ring_px: int = 4  # pixels around the mask that are neither object nor background when learning colours


@dataclass
class ObjectModel:
    """What the tracker remembers about one object between frames (plain arrays, processing pixels)."""

    fg: ColourModel
    bg: ColourModel
    extent: np.ndarray  # bool (h, w): the object's last unoccluded mask, moved along with the object
    relative_motion: np.ndarray  # float (2,) object translation per frame relative to the camera
    hidden_frames: int = 0  # consecutive frames judged occluded

    @classmethod
    def start(cls, feat: FrameFeatures, t: int, mask: np.ndarray, config: TrackConfig) -> "ObjectModel":
        """Initialise from a (prompted) mask on frame ``t``."""
        _, bins = feat.frame(t)
        window = _window(mask, feat.proc_hw, config.margin_frac)
        return cls(
            fg=ColourModel.fit(bins[mask]),
            bg=ColourModel.fit(bins[window][~dilate(mask, config.ring_px)[window]]),
            extent=mask.copy(),
            relative_motion=np.zeros(2),
        )


def track_step(
    feat: FrameFeatures, model: ObjectModel, prev: np.ndarray, t_prev: int, t: int, config: TrackConfig
) -> np.ndarray:
    """Mask (bool (h, w), processing pixels) of the object on frame ``t`` from its mask ``prev`` on ``t_prev``.

    Updates ``model`` in place (colour models, extent, motion memory).
    """
    fwd = feat.flow(t_prev, t)
    bwd = feat.flow(t, t_prev)
    reliable_prev = feat.reliable(t_prev, t)
    reliable_now = feat.reliable(t, t_prev)
    h, w = prev.shape

    near = dilate(prev | model.extent, max(4, int(0.1 * np.sqrt(max(model.extent.sum(), 1)))))
    camera = feat.camera(t_prev, t, exclude=near)
    ys, xs = np.nonzero(prev & reliable_prev)
    obj = fit_affine(np.stack([xs, ys], -1).astype(np.float32), fwd[ys, xs]) if len(xs) >= 20 else None
    if obj is None:
        obj = camera.copy()
        obj[:, 2] += model.relative_motion
    else:
        centre = np.array([xs.mean(), ys.mean(), 1.0])
        model.relative_motion = obj @ centre - camera @ centre

    warped = _warp_prev(prev, bwd, reliable_now, obj)
    extent = cv2.warpAffine(model.extent.astype(np.uint8), obj, (w, h), flags=cv2.INTER_NEAREST) > 0
    prior = warped | extent
    if not prior.any():
        return prior

    win = _window(prior, (h, w), config.margin_frac)
    rgb, bins = feat.frame(t)
    cost_fg, cost_bg = colour_costs(bins[win], model.fg, model.bg)
    oy, ox = win[0].start, win[1].start
    crop_hw = cost_fg.shape
    flow_obj = affine_flow(cv2.invertAffineTransform(obj), crop_hw, (ox, oy))
    flow_cam = affine_flow(cv2.invertAffineTransform(camera), crop_hw, (ox, oy))
    mf, mb = motion_costs(
        bwd[win], flow_obj, flow_cam, noise_px=config.motion_noise_px, reliable=reliable_now[win]
    )
    if not config.motion_pulls_fg:
        mb = 0.0
    sf, sb = shape_costs(prior[win], config.shape_scale * np.sqrt(max(prior.sum(), 1)))
    cut = graph_cut(rgb[win], config.colour_weight * cost_fg + mf + sf, config.colour_weight * cost_bg + mb + sb, smoothness=config.smoothness)
    mask = np.zeros((h, w), bool)
    mask[win] = _keep_overlapping(cut, prior[win])

    _update(model, mask, extent, bins, win, config)
    return mask


def _warp_prev(prev: np.ndarray, bwd: np.ndarray, reliable: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """Pull ``prev`` to the new frame: along the backward flow where it is reliable, else by the object's affine."""
    h, w = prev.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
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
    keep = np.unique(labels[cut & prior])
    return np.isin(labels, keep[keep > 0])


def _update(model: ObjectModel, mask: np.ndarray, extent: np.ndarray, bins, win, config: TrackConfig) -> None:
    area, extent_area = int(mask.sum()), int(extent.sum())
    inner = mask[win]
    local_bg = ~dilate(inner, config.ring_px)
    if local_bg.any():
        model.bg = model.bg.blend(ColourModel.fit(bins[win][local_bg]), config.bg_rate)
    if area >= config.occluded_ratio * extent_area:
        model.extent = mask
        model.hidden_frames = 0
        if area:
            model.fg = model.fg.blend(ColourModel.fit(bins[mask]), config.fg_rate)
    else:
        model.extent = extent
        model.hidden_frames += 1
