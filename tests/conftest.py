"""Shared fixtures: the real clips in ../shared/data (skipped cleanly where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing downloads during tests: huggingface_hub (used to resolve SAM2 checkpoints) treats the hub as offline.
os.environ["HF_HUB_OFFLINE"] = "1"

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip with a message when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test clips not found at {SHARED_DATA} (they live in ../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def davis_root(shared_data: Path) -> Path:
    root = shared_data / "davis"
    if not (root / "JPEGImages" / "480p").is_dir():
        pytest.skip(f"DAVIS clips not found under {root}")
    return root
