"""Checkpoints of the learned modules (one ``.pt`` file), the optimiser and the LR schedule.

A checkpoint is ``torch.save`` of a plain dict, loadable with ``torch.load(weights_only=True)``::

    {"format": "click2graph.learned/1", "step": int, "extra": dict,
     "modules": {name: {"type": "Didm" | "Sch", "config": dict, "state_dict": ...}},
     "optimizer": state_dict | None, "scheduler": state_dict | None}

Training records in ``extra["backbone"]`` the SAM 2 model and input size whose features the modules learned from
(``FeatureSegmenter.backbone``); :func:`require_backbone` refuses to use them on another.

Optimiser defaults follow the paper (AdamW; DIDM 5e-5 cosine-annealed to 1e-5, SCH 5e-4). The paper gives no
SCH schedule and no warm-up; here every group follows the same warm-up + cosine shape down to ``min_lr_ratio``
of its own LR (0.2: DIDM's 5e-5 -> 1e-5), and ``warmup_steps`` defaults to 0.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from click2graph.errors import CheckpointError
from click2graph.learned.didm import Didm, DidmConfig
from click2graph.learned.sch import Sch, SchConfig

FORMAT = "click2graph.learned/1"

MODULE_TYPES: dict[str, tuple[type[nn.Module], type]] = {"Didm": (Didm, DidmConfig), "Sch": (Sch, SchConfig)}
"""Module classes a checkpoint can rebuild, by type name: ``(module class, config dataclass)``."""

PAPER_LR = {"didm": 5e-5, "sch": 5e-4}
"""The paper's learning rates by module name (names as passed to :func:`make_optimizer`)."""
PAPER_MIN_LR_RATIO = 0.2  # DIDM: cosine 5e-5 -> 1e-5
DEFAULT_WEIGHT_DECAY = 0.05  # not stated in the paper; a common AdamW value for small Transformer heads


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read.

    Attributes:
        step: training step at save time.
        configs: module name -> config dataclass (e.g. ``DidmConfig``).
        modules: module name -> the module, rebuilt from its config and loaded (when ``build=True``), else empty.
        extra: whatever was passed as ``extra`` when saving (plain data).
    """

    step: int
    configs: dict[str, Any]
    modules: dict[str, nn.Module] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _type_name(module: nn.Module) -> str:
    for name, (cls, _) in MODULE_TYPES.items():
        if type(module) is cls:
            return name
    raise TypeError(f"cannot checkpoint a {type(module).__name__}; known modules: {sorted(MODULE_TYPES)}")


def save_checkpoint(
    path: str | os.PathLike,
    modules: Mapping[str, nn.Module],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    step: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write modules (weights + config), optimiser and scheduler state and the step to one ``.pt`` file.

    The file is written next to its destination and renamed into place, so an interrupted save never leaves a
    half-written checkpoint under ``path``.

    Args:
        path: destination file; parent folders are created.
        modules: name -> ``Didm`` or ``Sch``, e.g. ``{"didm": didm, "sch": sch}``.
        optimizer, scheduler: saved for resuming, when given.
        step: the training step (restored by :func:`load_checkpoint`).
        extra: small plain data (str, numbers, lists, dicts) such as the run's settings.

    Returns:
        The path written.
    """
    path = Path(path)
    payload = {
        "format": FORMAT,
        "step": int(step),
        "extra": dict(extra or {}),
        "modules": {
            name: {
                "type": _type_name(module),
                "config": dataclasses.asdict(module.config),
                "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
            }
            for name, module in modules.items()
        },
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | os.PathLike,
    modules: Mapping[str, nn.Module] | None = None,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    build: bool = False,
    map_location: str | torch.device = "cpu",
) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, loading it into the objects given.

    Args:
        path: the ``.pt`` file.
        modules: name -> existing module to load the weights into (its config must equal the saved one).
        optimizer, scheduler: restored for resuming (they must be built over the same modules and groups).
        build: also rebuild every saved module from its config (see :attr:`Checkpoint.modules`), e.g. for
            inference: ``load_checkpoint(path, build=True).modules["didm"].eval()``.
        map_location: device of the loaded tensors.

    Returns:
        :class:`Checkpoint` with the step, configs, extra data and the built modules.

    Raises:
        CheckpointError: the file is missing, unreadable, not such a checkpoint, or does not match the modules,
            optimiser or scheduler given.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"learned-module checkpoint {str(path)!r} does not exist; train one (save_checkpoint) or fix the path"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a bad file
        raise CheckpointError(
            f"cannot read checkpoint {str(path)!r} ({type(exc).__name__}: {exc}); the file is corrupt or truncated, "
            "save it again"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{str(path)!r} is not a click2graph learned-module checkpoint (format {found!r}, expected {FORMAT!r}); "
            "SAM 2 weights go to the segmenter, not here"
        )
    saved = payload["modules"]
    configs = {name: _config_from(path, name, entry) for name, entry in saved.items()}
    for name, module in (modules or {}).items():
        if name not in saved:
            raise CheckpointError(f"checkpoint {str(path)!r} has no module {name!r}; it has {sorted(saved)}")
        if module.config != configs[name]:
            raise CheckpointError(
                f"module {name!r} does not match checkpoint {str(path)!r}: {_config_diff(module.config, configs[name])}"
                "; build the module from the checkpoint's config (load_checkpoint(..., build=True))"
            )
        _load_state(path, name, module, saved[name]["state_dict"])
    built = {}
    if build:
        for name, config in configs.items():
            module = MODULE_TYPES[saved[name]["type"]][0](config)
            _load_state(path, name, module, saved[name]["state_dict"])
            built[name] = module.to(map_location)
    for what, target in (("optimizer", optimizer), ("scheduler", scheduler)):
        if target is None:
            continue
        if payload.get(what) is None:
            raise CheckpointError(f"checkpoint {str(path)!r} holds no {what} state; it cannot resume training")
        try:
            target.load_state_dict(payload[what])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(
                f"the {what} state in {str(path)!r} does not fit the {what} given ({exc}); build it over the same "
                "modules, in the same order, with make_optimizer / make_scheduler"
            ) from exc
    return Checkpoint(step=int(payload["step"]), configs=configs, modules=built, extra=dict(payload["extra"]))


def require_backbone(recorded: Mapping[str, Any] | None, backbone: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Refuse modules trained on another SAM 2 backbone than ``backbone`` (the segmenter's); None (a checkpoint
    written before backbones were recorded) cannot be checked and passes.

    Refused rather than warned about: another model, or the same model at another input size, gives features and
    object pointers of the same shape but another meaning, so DIDM and SCH would run and silently output noise.

    Raises:
        CheckpointError: ``recorded`` differs from ``backbone``.
    """
    if recorded is None or dict(recorded) == dict(backbone):
        return
    raise CheckpointError(
        f"{str(path)!r} was trained on SAM 2.1 {_backbone_text(recorded)}, but the backend runs "
        f"{_backbone_text(backbone)}: the learned modules only understand the features they were trained on; run "
        f"with --checkpoint {recorded.get('model')} --sam2-size {recorded.get('image_size')}, or train for this backend"
    )


def _backbone_text(backbone: Mapping[str, Any]) -> str:
    return f"{backbone.get('model')} at {backbone.get('image_size')} px"


def _config_from(path: Path, name: str, entry: Mapping[str, Any]) -> Any:
    type_name = entry.get("type")
    if type_name not in MODULE_TYPES:
        raise CheckpointError(f"module {name!r} in {str(path)!r} has unknown type {type_name!r}")
    config_cls = MODULE_TYPES[type_name][1]
    try:
        return config_cls(**entry["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"module {name!r} in {str(path)!r} has a config {config_cls.__name__} cannot take ({exc}); it was saved "
            "by a different version of click2graph"
        ) from exc


def _config_diff(current: Any, saved: Any) -> str:
    if type(current) is not type(saved):
        return f"module config is {type(current).__name__}, checkpoint has {type(saved).__name__}"
    diffs = [
        f"{f.name}={getattr(current, f.name)!r} (checkpoint: {getattr(saved, f.name)!r})"
        for f in dataclasses.fields(current)
        if getattr(current, f.name) != getattr(saved, f.name)
    ]
    return ", ".join(diffs)


def _load_state(path: Path, name: str, module: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights of module {name!r} in {str(path)!r} do not fit the module: {exc}") from exc


def _param_groups(name: str, module: nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    # No decay for biases, norms and learned embeddings/tokens (1-D, nn.Embedding, or named "*embed*").
    embeddings = {id(p) for m in module.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    decay, no_decay = [], []
    for param_name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        is_embedding = id(param) in embeddings or "embed" in param_name.rsplit(".", 1)[-1]
        (no_decay if param.ndim < 2 or is_embedding else decay).append(param)
    groups = [
        {"params": decay, "lr": lr, "weight_decay": weight_decay, "name": f"{name}.decay"},
        {"params": no_decay, "lr": lr, "weight_decay": 0.0, "name": f"{name}.no_decay"},
    ]
    return [g for g in groups if g["params"]]


def make_optimizer(
    modules: Mapping[str, nn.Module],
    *,
    lr: float | Mapping[str, float] = PAPER_LR,
    weight_decay: float = DEFAULT_WEIGHT_DECAY,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.AdamW:
    """AdamW over the modules, two parameter groups per module (with and without weight decay).

    Args:
        modules: name -> module, e.g. ``{"didm": didm, "sch": sch}``; each group records ``name`` and
            ``module``.
        lr: one LR, or one per module name (default: the paper's, DIDM 5e-5 and SCH 5e-4).
        weight_decay: applied to weight matrices only, not to biases, norms or learned embeddings.
    """
    groups = []
    for name, module in modules.items():
        if isinstance(lr, Mapping):
            if name not in lr:
                raise ValueError(f"no learning rate for module {name!r}; lr has {sorted(lr)}")
            module_lr = float(lr[name])
        else:
            module_lr = float(lr)
        for group in _param_groups(name, module, module_lr, weight_decay):
            group["module"] = name
            groups.append(group)
    if not groups:
        raise ValueError("no trainable parameters in the modules given")
    return torch.optim.AdamW(groups, betas=betas)


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    *,
    min_lr_ratio: float | Mapping[str, float] = PAPER_MIN_LR_RATIO,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine annealing to ``min_lr_ratio`` of each group's LR at ``total_steps``.

    Call ``scheduler.step()`` once per optimiser step; past ``total_steps`` the LR stays at the minimum.

    Args:
        optimizer: from :func:`make_optimizer` (a mapping ``min_lr_ratio`` is looked up by the groups' ``module``).
        total_steps: steps of the whole run (warm-up included).
        warmup_steps: steps of linear warm-up, from ``1 / (warmup_steps + 1)`` of the LR (the paper states none).
        min_lr_ratio: final LR / initial LR, one for all groups or one per module name (missing names: 0.2).
    """
    if total_steps < 1 or not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"need total_steps >= 1 and 0 <= warmup_steps < total_steps, got {total_steps}, {warmup_steps}"
        )

    def ratio_for(group: Mapping[str, Any]) -> float:
        if isinstance(min_lr_ratio, Mapping):
            return float(min_lr_ratio.get(group.get("module"), PAPER_MIN_LR_RATIO))
        return float(min_lr_ratio)

    def schedule(floor: float):
        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / (warmup_steps + 1)
            progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        return factor

    return torch.optim.lr_scheduler.LambdaLR(optimizer, [schedule(ratio_for(g)) for g in optimizer.param_groups])
