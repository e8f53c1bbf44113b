"""OpenCV GrabCut made deterministic: one entry point for every weight-free cut in the project."""

from __future__ import annotations

import cv2
import numpy as np


def grabcut(image_bgr: np.ndarray, gc_mask: np.ndarray, iters: int) -> bool:
    """Run ``cv2.grabCut`` initialised from ``gc_mask`` (uint8 GC_* labels, updated in place).

    GrabCut seeds its colour models' k-means from OpenCV's global RNG, so the same input gave different masks
    depending on what ran before it in the process; the seed is fixed here so that results are reproducible.

    Returns:
        False when OpenCV refuses the input (one side has no samples, e.g. a flat or fully-avoided crop);
        ``gc_mask`` is then unchanged.
    """
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(image_bgr, gc_mask, None, np.zeros((1, 65)), np.zeros((1, 65)), iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return False
    return True
