"""The demo's temporary files: one folder per server process, removed at exit, and leftovers of earlier
processes (killed ones included) removed at start-up.

Everything the demo writes goes under it: visits' exports, the example cache and Gradio's own file cache
(``GRADIO_TEMP_DIR``, set by ``app.py`` before Gradio is imported). No gradio import here.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

PARENT = Path(tempfile.gettempdir()) / "click2graph-demo"
_run_dir: Path | None = None


def run_dir() -> Path:
    """This process's folder (created, with stale folders of dead processes removed, on the first call)."""
    global _run_dir
    if _run_dir is None:
        PARENT.mkdir(parents=True, exist_ok=True)
        remove_leftovers()
        _run_dir = PARENT / str(os.getpid())
        _run_dir.mkdir(exist_ok=True)
        atexit.register(shutil.rmtree, _run_dir, True)
    return _run_dir


def remove_leftovers(parent: Path = PARENT) -> list[Path]:
    """Remove folders of processes that no longer run; returns what was removed."""
    removed = []
    for folder in parent.iterdir() if parent.is_dir() else []:
        if folder.is_dir() and not (folder.name.isdigit() and _alive(int(folder.name))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        logger.info("removed %d temporary folders of earlier runs", len(removed))
    return removed


def exit_on_sigterm() -> None:
    """Turn SIGTERM (a stopped container, ``kill``) into a normal exit, so the folder is removed at exit."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
