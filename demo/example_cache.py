"""A per-process cache of example results: the exports of the first build of an example with its preset click
(plain files, keyed by example, click, file and backend), so later visitors get the result at once."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

from click2graph.examples import Example
from click2graph.export import EXPORT_FILES
from click2graph.graph import SceneGraph

logger = logging.getLogger(__name__)


class ExampleCache:
    """Exports of example runs, stored as plain files under ``root/<key>/`` (names as in ``EXPORT_FILES``).

    The key covers the example's name, preset click, file size and mtime, and the backend description, so a
    changed clip or another backend never serves a stale result. Writes are atomic (a temporary folder renamed
    into place), so concurrent first builds of the same example are harmless.
    """

    def __init__(self, root: str | Path) -> None:
        # The demo keeps it in its per-process folder (demo.runtime): a restarted server (new code) never serves
        # results of an older version.
        self.root = Path(root)

    def key(self, example: Example, backend: str) -> str:
        stat = example.path.stat()
        text = json.dumps([example.name, example.click, stat.st_size, stat.st_mtime_ns, backend])
        return f"{example.name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"

    def load(self, example: Example, backend: str, out_dir: str | Path) -> tuple[SceneGraph, dict[str, Path]] | None:
        """Copy a cached result into ``out_dir`` and return ``(graph, {kind: path})``, or None on a miss."""
        cached = self.root / self.key(example, backend)
        if not all((cached / name).exists() for name in EXPORT_FILES.values()):
            return None
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {kind: Path(shutil.copy2(cached / name, out / name)) for kind, name in EXPORT_FILES.items()}
        logger.info("example %r served from the cache %s", example.name, cached)
        return SceneGraph.load_json(paths["graph"]), paths

    def store(self, example: Example, backend: str, paths: dict[str, Path]) -> None:
        """Keep copies of an example run's exports (``{kind: path}`` as returned by ``export_all``)."""
        target = self.root / self.key(example, backend)
        if target.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        for kind, name in EXPORT_FILES.items():
            shutil.copy2(paths[kind], staging / name)
        try:
            staging.rename(target)
        except OSError:  # another process or thread stored the same example first
            shutil.rmtree(staging, ignore_errors=True)
