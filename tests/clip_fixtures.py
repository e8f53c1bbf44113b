"""A tiny randomly initialised CLIP for tests (2-layer, 32-wide encoders on 32x32 images: milliseconds), and a
helper that saves one as a model folder."""

from __future__ import annotations

from pathlib import Path

from click2graph.bench.random_clip import random_clip_embedder
from click2graph.semantics.clip_embedder import ClipEmbedder

_TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}


def tiny_clip(seed: int = 0, **kwargs) -> ClipEmbedder:
    """A float32 ``ClipEmbedder`` with random weights and the generated tokenizer; ``kwargs`` go to its constructor."""
    vision = {**_TINY, "image_size": 32, "patch_size": 8}
    return random_clip_embedder(seed, text_config=_TINY, vision_config=vision, projection_dim=16, **kwargs)


def save_clip_folder(embedder: ClipEmbedder, path: Path) -> Path:
    """Write a float32 embedder's model and tokenizer as the transformers folder ``from_pretrained_dir`` loads."""
    embedder.model.save_pretrained(path)
    embedder.tokenizer.save_pretrained(path)
    return Path(path)
