"""What the repository may hold: its own sources, small media and docs; never an environment, a checkpoint, a large
file or a link out of the checkout (an ignore rule written for a directory, ``.venv/``, does not match a link named
``.venv`` to a shared environment, which ``git add -A`` then takes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 5 * 2**20  # "videos larger than a few MB" stay out
CHECKPOINT_SUFFIXES = {".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".onnx"}


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_the_repository_tracks_no_environment_checkpoint_large_file_or_outward_link():
    tracked = _tracked()
    assert tracked, "git lists no file"
    environments = [p for p in tracked if p.relative_to(ROOT).parts[0] in {".venv", "venv", "env", "shared"}]
    checkpoints = [p for p in tracked if p.suffix in CHECKPOINT_SUFFIXES]
    links_out = [p for p in tracked if p.is_symlink() and ROOT not in p.resolve().parents]
    large = [p for p in tracked if p.is_file() and not p.is_symlink() and p.stat().st_size > MAX_BYTES]
    assert not environments and not checkpoints and not links_out and not large, (
        environments,
        checkpoints,
        links_out,
        large,
    )
