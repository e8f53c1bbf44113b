"""The binary energy of the classic tracker and its max-flow solver.

Every term is a cost in nats (negative log-likelihood) per pixel, so the terms add without hand-tuned scales:

* colour: a smoothed joint Lab histogram of the object against one of its surroundings;
* co-motion: how well each pixel's flow fits the object's affine motion versus the camera's;
* shape: a logistic prior on the signed distance to a predicted mask;
* smoothness: a contrast-sensitive Potts term on 8-neighbour edges (Boykov & Jolly 2001, as in GrabCut).

All arrays here live in *processing* pixels (the working frame downscaled by the tracker) and are cropped to a
region of interest before the cut, so the cost follows the object's size, not the frame's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import maxflow
import numpy as np
from scipy.ndimage import gaussian_filter

BINS = 16  # per Lab channel: 4096 joint bins, coarse enough to fill from a few hundred pixels
MAX_NATS = 6.0  # unary costs are clipped here, so no single term can overrule all others on its own


@dataclass
class ColourModel:
    """A normalised, smoothed colour histogram (float64 (BINS**3,)), updated as an exponential moving average."""

    prob: np.ndarray

    @classmethod
    def fit(cls, bins: np.ndarray, weights: np.ndarray | None = None) -> "ColourModel":
        """Histogram of the bin indices ``bins`` (any shape), optionally weighted; blurred by one bin so that
        unseen neighbouring colours are not impossible."""
        counts = np.bincount(bins.ravel(), weights=None if weights is None else weights.ravel(), minlength=BINS**3)
        counts = gaussian_filter(counts.reshape(BINS, BINS, BINS).astype(np.float64), sigma=1.0).ravel()
        # A uniform floor of 1e-3 of the mean: a colour never seen is unlikely, not impossible.
        counts += 1e-3 * counts.sum() / counts.size + 1e-12
        return cls(counts / counts.sum())

    def blend(self, other: "ColourModel", rate: float) -> "ColourModel":
        return ColourModel((1.0 - rate) * self.prob + rate * other.prob)

    def nll(self) -> np.ndarray:
        """Negative log-likelihood of every bin (float32 (BINS**3,)): index it with bin codes, a crop costs one
        lookup per pixel instead of a logarithm."""
        return (-np.log(self.prob)).astype(np.float32)


def colour_costs(bins: np.ndarray, fg: ColourModel, bg: ColourModel) -> tuple[np.ndarray, np.ndarray]:
    """(cost_fg, cost_bg) float32 per pixel; only the log-ratio matters, so the smaller cost is shifted to 0."""
    ratio = np.clip(fg.nll() - bg.nll(), -MAX_NATS, MAX_NATS)  # per bin, then looked up per pixel
    return np.maximum(ratio, 0.0)[bins], np.maximum(-ratio, 0.0)[bins]


def fit_affine(points_xy: np.ndarray, flow_xy: np.ndarray, *, max_points: int = 600) -> np.ndarray | None:
    """Robust 2x3 affine ``A`` with ``A @ [x, y, 1] ~ (x, y) + flow`` (RANSAC, 1 px threshold); None if too few
    points. ``points_xy``: float32 (N, 2) pixel positions; ``flow_xy``: float32 (N, 2) their displacements."""
    if len(points_xy) < 6:
        return None
    if len(points_xy) > max_points:
        pick = np.random.default_rng(0).choice(len(points_xy), max_points, replace=False)
        points_xy, flow_xy = points_xy[pick], flow_xy[pick]
    affine, _ = cv2.estimateAffine2D(
        points_xy.astype(np.float32), (points_xy + flow_xy).astype(np.float32), ransacReprojThreshold=1.0
    )
    return affine


def affine_flow(affine: np.ndarray, shape_hw: tuple[int, int], origin_xy: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The displacement field (H, W, 2) an affine induces on a pixel grid whose top-left is ``origin_xy`` (float32,
    float64 for a float64 affine)."""
    h, w = shape_hw
    xs = np.arange(w, dtype=np.float32)[None] + origin_xy[0]  # a row and a column: broadcast, not meshed
    ys = np.arange(h, dtype=np.float32)[:, None] + origin_xy[1]
    field = np.empty((h, w, 2), np.result_type(affine, xs))
    field[..., 0] = affine[0, 0] * xs + affine[0, 1] * ys + affine[0, 2] - xs
    field[..., 1] = affine[1, 0] * xs + affine[1, 1] * ys + affine[1, 2] - ys
    return field


def squared_length(vectors: np.ndarray) -> np.ndarray:
    """``|v|^2`` of 2-vectors (..., 2): the same numbers as ``np.sum(v**2, axis=-1)``, ten times faster (numpy
    reduces a short last axis one element at a time)."""
    return vectors[..., 0] ** 2 + vectors[..., 1] ** 2


def moving_pixels(
    flow: np.ndarray, flow_cam: np.ndarray, *, sigmas: float, min_px: float, reliable: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(residual, moving): the residual flow magnitude float (h, w) after the camera's ``flow_cam``, and bool
    (h, w) the pixels whose residual exceeds ``sigmas`` robust noise spreads (1.4826 x its median over the
    ``reliable`` pixels, all by default; 1 px without any) and ``min_px``."""
    residual = np.sqrt(squared_length(flow - flow_cam))
    sample = residual if reliable is None else residual[reliable]
    noise = 1.4826 * float(np.median(sample)) if sample.size else 1.0
    return residual, residual > max(min_px, sigmas * noise)


def motion_costs(
    flow: np.ndarray, flow_obj: np.ndarray, flow_bg: np.ndarray, *, noise_px: float, reliable: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(cost_fg, cost_bg) float32 from how well each pixel's flow fits the object's vs the camera's motion.

    Gaussian flow noise of ``noise_px`` gives a cost ``|f - f_model|^2 / (2 noise^2)``; where the two models agree
    the term vanishes by itself, so it only speaks where object and background move differently. ``reliable``
    (bool) zeroes it where the flow failed a forward-backward check (occlusions, motion boundaries).
    """
    d_obj = squared_length(flow - flow_obj)
    d_bg = squared_length(flow - flow_bg)
    ratio = np.clip((d_obj - d_bg) / (2.0 * noise_px**2), -MAX_NATS, MAX_NATS).astype(np.float32)
    if reliable is not None:
        ratio[~reliable] = 0.0
    return np.maximum(ratio, 0.0), np.maximum(-ratio, 0.0)


def shape_costs(prior: np.ndarray, scale_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(cost_fg, cost_bg) float32 from a logistic prior on the signed distance to ``prior`` (bool (H, W)).

    ``scale_px`` is the distance over which the prior goes from 50 % to 73 %: a scale proportional to the
    object's size makes the prior scale-invariant.
    """
    u8 = prior.astype(np.uint8)
    inside = cv2.distanceTransform(u8, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - u8, cv2.DIST_L2, 3)
    z = np.clip((inside - outside) / max(scale_px, 1e-3), -MAX_NATS, MAX_NATS).astype(np.float32)
    # -log sigmoid(z) = softplus(-z) = softplus(-|z|) + max(-z, 0), and softplus(z) likewise: one logarithm per
    # pixel for both costs, the same float32 numbers as np.logaddexp(0, -z) and np.logaddexp(0, z)
    soft = np.logaddexp(0.0, -np.abs(z))
    return soft + np.maximum(-z, 0.0), soft + np.maximum(z, 0.0)


_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # right, down, down-right, down-left: each edge once


def graph_cut(
    rgb: np.ndarray,
    cost_fg: np.ndarray,
    cost_bg: np.ndarray,
    *,
    smoothness: float,
    sure_fg: np.ndarray | None = None,
    sure_bg: np.ndarray | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Minimise unaries + contrast-sensitive Potts with max-flow; returns the bool (H, W) foreground.

    Args:
        rgb: uint8 (H, W, 3) crop the edges are measured on.
        cost_fg, cost_bg: float32 (H, W) cost of labelling each pixel foreground / background, in nats.
        smoothness: Potts weight (nats per unit edge) at zero contrast; edges across strong colour changes get
            ``smoothness * exp(-beta |dI|^2) / length`` with beta = 1 / (2 mean |dI|^2), so cuts prefer edges.
        sure_fg, sure_bg: bool (H, W) hard constraints (clicks, outside a box).
        max_pixels: if given and the crop is larger, the cut runs on the crop downscaled to about this many
            pixels (max-flow dominates the tracker's time and grows faster than linearly with the crop) and the
            mask is upsampled back. The energy keeps its balance: a coarse pixel stands for 1/s^2 fine ones and a
            coarse edge for 1/s fine ones, so the Potts weight is scaled by s relative to the unaries.
    """
    h, w = cost_fg.shape
    scale = 1.0 if max_pixels is None or h * w <= max_pixels else float(np.sqrt(max_pixels / (h * w)))
    if scale < 1.0:
        size = (max(2, round(w * scale)), max(2, round(h * scale)))
        cut = graph_cut(
            cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
            cv2.resize(cost_fg, size, interpolation=cv2.INTER_AREA),
            cv2.resize(cost_bg, size, interpolation=cv2.INTER_AREA),
            smoothness=smoothness * scale,
            sure_fg=_resize_hard(sure_fg, size),
            sure_bg=_resize_hard(sure_bg, size),
        )
        return cv2.resize(cut.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    img = rgb.astype(np.float32)
    diffs = []
    for dy, dx in _NEIGHBOURS:
        d = np.zeros((h, w), np.float32)
        y0, y1 = 0, h - dy
        x0, x1 = max(0, -dx), w - max(0, dx)
        step = img[y0:y1, x0:x1] - img[y0 + dy : y1 + dy, x0 + dx : x1 + dx]
        d[y0:y1, x0:x1] = step[..., 0] ** 2 + step[..., 1] ** 2 + step[..., 2] ** 2  # integers: exact in any order
        diffs.append(d)
    beta = 1.0 / (2.0 * max(float(np.mean(np.concatenate([d.ravel() for d in diffs]))), 1e-6))
    graph = maxflow.Graph[float](h * w, len(_NEIGHBOURS) * h * w)
    nodes = graph.add_grid_nodes((h, w))
    _add_potts_edges(
        graph, nodes, [smoothness * np.exp(-beta * d) / np.hypot(dy, dx) for (dy, dx), d in zip(_NEIGHBOURS, diffs)]
    )
    big = 1e6
    src, snk = cost_bg.astype(np.float64), cost_fg.astype(np.float64)  # source side = foreground
    if sure_fg is not None:
        src = np.where(sure_fg, big, src)
    if sure_bg is not None:
        snk = np.where(sure_bg, big, snk)
    graph.add_grid_tedges(nodes, src, snk)
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)


def _add_potts_edges(graph, nodes: np.ndarray, weights: list[np.ndarray]) -> None:
    """Symmetric edges of capacity ``weights[k]`` (h, w) from every node of the grid ``nodes`` to its neighbour in
    direction ``_NEIGHBOURS[k]``: the edges one ``add_grid_edges`` call per direction adds, in the same order (so
    max-flow finds the same cut), in one vectorised call, ~3x faster."""
    h, w = nodes.shape
    tails, heads, caps = [], [], []
    for (dy, dx), weight in zip(_NEIGHBOURS, weights):
        y1, x0, x1 = h - dy, max(0, -dx), w - max(0, dx)
        tails.append(nodes[:y1, x0:x1].ravel())
        heads.append(nodes[dy:, x0 + dx : x1 + dx].ravel())
        caps.append(weight[:y1, x0:x1].ravel())
    cap = np.concatenate(caps).astype(np.float64, copy=False)
    graph.add_edges(np.concatenate(tails), np.concatenate(heads), cap, cap)


def _resize_hard(mask: np.ndarray | None, size_wh: tuple[int, int]) -> np.ndarray | None:
    return None if mask is None else cv2.resize(mask.astype(np.uint8), size_wh, interpolation=cv2.INTER_NEAREST) > 0
