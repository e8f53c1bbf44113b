"""Discovery by the trained DIDM (the paper's inference): N_q = 3 points placed from the subject token and SAM 2's
frame features; points with objectness >= 0.5 are decoded by SAM 2 into masks."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from click2graph.discovery.base import DiscoveryConfig, Proposal
from click2graph.discovery.points import decode_points
from click2graph.segment.base import require_features


class DidmDiscovery:
    """A :class:`~click2graph.discovery.base.DiscoveryStrategy` running a trained DIDM (a
    :class:`click2graph.learned.didm.Didm`); needs the SAM 2 backend (its image features) and honours
    ``max_objects`` and ``min_area_vs_subject``."""

    def __init__(self, didm, min_objectness: float = 0.5) -> None:
        self.didm = didm
        self.min_objectness = min_objectness

    def __call__(
        self,
        segmenter,
        state,
        subject_mask: np.ndarray,
        frame_idx: int,
        *,
        known_masks: Sequence[np.ndarray] = (),
        subject_points_xy: np.ndarray | None = None,
        config: DiscoveryConfig = DiscoveryConfig(),
    ) -> list[Proposal]:
        import torch

        require_features(segmenter)
        subject = np.asarray(subject_mask, bool)
        if not subject.any():
            return []
        feats, pos = segmenter.frame_features(state, frame_idx)
        device = next(self.didm.parameters()).device
        with torch.inference_mode():
            out = self.didm(feats.to(device), torch.from_numpy(subject)[None].to(device), pos.to(device))
        h, w = subject.shape
        points = out.points_px(w, h)[0].cpu().numpy()
        objectness = out.objectness[0].cpu().numpy()
        keep = objectness >= self.min_objectness
        known = [np.asarray(m, bool) for m in known_masks]
        return decode_points(segmenter, state, frame_idx, points[keep], objectness[keep], subject, known, config)
