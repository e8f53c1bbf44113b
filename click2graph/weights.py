"""SAM 2.1 checkpoints: the table of known ones, where to find them, and a check that a file really is one.

Resolution order (``resolve_checkpoint``): an existing file the caller names, then ``weights/<filename>``, then the
Hugging Face hub cache, then a hub download when allowed and online; otherwise a ``CheckpointError`` that says
what was looked for, where, and the command that fetches it. ``validate_checkpoint`` turns a corrupt, truncated or
mismatched file into a ``CheckpointError`` before SAM2 tries to build a model from it.

``huggingface_hub`` and ``torch`` are imported only inside the functions that need them, so the classic backend and
``python -m click2graph weights list`` work without either.
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
from typing import Any, Callable, Literal

from click2graph.errors import CheckpointError

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
"""The repository's ``weights/`` folder: local checkpoints go here (git-ignored)."""

# Where dl.fbaipublicfiles.com serves the SAM 2.1 release (facebookresearch/sam2:checkpoints/download_ckpts.sh).
_DIRECT_URL_BASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"

# State-dict keys the mismatch check reads (names as in facebookresearch/sam2's SAM2Base / Hiera modules).
_PATCH_EMBED_KEY = "image_encoder.trunk.patch_embed.proj.weight"  # Conv2d weight: (embed_dim, 3, 7, 7)
_TRUNK_BLOCK_KEY = re.compile(r"^image_encoder\.trunk\.blocks\.(\d+)\.")
# Present in SAM 2.1 checkpoints only; a SAM 2.0 file lacks exactly these (research note sam2_technicals.md §3.3).
_SAM21_ONLY_KEYS = ("no_obj_embed_spatial", "obj_ptr_tpos_proj.weight")

_OFFLINE_ENV_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE_VALUES = {"1", "on", "yes", "true"}  # what huggingface_hub accepts as true in these variables

CheckpointSource = Literal["path", "weights_dir", "hub_cache", "hub_download"]


@dataclass(frozen=True)
class CheckpointSpec:
    """One released SAM 2.1 checkpoint.

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

    @property
    def direct_url(self) -> str:
        """The same file on Meta's download server, for fetching by hand when the hub is blocked."""
        return _DIRECT_URL_BASE + self.filename

    @property
    def title(self) -> str:
        """Human name, e.g. 'SAM 2.1 hiera-tiny'."""
        return f"SAM 2.1 hiera-{self.name.replace('_', '-')}"


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


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint file on disk, which checkpoint it is meant to be, and where it was found."""

    spec: CheckpointSpec
    path: Path
    source: CheckpointSource  # "path" (given by the caller), "weights_dir", "hub_cache" or "hub_download"


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
) -> ResolvedCheckpoint:
    """Find the checkpoint file for a name or a path, downloading it only as the last resort.

    Order: (1) ``name_or_path`` is an existing file: use it (which checkpoint it is comes from its file name, else
    from its tensor shapes); (2) ``weights_dir/<filename>``; (3) the Hugging Face hub cache; (4) ``hf_hub_download``
    into the hub cache, if ``allow_download`` and online. The file is found, not checked: call
    ``validate_checkpoint`` before building a model from it.

    Args:
        name_or_path: a known name ("tiny", "small", "base_plus"/"base+", "large", a hub id or a file name) or a
            path to a checkpoint file.
        weights_dir: the local folder searched in step 2.
        allow_download: whether step 4 may run.
        offline: skip step 4; None reads ``HF_HUB_OFFLINE`` (as huggingface_hub does). A network error during the
            download counts as offline.

    Returns:
        The file, its spec and which step found it.

    Raises:
        CheckpointError: nothing found; the message names every place looked at and the command that fetches it.
    """
    path = Path(name_or_path)
    if path.is_file():
        spec = find_spec(path.name) or identify_checkpoint(path)
        return _found(spec, path, "path")
    spec = find_spec(str(name_or_path))
    if spec is None:
        known = ", ".join(s.name for s in CHECKPOINTS)
        raise CheckpointError(
            f"{str(name_or_path)!r} is neither an existing file nor a known SAM 2.1 checkpoint: give the path of a "
            f"checkpoint file or one of {known}"
        )

    local = Path(weights_dir) / spec.filename
    if local.is_file():
        return _found(spec, local, "weights_dir")
    cached = _find_in_hub_cache(spec)
    if cached is not None:
        return _found(spec, cached, "hub_cache")

    path, why = try_download(lambda: _hub_download(spec), allow_download=allow_download, offline=offline)
    if path is not None:
        return _found(spec, path, "hub_download")
    raise CheckpointError(
        f"{spec.title} checkpoint not found: looked for {local}, then for {spec.filename} of {spec.hub_id} in the "
        f"Hugging Face hub cache ({_hub_cache_dir()}), and did not download it ({why}). "
        f"{_fetch_hint(spec, Path(weights_dir))}"
    )


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
    if hub_offline():
        raise CheckpointError(
            f"cannot download {spec.filename}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set); unset it, "
            f"or fetch {spec.direct_url} by hand into {dest_dir}/"
        )
    return _hub_download(spec, local_dir=Path(dest_dir)), True


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
        found = resolve_checkpoint(spec.name, weights_dir=weights_dir, allow_download=False)
    except CheckpointError:
        return "not found"
    where = f"{found.path} ({found.source})"
    if importlib.util.find_spec("torch") is None:
        return f"{where}, not checked: PyTorch is not installed"
    try:
        validate_checkpoint(found.path, spec)
    except CheckpointError as exc:
        return f"unusable ({found.source}): {exc}"
    return where


def hub_offline() -> bool:
    """Whether huggingface_hub's offline mode is on (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(var, "").strip().lower() in _TRUE_VALUES for var in _OFFLINE_ENV_VARS)


def try_download(fetch: Callable[[], Path], *, allow_download: bool, offline: bool | None) -> tuple[Path | None, str]:
    """The last step of resolving a model: ``(fetch(), "")``, or ``(None, why it was not downloaded)``.

    ``offline`` None reads ``HF_HUB_OFFLINE``; a ``CheckpointError`` from ``fetch`` (network, hub) becomes the reason.
    """
    if not allow_download:
        return None, "downloading was not allowed"
    if offline or (offline is None and hub_offline()):
        return None, "offline (HF_HUB_OFFLINE is set)" if offline is None else "offline"
    try:
        return fetch(), ""
    except CheckpointError as exc:
        return None, str(exc)


def hub_reachable(timeout_s: float = 2.0) -> bool:
    """Whether huggingface.co answers within ``timeout_s`` (so an offline machine falls back at once)."""
    import socket

    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True
    except OSError:
        logger.info("the Hugging Face hub is not reachable: no download")
        return False


def _found(spec: CheckpointSpec, path: Path, source: CheckpointSource) -> ResolvedCheckpoint:
    logger.info("%s: using %s (%s)", spec.title, path, source)
    return ResolvedCheckpoint(spec, Path(path), source)


def _find_in_hub_cache(spec: CheckpointSpec) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(repo_id=spec.hub_id, filename=spec.filename)
    # A str is a path; None means not cached and a sentinel object means "known not to exist on the hub".
    return Path(cached) if isinstance(cached, str) else None


def _hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return "huggingface_hub not installed"
    return str(constants.HF_HUB_CACHE)


def _hub_download(spec: CheckpointSpec, local_dir: Path | None = None) -> Path:
    """``hf_hub_download`` into the hub cache or ``local_dir``; errors become one-line ``CheckpointError``s."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise CheckpointError(
            f"cannot download {spec.filename}: huggingface_hub is not installed (pip install huggingface_hub)"
        ) from None
    logger.info("downloading %s from %s (%d MB)", spec.filename, spec.hub_id, spec.size_mb)
    try:
        return Path(hf_hub_download(repo_id=spec.hub_id, filename=spec.filename, local_dir=local_dir))
    except OSError as exc:  # huggingface_hub's network, offline and HTTP errors are all OSErrors
        raise CheckpointError(
            f"could not download {spec.filename} from {spec.hub_id}: {_first_line(exc)} (no internet? fetch "
            f"{spec.direct_url} by hand)"
        ) from exc


def _fetch_hint(spec: CheckpointSpec, weights_dir: Path) -> str:
    command = f"python -m click2graph weights download {spec.name}"
    if weights_dir.resolve() != WEIGHTS_DIR:
        command += f" --dir {weights_dir}"
    return (
        f"Fetch it with `{command}` (needs internet), or put {spec.filename} (from "
        f"https://huggingface.co/{spec.hub_id} or {spec.direct_url}) into {weights_dir}/"
    )


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
            detail = f"torch.load failed with {type(exc).__name__}: {_first_line(exc)}"
        raise CheckpointError(
            f"checkpoint {path} is corrupt, truncated or not a PyTorch checkpoint{short}: {detail}; {refetch}"
        ) from exc
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint:
        if isinstance(checkpoint, Mapping) and _PATCH_EMBED_KEY in checkpoint:
            raise CheckpointError(
                f"{path} is a bare state dict; SAM2 loads {{'model': state_dict}}: re-save it with "
                f"torch.save({{'model': state_dict}}, path)"
            )
        found = f"keys {sorted(map(str, checkpoint))[:5]}" if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise CheckpointError(f"{path} has no 'model' entry (found {found}), so it is not a SAM2 checkpoint")
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


def _first_line(exc: BaseException) -> str:
    """The first sentence of an exception's message (torch and huggingface_hub write paragraphs)."""
    text = str(exc).strip()
    return text.splitlines()[0].split(". ")[0][:200] if text else type(exc).__name__
