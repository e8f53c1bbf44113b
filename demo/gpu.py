"""Builds on a Hugging Face Space with ZeroGPU hardware; nothing of this runs anywhere else.

ZeroGPU is detected by its ``SPACES_ZERO_GPU`` variable together with an importable ``spaces`` package (imported
only then). There a build is one call of :func:`click2graph.remote_build.stream_build` wrapped in ``spaces.GPU``:
ZeroGPU runs it in a worker process that holds a GPU for the call, pickling the request (working frames, prompts,
settings) there and the updates (tracks so far, then the scene graph) back. Builds use SAM 2 at 1024 px, as
trained, with SAM 2 and CLIP on CUDA (:func:`gpu_settings`); that pipeline is made in this process at start-up, on
"cuda", which ZeroGPU's patched torch keeps aside and moves to the GPU in each worker. Clicks (the mask preview)
keep running in this process on the CPU (:func:`cpu_settings`: ZeroGPU's torch reports CUDA here but allows no use
of it).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace

from click2graph.errors import Click2GraphError
from click2graph.remote_build import BuildRequest, BuildUpdate, assembled_for, stream_build
from click2graph.settings import Settings
from click2graph.video import Video

logger = logging.getLogger(__name__)

ZERO_GPU_ENV = "SPACES_ZERO_GPU"
DURATION_ENV = "CLICK2GRAPH_GPU_DURATION_S"
# What a build asks ZeroGPU for: a start-up allowance plus a share per working frame and subject (SAM 2 tracks
# each subject both ways, then the objects found on its keyframes), within [MIN, MAX]. An estimate, not measured on
# ZeroGPU; a shorter request waits less in ZeroGPU's queue, and the GPU is released as soon as the build ends.
START_S = 15.0
PER_FRAME_S = 0.4
MIN_DURATION_S = 30
MAX_DURATION_S = 120


def on_zero_gpu(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs on a ZeroGPU Space (``SPACES_ZERO_GPU`` true and ``spaces`` installed)."""
    environ = os.environ if environ is None else environ
    if environ.get(ZERO_GPU_ENV, "").strip().lower() not in ("1", "t", "true"):
        return False
    if importlib.util.find_spec("spaces") is None:
        logger.warning("%s is set but the `spaces` package is missing: builds run on the CPU", ZERO_GPU_ENV)
        return False
    return True


def gpu_settings(settings: Settings) -> Settings:
    """``settings`` for builds on the GPU: SAM 2 (never the classic tracker) at 1024 px, SAM 2 and CLIP on CUDA in
    float32 (their int8 levers are for CPUs)."""
    return replace(settings, backend="sam2", sam2_size=1024, device="cuda", sam2_encoder="fp32", clip_precision="fp32")


def cpu_settings(settings: Settings) -> Settings:
    """``settings`` for this process on a ZeroGPU Space (the clicks' preview): on the CPU."""
    return replace(settings, device="cpu")


def duration_s(video: Video, subjects: int, limit: int = MAX_DURATION_S) -> int:
    """Seconds of GPU a build of ``subjects`` subjects on ``video`` asks for (see the constants above)."""
    wanted = START_S + PER_FRAME_S * len(video) * max(subjects, 1)
    return int(min(max(round(wanted), MIN_DURATION_S), limit))


def max_duration_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``CLICK2GRAPH_GPU_DURATION_S``: the most seconds of GPU a build asks for (default 120)."""
    environ = os.environ if environ is None else environ
    text = environ.get(DURATION_ENV, "").strip()
    try:
        value = round(float(text)) if text else MAX_DURATION_S
    except ValueError:
        value = 0
    if value < MIN_DURATION_S:
        raise Click2GraphError(f"{DURATION_ENV} must be a number of seconds >= {MIN_DURATION_S}, got {text[:40]!r}")
    return value


class GpuBuilder:
    """Builds as ``spaces.GPU`` calls of :func:`~click2graph.remote_build.stream_build` with ``settings``.

    The pipeline is made here, at start-up, so that the worker processes inherit it (and ZeroGPU moves its weights).
    """

    def __init__(self, settings: Settings, max_duration_s: int = MAX_DURATION_S) -> None:
        import spaces

        self.settings, self.max_duration_s = settings, max_duration_s
        self.assembled = assembled_for(settings)
        self._stream = spaces.GPU(duration=self._duration)(stream_build)

    def _duration(self, request: BuildRequest) -> int:
        return duration_s(request.video, len(request.subjects), self.max_duration_s)

    def stream(self, request: BuildRequest) -> Iterator[BuildUpdate]:
        """The updates of one build of ``request`` (its settings replaced by the builder's), from the GPU worker."""
        return self._stream(replace(request, settings=self.settings))

    def describe(self) -> str:
        return f"{self.assembled.backend.describe()} on ZeroGPU, up to {self.max_duration_s} s of GPU a build"


def builder_from_env(settings: Settings) -> GpuBuilder | None:
    """A :class:`GpuBuilder` for ``settings`` on a ZeroGPU Space, else None."""
    if not on_zero_gpu():
        return None
    return GpuBuilder(gpu_settings(settings), max_duration_from_env())
