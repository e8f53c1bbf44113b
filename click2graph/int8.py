"""Dynamic int8 quantization of a model's linear layers on a CPU (CLIP, SAM 2's image encoder)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def quantize_int8(model: Any) -> bool:
    """Replace ``model``'s ``nn.Linear`` layers in place by int8 dynamically quantized ones (weights int8 per
    tensor, activations quantized per batch at run time). False, model untouched, when torch has no quantized CPU
    engine here.

    torch marks ``torch.ao.quantization`` as moving to the torchao package; its eager dynamic quantization still
    ships and works in the pinned torch, and needs no extra dependency, so its deprecation warnings are silenced.
    """
    import warnings

    import torch

    quantize = getattr(getattr(torch.ao, "quantization", None), "quantize_dynamic", None)
    if quantize is None or not any(e != "none" for e in torch.backends.quantized.supported_engines):
        logger.info("int8 not available in torch %s: %s runs in float32", torch.__version__, type(model).__name__)
        return False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated.*")
        quantize(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return True
