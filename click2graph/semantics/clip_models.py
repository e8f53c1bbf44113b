"""The supported CLIP models, finding one's folder, and a check that a folder really holds one.

Model. The default is CLIP ViT-B/32 trained by LAION on LAION-2B (``laion/CLIP-ViT-B-32-laion2B-s34B-b79K``, 66.6%
ImageNet zero-shot top-1) instead of OpenAI's ViT-B/32 (63.3%): the same network, so the same ~4.4 GFLOPs per 224 px
image, and better zero-shot accuracy per CPU second than any other model transformers can load here without
torchvision (open_clip and MobileCLIP need torchvision, which cannot be installed beside the CPU torch wheel).
``CLIP_MODELS`` lists the supported models.

Weights. ``resolve_clip`` takes a folder the caller names, else finds a supported model with
:func:`click2graph.weights.resolve` (``weights/clip/<name>/``, the Hugging Face hub cache, a hub download when
allowed and online). A folder holds the transformers files: ``config.json``, ``model.safetensors`` and the
tokenizer (``tokenizer.json``, or ``vocab.json`` plus ``merges.txt``). ``validate_clip_dir`` turns a missing,
truncated or mismatched file into a ``CheckpointError`` before transformers builds anything from it; it reads no
tensor, so neither torch nor transformers is imported here.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from click2graph.errors import CheckpointError
from click2graph.weights import WEIGHTS_DIR, HubFolder, ResolvedModel, download, first_line, found, resolve

logger = logging.getLogger(__name__)

CLIP_WEIGHTS_DIR = WEIGHTS_DIR / "clip"
"""Local CLIP models: one transformers folder per model, ``weights/clip/<name>/``."""

# The files a model folder needs; the tokenizer may come as one tokenizer.json or as vocab.json + merges.txt.
_MODEL_FILES = ("config.json", "model.safetensors")
_TOKENIZER_FILE_SETS = (("tokenizer.json",), ("vocab.json", "merges.txt"))
# What a download fetches: the transformers files only, not the hub repos' open_clip and pytorch_model.bin copies.
_DOWNLOAD_PATTERNS = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
    "special_tokens_map.json", "preprocessor_config.json",
)  # fmt: skip
# State-dict tensors the folder check reads (names as in transformers' CLIPModel).
_PATCH_KEY = "vision_model.embeddings.patch_embedding.weight"  # (vision hidden, 3, patch, patch)
_VISUAL_PROJ_KEY = "visual_projection.weight"  # (projection dim, vision hidden)
_TEXT_PROJ_KEY = "text_projection.weight"  # (projection dim, text hidden)


@dataclass(frozen=True)
class ClipSpec:
    """One supported CLIP model (transformers ``CLIPModel`` format on the hub; a
    :class:`~click2graph.weights.ModelSpec` of one folder)."""

    name: str  # our short name, also the folder name under weights/clip/
    hub_id: str
    size_mb: int  # model.safetensors, MB (float32, ~151 M parameters)
    aliases: tuple[str, ...] = ()

    default_dir: ClassVar[Path] = CLIP_WEIGHTS_DIR

    @property
    def label(self) -> str:
        return f"CLIP model {self.name}"

    @property
    def files(self) -> HubFolder:
        return HubFolder(self.name, _DOWNLOAD_PATTERNS, is_complete=lambda folder: not _missing_files(folder))

    @property
    def manual_url(self) -> str:
        return f"https://huggingface.co/{self.hub_id}"

    def by_hand(self, weights_dir: Path) -> str:
        return (
            f"copy config.json, model.safetensors (~{self.size_mb} MB) and tokenizer.json from {self.manual_url} "
            f"into {weights_dir / self.name}/"
        )


# The default first: it is the one ``DEFAULT_CLIP`` names (see the module docstring for why); OpenAI's original is
# the same network and cost, 3.3 points lower, kept for comparison.
CLIP_MODELS: tuple[ClipSpec, ...] = (
    ClipSpec("vit-b-32-laion2b", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", 605, aliases=("laion", "default")),
    ClipSpec("vit-b-32-openai", "openai/clip-vit-base-patch32", 605, aliases=("openai",)),
)

DEFAULT_CLIP = CLIP_MODELS[0].name


def find_clip_spec(name: str) -> ClipSpec | None:
    """The supported model called ``name`` (name, alias or hub id, any case), else None."""
    key = name.strip().lower()
    return next((s for s in CLIP_MODELS if key in (s.name, *s.aliases, s.hub_id.lower())), None)


def get_clip_spec(name: str) -> ClipSpec:
    """Like ``find_clip_spec``, but an unknown name raises ``CheckpointError`` listing the supported ones."""
    spec = find_clip_spec(name)
    if spec is None:
        raise CheckpointError(f"unknown CLIP model {name!r}: choose one of {_known_names()}")
    return spec


def resolve_clip(
    name_or_path: str | os.PathLike[str] = DEFAULT_CLIP,
    *,
    weights_dir: Path = CLIP_WEIGHTS_DIR,
    allow_download: bool = True,
    offline: bool | None = None,
) -> ResolvedModel[ClipSpec | None]:
    """Find a CLIP model folder for a name or a path, downloading only as the last resort, and check it.

    Order: (1) ``name_or_path`` is an existing folder; then, for a supported name,
    :func:`click2graph.weights.resolve`: (2) ``weights_dir/<name>/``; (3) the Hugging Face hub cache; (4) a hub
    download into that cache, if ``allow_download`` and online. Every folder found is checked with
    ``validate_clip_dir``; a hub-cache snapshot that lacks files (an interrupted download) counts as not cached.
    The result's ``spec`` is None for a folder of another name.

    Args:
        name_or_path: a supported name (``CLIP_MODELS``: name, alias or hub id) or a model folder.
        weights_dir: the folder searched in step 2 (holds one sub-folder per model).
        allow_download: whether step 4 may run.
        offline: skip step 4; None reads ``HF_HUB_OFFLINE`` (as huggingface_hub does).

    Raises:
        CheckpointError: nothing found (the message names every place looked at and how to fetch the model), or
            a found folder is incomplete or corrupt.
    """
    path = Path(name_or_path)
    if path.is_dir():
        spec = find_clip_spec(path.name)
        validate_clip_dir(path, spec)
        return found(spec, path, "path")
    spec = find_clip_spec(str(name_or_path))
    if spec is None:
        raise CheckpointError(
            f"{str(name_or_path)!r} is neither an existing folder nor a supported CLIP model: give a folder with "
            f"config.json, model.safetensors and tokenizer files, or one of {_known_names()}"
        )
    check = functools.partial(validate_clip_dir, spec=spec)
    return resolve(spec, Path(weights_dir), allow_download=allow_download, offline=offline, check=check)


def download_clip(name: str = DEFAULT_CLIP, dest: Path = CLIP_WEIGHTS_DIR) -> tuple[Path, bool]:
    """Download a supported CLIP model from the hub into ``dest/<name>/`` for offline use.

    Only the transformers files are fetched (~605 MB). A folder already there that passes ``validate_clip_dir`` is
    kept; a broken one is downloaded again. The folder gets a ``.gitignore`` of ``*`` so it is never committed.

    Returns:
        The model folder and whether it was downloaded now (False: it was already there and sound).

    Raises:
        CheckpointError: unknown name, offline, huggingface_hub missing, a network or hub error, or the download
            is not a usable model.
    """
    spec = get_clip_spec(name)
    folder = spec.files.local_path(Path(dest))
    broken = False
    if folder.is_dir():
        try:
            validate_clip_dir(folder, spec)
            logger.info("%s already in %s; not downloading", spec.name, folder)
            return folder, False
        except CheckpointError as exc:
            logger.warning("%s; downloading it again", exc)
            broken = True
    download(spec, Path(dest), force=broken)
    validate_clip_dir(folder, spec)
    return folder, True


def validate_clip_dir(path: Path, spec: ClipSpec | None = None) -> None:
    """Check that ``path`` holds a complete, readable transformers CLIP model, cheaply (no tensor is loaded).

    Checks: the folder exists; ``config.json`` is JSON with ``model_type`` "clip"; ``model.safetensors`` has a
    readable header and is as long as the header says (a truncated download is caught here); it holds the patch
    embedding and both projections with the shapes the config implies; tokenizer files are present and are JSON.

    Raises:
        CheckpointError: one line saying what is wrong and how to fix it.
    """
    path = Path(path)
    refetch = (
        f"delete {path} and run `python -m click2graph weights download {spec.name}`"
        if spec
        else "copy the model's files again"
    )
    if not path.is_dir():
        raise CheckpointError(f"CLIP model folder {path} does not exist (or is not a folder)")
    missing = _missing_files(path)
    if missing:
        raise CheckpointError(f"CLIP model folder {path} is incomplete: missing {', '.join(missing)}; {refetch}")

    config = _read_json(path / "config.json", refetch)
    if not isinstance(config, dict) or config.get("model_type") != "clip":
        found_type = config.get("model_type") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(
            f"{path / 'config.json'} is not a CLIP config (model_type {found_type!r}, expected 'clip')"
        )
    for files in _TOKENIZER_FILE_SETS:
        for name in files:
            if name.endswith(".json") and (path / name).is_file():
                _read_json(path / name, refetch)

    shapes = _safetensors_shapes(path / "model.safetensors", refetch)
    absent = [key for key in (_PATCH_KEY, _VISUAL_PROJ_KEY, _TEXT_PROJ_KEY, "logit_scale") if key not in shapes]
    if absent:
        raise CheckpointError(
            f"{path / 'model.safetensors'} is not a transformers CLIPModel state dict: it lacks {', '.join(absent)} "
            "(open_clip files such as open_clip_model.safetensors are not supported); " + refetch
        )
    vision, text = config.get("vision_config") or {}, config.get("text_config") or {}
    # Defaults as in transformers' CLIPVisionConfig / CLIPTextConfig / CLIPConfig (ViT-B/32).
    width, patch = vision.get("hidden_size", 768), vision.get("patch_size", 32)
    projection, text_width = config.get("projection_dim", 512), text.get("hidden_size", 512)
    expected = {
        _PATCH_KEY: [width, 3, patch, patch],
        _VISUAL_PROJ_KEY: [projection, width],
        _TEXT_PROJ_KEY: [projection, text_width],
    }
    for key, shape in expected.items():
        if shapes[key] != shape:
            raise CheckpointError(
                f"{path}: model.safetensors does not match config.json ({key} has shape {shapes[key]}, the config "
                f"implies {shape}); {refetch}"
            )


def _missing_files(folder: Path) -> list[str]:
    """The files a model folder lacks, as the error message names them ([] for a complete folder)."""
    missing = [name for name in _MODEL_FILES if not (folder / name).is_file()]
    if not any(all((folder / f).is_file() for f in files) for files in _TOKENIZER_FILE_SETS):
        missing.append("tokenizer.json (or vocab.json and merges.txt)")
    return missing


def _read_json(path: Path, refetch: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not readable JSON ({first_line(exc)}): {refetch}") from exc


def _safetensors_shapes(path: Path, refetch: str) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors header, after checking the file is as long as the header says.

    Format: an 8-byte little-endian header length N, N bytes of JSON (name -> dtype, shape, data_offsets), then the
    data; the file must be exactly ``8 + N + max(end offset)`` bytes.
    """
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), probably an interrupted download: {refetch}")
    try:
        with path.open("rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > min(size - 8, 100_000_000):
                raise ValueError(f"header length {header_len} does not fit the file")
            header = json.loads(f.read(header_len))
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
        shapes = {k: [int(d) for d in v["shape"]] for k, v in tensors.items()}
    except (OSError, struct.error, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"{path} is corrupt or not a safetensors file ({first_line(exc)}): {refetch}") from exc
    expected = 8 + header_len + end
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise CheckpointError(
            f"{path} is {state} ({size / 1e6:.1f} MB where its header implies {expected / 1e6:.1f} MB), probably an "
            f"interrupted download: {refetch}"
        )
    return shapes


def _known_names() -> str:
    return ", ".join(f"{s.name} ({s.hub_id})" for s in CLIP_MODELS)
