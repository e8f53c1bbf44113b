"""Colour statistics on uint8 Lab pixels: joint-bin codes, histograms, rarity and histogram similarity."""

from __future__ import annotations

import numpy as np


def lab_codes(lab: np.ndarray, bins: int) -> np.ndarray:
    """Joint histogram bin of each uint8 Lab pixel, each channel quantised to ``bins`` levels.

    Args:
        lab: uint8 (..., 3) Lab pixels (an image (H, W, 3) or a pixel list (N, 3)).
        bins: levels per channel (a divisor of 256).

    Returns:
        int32 (...) codes in ``[0, bins**3)``, ordered like the (L, a, b) levels.
    """
    q = (lab.astype(np.int32) * bins) >> 8  # // 256 of non-negative integers, cheaper
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


def colour_histogram(codes: np.ndarray, bins: int, *, prior: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Normalised histogram (``dtype`` (bins**3,)) of :func:`lab_codes` values; all zeros for no pixels.

    ``prior`` is added to every bin before normalising: with a prior, a colour never seen is unlikely rather than
    impossible (ratios of histograms stay finite).
    """
    hist = np.bincount(codes.ravel(), minlength=bins**3).astype(dtype) + prior
    return hist / max(1.0, hist.sum())


def colour_rarity(
    codes: np.ndarray, reference_codes: np.ndarray, bins: int, *, gain: float = 1.0, normalised: bool = True
) -> np.ndarray:
    """float32 (shape of ``codes``) in [0, 1]: how rare each pixel's colour is among ``reference_codes``.

    Rarity is 1 - ``gain`` * (frequency of the colour / frequency of the most common colour), clipped: with a gain
    of 4, the colours at least a quarter as frequent as the most common one all get 0. ``normalised`` divides the
    float32 histogram by its total before that ratio is taken (the quotient then rounds differently in float32);
    False uses the counts. An empty reference makes every colour rare (1).
    """
    if normalised:
        hist = colour_histogram(reference_codes, bins, dtype=np.float32)
    else:
        hist = np.bincount(reference_codes.ravel(), minlength=bins**3).astype(np.float32)
    return 1.0 - np.clip(hist[codes] / max(hist.max(), 1e-6) * gain, 0.0, 1.0)


def bhattacharyya(p: np.ndarray, q: np.ndarray) -> float:
    """Bhattacharyya coefficient of two normalised histograms: 1 when equal, 0 when disjoint."""
    return float(np.sqrt(p * q).sum())
