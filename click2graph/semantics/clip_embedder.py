"""CLIP image-text embeddings (:class:`ClipEmbedder`): a transformers CLIP model, on the CPU int8 by default.

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

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from click2graph.errors import CheckpointError
from click2graph.int8 import quantize_int8
from click2graph.semantics.clip_models import (
    CLIP_WEIGHTS_DIR,
    DEFAULT_CLIP,
    find_clip_spec,
    resolve_clip,
    validate_clip_dir,
)
from click2graph.semantics.text_cache import TextEmbeddingFile
from click2graph.weights import first_line

logger = logging.getLogger(__name__)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's normalisation, shared by the LAION models
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

Precision = Literal["int8", "fp32"]
PRECISIONS: tuple[str, ...] = ("int8", "fp32")


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
        device: "cpu", "cuda" or "auto" (CUDA when torch sees a GPU); off the CPU the model runs in float32 (torch
            has no int8 kernels there).

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
        device: str = "cpu",
    ) -> None:
        if batch_size < 1 or text_batch_size < 1:
            raise ValueError(f"batch sizes must be >= 1, got {batch_size} and {text_batch_size}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.logit_scale = float(model.logit_scale.detach().exp())  # read on the CPU, before the model moves
        self.model = model.eval().to(self.device)
        on_cpu = self.device.type == "cpu"
        self.precision: Precision = "int8" if precision == "int8" and on_cpu and quantize_int8(self.model) else "fp32"
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.text_batch_size = text_batch_size
        self.source = source
        config = model.config
        self.image_size = _side(config.vision_config.image_size)
        self.max_text_tokens = int(config.text_config.max_position_embeddings)
        self.dim = int(config.projection_dim)
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
                f"could not load the CLIP model in {path}: {type(exc).__name__}: {first_line(exc)}"
            ) from exc
        missing = sorted(k for k in info.get("missing_keys", ()) if not k.endswith("position_ids"))
        if missing:
            raise CheckpointError(
                f"{path / 'model.safetensors'} lacks {len(missing)} weights of the model its config describes (e.g. "
                f"{', '.join(missing[:3])}), so they would be random"
            )
        text_cache_dir = path if text_cache else None
        return cls(model, tokenizer, source=str(path), precision=precision, text_cache_dir=text_cache_dir, **kwargs)

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
                pixels = torch.from_numpy(self.preprocess(images[start : start + self.batch_size])).to(self.device)
                rows.append(unit_rows(_features(self.model.get_image_features(pixel_values=pixels))))
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
                ).to(self.device)
                features = self.model.get_text_features(
                    input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
                )
                for text, row in zip(chunk, unit_rows(_features(features))):
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


def unit_rows(x: Any) -> np.ndarray:
    """float32 rows scaled to unit L2 norm (a zero row stays zero); ``x`` is an array or a torch tensor."""
    array = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, np.float64)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


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


def _features(output: Any) -> Any:
    """The projected embeddings from ``get_image_features``/``get_text_features``: transformers 5 returns a
    ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds them, transformers 4 the tensor itself."""
    return output if hasattr(output, "detach") else output.pooler_output


def _side(size: Any) -> int:
    """A config's image size (an int, or a pair of equal ints) as one int."""
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            raise ValueError(f"only square CLIP inputs are supported, got image_size {size}")
        size = size[0]
    return int(size)
