"""What a pipeline is made of, set in one place: command-line flags and ``CLICK2GRAPH_*`` variables are the same
:data:`OPTIONS`, read into one :class:`Settings`, which :meth:`Settings.assemble` turns into a pipeline.

The CLI (``run``, ``eval``, ``train``), the demo, eval and the benchmarks all build their pipeline this way::

    settings = Settings.from_args(args)     # or Settings.from_env(), or Settings(backend="classic")
    assembled = settings.assemble()
    graph = assembled.pipeline.build(...)

A preset (:mod:`click2graph.presets`; ``--preset paper``, ``Settings.from_preset("paper", discovery="heuristic")``)
fills the fields that are not given.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click2graph.errors import Click2GraphError
from click2graph.presets import PRESETS

if TYPE_CHECKING:
    from click2graph.discovery.registry import ChosenDiscovery
    from click2graph.pipeline import Pipeline, PipelineConfig
    from click2graph.segment.factory import SegmenterChoice
    from click2graph.semantics.models import SemanticModels

PRESET, BACKEND, DISCOVERY, SEMANTICS = "preset", "segmentation backend", "interaction discovery", "semantics"


def _backend_choices() -> tuple[str, ...]:
    from click2graph.segment.factory import AUTO, backend_names

    return (AUTO, *backend_names())


def _discovery_choices() -> tuple[str, ...]:
    from click2graph.discovery.registry import AUTO, strategy_names

    return (AUTO, *strategy_names())


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise ValueError("must be >= 0")
    return value


@dataclass(frozen=True)
class Option:
    """One setting: its :class:`Settings` field, its flag and its environment variable."""

    name: str
    group: str
    help: str
    parse: Callable[[str], Any] = str
    choices: Callable[[], Iterable] | None = None
    metavar: str | None = None
    variable: str | None = None  # the environment variable's name after CLICK2GRAPH_, when not the field's

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "CLICK2GRAPH_" + (self.variable or self.name.upper())

    def read(self, text: str, source: str) -> Any:
        """``text`` parsed and checked; Click2GraphError naming ``source`` (a flag or a variable) otherwise."""
        try:
            value = self.parse(text.strip())
        except ValueError:
            value = None
        allowed = tuple(self.choices()) if self.choices else None
        if value is None or (allowed is not None and value not in allowed):
            wanted = f"one of {', '.join(map(str, allowed))}" if allowed else f"a {self.metavar or 'value'}"
            raise Click2GraphError(f"{source} must be {wanted}, got {text[:40]!r}")
        return value


OPTIONS: tuple[Option, ...] = (
    Option(
        "preset",
        PRESET,
        "; ".join(f"{p.name}: {p.summary}" for p in PRESETS.values())
        + ". Its values are defaults: the flags given still win",
        choices=lambda: tuple(PRESETS),
    ),
    Option(
        "backend",
        BACKEND,
        "auto (default): SAM 2 when installed and a checkpoint is found, else the weight-free classic tracker; "
        "sam2: fail if SAM 2 cannot be used",
        choices=_backend_choices,
    ),
    Option(
        "checkpoint",
        BACKEND,
        "SAM 2.1 checkpoint: tiny (default), small, base_plus, large, or a .pt file",
        metavar="NAME|PATH",
    ),
    Option(
        "sam2_size",
        BACKEND,
        "SAM 2 input size (default: 1024, as trained, with a GPU; 512 on a CPU, where it is ~6x faster)",
        parse=int,
        choices=lambda: (512, 1024),
    ),
    Option(
        "device",
        BACKEND,
        "where SAM 2 and CLIP run: auto (default): CUDA when torch sees a GPU, else the CPU; cpu; cuda",
        choices=lambda: ("auto", "cpu", "cuda"),
    ),
    Option(
        "precision",
        BACKEND,
        "SAM 2 precision (bf16 helps only on CPUs with native bf16, and on GPUs)",
        choices=lambda: ("fp32", "bf16"),
    ),
    Option(
        "sam2_encoder",
        BACKEND,
        "int8 (default): SAM 2's image encoder with dynamically quantized linear layers, ~1.4x faster on a CPU, "
        "same masks within IoU 0.99 (fp32 precision only; a GPU runs it in fp32); fp32: as released",
        choices=lambda: ("int8", "fp32"),
    ),
    Option(
        "sam2_stride",
        BACKEND,
        "SAM 2 on every K-th working frame only, masks carried along optical flow in between (default 1: every "
        "frame); K=3 builds ~2.5x faster, but on DAVIS the frames between reach IoU 0.73 with the truth where "
        "per-frame masks give 0.96 (bench stride_fill)",
        parse=int,
        choices=lambda: range(1, 11),
        metavar="K",
    ),
    Option(
        "discovery",
        DISCOVERY,
        "auto (default): the trained DIDM when its checkpoint exists and SAM 2 runs, else training-free; "
        "heuristic: points from a whole-frame heat map (the paper's Table 4 baseline)",
        choices=_discovery_choices,
    ),
    Option(
        "learned",
        DISCOVERY,
        "trained DIDM/SCH checkpoint (default weights/click2graph_learned.pt)",
        parse=Path,
        metavar="PT",
    ),
    Option(
        "max_objects",
        DISCOVERY,
        "objects proposed per discovery keyframe (default 3, as in the paper; 0: subjects only)",
        parse=_count,
        metavar="N",
    ),
    Option(
        "keyframe_interval",
        DISCOVERY,
        "seconds between discovery keyframes (default 1; 0: every frame, as in the paper)",
        parse=_seconds,
        metavar="S",
    ),
    Option(
        "object_filters",
        DISCOVERY,
        "on (default): drop a discovered track that grows past 20%% of the frame or 3x its first area, lives under "
        "4 frames or never relates, and keep at most 6 objects per subject; off: keep them all (the paper)",
        choices=lambda: ("on", "off"),
    ),
    Option(
        "semantics",
        SEMANTICS,
        "auto (default): CLIP names and zero-shot predicates when the model is found, else default names; "
        "off: geometry only; clip: fail if CLIP cannot be used; sch: names and predicates from the trained SCH "
        "alone (needs SAM 2 and --learned, as in the paper)",
        choices=lambda: ("auto", "off", "clip", "sch"),
    ),
    Option(
        "ranking",
        SEMANTICS,
        "fused (default): the scorers averaged, lifted or damped by the class prior, a relation holds where that "
        "passes 0.5 (hysteresis); raw: one scorer's top predicate on each frame, ranked by its own score (the paper)",
        choices=lambda: ("fused", "raw"),
    ),
    Option(
        "classes",
        SEMANTICS,
        "name entities with these comma-separated words instead of the 126 OpenPVSG classes",
        parse=_words,
        metavar="WORDS",
    ),
    Option(
        "clip_model",
        SEMANTICS,
        "CLIP model name or folder (default vit-b-32-laion2b)",
        metavar="NAME|DIR",
        variable="CLIP",
    ),
    Option(
        "clip_precision",
        SEMANTICS,
        "int8 (default): dynamically quantized linear layers, ~2x faster on a CPU; fp32: full precision",
        choices=lambda: ("int8", "fp32"),
    ),
    Option(
        "prior",
        SEMANTICS,
        "predicate prior (default weights/predicate_prior.json if built)",
        parse=Path,
        metavar="JSON",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The parts of a pipeline by name; None means the default the part documents. ``preset`` records the preset
    that filled the fields not given (:meth:`from_preset`; constructing Settings directly applies none)."""

    preset: str | None = None
    backend: str = "auto"
    checkpoint: str | None = None
    sam2_size: int | None = None
    device: str = "auto"
    precision: str = "fp32"
    sam2_encoder: str = "int8"
    sam2_stride: int = 1
    discovery: str = "auto"
    learned: Path | None = None
    max_objects: int | None = None
    keyframe_interval: float | None = None
    object_filters: str = "on"
    semantics: str = "auto"
    ranking: str = "fused"
    classes: tuple[str, ...] | None = None
    clip_model: str | None = None
    clip_precision: str = "int8"
    prior: Path | None = None

    @classmethod
    def from_preset(cls, preset: str | None, **values: Any) -> Settings:
        """Settings with ``values``, the fields not given from the preset named ``preset`` (None: the defaults).

        Raises:
            ValueError: no such preset.
        """
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        defaults = PRESETS[preset].settings if preset is not None else {}
        return cls(**{**defaults, **values, "preset": preset})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CLICK2GRAPH_<NAME>`` variables (empty ones are unset); Click2GraphError for a bad one."""
        environ = os.environ if environ is None else environ
        values = {o.name: o.read(environ[o.env], o.env) for o in OPTIONS if environ.get(o.env, "").strip()}
        return cls.from_preset(values.pop("preset", None), **values)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """Settings from flags added by :func:`add_arguments` (the groups a command did not add keep defaults)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in vars(args).items() if k in names and v is not None}
        return cls.from_preset(values.pop("preset", None), **values)

    def with_backend(self, backend: str) -> Settings:
        return replace(self, backend=backend)

    def segmenter(self) -> SegmenterChoice:
        from click2graph.segment.factory import make_segmenter

        return make_segmenter(
            self.backend,
            checkpoint=self.checkpoint,
            image_size=self.sam2_size,
            precision=self.precision,
            device=self.device,
            encoder=self.sam2_encoder,
            stride=self.sam2_stride,
        )

    def semantic_models(self) -> SemanticModels:
        from click2graph.semantics.models import make_semantics

        try:
            return make_semantics(
                self.semantics,
                classes=self.classes,
                model=self.clip_model,
                prior_path=self.prior,
                precision=self.clip_precision,
                device=self.device,
            )
        except ValueError as exc:
            raise Click2GraphError(f"classes: {exc}") from None

    def pipeline_config(self) -> PipelineConfig:
        from click2graph.pipeline import PipelineConfig

        config = PipelineConfig()
        if self.object_filters == "off":
            config = config.unfiltered()
        if self.keyframe_interval is not None:
            config = replace(config, keyframe_interval_s=self.keyframe_interval)
        if self.max_objects is not None:
            config = replace(config, discovery=replace(config.discovery, max_objects=self.max_objects))
        return replace(config, relations=replace(config.relations, ranking=self.ranking))

    def assemble(self, segmenter: SegmenterChoice | None = None) -> Assembled:
        """The pipeline these settings describe (``segmenter``: one already built, e.g. shared by a process).

        Raises:
            CheckpointError: semantics "sch" without a trained SCH that runs on this backend, or a named strategy
                that cannot run here.
        """
        from click2graph.discovery.registry import choose_strategy
        from click2graph.pipeline import Pipeline

        backend = segmenter or self.segmenter()
        semantics = self.semantic_models()
        discovery = choose_strategy(self.discovery, backend.segmenter, self.learned)
        learned = discovery.learned
        if self.semantics == "sch":  # SCH names and relates for every discovery strategy, not only DIDM
            from click2graph.learned.inference import DEFAULT_LEARNED_PATH, load_learned

            learned = learned or load_learned(self.learned or DEFAULT_LEARNED_PATH)
            learned.require_sch(backend.segmenter)
        pipeline = Pipeline(
            backend.segmenter,
            self.pipeline_config(),
            semantics=semantics,
            discover=discovery.discover,
            learned=learned,
        )
        return Assembled(backend, discovery, pipeline)


@dataclass(frozen=True)
class Assembled:
    """A pipeline, with the backend and discovery strategy chosen for it and what they could not give."""

    backend: SegmenterChoice
    discovery: ChosenDiscovery
    pipeline: Pipeline

    @property
    def strategy(self) -> str:
        """The discovery strategy's name."""
        return self.discovery.name

    def describe_discovery(self) -> str:
        notice = f" ({self.discovery.notice})" if self.discovery.notice else ""
        return self.discovery.describe() + notice

    def describe(self) -> str:
        """Semantics and discovery in one line (the backend has its own: ``backend.describe()``)."""
        notice = f" — {self.discovery.notice}" if self.discovery.notice else ""
        semantics = self.pipeline.semantics.describe()
        if self.pipeline.learned is not None and self.discovery.learned is None:
            semantics += f" from {self.pipeline.learned.describe()}"
        if self.pipeline.config.relations.ranking == "raw":
            semantics += ", ranked raw"
        return f"{semantics}; discovery: {self.discovery.describe()}{notice}"


def add_arguments(parser: argparse.ArgumentParser, *groups: str) -> None:
    """The flags of :data:`OPTIONS` in ``groups`` (default all), each in its titled argument group."""
    for title in groups or (PRESET, BACKEND, DISCOVERY, SEMANTICS):
        group = parser.add_argument_group(title)
        for option in (o for o in OPTIONS if o.group == title):
            group.add_argument(
                option.flag,
                dest=option.name,
                type=lambda text, o=option: _flag_value(o, text),
                default=None,
                metavar=option.metavar or "{" + ",".join(map(str, option.choices())) + "}",
                help=option.help,
            )


def _flag_value(option: Option, text: str) -> Any:
    try:
        return option.read(text, option.flag)
    except Click2GraphError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(option.flag + " ")) from None
