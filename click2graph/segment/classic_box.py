"""GrabCut with texture: a box's cut whose colour mixtures also see how textured each pixel is.

GrabCut (Rother, Kolmogorov & Blake 2004) models the object and its surroundings each by a mixture of five
Gaussians over RGB, alternating between fitting the mixtures and a graph cut. Where the object's colours are its
surroundings' (a motion-blurred dog among white poles and grass, legs on clay) the mixtures cannot separate them,
and the cut keeps a part of the object (DAVIS dog-agility: a sliver of pole, IoU 0.00). Here each pixel carries a
fourth feature, its texture energy: the log of the local RMS grey-level gradient over a Gaussian window (the
quantity the tracker's texture codes of :mod:`~click2graph.segment.classic_texture` put into levels), so fur, grass
and smooth paint of one colour fall into different components (dog-agility 0.54, tennis 0.58 -> 0.70). Everything
else is GrabCut's: k-means++ starts, hard assignment of pixels to the component of highest density, full
covariances (so the feature's scale does not matter), the contrast-sensitive Potts term of weight 50
(:func:`~click2graph.segment.classic_energy.graph_cut`); over RGB alone it gives OpenCV's cuts within 0.05 IoU
on the DAVIS boxes. A thin part is all edge, and its energy is the outline's: the cut can lose it (flamingo's
neck, 0.72 -> 0.52), so :func:`~click2graph.segment.classic_click.segment_prompt` keeps this cut only when it fills
the box better than the colour cut, or, when it also saw a cue of motion, when it follows that cue better. The cue
is a per-pixel value (the camera-compensated frame difference of :mod:`~click2graph.segment.classic_difference`)
whose histogram per side joins the colour mixtures' costs, so pixels whose colours are a tie go to the side whose
motion they share; the same cue then tells which of the cut's still pieces are background
(:func:`drop_still_background`), and the colours of the cut's solid core which of its thin strips are
(:func:`drop_thin_background`: poles in front of a dog, which move in the cue by parallax).
"""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.masks import bbox_xyxy
from click2graph.segment.classic_energy import MAX_NATS, graph_cut
from click2graph.segment.classic_texture import structure_tensor

COMPONENTS = 5  # Gaussians per mixture, as in GrabCut
# Pixels a side needs for its mixture: a component is fitted on 2 samples or more, so from fewer than twice the
# components k-means may leave none (5 object pixels in a tracked window gave an empty mixture, and a crash)
MIN_SAMPLES = 2 * COMPONENTS
SMOOTHNESS = 50.0  # GrabCut's Potts weight (gamma)
_RIDGE = 0.01  # added to every covariance's diagonal (OpenCV's GrabCut adds it to singular ones)
# A per-pixel cue (the camera-compensated frame difference) enters as a histogram per side over log(1 + cue), in
# this many bins up to ``_CUE_MAX``, weighted by ``CUE_WEIGHT`` nats per nat: half a colour term. DAVIS boxes'
# frame-0 mean / worst through the whole prompt step: 0.35 0.709 / 0.491, 0.5 0.722 / 0.546, 0.75 0.727 / 0.548,
# 1.0 0.723 / 0.485 (bmx-trees' wheels take the background as the weight grows: 0.587, 0.553, 0.485).
_CUE_BINS = 16
_CUE_MAX = 5.0  # log(1 + 147): beyond any CIELAB distance of 8-bit frames that matters
CUE_WEIGHT = 0.5
# A box cut's strips narrower than a disk of this radius (processing pixels) are judged by their colours against the
# cut's solid core (:func:`drop_thin_background`). DAVIS boxes' frame-0 exact mean / worst (dog-agility), noisy mean
# (5 draws; the code of the fifteenth round in docs/tracking.md): none 0.767 / 0.677, 0.706; 2 px 0.769 / 0.687,
# 0.709; 3 px 0.770 / 0.709, 0.709; 4 px 0.771 / 0.715, 0.711; 5 px 0.771 / 0.711, 0.700 (one of flamingo's noisy
# boxes loses its legs, and the cut redone in a grown box takes a block of water and rock: 0.75 -> 0.35). 3 px keeps
# a margin on both sides.
THIN_RADIUS = 3


def texture_energy(rgb: np.ndarray) -> np.ndarray:
    """float32 (h, w): log(1 + RMS grey-level gradient per pixel over the texture codes' Gaussian window)."""
    jxx, jyy, _ = structure_tensor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return np.log1p(np.sqrt(jxx + jyy))


def grabcut_surroundings(area: np.ndarray) -> tuple[slice, slice]:
    """The slices of ``area``'s bounding box grown by half its longer side plus 4 px on each side, within the frame:
    the surroundings a box cut's background mixture is fitted to."""
    h, w = area.shape
    x0, y0, x1, y1 = bbox_xyxy(area)
    m = max(x1 - x0, y1 - y0) // 2 + 4
    return np.s_[max(0, y0 - m) : min(h, y1 + m + 1), max(0, x0 - m) : min(w, x1 + m + 1)]


def texture_grabcut(
    rgb: np.ndarray,
    region: np.ndarray,
    sure_fg: np.ndarray,
    sure_bg: np.ndarray,
    iters: int,
    *,
    cue: np.ndarray | None = None,
):
    """GrabCut over (R, G, B, texture energy) with ``region`` probably foreground, everything else background and
    the hard constraints ``sure_fg`` / ``sure_bg``, on a crop around the region (half its size of surroundings
    on each side, as :func:`~click2graph.segment.classic_click._grabcut`). ``cue`` (float (h, w) >= 0 or None,
    e.g. :func:`~click2graph.segment.classic_difference.background_difference`) adds a term from a histogram of
    it per side, refitted with the mixtures (independent of the colours: a joint mixture over colour and cue took
    the cue's halo). Returns bool (h, w); the region itself when one side has too few pixels for its mixture."""
    win = grabcut_surroundings(region | sure_fg)
    crop = np.ascontiguousarray(rgb[win])
    feats = np.concatenate([crop.astype(np.float64), texture_energy(crop)[..., None]], -1).reshape(-1, 4)
    codes = None if cue is None else _cue_codes(cue[win])
    fg_hard, bg_hard = sure_fg[win], (sure_bg | ~region)[win] & ~sure_fg[win]
    fg = ~bg_hard
    out = np.zeros(region.shape, bool)
    if min(fg.sum(), (~fg).sum()) < MIN_SAMPLES:
        out[win] = fg
        return out
    fg_gmm, bg_gmm = _Mixture.start(feats[fg.ravel()]), _Mixture.start(feats[~fg.ravel()])
    fg_ll, bg_ll = fg_gmm.component_ll(feats), bg_gmm.component_ll(feats)
    for _ in range(iters):
        fg_gmm = fg_gmm.refit(feats[fg.ravel()], fg_ll[fg.ravel()])
        bg_gmm = bg_gmm.refit(feats[~fg.ravel()], bg_ll[~fg.ravel()])
        fg_ll, bg_ll = fg_gmm.component_ll(feats), bg_gmm.component_ll(feats)
        cost_fg = _nll(fg_ll).reshape(fg.shape).astype(np.float32)
        cost_bg = _nll(bg_ll).reshape(fg.shape).astype(np.float32)
        if codes is not None:
            cost_fg += CUE_WEIGHT * _histogram_nll(codes, fg)
            cost_bg += CUE_WEIGHT * _histogram_nll(codes, ~fg)
        cut = graph_cut(crop, cost_fg, cost_bg, smoothness=SMOOTHNESS, sure_fg=fg_hard, sure_bg=bg_hard)
        if min(cut.sum(), (~cut).sum()) < MIN_SAMPLES:
            break
        fg = cut
    out[win] = fg
    return out


def drop_still_background(
    rgb: np.ndarray, mask: np.ndarray, region: np.ndarray, cue: np.ndarray, keep_xy: np.ndarray | None = None
) -> np.ndarray:
    """``mask`` (a cut of the box ``region``) without its pieces that are background by both cues: still (the
    ``cue`` of :func:`~click2graph.segment.classic_difference.background_difference` nearer the rest of the box's
    than the mask's, on mean log(1 + cue)) and coloured like the background (mean colour-and-texture mixture cost
    lower for the box's background and its surroundings than for the mask's pixels above its mean cue). The grass
    under a dog, the grass and wall inside a bicycle's wheels, a strip of curtain beside a dancer's leg: the cut
    took them because the mixtures hold a bit of everything and the smoothness term filled the gaps. A still part
    of the subject keeps its own colours and stays; pieces holding a point of ``keep_xy`` (int (n, 2) xy: the
    user's clicks) stay too. Repeated until no piece goes: each removal lowers the rest of the box's cue and
    cleans the mask's, and the next still piece shows (breakdance-flare 0.69 after one pass, 0.74 when nothing more
    goes). The mask shrinks at every pass, so this ends. Then its thin strips coloured like the background go
    (:func:`drop_thin_background`). Returns bool (h, w)."""
    while True:
        out = drop_still_pieces(rgb, mask, region, cue, keep_xy)
        if out.sum() == mask.sum():
            return drop_thin_background(rgb, out, region, keep_xy)
        mask = out


def drop_still_pieces(
    rgb: np.ndarray,
    mask: np.ndarray,
    region: np.ndarray,
    cue: np.ndarray,
    keep_xy: np.ndarray | None = None,
    *,
    max_samples: int | None = None,
) -> np.ndarray:
    """One pass of :func:`drop_still_background`, without its thin strips' step: ``mask`` without its pieces that are
    still in the ``cue`` and coloured like the background of ``region``. ``max_samples``: the colour mixtures are
    fitted on at most about this many pixels per side (a regular subsample; None: all of them), for a caller that
    runs this on every frame (the tracker). Returns bool (h, w)."""
    rest = region & ~mask
    if not mask.any() or not rest.any():
        return mask
    log_cue = np.log1p(cue)
    mean_in = float(log_cue[mask].mean())
    dark = mask & (log_cue < 0.5 * (mean_in + float(log_cue[rest].mean())))
    # the object's colours from its surely moving pixels (above the mask's mean cue): those just above the still
    # threshold include background with parallax (grass inside a bicycle's wheels; 0.62 against 0.59 on its box)
    moving = mask & (log_cue > mean_in)
    return mask & ~_background_pieces(rgb, region, dark, moving, ~mask, keep_xy, max_samples=max_samples)


def drop_thin_background(
    rgb: np.ndarray, mask: np.ndarray, region: np.ndarray, keep_xy: np.ndarray | None = None
) -> np.ndarray:
    """``mask`` (a cut of the box ``region``) without its thin strips coloured like the background: the pieces a
    morphological opening by a disk of radius ``THIN_RADIUS`` removes whose mean colour-and-texture mixture cost
    is lower for the box's background and its surroundings than for the mask's solid core (what the opening
    keeps). The poles in front of a running dog: bright in the frame difference by parallax, so
    :func:`drop_still_background` keeps them, and a thin strip is mostly outline, so the smoothness term does
    not stop the cut from taking it. The core has none of their colours; the background beside the box has them.
    A thin part of the object (legs, a neck) shares the core's colours and stays; pieces holding a point of
    ``keep_xy`` (the user's clicks) stay too. Returns bool (h, w)."""
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * THIN_RADIUS + 1, 2 * THIN_RADIUS + 1))
    core = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk).astype(bool)
    return mask & ~_background_pieces(rgb, region, mask & ~core, core, ~mask, keep_xy)


def _background_pieces(
    rgb, region, candidates, object_px, background_px, keep_xy, *, max_samples: int | None = None
) -> np.ndarray:
    """bool (h, w): the connected pieces of ``candidates`` whose mean colour-and-texture cost (the mixtures of
    :func:`texture_grabcut`, fitted on the surroundings of the box ``region``, on at most about ``max_samples``
    pixels per side when given) is lower under a mixture of the ``background_px`` than under one of the
    ``object_px``; pieces holding a point of ``keep_xy`` are not among them. None of them (all False) when either
    side has too few pixels for its mixture."""
    out = np.zeros(candidates.shape, bool)
    win = grabcut_surroundings(region)  # the surroundings texture_grabcut models
    obj, background, pieces = object_px[win], background_px[win], candidates[win]
    if min(obj.sum(), background.sum()) < MIN_SAMPLES or not pieces.any():
        return out
    crop = np.ascontiguousarray(rgb[win])
    feats = np.concatenate([crop.astype(np.float64), texture_energy(crop)[..., None]], -1)
    fg_gmm, bg_gmm = (_Mixture.start(feats[_subsample(side, max_samples)]) for side in (obj, background))
    at = feats[pieces]
    excess = np.zeros(pieces.shape)
    # clipped as every unary cost is (MAX_NATS): a few of the object's pixels in a piece of rocks, far in the
    # background mixture's tail, outvoted hundreds of the rocks' pixels
    ratio = _nll(fg_gmm.component_ll(at)) - _nll(bg_gmm.component_ll(at))
    excess[pieces] = np.clip(ratio, -MAX_NATS, MAX_NATS)
    count, labels = cv2.connectedComponents(pieces.astype(np.uint8), connectivity=8)
    total = np.bincount(labels[pieces], weights=excess[pieces], minlength=count)
    drop = np.flatnonzero(total > 0)  # mean cost lower for the background
    (y0, y1), (x0, x1) = (win[0].start, win[0].stop), (win[1].start, win[1].stop)
    kept = [] if keep_xy is None else [int(labels[y - y0, x - x0]) for x, y in keep_xy if x0 <= x < x1 and y0 <= y < y1]
    out[win] = np.isin(labels, np.setdiff1d(drop, [0, *kept]))
    return out


def _subsample(side: np.ndarray, max_samples: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs): every k-th pixel of the bool mask ``side`` in raster order, k chosen to keep at most about
    ``max_samples`` of them (all of them for None)."""
    ys, xs = np.nonzero(side)
    step = 1 if max_samples is None else max(1, len(ys) // max_samples)
    return ys[::step], xs[::step]


def _cue_codes(cue: np.ndarray) -> np.ndarray:
    """int (h, w): the histogram bin of each pixel's log(1 + cue)."""
    return np.clip((np.log1p(cue) * (_CUE_BINS / _CUE_MAX)).astype(int), 0, _CUE_BINS - 1)


def _histogram_nll(codes: np.ndarray, side: np.ndarray) -> np.ndarray:
    """float32 (h, w): minus the log frequency of each pixel's bin among the ``side`` pixels (counts plus one)."""
    counts = np.bincount(codes[side], minlength=_CUE_BINS) + 1.0
    return (-np.log(counts / counts.sum()))[codes].astype(np.float32)


class _Mixture:
    """A Gaussian mixture with full covariances, fitted by hard assignment as in GrabCut."""

    def __init__(self, weights, means, inv_covs, log_dets):
        self.weights, self.means, self.inv_covs, self.log_dets = weights, means, inv_covs, log_dets

    @classmethod
    def start(cls, x: np.ndarray) -> "_Mixture":
        """From k-means++ clusters of the samples ``x`` (n, d) (fixed seed)."""
        criteria = (cv2.TERM_CRITERIA_MAX_ITER, 10, 0.0)
        cv2.setRNGSeed(0)
        _, labels, _ = cv2.kmeans(x.astype(np.float32), COMPONENTS, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        return cls._fit(x, labels.ravel())

    def refit(self, x: np.ndarray, ll: np.ndarray) -> "_Mixture":
        """Each sample of ``x`` to the component of highest density (weights aside, as GrabCut; ``ll``: its
        :meth:`component_ll`), then each component refitted to its samples."""
        return self._fit(x, np.argmax(ll - np.log(self.weights), axis=1))

    @classmethod
    def _fit(cls, x: np.ndarray, labels: np.ndarray) -> "_Mixture":
        weights, means, inv_covs, log_dets = [], [], [], []
        for k in range(COMPONENTS):
            xs = x[labels == k]
            if len(xs) < 2:
                continue
            cov = np.cov(xs.T, bias=True) + _RIDGE * np.eye(x.shape[1])
            weights.append(len(xs) / len(x))
            means.append(xs.mean(axis=0))
            inv_covs.append(np.linalg.inv(cov))
            log_dets.append(np.linalg.slogdet(cov)[1])
        return cls(np.array(weights), np.array(means), np.array(inv_covs), np.array(log_dets))

    def component_ll(self, x: np.ndarray) -> np.ndarray:
        """float64 (n, k): log(weight_k N(x | component k)) up to a constant shared by mixtures of one dimension."""
        out = np.empty((len(x), len(self.weights)))
        cols = np.ascontiguousarray(x.T)
        d = len(cols)
        for k, (weight, mean, inv_cov, log_det) in enumerate(
            zip(self.weights, self.means, self.inv_covs, self.log_dets)
        ):
            dx = cols - mean[:, None]
            maha = sum(inv_cov[i, i] * dx[i] ** 2 for i in range(d))  # element-wise: no BLAS threads on (n, 4)
            maha += sum(2.0 * inv_cov[i, j] * dx[i] * dx[j] for i in range(d) for j in range(i + 1, d))
            out[:, k] = np.log(weight) - 0.5 * log_det - 0.5 * maha
        return out


def _nll(ll: np.ndarray) -> np.ndarray:
    """float64 (n,): minus the log of the summed component likelihoods ``ll`` (n, k) (:meth:`_Mixture.component_ll`)."""
    top = ll.max(axis=1)
    return -(top + np.log(np.exp(ll - top[:, None]).sum(axis=1)))
