"""The segmentation backends by name, and the choice among them: SAM 2 whenever it is installed and a checkpoint
is found, else the weight-free classic tracker.

``make_segmenter`` never fails in "auto" mode: a missing package or checkpoint gives the classic backend plus a
notice that says why and how to get SAM 2 (the CLI prints it, the app shows it in its status line). Another
backend joins with :func:`register_backend` (the CLI's ``--backend`` choices and ``CLICK2GRAPH_BACKEND`` read
:func:`backend_names`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Callable

from click2graph.errors import CheckpointError, Click2GraphWarning
from click2graph.segment.base import VideoSegmenter
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.sam2_checkpoints import resolve_checkpoint
from click2graph.weights import hub_offline, hub_reachable

logger = logging.getLogger(__name__)

AUTO = "auto"
"""Not a backend: the first preferred backend that can be built here, else the classic tracker."""


@dataclass(frozen=True)
class BackendOptions:
    """What a backend is built with (each backend reads what applies to it).

    Attributes:
        checkpoint: a model name or file (SAM 2.1: "tiny" (default), "small", "base_plus", "large").
        image_size, precision: model input size and precision (SAM 2: see
            :class:`click2graph.segment.sam2.Sam2Config`; image_size None = 1024 (as trained) with a GPU, 512 on a
            CPU, where 1024 costs about 6x the time per frame).
        encoder, stride: SAM 2's speed levers (see :class:`~click2graph.segment.sam2.Sam2Config`): the image
            encoder's linear layers in int8 (on a CPU at fp32; a GPU ignores it), and SAM 2 on every stride-th
            frame only (1: every frame).
        allow_download: fetch missing weights from the Hugging Face hub; None = only when the hub answers within
            2 s (so an offline machine falls back at once instead of waiting for retries).
        device: "auto" (CUDA when torch sees a GPU, else the CPU), "cpu" or "cuda"; image_size None follows it.
    """

    checkpoint: str | None = None
    image_size: int | None = None
    precision: str = "fp32"
    allow_download: bool | None = None
    encoder: str = "int8"
    stride: int = 1
    device: str = "auto"


@dataclass(frozen=True)
class Backend:
    name: str
    title: str  # as users know it, for "SAM 2 not used: ..."
    build: Callable[[BackendOptions], VideoSegmenter]  # raises CheckpointError when it cannot run here
    preferred: bool = False  # "auto" tries it before the classic tracker


_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> None:
    """Offer ``backend`` by its name, after those registered before.

    Raises:
        ValueError: the name is taken, or is "auto".
    """
    if backend.name == AUTO or backend.name in _BACKENDS:
        raise ValueError(f"a segmentation backend cannot be registered as {backend.name!r}: the name is taken")
    _BACKENDS[backend.name] = backend


def backend_names() -> tuple[str, ...]:
    """The registered backend names, in registration order."""
    return tuple(_BACKENDS)


@dataclass(frozen=True)
class SegmenterChoice:
    segmenter: VideoSegmenter
    notice: str | None = None  # why a preferred backend is not used, when "auto" wanted it

    def describe(self) -> str:
        return self.segmenter.describe() + (f" — {self.notice}" if self.notice else "")


def make_segmenter(
    backend: str = AUTO,
    *,
    checkpoint: str | None = None,
    image_size: int | None = None,
    precision: str = "fp32",
    allow_download: bool | None = None,
    encoder: str = "int8",
    stride: int = 1,
    device: str = "auto",
) -> SegmenterChoice:
    """Build the backend named ``backend`` ("classic", "sam2", a registered one, or "auto") with the options of
    :class:`BackendOptions`.

    Raises:
        ValueError: unknown name.
        CheckpointError: a named backend (not "auto") cannot be built here.
    """
    if backend != AUTO and backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {AUTO}, {', '.join(_BACKENDS)}; got {backend!r}")
    options = BackendOptions(checkpoint, image_size, precision, allow_download, encoder, stride, device)
    if backend != AUTO:
        return SegmenterChoice(_BACKENDS[backend].build(options))
    notices = []
    for preferred in (b for b in _BACKENDS.values() if b.preferred):
        try:
            return SegmenterChoice(preferred.build(options))
        except CheckpointError as exc:
            warnings.warn(f"using the classic tracker: {exc}", Click2GraphWarning, stacklevel=2)
            reason = str(exc).split(":")[0]  # e.g. "SAM 2.1 hiera-tiny checkpoint not found"; details: the warning
            notices.append(f"{preferred.title} not used: {reason} (see `python -m click2graph weights list`)")
    return SegmenterChoice(ClassicSegmenter(), "; ".join(notices) or None)


def _build_sam2(options: BackendOptions) -> VideoSegmenter:
    try:
        import torch

        from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter
    except ImportError as exc:
        raise CheckpointError(
            f"SAM 2 is not installed ({exc.name} missing): install torch (CPU build: pip install torch==2.13.0) and "
            "sam2 (SAM2_BUILD_CUDA=0 pip install --no-build-isolation --no-deps sam2==1.1.0 hydra-core iopath)"
        ) from exc
    allow_download = options.allow_download
    if allow_download is None:
        allow_download = not hub_offline() and hub_reachable()
    resolved = resolve_checkpoint(options.checkpoint or "tiny", allow_download=allow_download)
    cuda = options.device == "cuda" or (options.device == "auto" and torch.cuda.is_available())
    config = Sam2Config(
        model=resolved.spec.name,
        image_size=options.image_size or (1024 if cuda else 512),
        precision=options.precision,
        device=options.device,
        encoder=options.encoder,
        stride=options.stride,
    )
    return Sam2Segmenter.from_checkpoint(resolved.path, config)


register_backend(Backend("classic", "the classic tracker", lambda options: ClassicSegmenter()))
register_backend(Backend("sam2", "SAM 2", _build_sam2, preferred=True))
