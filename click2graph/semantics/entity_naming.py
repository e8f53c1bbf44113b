"""Zero-shot entity naming (:class:`ClipEntityClassifier`): an entity's crops against prompts for each label, in
the space of an image-text embedder (normally :class:`~click2graph.semantics.clip_embedder.ClipEmbedder`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from click2graph.masks import rle_area
from click2graph.semantics.base import EntityView
from click2graph.semantics.clip_embedder import unit_rows
from click2graph.semantics.embedder import context_crop, masked_crop
from click2graph.semantics.vocab import OPENPVSG

# Prompt ensembles: the label goes where {} is; each label's text embedding is the re-normalised mean over templates.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a photo of a small {}.",
    "a blurry photo of a {}.",
)

OPENPVSG_PROMPT_NAMES: Mapping[str, str] = {
    # Misspelt in the dataset (the label itself keeps the spelling; only the prompt reads the fixed word).
    "ballon": "balloon",
    "vaccum": "vacuum cleaner",
    "scissor": "scissors",
    # Ambiguous words, as OpenPVSG means them.
    "glass": "drinking glass",
    "glasses": "eyeglasses",
    "can": "tin can",
    "iron": "clothes iron",
    "switch": "light switch",
    "washer": "washing machine",
    "spray": "spray bottle",
    "tv": "television",
}
"""What the prompts call some OpenPVSG classes; any other label is written as is, underscores as spaces."""


class ClipEntityClassifier:
    """Zero-shot entity naming with CLIP: the best labels for an entity's crops (an ``EntityClassifier``).

    For each entity, up to ``frames_per_entity`` frames of its track are picked (``sample_track_frames``: spread over
    the track, largest masks first); on each, a masked crop (the entity on grey) and a context crop (the entity and
    its surroundings) are cut with the ``embedder`` helpers. All crops of all entities in one call are embedded in one
    batched pass. An entity's image embedding is the weighted mean of its crop embeddings (masked ``masked_weight``,
    context ``1 - masked_weight``; 0.6 / 0.4 by default: the masked crop says what the entity is, the context helps
    with small or ambiguous ones), re-normalised. Each label's text embedding is the re-normalised mean of its
    prompts over ``templates``, computed once. Probabilities are ``softmax(logit_scale * cosine)`` over ``labels``.

    Args:
        embedder: any ``ImageTextEmbedder`` (normally a :class:`~click2graph.semantics.clip_embedder.ClipEmbedder`).
        labels: the label set, any strings (default: the 126 OpenPVSG classes, spelt as in the dataset).
        templates: prompt templates, each with one ``{}``.
        frames_per_entity: frames sampled per entity.
        masked_weight: weight of masked crops in the entity embedding (context crops get the rest).
        pad, context_pad: crop padding, as in ``masked_crop`` and ``context_crop``.
        prompt_names: how prompts spell some labels (default ``OPENPVSG_PROMPT_NAMES``).
    """

    name = "clip"

    def __init__(
        self,
        embedder: Any,
        labels: Sequence[str] = OPENPVSG.classes,
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        frames_per_entity: int = 3,
        *,
        masked_weight: float = 0.6,
        pad: float = 0.1,
        context_pad: float = 0.5,
        prompt_names: Mapping[str, str] = OPENPVSG_PROMPT_NAMES,
    ) -> None:
        self.labels: tuple[str, ...] = tuple(dict.fromkeys(labels))
        if not self.labels:
            raise ValueError("the label set is empty")
        if not templates or any("{}" not in t for t in templates):
            raise ValueError(f"every template needs one '{{}}' for the label, got {list(templates)}")
        if frames_per_entity < 1 or not 0.0 <= masked_weight <= 1.0:
            raise ValueError(
                f"need frames_per_entity >= 1 and 0 <= masked_weight <= 1, got {frames_per_entity}, {masked_weight}"
            )
        self.embedder = embedder
        self.templates = tuple(templates)
        self.frames_per_entity = frames_per_entity
        self.masked_weight = masked_weight
        self.pad = pad
        self.context_pad = context_pad
        self.prompt_names = dict(prompt_names)
        self._label_embeddings: np.ndarray | None = None
        self._label_lock = threading.Lock()  # a warm-up thread and a request may both ask at once

    def prompts(self, label: str) -> list[str]:
        """The prompts for ``label``, one per template."""
        word = self.prompt_names.get(label, label.replace("_", " "))
        return [template.format(word) for template in self.templates]

    def label_embeddings(self) -> np.ndarray:
        """float32 (L, D): per label, the re-normalised mean of its prompt embeddings (computed once, by whichever
        thread asks first; the others wait for it)."""
        with self._label_lock:
            if self._label_embeddings is None:
                texts = [prompt for label in self.labels for prompt in self.prompts(label)]
                per_prompt = self.embedder.embed_texts(texts).reshape(len(self.labels), len(self.templates), -1)
                self._label_embeddings = unit_rows(per_prompt.mean(axis=1))
        return self._label_embeddings

    def entity_embedding(self, view: EntityView, frames: np.ndarray) -> np.ndarray | None:
        """float32 (D,) unit image embedding of the entity (see class docstring); None when it has no mask."""
        return self.entity_embeddings([view], frames)[view.entity_id]

    def entity_embeddings(self, views: Sequence[EntityView], frames: np.ndarray) -> dict[int, np.ndarray | None]:
        """``entity_embedding`` of many entities, all crops in one batched ``embed_images`` call."""
        crops: list[np.ndarray] = []
        owners: list[tuple[int, float]] = []  # (index into views, weight) per crop
        for i, view in enumerate(views):
            for crop, weight in self._crops(view, frames):
                crops.append(crop)
                owners.append((i, weight))
        sums: dict[int, np.ndarray] = {}
        if crops:
            for (i, weight), row in zip(owners, self.embedder.embed_images(crops)):
                sums[i] = sums.get(i, 0.0) + weight * row.astype(np.float64)
        result: dict[int, np.ndarray | None] = {}
        for i, view in enumerate(views):
            total = sums.get(i)
            result[view.entity_id] = None if total is None else unit_rows(total[None])[0]
        return result

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """float32 (N, L) ``softmax(logit_scale * cosine)`` over the labels, for unit image embeddings (N, D)."""
        logits = float(self.embedder.logit_scale) * (np.asarray(embeddings, np.float32) @ self.label_embeddings().T)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def _crops(self, view: EntityView, frames: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """(crop, weight) pairs for the entity: a masked and a context crop per sampled frame."""
        pairs: list[tuple[np.ndarray, float]] = []
        for t in sample_track_frames(view, self.frames_per_entity, num_frames=len(frames)):
            mask = view.entity.mask(t)
            frame = frames[t]
            if mask is None or mask.shape != frame.shape[:2]:
                raise ValueError(
                    f"entity {view.entity_id}: mask on frame {t} is {None if mask is None else mask.shape}, frame is "
                    f"{frame.shape[:2]}; masks must be at working resolution"
                )
            inside = masked_crop(frame, mask, self.pad)
            around = context_crop(frame, mask, self.context_pad)
            if inside is not None:
                pairs.append((inside, self.masked_weight))
            if around is not None and self.masked_weight < 1.0:
                pairs.append((around, 1.0 - self.masked_weight))
        return pairs


def sample_track_frames(view: EntityView, k: int, *, num_frames: int | None = None) -> list[int]:
    """Up to ``k`` frames of the entity's track, spread over time and preferring large masks, sorted.

    The frames where the entity is present (below ``num_frames`` when given) are cut into ``k`` consecutive runs of
    near-equal length; from each run the frame with the largest mask is taken (the earliest on ties). Areas are read
    from the RLE without decoding.
    """
    areas = {t: rle_area(rle) for t, rle in view.entity.masks.items() if num_frames is None or 0 <= t < num_frames}
    present = sorted(t for t, area in areas.items() if area > 0)
    if k < 1 or not present:
        return []
    picks = []
    for run in np.array_split(np.asarray(present), min(k, len(present))):
        picks.append(int(max(run, key=lambda t: (areas[int(t)], -int(t)))))
    return picks
