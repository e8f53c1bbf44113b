"""A randomly initialised CLIP with a generated tokenizer, for measuring CLIP's cost without downloading a model.

The compute per image and per token does not depend on the weights, so timings stand for a released model of the
same architecture; labels and scores mean nothing.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click2graph.semantics.clip_embedder import ClipEmbedder
from click2graph.semantics.entity_naming import DEFAULT_TEMPLATES
from click2graph.semantics.vocab import OPENPVSG


def random_clip_embedder(
    seed: int = 0,
    *,
    text_config: Mapping[str, Any] | None = None,
    vision_config: Mapping[str, Any] | None = None,
    projection_dim: int = 512,
    **kwargs: Any,
) -> ClipEmbedder:
    """A ``ClipEmbedder`` on a randomly initialised transformers ``CLIPModel`` with the ``write_tokenizer``
    vocabulary: no download.

    The default is the ViT-B/32 architecture at full size (224 px, 12+12 layers, 512-d embeddings);
    ``text_config`` and ``vision_config`` override transformers' ``CLIPTextConfig`` / ``CLIPVisionConfig``
    defaults (sizes, layers, image size), ``kwargs`` go to the ``ClipEmbedder`` constructor.
    """
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(tmp))
    text = {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(
        text_config={**text, **(text_config or {})},
        vision_config=dict(vision_config or {}),
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config)
    kwargs.setdefault("source", f"random weights (seed {seed})")
    return ClipEmbedder(model, tokenizer, **kwargs)


def write_tokenizer(directory: str | os.PathLike[str]) -> Path:
    """Write a small CLIP byte-level BPE tokenizer (``vocab.json``, ``merges.txt``) into ``directory``.

    The vocabulary is laid out like CLIP's: the 256 byte characters, the same with ``</w>`` (end of word), merges,
    then ``<|startoftext|>`` and ``<|endoftext|>`` last; so any text tokenizes (one token per byte at worst). The
    merges build every word of the OpenPVSG vocabulary and of the prompt templates into one token, as CLIP's real
    vocabulary does, so prompts have realistic lengths (about 10 tokens) and text timings are realistic too.

    Returns:
        ``directory``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    texts = [*OPENPVSG.classes, *OPENPVSG.predicates, *DEFAULT_TEMPLATES, "a an the someone something photo of"]
    words = sorted({w for text in texts for w in re.findall(r"[a-z]+", text.lower())})
    merges: list[str] = []
    for word in words:  # left to right: w0 w1 -> w0w1, w0w1 w2 -> w0w1w2, ..., the last piece with </w>
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        built = pieces[0]
        for piece in pieces[1:]:
            merges.append(f"{built} {piece}")
            built += piece
    merges = list(dict.fromkeys(merges))
    vocab = chars + [c + "</w>" for c in chars] + list(dict.fromkeys(a + b for a, b in (m.split() for m in merges)))
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return directory


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character map (openai/CLIP:clip/simple_tokenizer.py)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes)))
