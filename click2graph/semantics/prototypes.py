"""Learning from the user's corrections: labelled embeddings (prototypes) applied to look-alike entities and pairs.

When the user relabels an entity (or a relation's predicate), the embedding of what they corrected and the label
they gave become a **prototype**. Later, in this video and in later videos of the same session, an entity (pair)
whose embedding lies within ``min_similarity`` cosine of a prototype takes that prototype's label, unless the user
labelled it directly; the nearest prototype wins. Matching by cosine similarity of CLIP image embeddings is a
1-nearest-neighbour classifier with a rejection threshold: no training, instant, and undone by removing the entry.

The threshold matters. Typical CLIP ViT-B image-image cosine similarities are about 0.4-0.7 for unrelated crops
and above 0.85 for the same object in other frames, so 0.85 propagates to the same object or a near twin only
(typical values, not measured here: no weights can be downloaded on the development machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Kind = Literal["entity", "predicate"]


@dataclass(frozen=True)
class Prototype:
    kind: Kind
    label: str
    embedding: np.ndarray  # float32 (D,), L2-normalised
    origin: str = ""  # where it was taught, e.g. "video clip.mp4, entity 3"
    replaces: str | None = None  # for predicates: the predicate it corrects (None for entity labels)


@dataclass
class PrototypeMemory:
    """The corrections of one user session (plain data; lives as long as the session)."""

    min_similarity: float = 0.85
    prototypes: list[Prototype] = field(default_factory=list)

    def teach(
        self, kind: Kind, label: str, embedding: np.ndarray, *, origin: str = "", replaces: str | None = None
    ) -> None:
        """Remember a correction; a newer correction of the same thing (similarity >= 0.99) replaces the older."""
        embedding = _normalised(embedding)
        self.prototypes = [
            p
            for p in self.prototypes
            if not (p.kind == kind and p.replaces == replaces and float(p.embedding @ embedding) >= 0.99)
        ]
        self.prototypes.append(Prototype(kind, label, embedding, origin, replaces))

    def match(
        self, kind: Kind, embedding: np.ndarray, *, replaces: str | None = None
    ) -> tuple[Prototype, float] | None:
        """The nearest prototype of ``kind`` (and, for predicates, correcting ``replaces``) within the threshold."""
        embedding = _normalised(embedding)
        candidates = [
            p
            for p in self.prototypes
            if p.kind == kind
            and (kind == "entity" or p.replaces == replaces)
            and p.embedding.shape == embedding.shape  # taught with another model's embeddings: not comparable
        ]
        if not candidates:
            return None
        similarities = np.stack([p.embedding for p in candidates]) @ embedding
        best = int(np.argmax(similarities))
        if similarities[best] < self.min_similarity:
            return None
        return candidates[best], float(similarities[best])

    def __len__(self) -> int:
        return len(self.prototypes)


def _normalised(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if norm == 0.0 or not np.isfinite(norm):
        raise ValueError("a prototype needs a non-zero, finite embedding")
    return vector / norm
