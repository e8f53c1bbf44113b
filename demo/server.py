"""What one demo process shares between its tabs, made once: the pipeline its :class:`~click2graph.settings.Settings`
describe, the discovery strategies a tab may switch to, the visits, the example cache, the build queue and, on a
ZeroGPU Space, the builder that runs builds on the GPU (:mod:`demo.gpu`).

:func:`current` makes it from the environment at first use (``app.py`` does so before the page is built, so a
bad ``CLICK2GRAPH_*`` value stops the launch with one line); tests and benchmarks :func:`use` their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from click2graph.discovery.registry import DEFAULT_STRATEGY, ChosenDiscovery
from click2graph.errors import Click2GraphError
from click2graph.pipeline import Pipeline
from click2graph.segment.factory import SegmenterChoice
from click2graph.settings import Assembled, Settings
from click2graph.video import VideoPolicy
from demo import runtime
from demo.build_queue import BuildQueue
from demo.example_cache import ExampleCache
from demo.gpu import GpuBuilder, builder_from_env, cpu_settings
from demo.store import StoreLimits, VisitStore


@dataclass(frozen=True)
class ServerLimits:
    """What the process allows: builds at a time (the rest wait their turn, told how many are ahead; clicks, frame
    changes and undo run beside them), upload size, and how long Gradio keeps its file copies."""

    build_concurrency: int = 1
    max_upload_mb: int = 200
    file_max_age_s: int = 3600

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerLimits:
        environ = os.environ if environ is None else environ

        def whole(name: str, default: int) -> int:
            text = environ.get(name, "").strip()
            try:
                value = round(float(text)) if text else default
            except ValueError:
                value = 0
            if value < 1:
                raise Click2GraphError(f"{name} must be a number >= 1, got {text[:40]!r}")
            return value

        return cls(
            build_concurrency=whole("CLICK2GRAPH_BUILD_CONCURRENCY", cls.build_concurrency),
            max_upload_mb=whole("CLICK2GRAPH_MAX_UPLOAD_MB", cls.max_upload_mb),
            file_max_age_s=whole("CLICK2GRAPH_FILE_MAX_AGE_S", cls.file_max_age_s),
        )


@dataclass
class Server:
    assembled: Assembled
    store: VisitStore
    cache: ExampleCache
    limits: ServerLimits = field(default_factory=ServerLimits)
    policy: VideoPolicy = field(default_factory=VideoPolicy)
    gpu: GpuBuilder | None = None  # builds on a ZeroGPU Space; None: in this process with ``assembled``
    builds: BuildQueue = field(init=False)
    # The strategies a tab may switch to, by name; the pipeline's own is among them.
    strategies: dict = field(init=False)

    def __post_init__(self) -> None:
        from click2graph.discovery.registry import available_strategies

        self.builds = BuildQueue(self.limits.build_concurrency)
        self.strategies = available_strategies(self.pipeline.segmenter, self.pipeline.learned)
        # The pipeline's own strategy object, so that "is this the default" is a plain identity test.
        self.strategies[self.assembled.strategy] = self.pipeline.discover

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        pipeline: Pipeline | None = None,
        strategy: str = DEFAULT_STRATEGY,
        folder: Path | None = None,
        limits: ServerLimits | None = None,
        store_limits: StoreLimits | None = None,
    ) -> Server:
        """A server for ``settings`` (default: from the environment), or around a ``pipeline`` already built (whose
        discovery strategy is called ``strategy``); visits and the example cache under ``folder`` (default this
        process's temporary folder). On a ZeroGPU Space builds run on the GPU with ``settings`` made for it
        (:func:`demo.gpu.gpu_settings`), and this process's own pipeline runs on the CPU."""
        settings = settings or Settings.from_env()
        builder = builder_from_env(settings)
        if pipeline is not None:
            discovery = ChosenDiscovery(strategy, pipeline.discover, pipeline.learned)
            assembled = Assembled(SegmenterChoice(pipeline.segmenter), discovery, pipeline)
        else:
            assembled = (cpu_settings(settings) if builder else settings).assemble()
        folder = Path(folder) if folder is not None else runtime.run_dir()
        return cls(
            assembled,
            VisitStore(folder / "visits", store_limits or StoreLimits.from_env()),
            ExampleCache(folder / "example-cache"),
            limits or ServerLimits.from_env(),
            gpu=builder,
        )

    @property
    def pipeline(self) -> Pipeline:
        """This process's pipeline: clicks, and builds unless they run on a GPU."""
        return self.assembled.pipeline

    @property
    def building(self) -> Assembled:
        """What builds run with: the GPU's pipeline on a ZeroGPU Space, else this process's."""
        return self.gpu.assembled if self.gpu is not None else self.assembled

    def status(self) -> str:
        """What the server runs, for the page's details fold."""
        building = self.building
        where = f"builds run {self.limits.build_concurrency} at a time on this server"
        if self.gpu is not None:
            where = f"builds: {self.gpu.describe()} · clicks: {self.assembled.backend.describe()}"
        return (
            f"**Backend:** {building.backend.describe()} · **Semantics:** {building.pipeline.semantics.describe()}"
            f" · **Discovery:** {building.describe_discovery()} · {where}"
        )

    def cache_key(self) -> str:
        """What an example's cached result depends on besides the example itself."""
        pipeline = self.building.pipeline
        return f"{pipeline.describe()} | {pipeline.semantics.describe()} | {self.building.strategy}"


_current: Server | None = None
_lock = threading.Lock()


def current() -> Server:
    """This process's server, made from the environment at first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Server.create()
        return _current


def use(server: Server | None) -> Server | None:
    """Make ``server`` this process's server (None: make a new one from the environment at next use); returns the
    one it replaces."""
    global _current
    with _lock:
        previous, _current = _current, server
    return previous
