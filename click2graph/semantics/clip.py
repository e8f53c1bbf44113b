"""CLIP: image-text embeddings (:class:`ClipEmbedder`) and zero-shot entity naming (:class:`ClipEntityClassifier`).

Model. The default is CLIP ViT-B/32 trained by LAION on LAION-2B (``laion/CLIP-ViT-B-32-laion2B-s34B-b79K``, 66.6%
ImageNet zero-shot top-1) instead of OpenAI's ViT-B/32 (63.3%): the same network, so the same ~4.4 GFLOPs per 224 px
image, and better zero-shot accuracy per CPU second than any other model transformers can load here without
torchvision (open_clip and MobileCLIP need torchvision, which cannot be installed beside the CPU torch wheel).
``CLIP_MODELS`` lists the supported models.

Weights. ``resolve_clip`` looks, in order, for (1) a folder the caller names, (2) ``weights/clip/<name>/``, (3) the
Hugging Face hub cache, (4) a hub download when allowed and online (``HF_HUB_OFFLINE`` turns it off); otherwise a
``CheckpointError`` names every place looked at and the command that fetches the model. A folder holds the
transformers files: ``config.json``, ``model.safetensors`` and the tokenizer (``tokenizer.json``, or ``vocab.json``
plus ``merges.txt``). ``validate_clip_dir`` turns a missing, truncated or mismatched file into a ``CheckpointError``
before transformers builds anything from it.

Precision. On a CPU the model runs with int8 weights by default (``precision="int8"``: torch's dynamic
quantization of every ``nn.Linear``, activations quantized per batch at run time; embeddings keep a cosine of
~0.9995 to float32's, 2.2x faster per image on a 2-core AVX2 CPU; ``bench semantics`` measures both).
``precision="fp32"`` keeps float32. Text embeddings are also kept on disk next to the model
(:mod:`click2graph.semantics.text_cache`), so prompts are embedded once per model and machine.

Images are preprocessed here in numpy/PIL exactly as CLIP's own processor does (bicubic resize of the shortest side
to the model's image size, centre crop, /255, CLIP mean/std), so torchvision is never needed.

``torch`` and ``transformers`` are imported only inside the functions that need them: importing transformers' CLIP
costs ~6 s on top of torch's ~3 s on a 2-core CPU, which the classic backend should not pay.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from click2graph.errors import CheckpointError
from click2graph.masks import rle_area
from click2graph.semantics.base import EntityView
from click2graph.semantics.embedder import context_crop, masked_crop
from click2graph.semantics.text_cache import TextEmbeddingFile
from click2graph.semantics.vocab import OPENPVSG
from click2graph.weights import WEIGHTS_DIR, _first_line, _hub_cache_dir, hub_offline, try_download

logger = logging.getLogger(__name__)

CLIP_WEIGHTS_DIR = WEIGHTS_DIR / "clip"
"""Local CLIP models: one transformers folder per model, ``weights/clip/<name>/``."""

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's normalisation, shared by the LAION models
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# The files a model folder needs; the tokenizer may come as one tokenizer.json or as vocab.json + merges.txt.
_MODEL_FILES = ("config.json", "model.safetensors")
_TOKENIZER_FILE_SETS = (("tokenizer.json",), ("vocab.json", "merges.txt"))
# What a download fetches: the transformers files only, not the hub repos' open_clip and pytorch_model.bin copies.
_DOWNLOAD_PATTERNS = [
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
    "special_tokens_map.json", "preprocessor_config.json",
]  # fmt: skip
# State-dict tensors the folder check reads (names as in transformers' CLIPModel).
_PATCH_KEY = "vision_model.embeddings.patch_embedding.weight"  # (vision hidden, 3, patch, patch)
_VISUAL_PROJ_KEY = "visual_projection.weight"  # (projection dim, vision hidden)
_TEXT_PROJ_KEY = "text_projection.weight"  # (projection dim, text hidden)

ClipSource = Literal["path", "weights_dir", "hub_cache", "hub_download", "random"]
Precision = Literal["int8", "fp32"]
PRECISIONS: tuple[str, ...] = ("int8", "fp32")


@dataclass(frozen=True)
class ClipSpec:
    """One supported CLIP model (transformers ``CLIPModel`` format on the hub)."""

    name: str  # our short name, also the folder name under weights/clip/
    hub_id: str
    imagenet_top1: float  # zero-shot ImageNet-1k top-1, % (model cards)
    size_mb: int  # model.safetensors, MB (float32, ~151 M parameters)
    reason: str
    aliases: tuple[str, ...] = ()


CLIP_MODELS: tuple[ClipSpec, ...] = (
    ClipSpec(
        "vit-b-32-laion2b", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", 66.6, 605,
        "default: best zero-shot accuracy per CPU second that transformers loads without torchvision "
        "(ViT-B/32, ~4.4 GFLOPs per 224 px image)",
        aliases=("laion", "default"),
    ),
    ClipSpec(
        "vit-b-32-openai", "openai/clip-vit-base-patch32", 63.3, 605,
        "the original CLIP: same network and cost as the default, 3.3 points lower; for comparison",
        aliases=("openai",),
    ),
)  # fmt: skip

DEFAULT_CLIP = CLIP_MODELS[0].name


@dataclass(frozen=True)
class ResolvedClip:
    """A checked CLIP model folder, which model it is meant to be (None: a folder the caller named) and its source."""

    spec: ClipSpec | None
    path: Path
    source: ClipSource


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
) -> ResolvedClip:
    """Find a CLIP model folder for a name or a path, downloading only as the last resort, and check it.

    Order: (1) ``name_or_path`` is an existing folder; (2) ``weights_dir/<name>/``; (3) the Hugging Face hub cache;
    (4) a hub download into that cache, if ``allow_download`` and online. A folder found in (1) or (2) is checked with
    ``validate_clip_dir``; a hub-cache snapshot that lacks files (an interrupted download) counts as not cached.

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
        return _found(spec, path, "path")
    spec = find_clip_spec(str(name_or_path))
    if spec is None:
        raise CheckpointError(
            f"{str(name_or_path)!r} is neither an existing folder nor a supported CLIP model: give a folder with "
            f"config.json, model.safetensors and tokenizer files, or one of {_known_names()}"
        )

    local = Path(weights_dir) / spec.name
    if local.is_dir():
        validate_clip_dir(local, spec)
        return _found(spec, local, "weights_dir")
    cached, cache_note = _find_clip_in_hub_cache(spec)
    if cached is not None:
        validate_clip_dir(cached, spec)
        return _found(spec, cached, "hub_cache")

    def fetch() -> Path:
        downloaded = _snapshot_download(spec)
        validate_clip_dir(downloaded, spec)
        return downloaded

    downloaded, why = try_download(fetch, allow_download=allow_download, offline=offline)
    if downloaded is not None:
        return _found(spec, downloaded, "hub_download")
    raise CheckpointError(
        f"CLIP model {spec.name} not found: looked for the folder {local}, then for {spec.hub_id} in the Hugging "
        f"Face hub cache ({_hub_cache_dir()}{cache_note}), and did not download it ({why}). "
        f"{_clip_fetch_hint(spec, Path(weights_dir))}"
    )


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
    folder = Path(dest) / spec.name
    broken = False
    if folder.is_dir():
        try:
            validate_clip_dir(folder, spec)
            logger.info("%s already in %s; not downloading", spec.name, folder)
            return folder, False
        except CheckpointError as exc:
            logger.warning("%s; downloading it again", exc)
            broken = True
    if hub_offline():
        raise CheckpointError(
            f"cannot download {spec.hub_id}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set); unset it, "
            f"or copy {', '.join(_MODEL_FILES)} and tokenizer.json from https://huggingface.co/{spec.hub_id} into "
            f"{folder}/"
        )
    folder.mkdir(parents=True, exist_ok=True)
    gitignore = folder / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n", encoding="utf-8")
    _snapshot_download(spec, local_dir=folder, force=broken)
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
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if not any(all((path / f).is_file() for f in files) for files in _TOKENIZER_FILE_SETS):
        missing.append("tokenizer.json (or vocab.json and merges.txt)")
    if missing:
        raise CheckpointError(f"CLIP model folder {path} is incomplete: missing {', '.join(missing)}; {refetch}")

    config = _read_json(path / "config.json", refetch)
    if not isinstance(config, dict) or config.get("model_type") != "clip":
        found = config.get("model_type") if isinstance(config, dict) else type(config).__name__
        raise CheckpointError(f"{path / 'config.json'} is not a CLIP config (model_type {found!r}, expected 'clip')")
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


def write_test_tokenizer(directory: str | os.PathLike[str]) -> Path:
    """Write a tiny CLIP byte-level BPE tokenizer (``vocab.json``, ``merges.txt``) into ``directory``.

    For random-weight models (tests, benchmarks) where the real tokenizer cannot be downloaded. The vocabulary is laid
    out like CLIP's: the 256 byte characters, the same with ``</w>`` (end of word), merges, then
    ``<|startoftext|>`` and ``<|endoftext|>`` last; so any text tokenizes (one token per byte at worst). The merges
    build every word of the OpenPVSG vocabulary and of the prompt templates into one token, as CLIP's real
    vocabulary does, so prompts have realistic lengths (about 10 tokens) and text timings are realistic too.

    Returns:
        ``directory``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    texts = [*OPENPVSG.classes, *OPENPVSG.predicates, *DEFAULT_TEMPLATES, "a an the someone something photo of"]
    words = sorted({w for text in texts for w in re.findall(r"[a-z]+", text.lower())})
    merges: list[str] = []
    for word in words:  # left to right: w0 w1 -> w0w1, w0w1 w2 -> w0w1w2, ..., the last piece with </w>
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        built = pieces[0]
        for piece in pieces[1:]:
            merges.append(f"{built} {piece}")
            built += piece
    merges = list(dict.fromkeys(merges))
    vocab = chars + [c + "</w>" for c in chars] + list(dict.fromkeys(a + b for a, b in (m.split() for m in merges)))
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return directory


class ClipEmbedder:
    """CLIP as an :class:`~click2graph.semantics.embedder.ImageTextEmbedder`: crops and texts -> unit vectors.

    Images are embedded in batches of ``batch_size`` under ``torch.inference_mode``; text embeddings are cached per
    text (in memory, and in ``text_file`` when given). Outputs are float32 with L2-normalised rows. CPU threads are
    torch's (``torch.set_num_threads``), which this class leaves alone.

    Args:
        model: a float32 transformers ``CLIPModel`` (put in eval mode here; quantized in place for "int8").
        tokenizer: its ``CLIPTokenizer``.
        batch_size: images per forward pass.
        text_batch_size: texts per forward pass.
        source: where the weights came from, for logs and reports.
        precision: "int8" (see the module docstring) or "fp32". When this torch build has no quantized CPU engine,
            "int8" falls back to "fp32" with a log line.
        text_cache_dir: the model's folder, to keep text embeddings in between processes
            (``click2graph_text_<precision>.npz``); None: memory only.

    Attributes:
        name: "clip".
        precision: what the model actually runs in.
        logit_scale: the model's temperature, ``exp(model.logit_scale)`` (100 for trained CLIP models).
        image_size: side of the square the model sees, pixels (224 for ViT-B/32).
        dim: embedding size (512 for ViT-B/32).
    """

    name = "clip"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int = 24,
        text_batch_size: int = 128,
        source: str = "",
        precision: Precision = "fp32",
        text_cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if batch_size < 1 or text_batch_size < 1:
            raise ValueError(f"batch sizes must be >= 1, got {batch_size} and {text_batch_size}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model = model.eval()
        self.precision: Precision = "int8" if precision == "int8" and quantize_int8(self.model) else "fp32"
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.text_batch_size = text_batch_size
        self.source = source
        config = model.config
        self.image_size = _side(config.vision_config.image_size)
        self.max_text_tokens = int(config.text_config.max_position_embeddings)
        self.dim = int(config.projection_dim)
        self.logit_scale = float(model.logit_scale.detach().exp())
        self._text_file = _text_file_for(Path(text_cache_dir), self.precision) if text_cache_dir else None
        self._text_cache: dict[str, np.ndarray] = self._text_file.load() if self._text_file is not None else {}
        self._mean = np.asarray(CLIP_MEAN, np.float32)
        self._std = np.asarray(CLIP_STD, np.float32)

    @classmethod
    def load(
        cls,
        name_or_path: str | os.PathLike[str] = DEFAULT_CLIP,
        *,
        weights_dir: Path = CLIP_WEIGHTS_DIR,
        allow_download: bool = True,
        **kwargs: Any,
    ) -> ClipEmbedder:
        """Resolve (``resolve_clip``), check and load a CLIP model; ``kwargs`` go to the constructor."""
        resolved = resolve_clip(name_or_path, weights_dir=weights_dir, allow_download=allow_download)
        return cls.from_pretrained_dir(resolved.path, **kwargs)

    @classmethod
    def from_pretrained_dir(
        cls, path: str | os.PathLike[str], *, precision: Precision = "int8", text_cache: bool = True, **kwargs: Any
    ) -> ClipEmbedder:
        """Load a transformers CLIP folder (checked first with ``validate_clip_dir``) on the CPU, int8 by default.

        ``text_cache``: keep text embeddings in ``click2graph_text_<precision>.npz`` inside the folder.

        Raises:
            CheckpointError: the folder is incomplete or corrupt, or its weights do not fit its config.
        """
        path = Path(path)
        validate_clip_dir(path, find_clip_spec(path.name))
        import torch
        from transformers import CLIPModel, CLIPTokenizer

        try:
            model, info = CLIPModel.from_pretrained(path, dtype=torch.float32, output_loading_info=True)
            tokenizer = CLIPTokenizer.from_pretrained(path)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"could not load the CLIP model in {path}: {type(exc).__name__}: {_first_line(exc)}"
            ) from exc
        missing = sorted(k for k in info.get("missing_keys", ()) if not k.endswith("position_ids"))
        if missing:
            raise CheckpointError(
                f"{path / 'model.safetensors'} lacks {len(missing)} weights of the model its config describes (e.g. "
                f"{', '.join(missing[:3])}), so they would be random"
            )
        text_cache_dir = path if text_cache else None
        return cls(model, tokenizer, source=str(path), precision=precision, text_cache_dir=text_cache_dir, **kwargs)

    @classmethod
    def from_random_weights(cls, seed: int = 0, tiny: bool = True, **kwargs: Any) -> ClipEmbedder:
        """A randomly initialised CLIP with a generated tokenizer (``write_test_tokenizer``): no download.

        ``tiny=True``: 2-layer, 32-wide encoders on 32x32 images (milliseconds; for tests). ``tiny=False``: the
        ViT-B/32 architecture at full size (224 px, 12+12 layers, 512-d embeddings; for benchmarks), with the small
        generated vocabulary.
        """
        import torch
        from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = CLIPTokenizer.from_pretrained(write_test_tokenizer(tmp))
        text = {
            "vocab_size": len(tokenizer),
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if tiny:
            size = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
            config = CLIPConfig(
                text_config={**text, **size},
                vision_config={**size, "image_size": 32, "patch_size": 8},
                projection_dim=16,
            )
        else:
            config = CLIPConfig(text_config=text, vision_config={}, projection_dim=512)
        torch.manual_seed(seed)
        model = CLIPModel(config)
        kwargs.setdefault("source", f"random weights (seed {seed}, {'tiny' if tiny else 'ViT-B/32 size'})")
        return cls(model, tokenizer, **kwargs)

    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write the model and tokenizer as a transformers folder that ``from_pretrained_dir`` loads (fp32 only)."""
        if self.precision != "fp32":
            raise ValueError("only a float32 model can be saved; quantization happens when a folder is loaded")
        path = Path(path)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return path

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 RGB (H, W, 3) crops -> float32 (N, 3, S, S) pixel values, exactly as CLIP's image processor."""
        size = self.image_size
        out = np.empty((len(images), 3, size, size), np.float32)
        for i, image in enumerate(images):
            out[i] = self._preprocess_one(image).transpose(2, 0, 1)
        return out

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 RGB (H, W, 3) crops of any size -> float32 (N, D), rows L2-normalised; batches of ``batch_size``."""
        import torch

        rows = [np.zeros((0, self.dim), np.float32)]
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                pixels = torch.from_numpy(self.preprocess(images[start : start + self.batch_size]))
                rows.append(_unit_rows(_features(self.model.get_image_features(pixel_values=pixels))))
        return np.concatenate(rows)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> float32 (N, D), rows L2-normalised; each distinct text is encoded once per embedder (and once
        per model folder when the embedder keeps a text file)."""
        import torch

        todo = list(dict.fromkeys(t for t in texts if t not in self._text_cache))
        with torch.inference_mode():
            for start in range(0, len(todo), self.text_batch_size):
                chunk = todo[start : start + self.text_batch_size]
                tokens = self.tokenizer(
                    chunk, padding=True, truncation=True, max_length=self.max_text_tokens, return_tensors="pt"
                )
                features = self.model.get_text_features(
                    input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
                )
                for text, row in zip(chunk, _unit_rows(_features(features))):
                    self._text_cache[text] = row
        if todo and self._text_file is not None:
            self._text_file.save(dict(self._text_cache))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._text_cache[t] for t in texts])

    def _preprocess_one(self, image: np.ndarray) -> np.ndarray:
        """(S, S, 3) float32: bicubic resize of the shortest side to S, centre crop, /255, mean/std."""
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8 or 0 in image.shape:
            raise ValueError(f"expected a non-empty uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
        image = image[:, :, :3]
        height, width = image.shape[:2]
        size = self.image_size
        # As transformers' get_resize_output_image_size(default_to_square=False): the long side is truncated.
        if width <= height:
            new_w, new_h = size, int(size * height / width)
        else:
            new_w, new_h = int(size * width / height), size
        if (new_w, new_h) != (width, height):
            image = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BICUBIC))
        top, left = (new_h - size) // 2, (new_w - size) // 2
        crop = image[top : top + size, left : left + size].astype(np.float32) * np.float32(1 / 255)
        return (crop - self._mean) / self._std


# Prompt ensembles: the label goes where {} is; each label's text embedding is the re-normalised mean over templates.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a cropped photo of a {}.",
    "a close-up photo of a {}.",
    "a photo of a small {}.",
    "a blurry photo of a {}.",
)

OPENPVSG_PROMPT_NAMES: Mapping[str, str] = {
    # Misspelt in the dataset (the label itself keeps the spelling; only the prompt reads the fixed word).
    "ballon": "balloon",
    "vaccum": "vacuum cleaner",
    "scissor": "scissors",
    # Ambiguous words, as OpenPVSG means them.
    "glass": "drinking glass",
    "glasses": "eyeglasses",
    "can": "tin can",
    "iron": "clothes iron",
    "switch": "light switch",
    "washer": "washing machine",
    "spray": "spray bottle",
    "tv": "television",
}
"""What the prompts call some OpenPVSG classes; any other label is written as is, underscores as spaces."""


class ClipEntityClassifier:
    """Zero-shot entity naming with CLIP: the best labels for an entity's crops (an ``EntityClassifier``).

    For each entity, up to ``frames_per_entity`` frames of its track are picked (``sample_track_frames``: spread over
    the track, largest masks first); on each, a masked crop (the entity on grey) and a context crop (the entity and
    its surroundings) are cut with the ``embedder`` helpers. All crops of all entities in one call are embedded in one
    batched pass. An entity's image embedding is the weighted mean of its crop embeddings (masked ``masked_weight``,
    context ``1 - masked_weight``; 0.6 / 0.4 by default: the masked crop says what the entity is, the context helps
    with small or ambiguous ones), re-normalised. Each label's text embedding is the re-normalised mean of its
    prompts over ``templates``, computed once. Probabilities are ``softmax(logit_scale * cosine)`` over ``labels``.

    Args:
        embedder: any ``ImageTextEmbedder`` (normally a :class:`ClipEmbedder`).
        labels: the label set, any strings (default: the 126 OpenPVSG classes, spelt as in the dataset).
        templates: prompt templates, each with one ``{}``.
        frames_per_entity: frames sampled per entity.
        top_k: labels returned per entity.
        masked_weight: weight of masked crops in the entity embedding (context crops get the rest).
        pad, context_pad: crop padding, as in ``masked_crop`` and ``context_crop``.
        prompt_names: how prompts spell some labels (default ``OPENPVSG_PROMPT_NAMES``).
    """

    name = "clip"

    def __init__(
        self,
        embedder: Any,
        labels: Sequence[str] = OPENPVSG.classes,
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        frames_per_entity: int = 3,
        *,
        top_k: int = 5,
        masked_weight: float = 0.6,
        pad: float = 0.1,
        context_pad: float = 0.5,
        prompt_names: Mapping[str, str] = OPENPVSG_PROMPT_NAMES,
    ) -> None:
        self.labels: tuple[str, ...] = tuple(dict.fromkeys(labels))
        if not self.labels:
            raise ValueError("the label set is empty")
        if not templates or any("{}" not in t for t in templates):
            raise ValueError(f"every template needs one '{{}}' for the label, got {list(templates)}")
        if frames_per_entity < 1 or top_k < 1 or not 0.0 <= masked_weight <= 1.0:
            raise ValueError(
                f"need frames_per_entity >= 1, top_k >= 1 and 0 <= masked_weight <= 1, got {frames_per_entity}, "
                f"{top_k}, {masked_weight}"
            )
        self.embedder = embedder
        self.templates = tuple(templates)
        self.frames_per_entity = frames_per_entity
        self.top_k = top_k
        self.masked_weight = masked_weight
        self.pad = pad
        self.context_pad = context_pad
        self.prompt_names = dict(prompt_names)
        self._label_embeddings: np.ndarray | None = None
        self._label_lock = threading.Lock()  # a warm-up thread and a request may both ask at once

    def prompts(self, label: str) -> list[str]:
        """The prompts for ``label``, one per template."""
        word = self.prompt_names.get(label, label.replace("_", " "))
        return [template.format(word) for template in self.templates]

    def label_embeddings(self) -> np.ndarray:
        """float32 (L, D): per label, the re-normalised mean of its prompt embeddings (computed once, by whichever
        thread asks first; the others wait for it)."""
        with self._label_lock:
            if self._label_embeddings is None:
                texts = [prompt for label in self.labels for prompt in self.prompts(label)]
                per_prompt = self.embedder.embed_texts(texts).reshape(len(self.labels), len(self.templates), -1)
                self._label_embeddings = _unit_rows(per_prompt.mean(axis=1))
        return self._label_embeddings

    def entity_embedding(self, view: EntityView, frames: np.ndarray) -> np.ndarray | None:
        """float32 (D,) unit image embedding of the entity (see class docstring); None when it has no mask."""
        return self.entity_embeddings([view], frames)[view.entity_id]

    def entity_embeddings(self, views: Sequence[EntityView], frames: np.ndarray) -> dict[int, np.ndarray | None]:
        """``entity_embedding`` of many entities, all crops in one batched ``embed_images`` call."""
        crops: list[np.ndarray] = []
        owners: list[tuple[int, float]] = []  # (index into views, weight) per crop
        for i, view in enumerate(views):
            for crop, weight in self._crops(view, frames):
                crops.append(crop)
                owners.append((i, weight))
        sums: dict[int, np.ndarray] = {}
        if crops:
            for (i, weight), row in zip(owners, self.embedder.embed_images(crops)):
                sums[i] = sums.get(i, 0.0) + weight * row.astype(np.float64)
        result: dict[int, np.ndarray | None] = {}
        for i, view in enumerate(views):
            total = sums.get(i)
            result[view.entity_id] = None if total is None else _unit_rows(total[None])[0]
        return result

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """float32 (N, L) ``softmax(logit_scale * cosine)`` over the labels, for unit image embeddings (N, D)."""
        logits = float(self.embedder.logit_scale) * (np.asarray(embeddings, np.float32) @ self.label_embeddings().T)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def classify(self, entity: EntityView, frames: np.ndarray) -> list[tuple[str, float]]:
        """Top ``top_k`` ``(label, probability)`` pairs, best first; [] when the entity has no mask on ``frames``."""
        return self.classify_many([entity], frames)[entity.entity_id]

    def classify_many(self, views: Sequence[EntityView], frames: np.ndarray) -> dict[int, list[tuple[str, float]]]:
        """``classify`` for many entities at once (one image batch, one matrix product): entity id -> top labels."""
        embeddings = self.entity_embeddings(views, frames)
        present = [eid for eid, emb in embeddings.items() if emb is not None]
        result: dict[int, list[tuple[str, float]]] = {eid: [] for eid in embeddings}
        if present:
            probs = self.probabilities(np.stack([embeddings[eid] for eid in present]))
            k = min(self.top_k, len(self.labels))
            for eid, row in zip(present, probs):
                best = np.argsort(-row, kind="stable")[:k]
                result[eid] = [(self.labels[j], float(row[j])) for j in best]
        return result

    def _crops(self, view: EntityView, frames: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """(crop, weight) pairs for the entity: a masked and a context crop per sampled frame."""
        pairs: list[tuple[np.ndarray, float]] = []
        for t in sample_track_frames(view, self.frames_per_entity, num_frames=len(frames)):
            mask = view.entity.mask(t)
            frame = frames[t]
            if mask is None or mask.shape != frame.shape[:2]:
                raise ValueError(
                    f"entity {view.entity_id}: mask on frame {t} is {None if mask is None else mask.shape}, frame is "
                    f"{frame.shape[:2]}; masks must be at working resolution"
                )
            inside = masked_crop(frame, mask, self.pad)
            around = context_crop(frame, mask, self.context_pad)
            if inside is not None:
                pairs.append((inside, self.masked_weight))
            if around is not None and self.masked_weight < 1.0:
                pairs.append((around, 1.0 - self.masked_weight))
        return pairs


def quantize_int8(model: Any) -> bool:
    """Replace ``model``'s ``nn.Linear`` layers in place by int8 dynamically quantized ones (weights int8 per
    tensor, activations quantized per batch at run time). False, model untouched, when torch has no quantized CPU
    engine here.

    torch marks ``torch.ao.quantization`` as moving to the torchao package; its eager dynamic quantization still
    ships and works in the pinned torch, and needs no extra dependency, so its deprecation warnings are silenced.
    """
    import warnings

    import torch

    quantize = getattr(getattr(torch.ao, "quantization", None), "quantize_dynamic", None)
    if quantize is None or not any(e != "none" for e in torch.backends.quantized.supported_engines):
        logger.info("int8 CLIP not available in torch %s: running in float32", torch.__version__)
        return False
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated.*")
        quantize(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return True


def _text_file_for(folder: Path, precision: str) -> TextEmbeddingFile:
    """The text-embedding file of a model folder, fingerprinted by its weights file, precision and library versions."""
    import torch
    import transformers

    stat = (folder / "model.safetensors").stat()
    fingerprint = {
        "weights": [stat.st_size, stat.st_mtime_ns],
        "precision": precision,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    return TextEmbeddingFile(folder / f"click2graph_text_{precision}.npz", fingerprint)


def sample_track_frames(view: EntityView, k: int, *, num_frames: int | None = None) -> list[int]:
    """Up to ``k`` frames of the entity's track, spread over time and preferring large masks, sorted.

    The frames where the entity is present (below ``num_frames`` when given) are cut into ``k`` consecutive runs of
    near-equal length; from each run the frame with the largest mask is taken (the earliest on ties). Areas are read
    from the RLE without decoding.
    """
    areas = {t: rle_area(rle) for t, rle in view.entity.masks.items() if num_frames is None or 0 <= t < num_frames}
    present = sorted(t for t, area in areas.items() if area > 0)
    if k < 1 or not present:
        return []
    picks = []
    for run in np.array_split(np.asarray(present), min(k, len(present))):
        picks.append(int(max(run, key=lambda t: (areas[int(t)], -int(t)))))
    return picks


def _features(output: Any) -> Any:
    """The projected embeddings from ``get_image_features``/``get_text_features``: transformers 5 returns a
    ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds them, transformers 4 the tensor itself."""
    return output if hasattr(output, "detach") else output.pooler_output


def _unit_rows(x: Any) -> np.ndarray:
    """float32 rows scaled to unit L2 norm (a zero row stays zero)."""
    array = x.detach().float().numpy() if hasattr(x, "detach") else np.asarray(x, np.float64)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


def _side(size: Any) -> int:
    """A config's image size (an int, or a pair of equal ints) as one int."""
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            raise ValueError(f"only square CLIP inputs are supported, got image_size {size}")
        size = size[0]
    return int(size)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character map (openai/CLIP:clip/simple_tokenizer.py)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes)))


def _read_json(path: Path, refetch: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{path} is not readable JSON ({_first_line(exc)}): {refetch}") from exc


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
        raise CheckpointError(f"{path} is corrupt or not a safetensors file ({_first_line(exc)}): {refetch}") from exc
    expected = 8 + header_len + end
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise CheckpointError(
            f"{path} is {state} ({size / 1e6:.1f} MB where its header implies {expected / 1e6:.1f} MB), probably an "
            f"interrupted download: {refetch}"
        )
    return shapes


def _found(spec: ClipSpec | None, path: Path, source: ClipSource) -> ResolvedClip:
    logger.info("CLIP %s: using %s (%s)", spec.name if spec else "model", path, source)
    return ResolvedClip(spec, Path(path), source)


def _find_clip_in_hub_cache(spec: ClipSpec) -> tuple[Path | None, str]:
    """The cached snapshot folder of ``spec`` if it holds every needed file, and a note for the error message."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None, ""
    try:
        folder = Path(snapshot_download(spec.hub_id, local_files_only=True, allow_patterns=_DOWNLOAD_PATTERNS))
    except (OSError, ValueError):  # LocalEntryNotFoundError (an OSError) when nothing is cached
        return None, ""
    has_model = all((folder / name).is_file() for name in _MODEL_FILES)
    has_tokenizer = any(all((folder / f).is_file() for f in files) for files in _TOKENIZER_FILE_SETS)
    if has_model and has_tokenizer:
        return folder, ""
    return None, f"; {folder} is incomplete"


def _snapshot_download(spec: ClipSpec, local_dir: Path | None = None, *, force: bool = False) -> Path:
    """``snapshot_download`` of the transformers files; errors become one-line ``CheckpointError``s."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(
            f"cannot download {spec.hub_id}: huggingface_hub is not installed (pip install huggingface_hub)"
        ) from None
    logger.info("downloading %s (%d MB)", spec.hub_id, spec.size_mb)
    try:
        folder = snapshot_download(
            spec.hub_id, allow_patterns=_DOWNLOAD_PATTERNS, local_dir=local_dir, force_download=force
        )
    except (OSError, ValueError) as exc:  # huggingface_hub's network, offline and HTTP errors are OSErrors
        raise CheckpointError(
            f"could not download {spec.hub_id}: {_first_line(exc)} (no internet? copy the files from "
            f"https://huggingface.co/{spec.hub_id} by hand)"
        ) from exc
    return Path(folder)


def _clip_fetch_hint(spec: ClipSpec, weights_dir: Path) -> str:
    command = f"python -m click2graph weights download {spec.name}"
    if weights_dir.resolve() != CLIP_WEIGHTS_DIR.resolve():
        command += f" --dir {weights_dir}"
    return (
        f"Fetch it with `{command}` (needs internet, ~{spec.size_mb} MB), or copy config.json, model.safetensors "
        f"and tokenizer.json from https://huggingface.co/{spec.hub_id} into {weights_dir / spec.name}/"
    )


def _known_names() -> str:
    return ", ".join(f"{s.name} ({s.hub_id})" for s in CLIP_MODELS)


__all__ = [
    "CLIP_MEAN",
    "CLIP_MODELS",
    "CLIP_STD",
    "CLIP_WEIGHTS_DIR",
    "DEFAULT_CLIP",
    "DEFAULT_TEMPLATES",
    "OPENPVSG_PROMPT_NAMES",
    "ClipEmbedder",
    "ClipEntityClassifier",
    "ClipSpec",
    "ResolvedClip",
    "download_clip",
    "find_clip_spec",
    "get_clip_spec",
    "resolve_clip",
    "sample_track_frames",
    "validate_clip_dir",
    "write_test_tokenizer",
]
