"""SCH, the Semantic Classification Head: entity classes from mask-pooled SAM 2 features, predicates from obj_ptr.

As in Click2Graph (arXiv 2511.15948): the subject's and each object's class come from an MLP over SAM 2
image-encoder features averaged inside the entity's mask; the predicate of a (subject, object) pair comes from a
separate MLP over the concatenated SAM 2 object pointers (``obj_ptr``, 256-d: the mask decoder's output token
projected by ``obj_ptr_proj``) of the subject and the object on that frame. Our choices where the paper is silent:

* **Features**: the stride-16 ``backbone_fpn[-1]`` level (256 channels), the same map DIDM reads, pooled with
  coverage weights (:func:`~click2graph.learned.pooling.masked_average_pool`); the finer FPN levels are only 32
  and 64 channels wide after SAM 2's ``conv_s0``/``conv_s1`` and are not used.
* **MLPs**: ``LayerNorm`` on the input (SAM 2's features and pointers are not normalised), two hidden layers of
  ``hidden_dim`` with GELU and dropout, then the classifier. Defaults give ~1.0 M parameters.
* **Empty mask** (the entity is not visible on that frame): its pooled feature is the zero vector and its
  entity logits are set to exactly 0, i.e. a uniform class distribution, instead of a confident guess read from
  a zero feature. Skip such entities in training and aggregation.
* **Predicates are multi-label**: OpenPVSG labels several predicates for one pair over overlapping spans (e.g.
  "holding" and "looking at"), and most discovered pairs hold no predicate at all on a frame, so predicate
  probabilities are independent sigmoids (trained with BCE in ``losses.py``), not a softmax, and start at
  1 / num_predicates (bias prior). Entity classes are exclusive: softmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from click2graph.learned.pooling import as_module_input, masked_average_pool

NUM_OPENPVSG_CLASSES = 126  # 115 thing + 11 stuff classes (click2graph.semantics.vocab.OPENPVSG.classes)
NUM_OPENPVSG_PREDICATES = 57  # click2graph.semantics.vocab.OPENPVSG.predicates


@dataclass(frozen=True)
class SchConfig:
    """Sizes of :class:`Sch`. Class and predicate indices are those of ``OPENPVSG.classes`` / ``.predicates``."""

    feature_dim: int = 256  # channels of the pooled features: SAM 2's neck width
    pointer_dim: int = 256  # SAM 2's obj_ptr width (hidden_dim)
    hidden_dim: int = 512
    num_classes: int = NUM_OPENPVSG_CLASSES
    num_predicates: int = NUM_OPENPVSG_PREDICATES
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if min(self.feature_dim, self.pointer_dim, self.hidden_dim, self.num_classes, self.num_predicates) < 1:
            raise ValueError(f"all sizes must be >= 1, got {self}")


def _mlp(in_dim: int, hidden_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(in_dim),
        nn.Linear(in_dim, hidden_dim),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden_dim, hidden_dim),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden_dim, out_dim),
    )


class Sch(nn.Module):
    """Semantic Classification Head (module docstring: design and choices).

    Example:
        >>> sch = Sch(SchConfig()).eval()
        >>> sch.classify_entities(torch.randn(1, 256, 32, 32), torch.ones(1, 2, 512, 512)).shape
        torch.Size([1, 2, 126])
        >>> sch.classify_predicates(torch.randn(1, 4, 256), torch.randn(1, 4, 256)).shape
        torch.Size([1, 4, 57])
    """

    def __init__(self, config: SchConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SchConfig()
        self.entity_mlp = _mlp(config.feature_dim, config.hidden_dim, config.num_classes, config.dropout)
        self.predicate_mlp = _mlp(2 * config.pointer_dim, config.hidden_dim, config.num_predicates, config.dropout)
        # Start every predicate at probability 1 / num_predicates instead of 0.5 (RetinaNet's prior init): a pair
        # holds few of the 57 predicates, and a 0.5 start spends the first steps only pushing the negatives down.
        prior = 1.0 / config.num_predicates
        nn.init.constant_(self.predicate_mlp[-1].bias, math.log(prior / (1 - prior)) if prior < 1 else 0.0)

    def classify_entities(self, feats: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Class logits of the entities inside ``masks``.

        Args:
            feats: float (B, feature_dim, H, W), SAM 2's ``backbone_fpn[-1]`` of the frames.
            masks: bool or float (B, K, H0, W0), K entity masks per frame, any resolution covering the whole frame.

        Returns:
            float (B, K, num_classes); all zeros for an empty mask.
        """
        if feats.ndim != 4 or feats.shape[1] != self.config.feature_dim:
            raise ValueError(f"feats must be (B, {self.config.feature_dim}, H, W), got shape {tuple(feats.shape)}")
        dtype = self.entity_mlp[1].weight.dtype
        pooled, has_pixels = masked_average_pool(as_module_input(feats, dtype), as_module_input(masks, dtype))
        return self.entity_mlp(pooled) * has_pixels.unsqueeze(-1).to(pooled.dtype)

    def classify_predicates(self, subject_ptr: torch.Tensor, object_ptr: torch.Tensor) -> torch.Tensor:
        """Predicate logits of (subject, object) pairs from their SAM 2 object pointers on the same frame.

        Args:
            subject_ptr: float (B, P, pointer_dim), the subject's ``obj_ptr`` (repeated for each of its P pairs).
            object_ptr: float (B, P, pointer_dim), the objects' ``obj_ptr``.

        Returns:
            float (B, P, num_predicates); :meth:`predicate_probabilities` turns them into probabilities.
        """
        expected = self.config.pointer_dim
        if subject_ptr.shape != object_ptr.shape or subject_ptr.ndim != 3 or subject_ptr.shape[-1] != expected:
            raise ValueError(
                f"subject_ptr and object_ptr must both be (B, P, {expected}), "
                f"got {tuple(subject_ptr.shape)} and {tuple(object_ptr.shape)}"
            )
        dtype = self.predicate_mlp[1].weight.dtype
        pairs = torch.cat((as_module_input(subject_ptr, dtype), as_module_input(object_ptr, dtype)), dim=-1)
        return self.predicate_mlp(pairs)

    @staticmethod
    def entity_probabilities(logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities (softmax over the last axis; classes are exclusive). Uniform for an empty mask."""
        return logits.softmax(dim=-1)

    @staticmethod
    def predicate_probabilities(logits: torch.Tensor) -> torch.Tensor:
        """Per-frame predicate probabilities: independent sigmoids, as several predicates can hold at once."""
        return logits.sigmoid()
