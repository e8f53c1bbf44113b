"""Texture in the classic tracker's appearance model: a per-pixel texture code and texture-given-colour histograms.

Where an object and its surroundings share colours (a white dog among white poles, a duck on water that mirrors
it) the colour histograms cannot tell them apart, but their texture often can: fur against smooth paint, ripples
against feathers. Each pixel gets a small texture code from the structure tensor of the grey image (the local
gradient energy on a log scale, and for textured pixels whether the gradients share one orientation), and the
object and its surroundings each get a joint histogram over (coarse Lab colour, texture code).

The term added to the colour term is the log-ratio of p(texture | colour): by the chain rule p(colour, texture) =
p(colour) p(texture | colour), so the joint log-ratio is the colour term's log-ratio plus this one, and adding it
with weight 1 counts no evidence twice (the colour term uses 16 Lab levels, this one conditions on 8: up to that
coarsening, texture speaks only where it tells more than colour). Where a colour was seen on few pixels its
texture distribution falls back on the model's texture marginal (a Dirichlet prior of ``PRIOR_PX`` pixels).
The tracker learns the object's texture away from its outline (a pixel's code sees ``TEXTURE_REACH_PX`` across
an edge), its surroundings' where it learns their colours, and the term reaches the cut wherever colour does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from click2graph.segment.classic_local import LEVELS, coarse_codes

# Gradient energy levels (RMS grey-level gradient per pixel, 0-255 scale, over a Gaussian window): flat below 2
# (sensor noise, smooth paint, sky), then a factor of 3 per level (fine ripples, fur, foliage and edges).
ENERGY_EDGES = (2.0, 6.0, 18.0)
COHERENT = 0.5  # orientation coherence above which a textured pixel counts as oriented (stripes, poles, edges)
TEXTURES = 1 + 2 * len(ENERGY_EDGES)  # flat, then (isotropic, oriented) per energy level: 7 codes
SIGMA_PX = 1.0  # Gaussian window of the structure tensor, processing pixels
TEXTURE_REACH_PX = round(2 * SIGMA_PX)  # how far a pixel's code sees: its window's 2 sigma
PRIOR_PX = 10.0  # pixels of the texture marginal a colour's texture distribution is shrunk towards
_COLOURS = LEVELS**3


def structure_tensor(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 (h, w) each: the grey-level gradient products gx², gy², gx·gy of a uint8 grey image, averaged over a
    Gaussian window of ``SIGMA_PX``."""
    g = grey.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    jxx, jyy, jxy = (
        cv2.GaussianBlur(p, (0, 0), SIGMA_PX, borderType=cv2.BORDER_REFLECT) for p in (gx * gx, gy * gy, gx * gy)
    )
    return jxx, jyy, jxy


def texture_codes(grey: np.ndarray) -> np.ndarray:
    """int32 (h, w) texture code in ``[0, TEXTURES)`` of each pixel of a uint8 grey image (see the module doc)."""
    jxx, jyy, jxy = structure_tensor(grey)
    trace = jxx + jyy
    energy = np.sqrt(trace)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4.0 * jxy**2) / np.maximum(trace, 1e-6)
    level = sum((energy >= edge).astype(np.int32) for edge in ENERGY_EDGES)  # np.digitize's levels; 0 = flat
    return np.where(level > 0, 2 * level - 1 + (coherence > COHERENT), 0).astype(np.int32)


def joint_codes(colour_codes: np.ndarray, textures: np.ndarray) -> np.ndarray:
    """int32 joint (coarse colour, texture) bin from 16-level Lab codes and :func:`texture_codes` (same shape)."""
    return coarse_codes(colour_codes) * TEXTURES + textures


@dataclass
class TextureModel:
    """Normalised joint histogram float64 (512 * TEXTURES,) over (coarse colour, texture), updated as an EMA."""

    prob: np.ndarray

    @classmethod
    def fit(cls, codes: np.ndarray) -> "TextureModel":
        """From :func:`joint_codes` values (any shape; none gives the uniform model). Each colour's row gets
        ``PRIOR_PX`` pixels of the texture marginal, so p(texture | colour) of a rare colour is the marginal's."""
        counts = np.bincount(codes.ravel(), minlength=_COLOURS * TEXTURES).astype(np.float64)
        counts = counts.reshape(_COLOURS, TEXTURES)
        marginal = counts.sum(axis=0) + 1.0  # one pixel each: no texture is impossible
        counts += PRIOR_PX * marginal / marginal.sum()
        return cls((counts / counts.sum()).ravel())

    def blend(self, other: "TextureModel", rate: float) -> "TextureModel":
        return TextureModel((1.0 - rate) * self.prob + rate * other.prob)

    def log_conditional(self) -> np.ndarray:
        """log p(texture | coarse colour), float64 (512 * TEXTURES,), indexed like :func:`joint_codes`."""
        joint = self.prob.reshape(_COLOURS, TEXTURES)
        return (np.log(joint) - np.log(joint.sum(axis=1, keepdims=True))).ravel()


def texture_ratio(codes: np.ndarray, fg: TextureModel, bg: TextureModel, max_nats: float) -> np.ndarray:
    """float32 (shape of ``codes``): nats against the object from texture given colour (positive: background),
    clipped to +-``max_nats``."""
    table = np.clip(bg.log_conditional() - fg.log_conditional(), -max_nats, max_nats).astype(np.float32)
    return table[codes]
