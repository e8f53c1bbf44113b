"""The guided filter (He, Sun and Tang, "Guided Image Filtering", ECCV 2010): an edge-preserving smoothing of one
image steered by another, here used to upsample a mask so that its outline follows the frame's edges."""

from __future__ import annotations

import cv2
import numpy as np


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """float32 (H, W): ``src`` filtered with the grey ``guide`` (float, H x W, values in [0, 1]).

    Within every (2 * radius + 1)-square window the output is a linear function of the guide fitted to ``src``
    (ridge ``eps``): where the guide is flat it averages ``src``, where it has an edge the output follows that edge.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(image: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(image, -1, size, borderType=cv2.BORDER_REFLECT)

    guide = guide.astype(np.float32)
    src = src.astype(np.float32)
    mean_guide, mean_src = mean(guide), mean(src)
    covariance = mean(guide * src) - mean_guide * mean_src
    variance = mean(guide * guide) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_src - slope * mean_guide
    return mean(slope) * guide + mean(offset)
