"""An oracle :class:`~click2graph.segment.VideoSegmenter` that reads ground-truth label maps.

It satisfies the protocol exactly but segments perfectly, so pipeline tests check the orchestration (keyframes,
ids, edits, relations) without depending on the quality of a real backend, and run in a fraction of a second.
A prompt binds an object to the label under its first positive click (or the label filling most of its box, or
best matching its mask); propagation then returns that label's mask on every frame in the direction asked.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from click2graph.prompts import FramePrompt
from click2graph.segment import Candidates, ObjectTrack, PropagationStep, SegmenterState
from click2graph.video import Video


class OracleSegmenter:
    name = "oracle"

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels  # int (T, H, W), 0 = background
        self.bound: dict[int, int] = {}  # obj_id -> label of its latest binding (in any state), for tests to read
        self._labels: dict[tuple[int, int], int] = {}  # (id(state), obj_id) -> label: states never share objects
        self.propagated_frames = 0  # frames yielded by propagate(), to check what was re-tracked

    def describe(self) -> str:
        return "oracle (ground-truth labels)"

    def init_state(self, video: Video) -> SegmenterState:
        if len(video) != len(self.labels):
            raise ValueError("the oracle needs one label map per working frame")
        return SegmenterState(video=video)

    def add_prompt(self, state, obj_id, prompt: FramePrompt) -> np.ndarray:
        labels = self.labels[prompt.frame_idx]
        if len(prompt.positive_points_xy):
            x, y = prompt.positive_points_xy[0]
            label = int(labels[int(y), int(x)])
        else:
            x0, y0, x1, y1 = prompt.box_xyxy.astype(int)
            values, counts = np.unique(labels[y0:y1, x0:x1], return_counts=True)
            label = int(values[np.argmax(counts * (values > 0))])
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts[prompt.frame_idx] = prompt
        return self._bind(state, track, label, prompt.frame_idx)

    def add_mask(self, state, obj_id, frame_idx, mask) -> np.ndarray:
        labels = self.labels[frame_idx]
        values, counts = np.unique(labels[mask], return_counts=True)
        label = int(values[np.argmax(counts * (values > 0))]) if len(values) else 0
        track = state.objects.setdefault(obj_id, ObjectTrack(obj_id))
        track.prompts.pop(frame_idx, None)
        result = self._bind(state, track, label, frame_idx)
        track.mask_prompts[frame_idx] = track.masks[frame_idx]
        return result

    def _bind(self, state, track: ObjectTrack, label: int, frame_idx: int) -> np.ndarray:
        self.bound[track.obj_id] = self._labels[id(state), track.obj_id] = label
        mask = self.labels[frame_idx] == label if label else np.zeros(self.labels.shape[1:], bool)
        track.set_mask(frame_idx, mask)
        return mask

    def remove_object(self, state, obj_id) -> None:
        state.objects.pop(obj_id, None)
        self._labels.pop((id(state), obj_id), None)

    def propagate(
        self, state, *, obj_ids: Sequence[int] | None = None, reverse: bool = False
    ) -> Iterator[PropagationStep]:
        ids = [i for i in (state.obj_ids if obj_ids is None else obj_ids) if state.track(i).prompt_frames]
        if not ids:
            return
        starts = {i: (max if reverse else min)(state.track(i).prompt_frames) for i in ids}
        order = range(len(self.labels) - 1, -1, -1) if reverse else range(len(self.labels))
        for t in order:
            active = [i for i in ids if (t <= starts[i] if reverse else t >= starts[i])]
            if not active:
                continue
            masks = np.stack([self.labels[t] == self._labels[id(state), i] for i in active])
            for i, m in zip(active, masks):
                state.track(i).set_mask(t, m)
            self.propagated_frames += 1
            yield t, active, masks

    def decode_candidates(self, state, frame_idx, points_xy, *, avoid=None) -> Candidates:
        labels = self.labels[frame_idx]
        masks = []
        for x, y in np.asarray(points_xy).reshape(-1, 2):
            label = int(labels[int(y), int(x)])
            mask = labels == label if label else np.zeros(labels.shape, bool)
            masks.append(mask & ~avoid if avoid is not None else mask)
        masks = np.stack(masks) if masks else np.zeros((0, *labels.shape), bool)
        return Candidates(masks=masks, scores=np.array([0.9 if m.any() else 0.0 for m in masks], np.float32))
