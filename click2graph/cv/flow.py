"""Dense optical flow between working frames (OpenCV DIS), shared by the classic tracker and discovery."""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

from click2graph.cv.shots import shot_starts


def dense_flow(frame_from: np.ndarray, frame_to: np.ndarray, *, scale: float = 0.5) -> np.ndarray:
    """Optical flow from ``frame_from`` to ``frame_to`` (uint8 RGB, same size).

    Returns:
        float32 (H, W, 2): for each pixel of ``frame_from``, its displacement ``(dx, dy)`` in full-size pixels.
        Computed at ``scale`` of the frame size (DIS "fast" preset) and upsampled: about 5 ms at 480p.
    """
    h, w = frame_from.shape[:2]
    return _grey_flow(_small_grey(frame_from, scale), _small_grey(frame_to, scale), (h, w))


def _small_grey(frame: np.ndarray, scale: float) -> np.ndarray:
    """The uint8 grey frame at ``scale`` of its size that :func:`dense_flow` runs DIS on."""
    h, w = frame.shape[:2]
    small = (max(8, int(w * scale)), max(8, int(h * scale)))
    return cv2.cvtColor(cv2.resize(frame, small, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)


def _grey_flow(a: np.ndarray, b: np.ndarray, full_hw: tuple[int, int]) -> np.ndarray:
    """DIS flow between two :func:`_small_grey` frames, upsampled to ``full_hw`` pixels."""
    h, w = full_hw
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    flow = dis.calc(a, b, None)
    flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= w / a.shape[1]
    flow[..., 1] *= h / a.shape[0]
    return flow


class FlowCache:
    """Flow fields between frame pairs of one video, computed on demand and kept in a small LRU; safe to call from
    several threads (the classic tracker computes the next pair's flows on a worker)."""

    def __init__(self, frames: np.ndarray, *, capacity: int = 8, scale: float = 0.5) -> None:
        self.frames = frames
        self.capacity = capacity
        self.scale = scale
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._greys: OrderedDict[int, np.ndarray] = OrderedDict()  # the last few frames DIS ran on
        self.computed = 0  # how many flows were actually computed (for tests and benchmarks)
        self._lock = threading.Lock()
        self._shot_starts: frozenset[int] | None = None

    def shot_starts(self) -> frozenset[int]:
        """The frames that start a new shot (:func:`~click2graph.cv.shots.shot_starts`), found on first use: no
        flow into such a frame from the one before it (or back) follows anything."""
        with self._lock:
            if self._shot_starts is None:
                self._shot_starts = frozenset(shot_starts(self.frames))
            return self._shot_starts

    def get(self, frame_from: int, frame_to: int) -> np.ndarray:
        """:func:`dense_flow` from frame ``frame_from`` to ``frame_to`` (cached)."""
        with self._lock:
            return self._get((frame_from, frame_to))

    def _get(self, key: tuple[int, int]) -> np.ndarray:
        frame_from, frame_to = key
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        flow = _grey_flow(self._grey(frame_from), self._grey(frame_to), self.frames.shape[1:3])
        self.computed += 1
        self._cache[key] = flow
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return flow

    def _grey(self, t: int) -> np.ndarray:
        """Frame ``t`` as :func:`dense_flow` prepares it, kept for the next pairs (a tracking step reads each
        frame of a pair twice, forward and backward, and the next step reads it again)."""
        if t not in self._greys:
            self._greys[t] = _small_grey(self.frames[t], self.scale)
            if len(self._greys) > 4:
                self._greys.popitem(last=False)
        return self._greys[t]


def warp_errors(frame_from: np.ndarray, frame_to: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How well no motion and ``flow`` (from ``frame_from`` to ``frame_to``, uint8 RGB) each explain ``frame_from``.

    Returns:
        float32 (H, W) each: the grey-level difference of every pixel from the same pixel of ``frame_to``, and
        from ``frame_to`` sampled where the flow moves it. Where a region's pixels match unmoved at least as well
        as moved, the flow's motion there is not in the pixels: flow estimators smooth a fast mover's motion onto
        the still things beside it.
    """
    a = cv2.cvtColor(frame_from, cv2.COLOR_RGB2GRAY).astype(np.float32)
    b = cv2.cvtColor(frame_to, cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = a.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    moved = cv2.remap(b, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.abs(a - b), np.abs(a - moved)


_AFFINE_POINTS = 5000  # an affine fit needs few points: at most about this many pixels of the mask are used


def affine_motion(flow: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Least-squares affine model of ``flow`` (H, W, 2) over the bool (H, W) ``mask``: float64 (3, 2) ``A`` with
    ``flow(x, y) ~ [x, y, 1] @ A`` (a camera's pan, zoom and rotation on a distant scene); None under 20 pixels."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return None
    step = max(1, len(ys) // _AFFINE_POINTS)
    ys, xs = ys[::step], xs[::step]
    model, *_ = np.linalg.lstsq(_design(xs, ys), flow[ys, xs].astype(np.float64), rcond=None)
    return model


def motion_residual_px(flow: np.ndarray, mask: np.ndarray, model: np.ndarray) -> float:
    """Median distance (px/frame) between ``flow`` over the non-empty ``mask`` and the affine ``model``'s
    prediction there (:func:`affine_motion`): 0 for pixels that move exactly as the model says."""
    ys, xs = np.nonzero(mask)
    return float(np.median(np.linalg.norm(flow[ys, xs] - _design(xs, ys) @ model, axis=1)))


def _design(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return np.stack([xs, ys, np.ones_like(xs)], axis=1).astype(np.float64)
