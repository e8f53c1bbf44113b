"""Per-frame inputs of the classic backend at processing resolution: colours, flow, flow reliability, camera motion.

The classic backend works on the working frames downscaled to at most ``max_side`` pixels (processing pixels):
graph cuts cost ~O(pixels) and the Lab histograms do not need full resolution. Flow comes from the state's shared
:class:`~click2graph.cv.flow.FlowCache` (so discovery reuses it) and is rescaled here.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from click2graph.cv.colour import lab_codes
from click2graph.cv.flow import FlowCache
from click2graph.cv.guided import guided_filter
from click2graph.masks import bbox_xyxy, resize_mask
from click2graph.segment.classic_energy import BINS, fit_affine, squared_length
from click2graph.segment.classic_texture import joint_codes, texture_codes

# the guided filter's ridge, for grey values in [0, 1]: edges with a contrast above ~0.03 steer the outline
_EDGE_EPS = 1e-3
_GRID_STEP = 8  # processing pixels between flow samples for the camera fit: ~1,500 samples at 448x252


class FrameFeatures:
    """Per-frame colour data (small LRU) and per-pair flow and flow reliability (kept for the whole video), in
    processing pixels.

    Flows are kept because the pipeline tracks objects in several passes (the subject, then the objects found at
    each discovery keyframe, forward and backward): an LRU smaller than the clip recomputed every flow on every
    pass (ball_touch, 48 frames, 5 objects: 374 flows for 94 pairs, and the fwd-bwd check took 30 % of the build).
    Stored as float16 at processing size: ~0.45 MB per pair at 448x252, ~140 MB for 150 frames both ways.

    :meth:`prefetch` computes a pair's flows, their reliability and the next frame's colours and texture on a worker
    thread while the tracker works on the previous pair (the app has 2 cores, the tracker's step is mostly
    single-threaded); the values are the same as computed on demand, and only the calling thread touches the caches.
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
        self._flows32: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()  # the last few, read-only
        self._reliable: dict[tuple[int, int], np.ndarray] = {}
        self._derived: OrderedDict[tuple, np.ndarray] = OrderedDict()  # see :meth:`derived`
        self._ahead: tuple[int, tuple[int, int], Future] | None = None  # (process id, pair, its prefetch)
        self._worker: tuple[int, ThreadPoolExecutor] | None = None  # (process id, its prefetch thread)

    # -- pixel spaces ---------------------------------------------------------------------------------------

    def to_proc_mask(self, mask_work: np.ndarray) -> np.ndarray:
        return resize_mask(mask_work, (self.proc_hw[1], self.proc_hw[0]))

    def to_work_mask(self, mask_proc: np.ndarray, frame_idx: int | None = None) -> np.ndarray:
        """Upsample a processing-pixel mask to working pixels. Linear interpolation makes its outline smooth, not
        blocky; given the frame, a guided filter (:func:`~click2graph.cv.guided.guided_filter`) then moves the
        outline, within about one processing pixel, onto that frame's edges, which the processing resolution
        blurred."""
        h, w = self.work_hw
        if mask_proc.shape == (h, w):
            return mask_proc.copy()
        soft = cv2.resize(mask_proc.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        if frame_idx is None or not mask_proc.any():
            return soft > 0.5
        radius = max(1, round(1.0 / self.scale))
        x0, y0, x1, y1 = bbox_xyxy(soft > 0)
        margin = 3 * radius
        x0, y0, x1, y1 = max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin + 1), min(h, y1 + margin + 1)
        grey = cv2.cvtColor(self.frames[frame_idx][y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        out = np.zeros((h, w), bool)
        out[y0:y1, x0:x1] = guided_filter(grey, soft[y0:y1, x0:x1], radius, _EDGE_EPS) > 0.5
        return out

    def to_proc_xy(self, xy_work: np.ndarray) -> np.ndarray:
        return np.asarray(xy_work, np.float32).reshape(-1, 2) * self.scale

    # -- per frame ------------------------------------------------------------------------------------------

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8 (h, w, 3), colour bin index int32 (h, w)) of frame ``t`` in processing pixels."""
        if self._ahead is not None and self._ahead[1][1] == t:
            self._collect(self._ahead[1])
        if t in self._frames:
            self._frames.move_to_end(t)
            return self._frames[t]
        return _remember(self._frames, t, self._frame_data(t), self.capacity)

    def _frame_data(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        rgb = self.frames[t]
        if self.scale < 1.0:
            rgb = cv2.resize(rgb, (self.proc_hw[1], self.proc_hw[0]), interpolation=cv2.INTER_AREA)
        return rgb, lab_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), BINS)

    def texture(self, t: int) -> np.ndarray:
        """Joint (coarse colour, texture) code int32 (h, w) of frame ``t`` in processing pixels
        (:func:`~click2graph.segment.classic_texture.joint_codes`)."""
        if self._ahead is not None and self._ahead[1][1] == t:
            self._collect(self._ahead[1])
        if t in self._textures:
            self._textures.move_to_end(t)
            return self._textures[t]
        return _remember(self._textures, t, _texture_data(*self.frame(t)), self.capacity)

    def flow(self, t_from: int, t_to: int) -> np.ndarray:
        """Flow float32 (h, w, 2) from ``t_from`` to ``t_to`` in processing pixels (read-only: the last few pairs
        are kept converted and shared)."""
        key = (t_from, t_to)
        self._collect(key)
        if key not in self._flows:
            self._flows[key] = self._proc_flow16(t_from, t_to)
        if key in self._flows32:
            self._flows32.move_to_end(key)
            return self._flows32[key]
        return _remember(self._flows32, key, _read_only32(self._flows[key]), 4)  # a step reads them several times

    def reliable(self, t_from: int, t_to: int, *, tol_px: float = 1.0) -> np.ndarray:
        """bool (h, w) on ``t_from``: the flow to ``t_to`` comes back within ``tol_px`` (+5 % of its length) when
        followed by the flow back; False on occlusions and where the flow failed."""
        self._collect((t_from, t_to))
        key = (t_from, t_to, tol_px)
        if key not in self._reliable:
            self._reliable[key] = _fwd_bwd_consistent(self.flow(t_from, t_to), self.flow(t_to, t_from), tol_px)
        return self._reliable[key]

    def prefetch(self, t_from: int, t_to: int) -> None:
        """Start computing the flows between frames ``t_from`` and ``t_to`` both ways, their reliability (default
        tolerance) and frame ``t_to``'s colours and texture codes on a worker thread, unless one is running, a frame
        is missing or the flows are known already."""
        self._collect(None)  # one finished but never asked for: keep it
        if self._ahead is not None or not 0 <= t_to < len(self.frames) or (t_from, t_to, 1.0) in self._reliable:
            return
        if self._worker is None or self._worker[0] != os.getpid():  # threads do not survive a fork
            self._worker = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="flow-prefetch"))
        future = self._worker[1].submit(self._pair, t_from, t_to)
        self._ahead = (os.getpid(), (t_from, t_to), future)

    def _pair(self, t_from: int, t_to: int) -> tuple:
        """(flows there and back as stored, as returned, their reliabilities, frame ``t_to``, its texture codes) as
        the accessors compute them, touching no cache of this object (it runs on the prefetch thread)."""
        flows16 = self._proc_flow16(t_from, t_to), self._proc_flow16(t_to, t_from)
        fwd, bwd = (_read_only32(f) for f in flows16)
        reliable = _fwd_bwd_consistent(fwd, bwd), _fwd_bwd_consistent(bwd, fwd)
        frame = self._frame_data(t_to)
        return flows16, (fwd, bwd), reliable, frame, _texture_data(*frame)

    def _collect(self, key: tuple[int, int] | None) -> None:
        """Keep the results of the running prefetch, waiting for them if the pair ``key`` (either way) is the
        prefetched one; with ``key`` None, only if it has finished. A prefetch started before a fork is dropped."""
        if self._ahead is None:
            return
        pid, (a, b), future = self._ahead
        if pid != os.getpid():
            self._ahead = None
            return
        if (key is None and not future.done()) or (key is not None and key not in ((a, b), (b, a))):
            return
        self._ahead = None
        flows16, flows32, reliable, frame, texture = future.result()
        for pair, f16, f32, ok in zip(((a, b), (b, a)), flows16, flows32, reliable):
            self._flows.setdefault(pair, f16)
            self._reliable.setdefault((*pair, 1.0), ok)
            if pair not in self._flows32:
                _remember(self._flows32, pair, f32, 4)
        if b not in self._frames:
            _remember(self._frames, b, frame, self.capacity)
        if b not in self._textures:
            _remember(self._textures, b, texture, self.capacity)

    def _proc_flow16(self, t_from: int, t_to: int) -> np.ndarray:
        """The shared cache's flow at processing size, float16 (what :meth:`flow` stores)."""
        flow = self.flows.get(t_from, t_to)
        if self.scale < 1.0:
            flow = cv2.resize(flow, (self.proc_hw[1], self.proc_hw[0]), interpolation=cv2.INTER_AREA) * self.scale
        return flow.astype(np.float16)

    def derived(self, key: tuple, make) -> np.ndarray:
        """``make()`` (an array derived from the frames, e.g. a frame's camera-compensated difference), computed once
        for ``key`` while it stays among the last ``capacity`` kept, read-only: the steps of one prompt read the same
        one several times."""
        if key in self._derived:
            self._derived.move_to_end(key)
            return self._derived[key]
        value = make()
        value.flags.writeable = False
        return _remember(self._derived, key, value, self.capacity)

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


def _fwd_bwd_consistent(fwd: np.ndarray, bwd: np.ndarray, tol_px: float = 1.0) -> np.ndarray:
    """bool (h, w): where the flow ``fwd`` (float32 (h, w, 2)) followed by ``bwd`` comes back within ``tol_px``
    (+5 % of its length)."""
    h, w = fwd.shape[:2]
    xs, ys = np.arange(w, dtype=np.float32)[None], np.arange(h, dtype=np.float32)[:, None]  # broadcast, not meshed
    back = cv2.remap(bwd, xs + fwd[..., 0], ys + fwd[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return squared_length(fwd + back) <= (tol_px + 0.05 * np.sqrt(squared_length(fwd))) ** 2


def _texture_data(rgb: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """The joint (coarse colour, texture) codes of a processing frame from its rgb and colour bins."""
    return joint_codes(bins, texture_codes(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))


def _read_only32(flow16: np.ndarray) -> np.ndarray:
    """A stored float16 flow as float32, read-only: it is shared by every caller while it stays in the LRU."""
    flow = flow16.astype(np.float32)
    flow.flags.writeable = False
    return flow


def _remember(cache: OrderedDict, key, value, capacity: int):
    """Put ``value`` in the LRU ``cache`` (dropping its oldest entry past ``capacity``) and return it."""
    cache[key] = value
    if len(cache) > capacity:
        cache.popitem(last=False)
    return value
