"""The on-disk text-embedding file: round trip, another model's file, damage, read-only folders, the size cap."""

from __future__ import annotations

import numpy as np
import pytest

from click2graph.semantics.text_cache import TextEmbeddingFile

MODEL = {"weights": [1234, 5678], "precision": "int8"}


def rows(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"a photo of thing {i}.": rng.normal(size=8).astype(np.float32) for i in range(n)}


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "texts.npz"
    saved = rows(3)
    assert TextEmbeddingFile(path, MODEL).save(saved)
    loaded = TextEmbeddingFile(path, dict(reversed(list(MODEL.items())))).load()  # key order does not matter
    assert loaded.keys() == saved.keys()
    for text, row in saved.items():
        np.testing.assert_array_equal(loaded[text], row)
    assert [p.name for p in path.parent.iterdir()] == ["texts.npz"]  # no temporary file left


def test_missing_file_and_another_models_file_give_nothing(tmp_path):
    path = tmp_path / "texts.npz"
    assert TextEmbeddingFile(path, MODEL).load() == {}
    TextEmbeddingFile(path, MODEL).save(rows(2))
    assert TextEmbeddingFile(path, {**MODEL, "precision": "fp32"}).load() == {}


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04broken"])
def test_damaged_file_is_ignored_and_replaced(tmp_path, content):
    path = tmp_path / "texts.npz"
    path.write_bytes(content)
    cache = TextEmbeddingFile(path, MODEL)
    assert cache.load() == {}
    assert cache.save(rows(2)) and len(cache.load()) == 2


def test_unwritable_target_keeps_memory_only_and_leaves_no_temporary_file(tmp_path):
    """A folder where the file should be: the rename over it fails for every user, root included (unlike a
    read-only folder), after the temporary file was written, so the clean-up path runs."""
    (tmp_path / "texts.npz").mkdir()
    cache = TextEmbeddingFile(tmp_path / "texts.npz", MODEL)
    assert cache.save(rows(2)) is False
    assert [p.name for p in tmp_path.iterdir()] == ["texts.npz"] and (tmp_path / "texts.npz").is_dir()
    assert cache.load() == {}


def test_a_path_that_cannot_be_a_folder_keeps_memory_only(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert TextEmbeddingFile(blocker / "texts.npz", MODEL).save(rows(2)) is False


def test_size_cap_keeps_the_first_rows(tmp_path):
    cache = TextEmbeddingFile(tmp_path / "texts.npz", MODEL, max_texts=2)
    saved = rows(5)
    cache.save(saved)
    assert list(cache.load()) == list(saved)[:2]
