"""Geodesic distances over an image: the cheapest path from seed pixels when every step costs its colour change.

A segmentation whose failures differ from GrabCut's: GrabCut models each side's colours as a whole and collapses
to the seed when the clicked colours are common all around; a geodesic split follows the first strong colour edge
between the click and the background seeds, whatever the colours are elsewhere in the frame (it leaks where that
edge has a gap instead).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

# Cost of a step between neighbouring pixels that does not change colour: without it, a flat area's pixels are all
# at distance 0 from a seed on it, and ties (not edges) decide the split.
STEP_COST = 1.0


class GeodesicDistance:
    """Distances on one image's 4-neighbour pixel graph; a step costs :data:`STEP_COST` plus the Lab difference of
    the two pixels (after a 3x3 blur: single noisy pixels are not edges)."""

    def __init__(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
        index = np.arange(h * w).reshape(h, w)
        a = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
        b = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
        cost = np.linalg.norm(lab[a] - lab[b], axis=1) + STEP_COST
        self.shape = (h, w)
        self._graph = coo_matrix((cost, (a, b)), shape=(h * w, h * w)).tocsr()

    def from_seeds(self, seeds: np.ndarray) -> np.ndarray:
        """float (h, w): each pixel's distance to the nearest ``seeds`` pixel (bool (h, w)); inf without seeds."""
        if not seeds.any():
            return np.full(self.shape, np.inf)
        distance = dijkstra(self._graph, directed=False, indices=np.flatnonzero(seeds), min_only=True)
        return distance.reshape(self.shape)
