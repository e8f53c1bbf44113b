"""The classic backend: weight-free segmentation (GrabCut) and tracking (dense optical flow).

It needs no model weights, so the app, the CLI and CI work on any machine; SAM 2 replaces it whenever a checkpoint
is available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np

from click2graph.masks import bbox_xyxy, largest_component
from click2graph.prompts import FramePrompt
from click2graph.segment.base import Candidates, ObjectTrack, PropagationStep, SegmenterState
from click2graph.segment.classic_candidates import decode_point_candidates, grabcut_around_point

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of the classic backend."""

    click_window_frac: float = 0.12  # half-size of the GrabCut window around a click, as a fraction of max(H, W)
    grabcut_iters: int = 4


class ClassicSegmenter:
    """Weight-free :class:`~click2graph.segment.VideoSegmenter`."""

    name = "classic"

    def __init__(self, config: ClassicConfig = ClassicConfig()) -> None:
        self.config = config

    def describe(self) -> str:
        return "classic tracker (GrabCut + optical flow, no model weights)"

    def init_state(self, video) -> SegmenterState:
        return SegmenterState(video=video)

    def add_prompt(self, state: SegmenterState, obj_id: int, prompt: FramePrompt) -> np.ndarray:
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts[prompt.frame_idx] = prompt
        track.mask_prompts.pop(prompt.frame_idx, None)
        mask = self._segment_frame(state.video.frames[prompt.frame_idx], prompt)
        track.set_mask(prompt.frame_idx, mask)
        return mask

    def add_mask(self, state: SegmenterState, obj_id: int, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts.pop(frame_idx, None)
        mask = mask.astype(bool)
        track.mask_prompts[frame_idx] = None  # placeholder replaced below
        track.set_mask(frame_idx, mask)
        track.mask_prompts[frame_idx] = track.masks[frame_idx]
        return mask

    def remove_object(self, state: SegmenterState, obj_id: int) -> None:
        state.objects.pop(obj_id, None)

    def propagate(
        self, state: SegmenterState, *, obj_ids: Sequence[int] | None = None, reverse: bool = False
    ) -> Iterator[PropagationStep]:
        ids = [i for i in (state.obj_ids if obj_ids is None else obj_ids) if state.objects[i].prompt_frames]
        if not ids:
            return
        n = len(state.video)
        anchors = {i: (max if reverse else min)(state.track(i).prompt_frames) for i in ids}
        order = range(n - 1, -1, -1) if reverse else range(n)
        step = -1 if reverse else 1
        current: dict[int, np.ndarray] = {}
        for t in order:
            active, masks = [], []
            for i in ids:
                track = state.track(i)
                if t in track.prompts or t in track.mask_prompts:
                    mask = track.mask(t)
                elif (t - anchors[i]) * step > 0 and i in current:
                    mask = self._warp(state, current[i], t - step, t)
                    track.set_mask(t, mask)
                else:
                    continue
                current[i] = mask
                active.append(i)
                masks.append(mask)
            if active:
                yield t, active, np.stack(masks)

    def decode_candidates(
        self, state: SegmenterState, frame_idx: int, points_xy: np.ndarray, *, avoid: np.ndarray | None = None
    ) -> Candidates:
        return decode_point_candidates(state.video.frames[frame_idx], points_xy, avoid=avoid)

    # -- internals ------------------------------------------------------------------------------------------

    def _segment_frame(self, frame_rgb: np.ndarray, prompt: FramePrompt) -> np.ndarray:
        h, w = frame_rgb.shape[:2]
        half = max(12, int(self.config.click_window_frac * max(h, w)))
        if prompt.box_xyxy is not None:
            x0, y0, x1, y1 = prompt.box_xyxy
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            half = int(max(x1 - x0, y1 - y0) / 2)
        else:
            cx, cy = prompt.positive_points_xy.mean(axis=0)
        avoid = np.zeros((h, w), bool)
        for x, y in prompt.negative_points_xy:
            cv2.circle(avoid.view(np.uint8), (int(x), int(y)), 5, 1, -1)
        mask = grabcut_around_point(frame_rgb, cx, cy, half_size_px=half, avoid=avoid, iters=self.config.grabcut_iters)
        return largest_component(mask) if mask.any() else mask

    def _warp(self, state: SegmenterState, mask: np.ndarray, t_from: int, t_to: int) -> np.ndarray:
        # Backward flow (t_to -> t_from) lets each pixel of the new frame look up where it came from.
        flow = state.flows.get(t_to, t_from)
        h, w = mask.shape
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        warped = cv2.remap(mask.astype(np.float32), grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR)
        out = warped > 0.5
        return out if bbox_xyxy(out) is not None else mask
