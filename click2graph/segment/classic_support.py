"""Static window cuts keep only the pieces that another cut agrees on or that look like the clicked object.

GrabCut on one window can run past the clicked object into a touching one of other colours (a person's cut that
takes the table the hand rests on): its outline then follows the other object's strong edges, and edge alignment
would prefer it. Each cut is compared with the other cuts of the same click that are not of its source: the pixels
that none of them holds form *unsupported* pieces. The free cuts (outside their window only probably background)
are one source: their windows do not bound them, so they often converge on one cut, leak and all (a shirt's cut
that took the two red cups standing in front of it, from two windows), and one would vouch for the other. Such a
piece stays when its colours are explained by the supported part (the pixels the cut shares with a cut of another
source: the clicked object as the windows agree on it) better than by the rest of the frame, and goes otherwise. A
cut that another source fully supports is unchanged, and so is one that no other source overlaps (nothing to
compare with). The same colour test tells whether a still part belongs to a moving object found beside it
(:func:`explained_by`).
"""

from __future__ import annotations

import cv2
import numpy as np

from click2graph.cv.colour import colour_histogram, lab_codes

_BINS = 8  # Lab levels per channel of the colour models
_PRIOR = 1.0  # count added to every bin: a colour seen on neither side is equally likely on both


def drop_unsupported_pieces(
    rgb: np.ndarray, masks: list[np.ndarray], usable: list[bool], sources: list[int]
) -> list[np.ndarray]:
    """Each mask without its unsupported pieces whose colours are foreign to its supported part.

    Args:
        rgb: uint8 (h, w, 3) frame.
        masks: bool (h, w) cuts of one click (each holds the click).
        usable: per mask, False for a speck (it neither supports nor gets pruned).
        sources: per mask, what made it (its window; one source for all free cuts): only masks of other sources
            support it.

    Returns:
        list of bool (h, w) masks, same order (a pruned mask may hold pieces cut off from the click: the caller
        keeps the clicked component).
    """
    codes = lab_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), _BINS)
    out = []
    for i, mask in enumerate(masks):
        others = np.zeros_like(mask)
        for j, other in enumerate(masks):
            if sources[j] != sources[i] and usable[j]:
                others |= other
        supported = mask & others
        extra = mask & ~others
        if not usable[i] or not supported.any() or not extra.any():
            out.append(mask)
            continue
        ratio = _colour_log_ratio(codes, supported, ~supported)  # > 0 where the supported part explains it better
        count, labels = cv2.connectedComponents(extra.astype(np.uint8), connectivity=8)
        score = np.bincount(labels[extra], weights=ratio[codes[extra]], minlength=count)
        foreign = np.flatnonzero(score <= 0)
        out.append(mask & ~np.isin(labels, foreign[foreign > 0]))
    return out


def explained_by(rgb: np.ndarray, piece: np.ndarray, whole: np.ndarray) -> bool:
    """Whether the colours of ``piece`` (bool (h, w)) are explained better by the rest of ``whole`` than by the
    rest of the frame (outside both): a part of the object ``whole`` holds, not something beside it."""
    other = whole & ~piece
    if not piece.any() or not other.any():
        return False
    codes = lab_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), _BINS)
    ratio = _colour_log_ratio(codes, other, ~(whole | piece))
    return float(ratio[codes[piece]].sum()) > 0


def _colour_log_ratio(codes: np.ndarray, own: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """float (bins**3,): per colour, log of its frequency in the ``own`` pixels over that in the ``rest``."""
    return np.log(colour_histogram(codes[own], _BINS, prior=_PRIOR)) - np.log(
        colour_histogram(codes[rest], _BINS, prior=_PRIOR)
    )
