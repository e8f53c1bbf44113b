"""Choose the segmentation backend: SAM 2 whenever it is installed and a checkpoint is found, else classic.

``make_segmenter`` never fails in "auto" mode: a missing package or checkpoint gives the classic backend plus a
notice that says why and how to get SAM 2 (the CLI prints it, the app shows it in its status line).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Literal

from click2graph.errors import CheckpointError, Click2GraphWarning
from click2graph.segment.base import VideoSegmenter
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.sam2_checkpoints import resolve_checkpoint
from click2graph.weights import hub_offline, hub_reachable

logger = logging.getLogger(__name__)

Backend = Literal["auto", "classic", "sam2"]


@dataclass(frozen=True)
class SegmenterChoice:
    segmenter: VideoSegmenter
    notice: str | None = None  # why SAM 2 is not used, when it was wanted

    def describe(self) -> str:
        return self.segmenter.describe() + (f" — {self.notice}" if self.notice else "")


def make_segmenter(
    backend: Backend = "auto",
    *,
    checkpoint: str | None = None,
    image_size: int | None = None,
    precision: str = "fp32",
    allow_download: bool | None = None,
) -> SegmenterChoice:
    """Build the backend.

    Args:
        backend: "classic" (no weights), "sam2" (fail with a clear error when it cannot be built), or "auto".
        checkpoint: a SAM 2.1 name ("tiny", "small", "base_plus", "large") or a file; default "tiny".
        image_size, precision: SAM 2 settings (see :class:`click2graph.segment.sam2.Sam2Config`); image_size None
            = 1024 (as trained) with a GPU, 512 on a CPU, where 1024 costs about 6x the time per frame.
        allow_download: fetch a missing checkpoint from the Hugging Face hub; None = only when the hub answers
            within 2 s (so an offline machine falls back at once instead of waiting for retries).

    Raises:
        CheckpointError: only for ``backend="sam2"``.
    """
    if backend not in ("auto", "classic", "sam2"):
        raise ValueError(f"backend must be 'auto', 'classic' or 'sam2', got {backend!r}")
    if backend == "classic":
        return SegmenterChoice(ClassicSegmenter())
    try:
        segmenter = _build_sam2(checkpoint or "tiny", image_size, precision, allow_download)
    except CheckpointError as exc:
        if backend == "sam2":
            raise
        warnings.warn(f"using the classic tracker: {exc}", Click2GraphWarning, stacklevel=2)
        reason = str(exc).split(":")[0]  # e.g. "SAM 2.1 hiera-tiny checkpoint not found"; details are in the warning
        notice = f"SAM 2 not used: {reason} (see `python -m click2graph weights list`)"
        return SegmenterChoice(ClassicSegmenter(), notice)
    return SegmenterChoice(segmenter)


def _build_sam2(checkpoint: str, image_size: int | None, precision: str, allow_download: bool | None) -> VideoSegmenter:
    try:
        import torch

        from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter
    except ImportError as exc:
        raise CheckpointError(
            f"SAM 2 is not installed ({exc.name} missing): install torch (CPU build: pip install torch==2.13.0) and "
            "sam2 (SAM2_BUILD_CUDA=0 pip install --no-build-isolation --no-deps sam2==1.1.0 hydra-core iopath)"
        ) from exc
    if allow_download is None:
        allow_download = not hub_offline() and hub_reachable()
    resolved = resolve_checkpoint(checkpoint, allow_download=allow_download)
    if image_size is None:
        image_size = 1024 if torch.cuda.is_available() else 512
    config = Sam2Config(model=resolved.spec.name, image_size=image_size, precision=precision)
    return Sam2Segmenter.from_checkpoint(resolved.path, config)
