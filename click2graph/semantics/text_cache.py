"""Text embeddings kept on disk, so prompts are embedded once per model and machine rather than once per process.

Embedding OpenPVSG's 126 class prompt sets takes ~6-12 s on a 2-core CPU, and every pair of labels adds 57
predicate prompts (~0.5-1 s); a CLI run is a new process each time. :class:`TextEmbeddingFile` is one ``.npz``
(texts + float32 rows + a fingerprint of the model that made them). A file whose fingerprint differs (other weights,
precision or library versions) is ignored and replaced; an unreadable one too; a folder that cannot be written
leaves the cache in memory only. Writes are atomic (a temporary file renamed over the old one), so two processes at
once lose at most the other's additions.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


class TextEmbeddingFile:
    """An on-disk map text -> float32 embedding row for one model.

    Args:
        path: the ``.npz`` file (created on the first ``save``).
        fingerprint: what identifies the model and its numerics; rows saved under another fingerprint are not used.
        max_texts: rows kept at most (the first ones saved win); ~2 KB each for 512-d embeddings.
    """

    def __init__(self, path: str | os.PathLike[str], fingerprint: Mapping[str, object], max_texts: int = 20000):
        self.path = Path(path)
        self.fingerprint = json.dumps(dict(fingerprint), sort_keys=True)
        self.max_texts = max_texts
        self._lock = threading.Lock()

    def load(self) -> dict[str, np.ndarray]:
        """The saved rows ({} when the file is missing, unreadable or from another model)."""
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["fingerprint"]) != self.fingerprint:
                    logger.info("%s was made by another model or version; it will be replaced", self.path)
                    return {}
                texts, rows = data["texts"], data["rows"].astype(np.float32)
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring the unreadable text-embedding cache %s: %s", self.path, exc)
            return {}
        if len(texts) != len(rows):
            return {}
        return {str(t): r for t, r in zip(texts, rows)}

    def save(self, rows: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> bool:
        """Write ``rows`` (at most ``max_texts``) atomically; False (and a log line) when the folder is read-only."""
        items = list(rows.items() if isinstance(rows, Mapping) else rows)[: self.max_texts]
        if not items:
            return False
        texts = np.array([t for t, _ in items], dtype=str)
        matrix = np.stack([np.asarray(r, np.float32) for _, r in items])
        tmp = None
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, texts=texts, rows=matrix, fingerprint=np.array(self.fingerprint))
                os.replace(tmp, self.path)
                return True
            except OSError as exc:
                logger.info("text embeddings stay in memory only (%s: %s)", self.path, exc)
                if tmp is not None:
                    Path(tmp).unlink(missing_ok=True)
                return False
