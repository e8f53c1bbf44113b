"""Temporal smoothing: a per-frame score series -> inclusive frame spans where a relation holds.

Three steps, in this order:

1. **Hysteresis.** A span is a maximal run of frames scoring at least ``off`` that contains at least one frame
   scoring at least ``on``. It runs in both time directions, so a span does not start late just because the
   score rose slowly. Frames without a score (NaN: an entity is absent) break runs.
2. **Gap filling.** Spans separated by at most ``max_gap`` frames are merged (a short dip or occlusion).
3. **Minimum duration.** Spans shorter than ``min_duration`` frames are dropped (one-frame flickers).

:func:`frame_runs` is the unsmoothed counterpart: the runs of frames picked by another rule (the paper's ranking
takes each frame's top predicate), scored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from click2graph.graph import Span


@dataclass(frozen=True)
class SmoothingConfig:
    """Hysteresis thresholds and span clean-up, in scores and working frames."""

    on: float = 0.5  # a span needs at least one frame scoring this much
    off: float = 0.3  # ...and extends over neighbouring frames scoring at least this much
    max_gap: int = 2  # spans separated by <= this many frames are merged (0.2-0.4 s at 5-10 fps)
    min_duration: int = 2  # spans shorter than this many frames (after merging) are dropped

    def __post_init__(self) -> None:
        if not 0.0 <= self.off <= self.on <= 1.0:
            raise ValueError(f"need 0 <= off <= on <= 1, got off={self.off}, on={self.on}")
        if self.max_gap < 0 or self.min_duration < 1:
            raise ValueError(f"need max_gap >= 0 and min_duration >= 1, got {self.max_gap}, {self.min_duration}")


@dataclass(frozen=True)
class SmoothedSpans:
    """The spans of one score series and their scores.

    Attributes:
        spans: inclusive ``(start, end)`` working-frame spans, sorted, disjoint.
        span_scores: mean score of each span over its frames that have a score.
        score: mean score over all frames of all spans that have a score; 0.0 when there are no spans.
    """

    spans: tuple[Span, ...]
    span_scores: tuple[float, ...]
    score: float

    @property
    def num_frames(self) -> int:
        """Frames covered by the spans."""
        return sum(end - start + 1 for start, end in self.spans)


def smooth_scores(scores: np.ndarray, config: SmoothingConfig = SmoothingConfig()) -> SmoothedSpans:
    """Turn per-frame scores into spans (hysteresis, then gap filling, then minimum duration).

    Args:
        scores: float (T,) scores in [0, 1]; NaN where the relation cannot be scored.

    Returns:
        The spans with per-span and overall mean scores (NaN frames inside a filled gap are not averaged).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1D (T,), got shape {scores.shape}")
    valid = np.nan_to_num(scores, nan=-1.0)
    spans = [(s, e) for s, e in _runs(valid >= config.off) if (valid[s : e + 1] >= config.on).any()]
    merged: list[Span] = []
    for start, end in spans:
        if merged and start - merged[-1][1] - 1 <= config.max_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    kept = tuple(span for span in merged if span[1] - span[0] + 1 >= config.min_duration)
    return _scored(kept, scores)


def frame_runs(frames: np.ndarray, scores: np.ndarray) -> SmoothedSpans:
    """The runs of ``frames`` (bool (T,)) as spans, without thresholds, gap filling or minimum duration, with the
    mean ``scores`` (float (T,)) over them."""
    return _scored(tuple(_runs(np.asarray(frames, bool))), np.asarray(scores, dtype=float))


def _scored(spans: tuple[Span, ...], scores: np.ndarray) -> SmoothedSpans:
    span_scores = tuple(_nanmean(scores[s : e + 1]) for s, e in spans)
    inside = np.concatenate([scores[s : e + 1] for s, e in spans]) if spans else np.empty(0)
    return SmoothedSpans(spans=spans, span_scores=span_scores, score=_nanmean(inside))


def _runs(flags: np.ndarray) -> list[Span]:
    """Inclusive runs of True: [F, T, T, F, T] -> [(1, 2), (4, 4)]."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2])]


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else 0.0
