"""Example clips: the bundled ones and a deployment's own, with their preset clicks.

Examples come from the bundled ``examples/`` folder (``manifest.json`` with a preset click per clip) plus any
folders named in the environment variable ``CLICK2GRAPH_EXAMPLES_DIR`` (``os.pathsep``-separated). A folder's
``manifest.json`` is optional: without it every video file in the folder is an example with no preset click.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
    thumbnail: Path | None = None  # a small image of the clip (the first frame with the preset click)
    credit: str = ""  # where the clip comes from (its licence)

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
                thumbnail=folder / entry["thumbnail"] if entry.get("thumbnail") else None,
                credit=entry.get("credit", ""),
            )
        )
    return examples
