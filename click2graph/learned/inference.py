"""The learned modules in the pipeline: loading a training checkpoint, and SCH as a predicate scorer and an entity
classifier. All need the SAM 2 backend (its features and object pointers). The trained DIDM runs as a discovery
strategy in :mod:`click2graph.discovery.learned`.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from click2graph.errors import CheckpointError, Click2GraphWarning
from click2graph.segment.base import FeatureSegmenter, SegmenterState, VideoSegmenter, require_features
from click2graph.semantics.base import EntityView
from click2graph.semantics.vocab import OPENPVSG
from click2graph.weights import WEIGHTS_DIR

logger = logging.getLogger(__name__)

DEFAULT_LEARNED_PATH = WEIGHTS_DIR / "click2graph_learned.pt"
"""Where ``python -m click2graph train`` writes its final checkpoint and where the pipeline looks for it."""


@dataclass
class LearnedModules:
    """Trained DIDM and SCH (either may be missing), in eval mode on ``device``; ``backbone``: the SAM 2 model and
    input size they were trained on (None: not recorded by the checkpoint)."""

    didm: object | None  # click2graph.learned.didm.Didm
    sch: object | None  # click2graph.learned.sch.Sch
    source: Path
    step: int
    backbone: dict | None = None

    def describe(self) -> str:
        parts = [name for name, m in (("DIDM", self.didm), ("SCH", self.sch)) if m is not None]
        trained = "SAM 2 backbone not recorded"
        if self.backbone is not None:
            trained = f"trained on SAM 2.1 {self.backbone.get('model')} @{self.backbone.get('image_size')}"
        return f"learned {' + '.join(parts)} ({self.source.name}, step {self.step}, {trained})"

    def check_backbone(self, segmenter: FeatureSegmenter) -> None:
        """Raise CheckpointError when the modules were trained on another SAM 2 model or input size than
        ``segmenter`` runs (see :func:`click2graph.learned.checkpoint.require_backbone`)."""
        from click2graph.learned.checkpoint import require_backbone

        require_backbone(self.backbone, segmenter.backbone, self.source)

    def require_sch(self, segmenter: VideoSegmenter) -> None:
        """Raise CheckpointError unless SCH can name and relate entities on ``segmenter``: trained, and on the SAM 2
        backbone it was trained on."""
        if self.sch is None:
            raise CheckpointError(f"{self.source} holds no SCH weights")
        self.check_backbone(require_features(segmenter))

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
    """The modules of a training checkpoint, ready for inference. A checkpoint that does not record its SAM 2
    backbone is used with a warning: nothing can check it against the backend.

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
    backbone = checkpoint.extra.get("backbone")
    if backbone is None:
        warnings.warn(
            f"{path} does not record the SAM 2 model and input size it was trained on, so it cannot be checked "
            "against the backend: run it with the ones it was trained with, or train it again",
            Click2GraphWarning,
            stacklevel=2,
        )
    return LearnedModules(didm, sch, path, checkpoint.step, backbone)


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
        from click2graph.semantics.entity_naming import sample_track_frames

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
