"""Named set-ups: a preset gives defaults to the pipeline's settings (flags and ``CLICK2GRAPH_*`` variables that
are given still win), to training and to the evaluation protocol.

``paper`` runs the experiments of Click2Graph (arXiv 2511.15948) as the paper describes them. The README's
"Reproducing the paper" names each of its choices once: what the paper says, what we do where it says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Preset:
    """Defaults by name.

    Attributes:
        summary: one line for ``--help``.
        settings: :class:`~click2graph.settings.Settings` fields.
        train: :class:`~click2graph.learned.train.TrainConfig` fields (the ``train`` command).
        evaluation: the ``eval`` command's options (``prompt``, ``seeds``).
    """

    name: str
    summary: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)


PAPER = Preset(
    "paper",
    "the paper's experiments: SAM 2.1 large at 1024 px, DIDM discovery on every frame (N_q = 3), SCH names and "
    "predicates ranked raw, no object filters; train 400 epochs; eval all three prompt types, 25 seeds",
    settings={
        "backend": "sam2",
        "checkpoint": "large",
        "sam2_size": 1024,
        "discovery": "learned",
        "max_objects": 3,
        "keyframe_interval": 0.0,
        "object_filters": "off",
        "semantics": "sch",
        "ranking": "raw",
    },
    train={
        "epochs": 400,
        "clip_frames": 8,
        "lr_didm": 5e-5,
        "lr_sch": 5e-4,
        "sch_min_lr_ratio": 1.0,
        "warmup_steps": 0,
        "tracked_pointers": True,
        "negative_objects": 3,
    },
    evaluation={"prompt": "all", "seeds": 25},
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (PAPER,)}
