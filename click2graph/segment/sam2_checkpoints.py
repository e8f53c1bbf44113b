"""SAM 2.1 checkpoints: the table of known ones, finding one, and a check that a file really is one.

``resolve_checkpoint`` takes an existing file the caller names, else finds a known checkpoint with
:func:`click2graph.weights.resolve` (``weights/<filename>``, the hub cache, a hub download);
``validate_checkpoint`` turns a corrupt, truncated or mismatched file into a ``CheckpointError`` before SAM2 tries
to build a model from it.

``torch`` is imported only inside the functions that read a checkpoint, so the classic backend and
``python -m click2graph weights list`` work without it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import re
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from click2graph.errors import CheckpointError
from click2graph.weights import WEIGHTS_DIR, HubFile, ResolvedModel, download, first_line, found, resolve

logger = logging.getLogger(__name__)

# Where dl.fbaipublicfiles.com serves the SAM 2.1 release (facebookresearch/sam2:checkpoints/download_ckpts.sh).
_DIRECT_URL_BASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"

# State-dict keys the mismatch check reads (names as in facebookresearch/sam2's SAM2Base / Hiera modules).
_PATCH_EMBED_KEY = "image_encoder.trunk.patch_embed.proj.weight"  # Conv2d weight: (embed_dim, 3, 7, 7)
_TRUNK_BLOCK_KEY = re.compile(r"^image_encoder\.trunk\.blocks\.(\d+)\.")
# SAM 2.1 added these two parameters (the no-object spatial embedding and the object pointers' temporal position
# projection), so a SAM 2.0 file lacks exactly these.
_SAM21_ONLY_KEYS = ("no_obj_embed_spatial", "obj_ptr_tpos_proj.weight")


@dataclass(frozen=True)
class CheckpointSpec:
    """One released SAM 2.1 checkpoint (a :class:`~click2graph.weights.ModelSpec` of one file).

    ``trunk_embed_dim`` and ``trunk_blocks`` describe the Hiera image encoder the config builds (``embed_dim`` and
    ``sum(stages)`` in the yaml); ``validate_checkpoint`` compares them with the tensor shapes in a file.
    """

    name: str  # our name: tiny, small, base_plus, large
    hub_id: str  # Hugging Face model repo holding ``filename``
    filename: str  # file name on the hub and in weights/
    config: str  # Hydra config name inside the installed sam2 package (not a file path)
    params_m: float  # parameters, millions (sam2 README)
    size_mb: int  # file size, MB (10**6 bytes), measured on a saved model with the same keys
    trunk_embed_dim: int  # Hiera stage-1 channels = patch_embed.proj.weight.shape[0]
    trunk_blocks: int  # Hiera blocks in all stages
    aliases: tuple[str, ...] = ()  # other names accepted on the command line

    default_dir: ClassVar[Path] = WEIGHTS_DIR

    @property
    def direct_url(self) -> str:
        """The same file on Meta's download server, for fetching by hand when the hub is blocked."""
        return _DIRECT_URL_BASE + self.filename

    @property
    def title(self) -> str:
        """Human name, e.g. 'SAM 2.1 hiera-tiny'."""
        return f"SAM 2.1 hiera-{self.name.replace('_', '-')}"

    @property
    def label(self) -> str:
        return f"{self.title} checkpoint"

    @property
    def files(self) -> HubFile:
        return HubFile(self.filename)

    @property
    def manual_url(self) -> str:
        return self.direct_url

    def by_hand(self, weights_dir: Path) -> str:
        return (
            f"put {self.filename} (from https://huggingface.co/{self.hub_id} or {self.direct_url}) into {weights_dir}/"
        )


# Hub ids, file names and configs as in facebookresearch/sam2:sam2/build_sam.py HF_MODEL_ID_TO_FILENAMES; trunk
# sizes from sam2/configs/sam2.1/*.yaml (base+ uses Hiera's default stages (2, 3, 16, 3)).
CHECKPOINTS: tuple[CheckpointSpec, ...] = (
    CheckpointSpec(
        "tiny", "facebook/sam2.1-hiera-tiny", "sam2.1_hiera_tiny.pt", "configs/sam2.1/sam2.1_hiera_t.yaml",
        params_m=38.9, size_mb=156, trunk_embed_dim=96, trunk_blocks=12, aliases=("t",),
    ),
    CheckpointSpec(
        "small", "facebook/sam2.1-hiera-small", "sam2.1_hiera_small.pt", "configs/sam2.1/sam2.1_hiera_s.yaml",
        params_m=46.0, size_mb=184, trunk_embed_dim=96, trunk_blocks=16, aliases=("s",),
    ),
    CheckpointSpec(
        "base_plus", "facebook/sam2.1-hiera-base-plus", "sam2.1_hiera_base_plus.pt",
        "configs/sam2.1/sam2.1_hiera_b+.yaml",
        params_m=80.8, size_mb=324, trunk_embed_dim=112, trunk_blocks=24, aliases=("base+", "base-plus", "b+"),
    ),
    CheckpointSpec(
        "large", "facebook/sam2.1-hiera-large", "sam2.1_hiera_large.pt", "configs/sam2.1/sam2.1_hiera_l.yaml",
        params_m=224.4, size_mb=898, trunk_embed_dim=144, trunk_blocks=48, aliases=("l",),
    ),
)  # fmt: skip


def find_spec(name: str) -> CheckpointSpec | None:
    """The known checkpoint called ``name`` (name, alias, hub id or file name, any case), else None."""
    key = name.strip().lower()
    for spec in CHECKPOINTS:
        if key in (spec.name, *spec.aliases, spec.hub_id.lower(), spec.filename.lower()):
            return spec
    return None


def get_spec(name: str) -> CheckpointSpec:
    """Like ``find_spec``, but an unknown name raises ``CheckpointError`` listing the known ones."""
    spec = find_spec(name)
    if spec is None:
        known = ", ".join(s.name for s in CHECKPOINTS)
        raise CheckpointError(f"unknown SAM 2.1 checkpoint {name!r}: choose one of {known} (or 'base+')")
    return spec


def resolve_checkpoint(
    name_or_path: str | os.PathLike[str],
    *,
    weights_dir: Path = WEIGHTS_DIR,
    allow_download: bool = True,
    offline: bool | None = None,
) -> ResolvedModel[CheckpointSpec]:
    """Find the checkpoint file for a name or a path, downloading it only as the last resort.

    Order: (1) ``name_or_path`` is an existing file: use it (which checkpoint it is comes from its file name, else
    from its tensor shapes); then, for a known name, :func:`click2graph.weights.resolve`: (2)
    ``weights_dir/<filename>``; (3) the Hugging Face hub cache; (4) ``hf_hub_download`` into the hub cache, if
    ``allow_download`` and online. The file is found, not checked: call ``validate_checkpoint`` before building a
    model from it.

    Args:
        name_or_path: a known name ("tiny", "small", "base_plus"/"base+", "large", a hub id or a file name) or a
            path to a checkpoint file.
        weights_dir: the local folder searched in step 2.
        allow_download: whether step 4 may run.
        offline: skip step 4; None reads ``HF_HUB_OFFLINE`` (as huggingface_hub does). A network error during the
            download counts as offline.

    Raises:
        CheckpointError: nothing found; the message names every place looked at and the command that fetches it.
    """
    path = Path(name_or_path)
    if path.is_file():
        return found(find_spec(path.name) or identify_checkpoint(path), path, "path")
    spec = find_spec(str(name_or_path))
    if spec is None:
        known = ", ".join(s.name for s in CHECKPOINTS)
        raise CheckpointError(
            f"{str(name_or_path)!r} is neither an existing file nor a known SAM 2.1 checkpoint: give the path of a "
            f"checkpoint file or one of {known}"
        )
    return resolve(spec, Path(weights_dir), allow_download=allow_download, offline=offline)


def download_checkpoint(name: str, dest_dir: Path = WEIGHTS_DIR) -> tuple[Path, bool]:
    """Download a known checkpoint from the hub into ``dest_dir`` for offline use (with a progress bar).

    A file already there is kept as it is (``validate_checkpoint`` tells whether it is sound).

    Returns:
        The file's path and whether it was downloaded now (False: it was already there).

    Raises:
        CheckpointError: unknown name, offline, huggingface_hub missing, or a network or hub error.
    """
    spec = get_spec(name)
    dest = Path(dest_dir) / spec.filename
    if dest.is_file():
        logger.info("%s already in %s; not downloading", spec.filename, dest_dir)
        return dest, False
    return download(spec, Path(dest_dir)), True


def identify_checkpoint(path: Path) -> CheckpointSpec:
    """Which known checkpoint a file holds, read from its image-encoder shapes (see ``validate_checkpoint``).

    Raises:
        CheckpointError: the file is missing, unreadable, not a SAM2 checkpoint, or none of the known sizes.
    """
    state = _load_model_state(Path(path), None)
    embed_dim, blocks = _trunk_shape(state, Path(path))
    spec = _spec_for_trunk(embed_dim, blocks)
    if spec is None:
        raise CheckpointError(
            f"{path} is a SAM2 checkpoint of unknown size (image encoder: {embed_dim} channels, {blocks} blocks); "
            f"supported: {_sizes_text()}"
        )
    return spec


def validate_checkpoint(path: Path, spec: CheckpointSpec) -> None:
    """Check that ``path`` is a readable SAM 2.1 checkpoint of the size ``spec`` describes.

    Cheap and robust: the file is opened with ``torch.load(weights_only=True)`` (memory-mapped when it is a zip, so
    a 900 MB file costs milliseconds), must hold ``{"model": state_dict}``, and the state dict's Hiera image encoder
    must have ``spec.trunk_embed_dim`` channels (``image_encoder.trunk.patch_embed.proj.weight.shape[0]``) and
    ``spec.trunk_blocks`` blocks (``image_encoder.trunk.blocks.<i>``): these two numbers tell all four sizes apart
    (tiny 96/12, small 96/16, base+ 112/24, large 144/48). The SAM 2.1-only keys (``no_obj_embed_spatial``,
    ``obj_ptr_tpos_proj``) tell a SAM 2.0 file apart. Every other key is left to SAM2's strict ``load_state_dict``.

    Raises:
        CheckpointError: missing, empty, truncated or corrupt file; no ``model`` key; not a SAM2 state dict; the
            wrong size; SAM 2.0 instead of 2.1; or torch not installed.
    """
    path = Path(path)
    state = _load_model_state(path, spec)
    embed_dim, blocks = _trunk_shape(state, path)
    if (embed_dim, blocks) != (spec.trunk_embed_dim, spec.trunk_blocks):
        actual = _spec_for_trunk(embed_dim, blocks)
        holds = f"holds {actual.name}" if actual else "holds an unknown size"
        raise CheckpointError(
            f"{path} {holds} (image encoder: {embed_dim} channels, {blocks} blocks), not {spec.name} "
            f"({spec.trunk_embed_dim} channels, {spec.trunk_blocks} blocks): choose "
            f"{actual.name if actual else 'the model that matches the file'} or use {spec.filename}"
        )
    missing = [key for key in _SAM21_ONLY_KEYS if key not in state]
    if missing:
        raise CheckpointError(
            f"{path} looks like a SAM 2 (July 2024) checkpoint, not SAM 2.1: it lacks {', '.join(missing)}; use "
            f"{spec.filename} (python -m click2graph weights download {spec.name})"
        )
    logger.info("checked %s: %s (%d channels, %d blocks)", path, spec.title, embed_dim, blocks)


def checkpoint_status(spec: CheckpointSpec, weights_dir: Path = WEIGHTS_DIR) -> str:
    """Where a checkpoint is found without downloading, checked (``weights list``): ``PATH (source)``,
    ``not found``, or ``unusable (source): reason`` for a file that is there but corrupt or of another
    model, so a damaged download is never listed as found."""
    try:
        resolved = resolve_checkpoint(spec.name, weights_dir=weights_dir, allow_download=False)
    except CheckpointError:
        return "not found"
    where = f"{resolved.path} ({resolved.source})"
    if importlib.util.find_spec("torch") is None:
        return f"{where}, not checked: PyTorch is not installed"
    try:
        validate_checkpoint(resolved.path, spec)
    except CheckpointError as exc:
        return f"unusable ({resolved.source}): {exc}"
    return where


def _load_model_state(path: Path, spec: CheckpointSpec | None) -> Mapping[str, Any]:
    """The ``model`` state dict of a checkpoint file; every way it can fail becomes a ``CheckpointError``."""
    refetch = f"delete it and run `python -m click2graph weights download {spec.name}`" if spec else "fetch it again"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist (or is not a file)")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes), probably an interrupted download: {refetch}")
    try:
        import torch
    except ImportError:
        raise CheckpointError(
            f"cannot read checkpoint {path}: PyTorch is not installed; install the CPU build with "
            "`pip install torch==2.13.0` (or `pip install torch --index-url https://download.pytorch.org/whl/cpu`)"
        ) from None
    try:
        # mmap reads only the pickled structure and tensor metadata; it needs the zip format of torch.save.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    # torch.load reports damage as any of these, depending on where the bytes go wrong (seen by cutting and
    # flipping bytes of a saved checkpoint, and on random bytes).
    except (
        pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError, IndexError, KeyError, struct.error,
        zipfile.BadZipFile,
    ) as exc:  # fmt: skip
        short = f" ({size / 1e6:.1f} MB where {spec.filename} is about {spec.size_mb} MB)" if spec else ""
        if isinstance(exc, pickle.UnpicklingError):  # torch's own text here is about its weights_only default
            detail = "torch.load(weights_only=True) refused it (random bytes, or pickled objects besides tensors)"
        else:
            detail = f"torch.load failed with {type(exc).__name__}: {first_line(exc)}"
        raise CheckpointError(
            f"checkpoint {path} is corrupt, truncated or not a PyTorch checkpoint{short}: {detail}; {refetch}"
        ) from exc
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint:
        if isinstance(checkpoint, Mapping) and _PATCH_EMBED_KEY in checkpoint:
            raise CheckpointError(
                f"{path} is a bare state dict; SAM2 loads {{'model': state_dict}}: re-save it with "
                f"torch.save({{'model': state_dict}}, path)"
            )
        found_keys = f"keys {sorted(map(str, checkpoint))[:5]}" if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise CheckpointError(f"{path} has no 'model' entry (found {found_keys}), so it is not a SAM2 checkpoint")
    state = checkpoint["model"]
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: 'model' is a {type(state).__name__}, expected a state dict of tensors")
    return state


def _trunk_shape(state: Mapping[str, Any], path: Path) -> tuple[int, int]:
    """(embed_dim, number of blocks) of the Hiera image encoder in a state dict."""
    weight = state.get(_PATCH_EMBED_KEY)
    blocks = {int(m.group(1)) for key in state if (m := _TRUNK_BLOCK_KEY.match(str(key)))}
    if weight is None or not hasattr(weight, "shape") or len(weight.shape) != 4 or not blocks:
        raise CheckpointError(
            f"{path} is not a SAM2 checkpoint: its 'model' state dict has no Hiera image encoder ({_PATCH_EMBED_KEY} "
            "and image_encoder.trunk.blocks.*); transformers-format weights (model.safetensors) are not supported"
        )
    return int(weight.shape[0]), max(blocks) + 1


def _spec_for_trunk(embed_dim: int, blocks: int) -> CheckpointSpec | None:
    return next((s for s in CHECKPOINTS if (s.trunk_embed_dim, s.trunk_blocks) == (embed_dim, blocks)), None)


def _sizes_text() -> str:
    return ", ".join(f"{s.name} {s.trunk_embed_dim}/{s.trunk_blocks}" for s in CHECKPOINTS)
