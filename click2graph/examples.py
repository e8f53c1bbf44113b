"""Example clips for the demo and a lazy, per-process cache of their results.

Examples come from the bundled ``examples/`` folder (``manifest.json`` with a preset click per clip) plus any
folders named in the environment variable ``CLICK2GRAPH_EXAMPLES_DIR`` (``os.pathsep``-separated). A folder's
``manifest.json`` is optional: without it every video file in the folder is an example with no preset click.

:class:`ExampleCache` stores the exports of the first build of an example with its preset click (plain files,
keyed by example, click, file and backend), so later visitors get the result at once without tracking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from click2graph.export import EXPORT_FILES
from click2graph.graph import SceneGraph
from click2graph.prompts import Click

logger = logging.getLogger(__name__)

EXAMPLES_ENV = "CLICK2GRAPH_EXAMPLES_DIR"
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "examples"
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v")


@dataclass(frozen=True)
class Example:
    """One example clip. ``click`` is ``(x, y, frame)`` in original pixels and original frame index, or None."""

    name: str
    path: Path
    title: str = ""
    description: str = ""
    click: tuple[float, float, int] | None = None

    @property
    def prompts(self) -> list[Click]:
        """The preset prompt as a list (empty when the example has no preset click)."""
        if self.click is None:
            return []
        x, y, frame_idx = self.click
        return [Click(x, y, frame_idx=int(frame_idx))]


def example_folders() -> list[Path]:
    """The bundled folder, then every folder named in ``CLICK2GRAPH_EXAMPLES_DIR``."""
    extra = [Path(p).expanduser() for p in os.environ.get(EXAMPLES_ENV, "").split(os.pathsep) if p.strip()]
    return [BUNDLED_DIR, *extra]


def load_examples(folders: Iterable[str | Path] | None = None) -> list[Example]:
    """All examples of ``folders`` (default :func:`example_folders`); on a repeated name the first one wins."""
    examples: dict[str, Example] = {}
    for folder in example_folders() if folders is None else map(Path, folders):
        for example in examples_in(folder):
            if example.name in examples:
                logger.warning("example %r in %s ignored: the name is already taken", example.name, folder)
                continue
            examples[example.name] = example
    return list(examples.values())


def examples_in(folder: str | Path) -> list[Example]:
    """Examples of one folder: its ``manifest.json`` entries, or else its video files (no preset click)."""
    folder = Path(folder)
    if not folder.is_dir():
        logger.warning("examples folder %s does not exist; skipped", folder)
        return []
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return [Example(name=p.stem, path=p) for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES]
    examples = []
    for entry in json.loads(manifest.read_text()):
        click = entry.get("click")
        examples.append(
            Example(
                name=entry["name"],
                path=folder / entry["file"],
                title=entry.get("title", ""),
                description=entry.get("description", ""),
                click=(float(click[0]), float(click[1]), int(click[2]) if len(click) > 2 else 0) if click else None,
            )
        )
    return examples


class ExampleCache:
    """Exports of example runs, stored as plain files under ``root/<key>/`` (names as in ``EXPORT_FILES``).

    The key covers the example's name, preset click, file size and mtime, and the backend description, so a
    changed clip or another backend never serves a stale result. Writes are atomic (a temporary folder renamed
    into place), so concurrent first builds of the same example are harmless.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        # By default the cache lives as long as the process: a restarted server (new code) never serves results
        # of an older version, and the folder is removed at exit.
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="click2graph-example-cache-")
        self.root = Path(root) if root else Path(self._tmp.name)

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
