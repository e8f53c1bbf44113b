"""A bilateral-space colour memory of a tracked object (Bilateral Space Video Segmentation, Maerki, Perazzi, Wang &
Sorkine-Hornung, CVPR 2016).

Pixels of remembered frames are lifted into a coarse grid over (y, x, L, a, b): object and background samples of
the prompted frame and of the last few accepted frames are splatted into it as counts, the grid is blurred by
[1 2 1] along each axis, and the new frame's pixels read p(object) = F / (F + B) back from it (multilinear in
position). Unlike one object histogram against one background histogram, a colour can be object in one place and
background in another, and the prompted frame is never forgotten.

Remembered samples move with the object: object samples by the object's affine motion, background samples by the
camera's, frame by frame. Positions are in processing pixels; colours are the tracker's 16-level Lab codes with
lightness halved to 8 levels (uint8 a and b span only ~5 of their 16 levels on natural colours, so coarser ones
merge red with grey once blurred).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from click2graph.segment.classic_energy import BINS

_MAX_SAMPLES = 6000  # samples kept per remembered frame (taken on a regular grid): the splat's cost stops growing


def colour_codes(codes16: np.ndarray) -> np.ndarray:
    """The tracker's joint Lab codes (``BINS`` levels per channel) with lightness halved: codes in [0, 2048)."""
    c = codes16.astype(np.int64)
    return ((c // (2 * BINS * BINS)) * BINS * BINS) | (c % (BINS * BINS))


@dataclass
class Samples:
    """Labelled samples of one frame: positions float32 (N, 2) (x, y) in the current frame, 8-level Lab codes
    int (N,), object labels bool (N,), and the frame's weight."""

    xy: np.ndarray
    codes: np.ndarray
    fg: np.ndarray
    weight: float

    @classmethod
    def take(
        cls,
        codes16: np.ndarray,
        mask: np.ndarray,
        win: tuple[slice, slice],
        ring_px: int,
        weight: float,
        not_background: np.ndarray | None = None,
    ) -> "Samples":
        """Object pixels of ``mask`` farther than ``ring_px`` inside its outline and background pixels of the window
        ``win`` farther than that outside it (and not in ``not_background``), on a regular grid."""
        sub = mask[win].astype(np.uint8)
        signed = cv2.distanceTransform(sub, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - sub, cv2.DIST_L2, 3)
        take = np.abs(signed) > ring_px
        if not_background is not None:
            take &= (signed > 0) | ~not_background[win]
        stride = max(1, int(np.ceil(np.sqrt(take.sum() / _MAX_SAMPLES))))
        grid = np.zeros_like(take)
        grid[stride // 2 :: stride, stride // 2 :: stride] = True
        ys, xs = np.nonzero(take & grid)
        xy = np.stack([xs + win[1].start, ys + win[0].start], -1).astype(np.float32)
        return cls(xy, colour_codes(codes16[win][ys, xs]), signed[ys, xs] > 0, weight * stride**2)

    def moved(
        self, obj: np.ndarray, camera: np.ndarray, flow: np.ndarray, reliable: np.ndarray, mask: np.ndarray
    ) -> "Samples":
        """Samples carried along ``flow`` (float (h, w, 2)) where it is ``reliable`` (bool (h, w)) and moves what
        they are (object samples on the object's ``mask`` (bool (h, w)), background ones off it: flow moves what is
        there now, and the object passes over the background), elsewhere object samples by the affine ``obj``
        (2x3) and background ones by ``camera``."""
        h, w = reliable.shape
        xs = np.clip(np.rint(self.xy[:, 0]).astype(np.int64), 0, w - 1)
        ys = np.clip(np.rint(self.xy[:, 1]).astype(np.int64), 0, h - 1)
        pts = np.concatenate([self.xy, np.ones((len(self.xy), 1), np.float32)], 1)
        affine = np.where(self.fg[:, None], pts @ obj.T, pts @ camera.T)
        own = reliable[ys, xs] & (mask[ys, xs] == self.fg)
        xy = np.where(own[:, None], self.xy + flow[ys, xs], affine).astype(np.float32)
        return Samples(xy, self.codes, self.fg, self.weight)


@dataclass
class BilateralMemory:
    """The prompted frame's samples (``anchor``) and the last accepted frames' (``recent``, newest first)."""

    anchor: Samples
    recent: list[Samples] = field(default_factory=list)

    def moved(self, *motion: np.ndarray) -> "BilateralMemory":
        """The memory carried to the next frame (see :meth:`Samples.moved`)."""
        return BilateralMemory(self.anchor.moved(*motion), [s.moved(*motion) for s in self.recent])

    def remember(self, samples: Samples, frames: int, decay: float) -> None:
        """Add a newly accepted frame; older ones weigh ``decay`` times less per frame, at most ``frames`` kept."""
        for s in self.recent:
            s.weight *= decay
        self.recent = [samples, *self.recent][:frames]

    def counts(self, codes16: np.ndarray, origin_xy: tuple[int, int], cell_px: float) -> tuple[np.ndarray, np.ndarray]:
        """(object, background) weighted counts float32 (h, w) read from the blurred grid at the pixels of a crop
        (16-level codes ``codes16``, top-left ``origin_xy``) whose spatial cells are ``cell_px`` pixels across.
        The grid spans only the colours that occur (plus one level each side for the blur)."""
        h, w = codes16.shape
        frames = (self.anchor, *self.recent)
        xy = np.concatenate([s.xy for s in frames])
        lab = _channels(np.concatenate([s.codes for s in frames]))
        label = np.concatenate([s.fg for s in frames]).astype(np.int64)
        weight = np.concatenate([np.full(len(s.xy), s.weight) for s in frames])
        pixels = _channels(colour_codes(codes16).ravel())
        lo = np.minimum(pixels.min(0), lab.min(0) if len(lab) else 255) - 1
        dims = np.maximum(pixels.max(0), lab.max(0) if len(lab) else 0) - lo + 2
        ny, nx = int(np.ceil(h / cell_px)) + 1, int(np.ceil(w / cell_px)) + 1
        gx = np.rint((xy[:, 0] - origin_xy[0]) / cell_px).astype(np.int64)
        gy = np.rint((xy[:, 1] - origin_xy[1]) / cell_px).astype(np.int64)
        inside = (gx >= 0) & (gx < nx) & (gy >= 0) & (gy < ny)
        c = lab - lo
        index = ((((gy * nx + gx) * dims[0] + c[:, 0]) * dims[1] + c[:, 1]) * dims[2] + c[:, 2]) * 2 + 1 - label
        size = ny * nx * int(np.prod(dims)) * 2
        grid = np.bincount(index[inside], weight[inside], minlength=size).astype(np.float32)
        grid = grid.reshape(ny, nx, *dims, 2)
        for axis in range(5):
            grid = ndimage.convolve1d(grid, [0.25, 0.5, 0.25], axis=axis, mode="constant")
        c = pixels - lo
        colour = ((c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2]).reshape(h, w)
        return _slice(grid.reshape(ny, nx, -1, 2), colour, cell_px)


def _channels(codes: np.ndarray) -> np.ndarray:
    """(L, a, b) levels int (N, 3) of :func:`colour_codes`."""
    return np.stack([codes // (BINS * BINS), (codes // BINS) % BINS, codes % BINS], -1)


def _slice(grid: np.ndarray, colour: np.ndarray, cell_px: float) -> tuple[np.ndarray, np.ndarray]:
    """The grid (rows, columns, colours, object / background) of cells centred every ``cell_px`` pixels read at
    every pixel of ``colour`` (h, w), bilinear in position."""
    h, w = colour.shape
    ny, nx = grid.shape[:2]
    fy = np.arange(h, dtype=np.float32) / cell_px
    fx = np.arange(w, dtype=np.float32) / cell_px
    y0 = np.minimum(np.floor(fy).astype(np.int64), ny - 2)
    x0 = np.minimum(np.floor(fx).astype(np.int64), nx - 2)
    wy, wx = (fy - y0)[:, None, None], (fx - x0)[None, :, None]
    acc = np.zeros((h, w, 2), np.float32)
    for dy, ky in ((0, 1 - wy), (1, wy)):
        for dx, kx in ((0, 1 - wx), (1, wx)):
            acc += ky * kx * grid[(y0 + dy)[:, None], (x0 + dx)[None, :], colour]
    return acc[..., 0], acc[..., 1]


def bilateral_costs(
    cost_fg: np.ndarray,
    cost_bg: np.ndarray,
    memory: BilateralMemory,
    codes16: np.ndarray,
    origin_xy: tuple[int, int],
    cell_px: float,
    *,
    pseudo: float,
    strength: float | np.ndarray,
    max_nats: float,
    expected: np.ndarray | None = None,
    cutoff: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The colour term (cost_fg, cost_bg) of a crop blended with the memory's: its log-ratio log((B + a) / (F + a))
    weighs ``strength`` n / (n + a) (n = F + B, the remembered pixels near that position and colour; a = ``pseudo``
    times the cell's area in pixels, as the counts grow with it), the given term the rest, so empty cells leave it
    as it is.

    ``expected`` (bool, the crop's shape: where the object is predicted) scales that weight by how well the memory
    agrees with it (the smaller of its agreement on the predicted object and on the predicted background), from 0
    at an agreement of ``cutoff`` or less to 1 at full agreement: a memory the object has since moved away from
    (its limbs now where background was seen) is not trusted."""
    f, b = memory.counts(codes16, origin_xy, cell_px)
    pseudo *= cell_px**2
    mem = np.clip(np.log((b + pseudo) / (f + pseudo)), -max_nats, max_nats)
    n = f + b
    conf = strength * n / (n + pseudo)
    if expected is not None:
        right = conf * ((mem < 0) == expected)
        agree = min(float(right[part].sum() / max(float(conf[part].sum()), 1e-6)) for part in (expected, ~expected))
        conf = conf * np.clip((agree - cutoff) / (1.0 - cutoff), 0.0, 1.0)
    ratio = (conf * mem + (1.0 - conf) * (cost_fg - cost_bg)).astype(np.float32)
    return np.maximum(ratio, 0.0), np.maximum(-ratio, 0.0)
