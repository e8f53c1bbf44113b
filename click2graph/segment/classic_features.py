"""Per-frame inputs of the classic backend at processing resolution: colours, flow, flow reliability, camera motion.

The classic backend works on the working frames downscaled to at most ``max_side`` pixels (processing pixels):
graph cuts cost ~O(pixels) and the Lab histograms do not need full resolution. Flow comes from the state's shared
:class:`~click2graph.cv.flow.FlowCache` (so discovery reuses it) and is rescaled here.
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
import numpy as np

from click2graph.cv.colour import lab_codes
from click2graph.cv.flow import FlowCache
from click2graph.masks import resize_mask
from click2graph.segment.classic_energy import BINS, fit_affine
from click2graph.segment.classic_texture import joint_codes, texture_codes

_GRID_STEP = 8  # processing pixels between flow samples for the camera fit: ~1,500 samples at 448x252


class FrameFeatures:
    """Per-frame colour data (small LRU) and per-pair flow and flow reliability (kept for the whole video), in
    processing pixels.

    Flows are kept because the pipeline tracks objects in several passes (the subject, then the objects found at
    each discovery keyframe, forward and backward): an LRU smaller than the clip recomputed every flow on every
    pass (ball_touch, 48 frames, 5 objects: 374 flows for 94 pairs, and the fwd-bwd check took 30 % of the build).
    Stored as float16 at processing size: ~0.45 MB per pair at 448x252, ~140 MB for 150 frames both ways.
    """

    def __init__(self, frames: np.ndarray, flows: FlowCache, *, max_side: int, capacity: int = 6) -> None:
        self.frames = frames
        self.flows = flows
        h, w = frames.shape[1:3]
        self.scale = min(1.0, max_side / max(h, w))
        self.work_hw = (h, w)
        self.proc_hw = (max(8, round(h * self.scale)), max(8, round(w * self.scale)))
        self.capacity = capacity
        self._frames: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._textures: OrderedDict[int, np.ndarray] = OrderedDict()
        self._flows: dict[tuple[int, int], np.ndarray] = {}  # float16
        self._reliable: dict[tuple[int, int], np.ndarray] = {}

    # -- pixel spaces ---------------------------------------------------------------------------------------

    def to_proc_mask(self, mask_work: np.ndarray) -> np.ndarray:
        return resize_mask(mask_work, (self.proc_hw[1], self.proc_hw[0]))

    def to_work_mask(self, mask_proc: np.ndarray) -> np.ndarray:
        """Upsample a processing-pixel mask with linear interpolation so its outline is smooth, not blocky."""
        h, w = self.work_hw
        if mask_proc.shape == (h, w):
            return mask_proc.copy()
        return cv2.resize(mask_proc.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5

    def to_proc_xy(self, xy_work: np.ndarray) -> np.ndarray:
        return np.asarray(xy_work, np.float32).reshape(-1, 2) * self.scale

    # -- per frame ------------------------------------------------------------------------------------------

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8 (h, w, 3), colour bin index int32 (h, w)) of frame ``t`` in processing pixels."""
        if t in self._frames:
            self._frames.move_to_end(t)
            return self._frames[t]
        rgb = self.frames[t]
        if self.scale < 1.0:
            rgb = cv2.resize(rgb, (self.proc_hw[1], self.proc_hw[0]), interpolation=cv2.INTER_AREA)
        item = (rgb, lab_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), BINS))
        self._frames[t] = item
        if len(self._frames) > self.capacity:
            self._frames.popitem(last=False)
        return item

    def texture(self, t: int) -> np.ndarray:
        """Joint (coarse colour, texture) code int32 (h, w) of frame ``t`` in processing pixels
        (:func:`~click2graph.segment.classic_texture.joint_codes`)."""
        if t in self._textures:
            self._textures.move_to_end(t)
            return self._textures[t]
        rgb, bins = self.frame(t)
        codes = joint_codes(bins, texture_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))
        self._textures[t] = codes
        if len(self._textures) > self.capacity:
            self._textures.popitem(last=False)
        return codes

    def flow(self, t_from: int, t_to: int) -> np.ndarray:
        """Flow float32 (h, w, 2) from ``t_from`` to ``t_to`` in processing pixels."""
        key = (t_from, t_to)
        if key not in self._flows:
            flow = self.flows.get(t_from, t_to)
            if self.scale < 1.0:
                flow = cv2.resize(flow, (self.proc_hw[1], self.proc_hw[0]), interpolation=cv2.INTER_AREA) * self.scale
            self._flows[key] = flow.astype(np.float16)
        return self._flows[key].astype(np.float32)

    def reliable(self, t_from: int, t_to: int, *, tol_px: float = 1.0) -> np.ndarray:
        """bool (h, w) on ``t_from``: the flow to ``t_to`` comes back within ``tol_px`` (+5 % of its length) when
        followed by the flow back; False on occlusions and where the flow failed."""
        key = (t_from, t_to, tol_px)
        if key not in self._reliable:
            self._reliable[key] = self._fwd_bwd_consistent(t_from, t_to, tol_px)
        return self._reliable[key]

    def _fwd_bwd_consistent(self, t_from: int, t_to: int, tol_px: float) -> np.ndarray:
        fwd, bwd = self.flow(t_from, t_to), self.flow(t_to, t_from)
        h, w = fwd.shape[:2]
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        back = cv2.remap(bwd, xs + fwd[..., 0], ys + fwd[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = np.sum((fwd + back) ** 2, axis=-1)
        return err <= (tol_px + 0.05 * np.linalg.norm(fwd, axis=-1)) ** 2

    def camera(self, t_from: int, t_to: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """Camera (background) motion ``t_from -> t_to`` as a 2x3 affine in processing pixels, fitted with RANSAC
        on a grid of flow samples outside ``exclude`` (bool (h, w), e.g. the dilated object); identity if the
        fit fails."""
        flow = self.flow(t_from, t_to)
        h, w = flow.shape[:2]
        ys, xs = np.mgrid[_GRID_STEP // 2 : h : _GRID_STEP, _GRID_STEP // 2 : w : _GRID_STEP]
        keep = np.ones(xs.shape, bool) if exclude is None else ~exclude[ys, xs]
        pts = np.stack([xs[keep], ys[keep]], axis=-1).astype(np.float32)
        affine = fit_affine(pts, flow[ys[keep], xs[keep]], max_points=2000)
        return affine if affine is not None else np.eye(2, 3, dtype=np.float64)
