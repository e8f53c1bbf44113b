"""The learned modules in the pipeline: DIDM and a heuristic sampler as discovery strategies, SCH as a predicate
scorer and an entity classifier. All need the SAM 2 backend (its features and object pointers).

A discovery strategy is a callable with :func:`click2graph.discovery.discover_objects`' signature, so the pipeline
swaps them freely (``PipelineConfig.discovery``-independent: each strategy documents what it honours):

* ``"training-free"``: :func:`~click2graph.discovery.discover_objects` (the default; any backend);
* ``"learned"``: :class:`DidmDiscovery`: the trained DIDM places N_q = 3 points from the subject token and SAM 2's
  frame features; points with objectness >= 0.5 are decoded by SAM 2 into masks (the paper's inference);
* ``"heuristic"``: :class:`HeuristicDiscovery`: the paper's Table 4 baseline, 3 points sampled from a global
  object-probability heat map (colour rarity over the whole frame, not conditioned on the subject), decoded alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from click2graph.discovery import DiscoveryConfig, Proposal
from click2graph.errors import CheckpointError
from click2graph.segment.base import FeatureSegmenter, SegmenterState, VideoSegmenter, require_features
from click2graph.semantics.base import EntityView
from click2graph.semantics.vocab import OPENPVSG
from click2graph.weights import WEIGHTS_DIR

logger = logging.getLogger(__name__)

DEFAULT_LEARNED_PATH = WEIGHTS_DIR / "click2graph_learned.pt"
"""Where ``python -m click2graph train`` writes its final checkpoint and where the pipeline looks for it."""
DISCOVERY_STRATEGIES = ("training-free", "learned", "heuristic")


@dataclass
class LearnedModules:
    """Trained DIDM and SCH (either may be missing), in eval mode on ``device``."""

    didm: object | None  # click2graph.learned.didm.Didm
    sch: object | None  # click2graph.learned.sch.Sch
    source: Path
    step: int

    def describe(self) -> str:
        parts = [name for name, m in (("DIDM", self.didm), ("SCH", self.sch)) if m is not None]
        return f"learned {' + '.join(parts)} ({self.source.name}, step {self.step})"

    def predicate_scorer(self, segmenter: VideoSegmenter, state: SegmenterState) -> SchPredicateScorer | None:
        """SCH as a predicate scorer of one video (see :meth:`usable_sch`)."""
        sch = self.usable_sch(segmenter)
        return None if sch is None else SchPredicateScorer(sch, segmenter, state)

    def entity_classifier(self, segmenter: VideoSegmenter, state: SegmenterState) -> SchEntityClassifier | None:
        """SCH as an entity classifier of one video (see :meth:`usable_sch`)."""
        sch = self.usable_sch(segmenter)
        return None if sch is None else SchEntityClassifier(sch, segmenter, state)

    def usable_sch(self, segmenter: VideoSegmenter) -> object | None:
        """SCH when it was trained and ``segmenter`` gives the SAM 2 features and object pointers it reads."""
        return self.sch if isinstance(segmenter, FeatureSegmenter) else None


def load_learned(path: str | Path = DEFAULT_LEARNED_PATH, device: str = "cpu") -> LearnedModules:
    """The modules of a training checkpoint, ready for inference.

    Raises:
        CheckpointError: missing, corrupt, or holding neither module.
    """
    from click2graph.learned.checkpoint import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no learned modules at {path}: train them with `python -m click2graph train DATA_ROOT` (see README)"
        )
    checkpoint = load_checkpoint(path, build=True, map_location=device)
    didm, sch = checkpoint.modules.get("didm"), checkpoint.modules.get("sch")
    if didm is None and sch is None:
        raise CheckpointError(f"{path} holds no DIDM or SCH weights")
    for module in (didm, sch):
        if module is not None:
            module.eval()
    return LearnedModules(didm, sch, path, checkpoint.step)


def _require_features(segmenter) -> None:
    require_features(segmenter)


def _decode(segmenter, state, frame_idx, points_xy, scores, subject, known, config) -> list[Proposal]:
    """Decode points into masks (subject and known objects avoided) and keep the usable ones as proposals."""
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


class DidmDiscovery:
    """Discovery by the trained DIDM (see the module docstring); honours ``max_objects`` and ``min_area_vs_subject``."""

    strategy = "learned"

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
        known_masks=(),
        subject_points_xy=None,
        config: DiscoveryConfig = DiscoveryConfig(),
    ) -> list[Proposal]:
        import torch

        _require_features(segmenter)
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
        return _decode(segmenter, state, frame_idx, points[keep], objectness[keep], subject, known, config)


class HeuristicDiscovery:
    """The Table 4 baseline: points drawn from a whole-frame heat map, not from the subject (seeded per frame)."""

    strategy = "heuristic"

    def __init__(self, num_points: int = 3, seed: int = 0) -> None:
        self.num_points = num_points
        self.seed = seed

    def __call__(
        self,
        segmenter,
        state,
        subject_mask: np.ndarray,
        frame_idx: int,
        *,
        known_masks=(),
        subject_points_xy=None,
        config: DiscoveryConfig = DiscoveryConfig(),
    ) -> list[Proposal]:
        subject = np.asarray(subject_mask, bool)
        if not subject.any():
            return []
        heat = object_heat_map(state.video.frames[frame_idx])
        heat[subject] = 0.0
        flat = heat.ravel() / max(float(heat.sum()), 1e-12)
        rng = np.random.default_rng([self.seed, frame_idx])
        picks = rng.choice(flat.size, size=min(self.num_points, int((flat > 0).sum())), replace=False, p=flat)
        h, w = subject.shape
        points = np.stack([picks % w, picks // w], axis=1).astype(np.float32) + 0.5
        known = [np.asarray(m, bool) for m in known_masks]
        return _decode(segmenter, state, frame_idx, points, heat.ravel()[picks], subject, known, config)


def object_heat_map(frame: np.ndarray) -> np.ndarray:
    """float32 (H, W) in [0, 1]: colour rarity over the whole frame (rare Lab colours are more likely objects than
    the floor or the wall), blurred so that peaks fall inside regions."""
    lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
    bins = (lab // 32).astype(np.int32)
    index = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
    counts = np.bincount(index.ravel(), minlength=512).astype(np.float32)
    rarity = 1.0 - counts[index] / counts.max()
    rarity = cv2.blur(rarity, (9, 9))
    return (rarity / max(float(rarity.max()), 1e-12)).astype(np.float32)


class SchPredicateScorer:
    """:class:`~click2graph.semantics.base.PredicateScorer` from SCH over SAM 2's object pointers of the pair on
    each frame where sam2 tracked both (independent sigmoids: calibrated probabilities by training)."""

    name = "sch"

    def __init__(self, sch, segmenter: FeatureSegmenter, state: SegmenterState) -> None:
        self.sch, self.segmenter, self.state = sch, segmenter, state
        self.predicates = tuple(OPENPVSG.predicates)

    def score_pair(self, subject: EntityView, obj: EntityView, num_frames: int) -> np.ndarray:
        scores = np.full((num_frames, len(self.predicates)), np.nan)
        frames, pairs = [], []
        for t in range(num_frames):
            if not (subject.present(t) and obj.present(t)):
                continue
            a = self.segmenter.object_pointer(self.state, subject.entity_id, t)
            b = self.segmenter.object_pointer(self.state, obj.entity_id, t)
            if a is not None and b is not None:
                frames.append(t)
                pairs.append((a, b))
        if frames:
            import torch

            device = next(self.sch.parameters()).device
            a = torch.stack([p[0] for p in pairs])[None].to(device)
            b = torch.stack([p[1] for p in pairs])[None].to(device)
            with torch.inference_mode():
                probs = self.sch.predicate_probabilities(self.sch.classify_predicates(a, b))[0]
            scores[frames] = probs.cpu().numpy()
        return scores


class SchEntityClassifier:
    """:class:`~click2graph.semantics.base.EntityClassifier` from SCH over SAM 2 features pooled inside the
    entity's masks (3 frames of its track); the embedding is the pooled features averaged over frames, so
    corrections' prototypes match on them."""

    name = "sch"

    def __init__(self, sch, segmenter: FeatureSegmenter, state: SegmenterState, frames_per_entity: int = 3) -> None:
        self.sch, self.segmenter, self.state = sch, segmenter, state
        self.labels = tuple(OPENPVSG.classes)
        self.frames_per_entity = frames_per_entity

    def entity_embeddings(self, views, frames) -> dict[int, np.ndarray | None]:
        import torch

        from click2graph.learned.pooling import masked_average_pool
        from click2graph.semantics.clip import sample_track_frames

        result = {}
        for view in views:
            pooled = []
            for t in sample_track_frames(view, self.frames_per_entity, num_frames=len(frames)):
                feats, _ = self.segmenter.frame_features(self.state, t)
                mask = torch.from_numpy(view.entity.mask(t))[None, None]
                vector, has = masked_average_pool(feats, mask)
                if bool(has.all()):
                    pooled.append(vector[0, 0])
            result[view.entity_id] = torch.stack(pooled).mean(0).numpy() if pooled else None
        return result

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            logits = self.sch.entity_mlp(torch.as_tensor(np.asarray(embeddings), dtype=torch.float32))
        return self.sch.entity_probabilities(logits).numpy()


def strategy_name(discover) -> str:
    """ "training-free", "learned" or "heuristic" for a discovery callable."""
    return getattr(discover, "strategy", "training-free")


def choose_discovery(strategy: str, segmenter, path: str | Path = DEFAULT_LEARNED_PATH):
    """``(discover callable, learned modules or None, notice or None)`` for a strategy name.

    ``"auto"``: the learned DIDM when a checkpoint exists and SAM 2 runs, else training-free (no notice unless a
    checkpoint exists but cannot be used). ``"learned"`` raises CheckpointError when it cannot run.
    """
    from click2graph.discovery import discover_objects

    if strategy not in ("auto", *DISCOVERY_STRATEGIES):
        raise ValueError(f"discovery must be one of auto, {', '.join(DISCOVERY_STRATEGIES)}; got {strategy!r}")
    if strategy == "heuristic":
        return HeuristicDiscovery(), None, None
    if strategy == "training-free" or (strategy == "auto" and not Path(path).is_file()):
        return discover_objects, None, None
    try:
        _require_features(segmenter)
        learned = load_learned(path)
        if learned.didm is None:
            raise CheckpointError(f"{path} holds no DIDM weights")
    except CheckpointError as exc:
        if strategy == "learned":
            raise
        return discover_objects, None, f"learned discovery not used: {exc}"
    return DidmDiscovery(learned.didm), learned, None
