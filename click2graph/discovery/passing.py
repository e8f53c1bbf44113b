"""Temporal evidence: does the subject come to a candidate, or only pass it by?

An object the subject interacts with is one it reaches, holds or has just left: over a short window around the
keyframe the gap between them closes at some point. A region beside a moving subject that it never comes closer to
(a banner behind a running dog, a patch of ground at the frame's edge, a balloon in a crowd behind a dancer) only
slides past it. Each mask is carried through the window by the median optical flow under it (frame to frame, the
flows the segmenter already caches), and the candidate's gap to the subject is read at every step.

The rule claims a candidate only when motion says something: the subject must move, relative to the candidate,
by at least ``ratio`` times their gap on the keyframe (had it moved that far toward it, the gap would have shrunk
by as much); a subject standing still beside a still object (a person next to a table) gives no evidence.
"""

from __future__ import annotations

import numpy as np

_STRIDE = 2  # the window keeps every 2nd pixel of each flow in both directions: medians over masks barely change


class Window:
    """The frame-to-frame flows around one keyframe (forward, then backward), fetched on first use and kept at
    a quarter of the pixels (the segmenter's flow cache holds only a few)."""

    def __init__(
        self, flows, frame_idx: int, num_frames: int, steps: int, *, cuts: frozenset[int] = frozenset()
    ) -> None:
        """``flows``: an object with ``get(frame_from, frame_to)`` (a :class:`~click2graph.cv.flow.FlowCache`);
        ``cuts``: the frames that start a new shot, where the window ends as it does at the video's ends."""
        self._flows = flows
        forward = [(f, f + 1) for f in range(frame_idx, min(num_frames - 1, frame_idx + steps))]
        backward = [(f, f - 1) for f in range(frame_idx, max(0, frame_idx - steps), -1)]
        self._paths = [_within_shot(forward, cuts), _within_shot(backward, cuts)]
        self._subject: np.ndarray | None = None
        self._kept: dict[tuple[int, int], np.ndarray] = {}

    def offsets(self, mask: np.ndarray) -> np.ndarray:
        """float (K, 2) xy offsets of ``mask`` after each step of the window (forward steps, then backward ones)."""
        out = []
        for path in self._paths:
            offset = np.zeros(2)
            for pair in path:
                moved = shift(mask, offset)[::_STRIDE, ::_STRIDE]
                if moved.any():
                    offset = offset + np.median(self._flow(pair)[moved], axis=0)
                out.append(offset)
        return np.asarray(out, np.float64).reshape(-1, 2)

    def _flow(self, pair: tuple[int, int]) -> np.ndarray:
        if pair not in self._kept:
            self._kept[pair] = np.ascontiguousarray(self._flows.get(*pair)[::_STRIDE, ::_STRIDE])
        return self._kept[pair]

    def subject_offsets(self, subject: np.ndarray) -> np.ndarray:
        """:meth:`offsets` of the subject, computed once per keyframe."""
        if self._subject is None:
            self._subject = self.offsets(subject)
        return self._subject


def _within_shot(path: list[tuple[int, int]], cuts: frozenset[int]) -> list[tuple[int, int]]:
    """The steps of ``path`` (frame pairs, one way) before the first that crosses a shot cut."""
    for k, (a, b) in enumerate(path):
        if max(a, b) in cuts:
            return path[:k]
    return path


def shift(mask: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """bool (H, W): ``mask`` translated by ``offset`` (x, y), rounded to whole pixels; what leaves the frame is lost."""
    h, w = mask.shape
    dx, dy = (int(round(float(v))) for v in offset)
    out = np.zeros_like(mask)
    if abs(dx) < w and abs(dy) < h:
        out[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = mask[
            max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)
        ]
    return out


def passes_by(
    mask: np.ndarray,
    dist_to_subject: np.ndarray,
    relative: np.ndarray,
    ratio: float,
    touch_px: float,
) -> bool:
    """True when the subject moves past ``mask`` without coming closer (see the module docstring).

    Args:
        mask: bool (H, W) the candidate on the keyframe.
        dist_to_subject: float32 (H, W) distance of every pixel to the subject on the keyframe.
        relative: float (K, 2) the candidate's offsets minus the subject's at each step of the window.
        ratio: the subject must move (relative to the candidate) by this times their gap, and the gap never
            shrinks below this times itself.
        touch_px: a candidate this close to the subject touches it: never passed by.
    """
    ys, xs = np.nonzero(mask)
    gap = gap_px(mask, dist_to_subject)
    if gap <= touch_px or not len(relative):
        return False
    if float(np.linalg.norm(relative, axis=1).max()) < ratio * gap:
        return False
    h, w = mask.shape
    for dx, dy in np.round(relative).astype(int):
        inside = (0 <= xs + dx) & (xs + dx < w) & (0 <= ys + dy) & (ys + dy < h)
        if inside.any() and float(dist_to_subject[ys[inside] + dy, xs[inside] + dx].min()) < ratio * gap:
            return False
    return True


def gap_px(mask: np.ndarray, dist_to_subject: np.ndarray) -> float:
    """Distance (px) from the subject to the nearest pixel of ``mask`` (0 when they overlap)."""
    return float(dist_to_subject[mask].min())


def window_steps(fps: float, seconds: float) -> int:
    """Frames in ``seconds`` at ``fps`` (at least 1)."""
    return max(1, int(round(seconds * fps)))
