"""Proposals from point prompts placed by a strategy (the heuristic sampler, the learned DIDM): decoded by the
segmenter, with the unusable masks left out."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from click2graph.discovery.base import DiscoveryConfig, Proposal


def decode_points(
    segmenter,
    state,
    frame_idx: int,
    points_xy: np.ndarray,
    scores: np.ndarray,
    subject: np.ndarray,
    known: Sequence[np.ndarray],
    config: DiscoveryConfig,
) -> list[Proposal]:
    """Decode points into masks (subject and known objects avoided) and keep the usable ones as proposals.

    A mask is usable when the decoder is confident in it at all and it is not a speck next to the subject
    (``config.min_area_vs_subject``); the proposals rank by the strategy's ``scores`` (one per point), best
    ``config.max_objects`` first.
    """
    if len(points_xy) == 0:
        return []
    avoid = subject.copy()
    for mask in known:
        avoid |= mask
    candidates = segmenter.decode_candidates(state, frame_idx, np.asarray(points_xy, np.float32), avoid=avoid)
    min_area = config.min_area_vs_subject * subject.sum()
    proposals = []
    for point, mask, score, decoder_score in zip(points_xy, candidates.masks, scores, candidates.scores):
        if mask.sum() < min_area or decoder_score <= 0:
            continue
        proposals.append(
            Proposal(frame_idx, mask, np.asarray([point], np.float32), float(score), contact=0.0, comotion=0.5)
        )
    return sorted(proposals, key=lambda p: -p.score)[: config.max_objects]
