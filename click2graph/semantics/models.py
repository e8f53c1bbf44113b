"""Choose the semantic models: a CLIP classifier and zero-shot predicate scorer when found, a predicate prior when
built; what is missing is said in a notice, and the graph keeps default names ("subject", "object N"). The
predicate scorers come from the models' factories (:mod:`click2graph.semantics.scorers`). In "sch" mode the
pipeline's trained SCH alone names the entities and scores the predicates, as in the paper.

``make_semantics`` never fails in "auto" mode (like :func:`click2graph.segment.factory.make_segmenter`): no
transformers, no model files or no network gives a :class:`SemanticModels` without CLIP plus the reason.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from click2graph.errors import CheckpointError, Click2GraphWarning
from click2graph.semantics.base import EntityClassifier, PredicateScorer
from click2graph.semantics.clip_embedder import PRECISIONS
from click2graph.semantics.embedder import ImageTextEmbedder
from click2graph.semantics.prior import DEFAULT_PRIOR_PATH, PredicatePrior, PriorError
from click2graph.semantics.scorers import ScorerFactory, ScorerInputs, registered_scorers, sch_scorer
from click2graph.semantics.vocab import OPENPVSG
from click2graph.weights import hub_offline, hub_reachable

logger = logging.getLogger(__name__)

Mode = Literal["auto", "off", "clip", "sch"]


@dataclass
class SemanticModels:
    """The semantic step's models; each part may be missing.

    Attributes:
        classifier: names entities (``ClipEntityClassifier``); None = default names.
        embedder: the image-text model behind the classifier, also used for zero-shot predicates and prototypes.
        prior: P(predicate | subject class, object class), applied when both classes are known to it.
        notice: why a wanted part is missing, for the CLI summary and the app's status line.
        scorer_factories: where the predicate scorers come from, in fusion order (default: those registered in
            :mod:`click2graph.semantics.scorers`).
    """

    classifier: EntityClassifier | None = None
    embedder: ImageTextEmbedder | None = None
    prior: PredicatePrior | None = None
    notice: str | None = None
    scorer_factories: list[ScorerFactory] = field(default_factory=registered_scorers)

    def scorers(self, inputs: ScorerInputs) -> list[PredicateScorer]:
        """The video's predicate scorers: what each factory builds from ``inputs``, in order."""
        return [scorer for factory in self.scorer_factories if (scorer := factory(inputs)) is not None]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.classifier.labels) if self.classifier is not None else ()

    def describe(self) -> str:
        parts = []
        if self.classifier is not None:
            vocabulary = "OpenPVSG classes" if self.labels == OPENPVSG.classes else f"{len(self.labels)} own words"
            precision = getattr(self.embedder, "precision", None)
            parts.append(f"CLIP{f' {precision}' if precision else ''} labels ({vocabulary}) and zero-shot predicates")
        elif self.scorer_factories == [sch_scorer]:
            parts.append("SCH labels and predicates")
        else:
            parts.append("default names, geometric predicates")
        if self.prior is not None:
            parts.append(f"predicate prior ({self.prior.num_relations} relations)")
        return ", ".join(parts) + (f" — {self.notice}" if self.notice else "")


def make_semantics(
    mode: Mode = "auto",
    *,
    classes: Sequence[str] | None = None,
    model: str | None = None,
    prior_path: str | Path | None = None,
    allow_download: bool | None = None,
    precision: str = "int8",
    device: str = "auto",
) -> SemanticModels:
    """Build the semantic models.

    Args:
        mode: "auto" (CLIP when found, else default names with a notice), "clip" (fail when CLIP cannot be
            loaded), "off" (geometry only; still loads a prior), "sch" (the pipeline's trained SCH alone: its
            names and predicates, no prior).
        classes: the user's own words to name entities with; default the 126 OpenPVSG classes.
        model: a CLIP name from ``click2graph.semantics.clip_models.CLIP_MODELS`` or a model folder; default the LAION
            ViT-B/32.
        prior_path: a prior built by ``python -m click2graph prior build``; default ``weights/
            predicate_prior.json`` when it exists.
        allow_download: fetch a missing model from the hub; None = only when the hub answers within 2 s.
        precision: CLIP's "int8" (default, ~2x faster on a CPU) or "fp32" (see ``click2graph.semantics.clip_embedder``).
        device: where CLIP runs: "auto" (CUDA when torch sees a GPU, else the CPU), "cpu" or "cuda".

    Raises:
        CheckpointError: only for ``mode="clip"``; PriorError for a ``prior_path`` given but unreadable.
    """
    if mode not in ("auto", "off", "clip", "sch"):
        raise ValueError(f"semantics mode must be 'auto', 'off', 'clip' or 'sch', got {mode!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"CLIP precision must be one of {PRECISIONS}, got {precision!r}")
    if mode == "sch":
        if classes is not None:
            raise ValueError("SCH names the 126 OpenPVSG classes it was trained on; own words need CLIP")
        return SemanticModels(scorer_factories=[sch_scorer])
    labels = clean_classes(classes)
    prior = _load_prior(prior_path)
    if mode == "off":
        return SemanticModels(prior=prior)
    try:
        classifier = _build_clip(model, labels, allow_download, precision, device)
    except CheckpointError as exc:
        if mode == "clip":
            raise
        warnings.warn(f"entities keep default names: {exc}", Click2GraphWarning, stacklevel=2)
        reason = str(exc).split(":")[0]
        return SemanticModels(
            prior=prior, notice=f"no CLIP labels: {reason} (see `python -m click2graph weights list`)"
        )
    return SemanticModels(classifier=classifier, embedder=classifier.embedder, prior=prior)


def clean_classes(classes: Sequence[str] | None) -> tuple[str, ...]:
    """The user's words stripped and de-duplicated (None: the OpenPVSG classes); ValueError for fewer than two."""
    if classes is None:
        return OPENPVSG.classes
    words = tuple(dict.fromkeys(c.strip() for c in classes if c and c.strip()))
    if len(words) < 2:
        raise ValueError(f"give at least two class names to choose from, got {list(classes)}")
    return words


def _load_prior(prior_path: str | Path | None) -> PredicatePrior | None:
    if prior_path is not None:
        return PredicatePrior.load(prior_path)
    if not DEFAULT_PRIOR_PATH.is_file():
        return None
    try:
        return PredicatePrior.load(DEFAULT_PRIOR_PATH)
    except PriorError as exc:
        warnings.warn(f"predicate prior not used: {exc}", Click2GraphWarning, stacklevel=3)
        return None


def _build_clip(model: str | None, labels: tuple[str, ...], allow_download: bool | None, precision: str, device: str):
    from click2graph.semantics.clip_embedder import ClipEmbedder
    from click2graph.semantics.clip_models import DEFAULT_CLIP
    from click2graph.semantics.entity_naming import ClipEntityClassifier

    if allow_download is None:
        allow_download = not hub_offline() and hub_reachable()
    try:
        embedder = ClipEmbedder.load(
            model or DEFAULT_CLIP, allow_download=allow_download, precision=precision, device=device
        )
    except ImportError as exc:
        raise CheckpointError(
            f"CLIP needs transformers ({exc.name} missing): pip install 'transformers>=5,<6'"
        ) from exc
    return ClipEntityClassifier(embedder, labels=labels, frames_per_entity=2)  # 4 crops: ~0.2 s per entity (int8)
