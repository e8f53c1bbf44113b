"""The image-text embedding interface the semantic scorers share, and the crops they embed.

An :class:`ImageTextEmbedder` (a CLIP-family model, :mod:`click2graph.semantics.clip_embedder`, or a test double)
maps RGB crops and texts into one space; classifiers compare them by cosine similarity. Crops are cut here, from
working frames and masks, so every scorer looks at entities the same way:

* **masked crop**: the entity's box, padded by ``pad`` of its size, squared, with everything outside the mask
  replaced by the crop's mean grey, so the model sees the entity and not its neighbours;
* **context crop**: the same box padded by ``context_pad``, pixels untouched (what surrounds it helps: a ball on
  grass, a knife in a kitchen);
* **union crop** of two entities: the box around both, padded, untouched (predicates are about the pair).
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from click2graph.masks import bbox_xyxy


@runtime_checkable
class ImageTextEmbedder(Protocol):
    """Images and texts in one embedding space (CLIP-style).

    Attributes:
        name: short name recorded as a label's or relation's source (e.g. "clip").
        logit_scale: the model's temperature: ``softmax(logit_scale * cosine)`` gives class probabilities.
    """

    name: str
    logit_scale: float

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 RGB (H, W, 3) crops of any size -> float32 (N, D), rows L2-normalised."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (N, D), rows L2-normalised (implementations cache repeated texts)."""
        ...


def padded_box(
    box_xyxy: tuple[int, int, int, int], pad: float, frame_hw: tuple[int, int], *, square: bool = False
) -> tuple[int, int, int, int]:
    """``box`` (inclusive pixels) grown by ``pad`` x its width/height on each side, optionally squared, clipped to
    the frame; returned half-open ``(x0, y0, x1, y1)`` for slicing."""
    x0, y0, x1, y1 = box_xyxy
    w, h = x1 - x0 + 1, y1 - y0 + 1
    cx, cy = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2
    half_w, half_h = w * (0.5 + pad), h * (0.5 + pad)
    if square:
        half_w = half_h = max(half_w, half_h)
    height, width = frame_hw
    left, top = max(0, int(round(cx - half_w))), max(0, int(round(cy - half_h)))
    right, bottom = min(width, int(round(cx + half_w))), min(height, int(round(cy + half_h)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def masked_crop(frame: np.ndarray, mask: np.ndarray, pad: float = 0.1) -> np.ndarray | None:
    """The entity alone on its mean grey (see module docstring); None when the mask is empty."""
    box = bbox_xyxy(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = padded_box(box, pad, mask.shape, square=True)
    crop = frame[y0:y1, x0:x1].copy()
    inside = mask[y0:y1, x0:x1]
    crop[~inside] = crop[inside].mean(axis=0).round().astype(np.uint8)
    return crop


def context_crop(frame: np.ndarray, mask: np.ndarray, context_pad: float = 0.5) -> np.ndarray | None:
    """The entity with its surroundings; None when the mask is empty."""
    box = bbox_xyxy(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = padded_box(box, context_pad, mask.shape, square=True)
    return frame[y0:y1, x0:x1].copy()


def union_crop(frame: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray, pad: float = 0.1) -> np.ndarray | None:
    """Both entities and what lies between them; None when either mask is empty."""
    box_a, box_b = bbox_xyxy(mask_a), bbox_xyxy(mask_b)
    if box_a is None or box_b is None:
        return None
    box = (min(box_a[0], box_b[0]), min(box_a[1], box_b[1]), max(box_a[2], box_b[2]), max(box_a[3], box_b[3]))
    x0, y0, x1, y1 = padded_box(box, pad, mask_a.shape)
    return frame[y0:y1, x0:x1].copy()
