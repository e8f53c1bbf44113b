"""CLIP embedder, zero-shot entity classifier, track-frame sampling and model-folder resolution (no downloads).

Every model here is a tiny randomly initialised CLIP (``clip_fixtures.tiny_clip()``: 2 layers, 32 px inputs)
with a generated tokenizer, so the tests check plumbing (shapes, batching, caching, crops, weighting, files), not
accuracy.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from app_process import run_app_once
from clip_fixtures import save_clip_folder, tiny_clip

from click2graph.bench.random_clip import write_tokenizer
from click2graph.errors import CheckpointError
from click2graph.graph import Entity
from click2graph.masks import rle_encode
from click2graph.semantics.base import EntityClassifier, EntityView
from click2graph.semantics.clip_embedder import CLIP_MEAN, CLIP_STD, ClipEmbedder, _features
from click2graph.semantics.clip_models import (
    CLIP_MODELS,
    DEFAULT_CLIP,
    download_clip,
    find_clip_spec,
    get_clip_spec,
    resolve_clip,
    validate_clip_dir,
)
from click2graph.semantics.embedder import ImageTextEmbedder, context_crop, masked_crop
from click2graph.semantics.entity_naming import ClipEntityClassifier, sample_track_frames
from click2graph.semantics.vocab import OPENPVSG

H, W, T = 48, 64, 8
SPEC = get_clip_spec(DEFAULT_CLIP)


@pytest.fixture(scope="module")
def tiny() -> ClipEmbedder:
    pytest.importorskip("transformers")
    return tiny_clip(seed=0, batch_size=4)


@pytest.fixture(scope="module")
def saved_dir(tiny, tmp_path_factory) -> Path:
    """The tiny model saved as a transformers folder (config.json, model.safetensors, tokenizer files)."""
    return save_clip_folder(tiny, tmp_path_factory.mktemp("clip") / SPEC.name)


@pytest.fixture
def model_copy(saved_dir, tmp_path) -> Path:
    """A fresh copy of the saved folder that a test may damage."""
    return Path(shutil.copytree(saved_dir, tmp_path / SPEC.name))


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Offline, and any hub call a test did not arrange fails it (a cached lookup finds nothing)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    huggingface_hub = pytest.importorskip("huggingface_hub")

    def snapshot_download(repo_id, *, local_files_only=False, **kwargs):
        if local_files_only:
            raise huggingface_hub.errors.LocalEntryNotFoundError(f"{repo_id} is not cached")
        raise AssertionError(f"a test tried to download {repo_id}")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return huggingface_hub


def frames_rgb(seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3) noise frames."""
    return np.random.default_rng(seed).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


def box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """bool (H, W), True on the half-open box."""
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def view(entity_id: int, masks: dict[int, np.ndarray]) -> EntityView:
    return EntityView(Entity(entity_id, "object", masks={t: rle_encode(m) for t, m in masks.items()}))


def random_images(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (int(rng.integers(1, 60)), int(rng.integers(1, 60)), 3), np.uint8) for _ in range(n)]


class FakeEmbedder:
    """A test double: an image's embedding encodes its mean colour and size, a text's its characters."""

    name = "fake"
    logit_scale = 10.0

    def __init__(self) -> None:
        self.image_calls: list[int] = []
        self.text_calls: list[list[str]] = []

    def embed_images(self, images):
        self.image_calls.append(len(images))
        rows = [[*img.reshape(-1, 3).mean(axis=0) / 255, img.shape[0] / 10, 1.0] for img in images]
        return unit(np.asarray(rows, np.float32).reshape(-1, 5))

    def embed_texts(self, texts):
        self.text_calls.append(list(texts))
        rows = [np.random.default_rng([ord(c) for c in text]).normal(size=5) for text in texts]
        return unit(np.asarray(rows, np.float32).reshape(-1, 5))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


# --- embedder ---------------------------------------------------------------------------------------------------


def test_embed_images_are_unit_float32_rows(tiny):
    out = tiny.embed_images(random_images(7) + [np.zeros((1, 1, 3), np.uint8), np.full((5, 90), 200, np.uint8)])
    assert out.shape == (9, tiny.dim) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert tiny.embed_images([]).shape == (0, tiny.dim)
    assert isinstance(tiny, ImageTextEmbedder) and tiny.name == "clip"


def test_batching_gives_the_same_embeddings_as_one_by_one(tiny, monkeypatch):
    images = random_images(7, seed=2)
    monkeypatch.setattr(tiny, "batch_size", 3)
    batched = tiny.embed_images(images)
    single = np.concatenate([tiny.embed_images([image]) for image in images])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_preprocessing_matches_clip_image_processor(tiny):
    module = pytest.importorskip("transformers.models.clip.image_processing_pil_clip")
    side = tiny.image_size
    processor = module.CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    # (1, 1) is left out: transformers guesses its channel axis wrongly.
    for image in random_images(6, seed=3) + [np.random.default_rng(4).integers(0, 256, (97, 31, 3), np.uint8)]:
        if min(image.shape[:2]) < 2:
            continue
        expected = processor(images=[image], return_tensors="np")["pixel_values"]
        np.testing.assert_allclose(tiny.preprocess([image]), expected, atol=1e-5)
    assert processor.image_mean == pytest.approx(CLIP_MEAN) and processor.image_std == pytest.approx(CLIP_STD)


def test_embed_texts_are_unit_rows_and_cached(tiny, monkeypatch):
    calls = []
    original = tiny.model.get_text_features

    def counting(**kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return original(**kwargs)

    monkeypatch.setattr(tiny.model, "get_text_features", counting)
    texts = ["a photo of a ballon.", "Ünïcödé café 😀 fire_extinguisher", "", "word " * 200]
    first = tiny.embed_texts(texts + texts[:1])  # a repeated text is encoded once
    assert first.shape == (5, tiny.dim) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first[0], first[4])
    assert calls == [4]
    again = tiny.embed_texts(texts[::-1])
    assert calls == [4]  # all cached
    np.testing.assert_array_equal(again, first[:4][::-1])
    assert tiny.embed_texts([]).shape == (0, tiny.dim)


def test_logit_scale_is_exp_of_the_model_parameter(tiny):
    assert tiny.logit_scale == pytest.approx(float(tiny.model.logit_scale.detach().exp()))


def test_features_accepts_a_tensor_or_a_model_output(tiny):
    torch = pytest.importorskip("torch")
    pixels = torch.from_numpy(tiny.preprocess(random_images(2)))
    with torch.inference_mode():
        output = tiny.model.get_image_features(pixel_values=pixels)  # transformers 5: a BaseModelOutputWithPooling
        tensor = output if isinstance(output, torch.Tensor) else output.pooler_output
    assert tensor.shape == (2, tiny.dim)
    assert _features(output) is tensor and _features(tensor) is tensor


def test_generated_tokenizer_reads_any_text(tmp_path):
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.CLIPTokenizer.from_pretrained(write_tokenizer(tmp_path))
    ids = tokenizer(["The ballon, 42 × Ünïcödé 😀!"])["input_ids"][0]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids[1:-1]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[1:3] == ["the</w>", "ballon</w>"]  # vocabulary words are one token each
    assert {"4</w>", "2</w>", "n", "c"} <= set(tokens)  # other text falls back to single characters


# --- model folders ----------------------------------------------------------------------------------------------


def test_saved_model_round_trips_with_identical_embeddings(tiny, saved_dir):
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in saved_dir.iterdir()}
    loaded = ClipEmbedder.from_pretrained_dir(saved_dir, batch_size=tiny.batch_size, precision="fp32")
    images, texts = random_images(5, seed=5), ["a photo of a dog.", "a cropped photo of a vaccum."]
    np.testing.assert_allclose(loaded.embed_images(images), tiny.embed_images(images), atol=1e-6)
    np.testing.assert_allclose(loaded.embed_texts(texts), tiny.embed_texts(texts), atol=1e-6)
    assert loaded.logit_scale == pytest.approx(tiny.logit_scale)


def test_loaded_model_runs_int8_by_default_close_to_float32(tiny, saved_dir):
    import torch

    loaded = ClipEmbedder.from_pretrained_dir(saved_dir, batch_size=tiny.batch_size, text_cache=False)
    assert loaded.precision == "int8"
    assert any("quantized" in type(m).__module__ for m in loaded.model.modules())
    assert not any(type(m) is torch.nn.Linear for m in loaded.model.modules())
    images, texts = random_images(6, seed=6), ["a photo of a dog.", "a photo of a cat on the floor."]
    image_cos = (loaded.embed_images(images) * tiny.embed_images(images)).sum(axis=1)
    text_cos = (loaded.embed_texts(texts) * tiny.embed_texts(texts)).sum(axis=1)
    assert image_cos.min() > 0.95 and text_cos.min() > 0.95  # tiny random model; ~0.999 at ViT-B/32 size


def test_int8_falls_back_to_float32_when_torch_drops_dynamic_quantization(saved_dir, monkeypatch):
    import torch

    monkeypatch.delattr(torch.ao.quantization, "quantize_dynamic")
    loaded = ClipEmbedder.from_pretrained_dir(saved_dir, text_cache=False)
    assert loaded.precision == "fp32" and any(type(m) is torch.nn.Linear for m in loaded.model.modules())


def test_text_embeddings_persist_next_to_the_model(model_copy, monkeypatch):
    texts = ["a photo of a dog.", "a photo of a cup."]
    first = ClipEmbedder.from_pretrained_dir(model_copy)
    expected = first.embed_texts(texts)
    assert (model_copy / "click2graph_text_int8.npz").is_file()

    second = ClipEmbedder.from_pretrained_dir(model_copy)

    def no_text_model(**kwargs):
        raise AssertionError("the text model ran for a text already on disk")

    monkeypatch.setattr(second.model, "get_text_features", no_text_model)
    np.testing.assert_array_equal(second.embed_texts(texts), expected)
    with pytest.raises(AssertionError, match="already on disk"):
        second.embed_texts(["a photo of a new word."])
    # Other numerics do not share the file: fp32 keeps its own.
    ClipEmbedder.from_pretrained_dir(model_copy, precision="fp32").embed_texts(texts[:1])
    assert (model_copy / "click2graph_text_fp32.npz").is_file()


def truncate(folder: Path) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1000])


def mismatch_config(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["projection_dim"] = 24
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (truncate, "truncated"),  # an interrupted download
        (lambda d: (d / "model.safetensors").write_bytes(b""), "empty"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64), "corrupt or not a safetensors"),
        (lambda d: (d / "config.json").unlink(), "missing config.json"),
        (lambda d: (d / "tokenizer.json").unlink(), "missing tokenizer.json"),
        (lambda d: (d / "config.json").write_text("{not json"), "not readable JSON"),
        (lambda d: (d / "config.json").write_text('{"model_type": "siglip"}'), "not a CLIP config"),
        (mismatch_config, "does not match config.json"),
    ],
)
def test_damaged_folder_raises_checkpoint_error(model_copy, damage, message):
    damage(model_copy)
    with pytest.raises(CheckpointError, match=message):
        validate_clip_dir(model_copy, SPEC)
    with pytest.raises(CheckpointError, match=message):
        ClipEmbedder.from_pretrained_dir(model_copy)
    with pytest.raises(CheckpointError, match=message):
        resolve_clip(SPEC.name, weights_dir=model_copy.parent)


def test_missing_model_names_every_place_looked(tmp_path):
    with pytest.raises(CheckpointError) as info:
        resolve_clip(DEFAULT_CLIP, weights_dir=tmp_path)
    text = str(info.value)
    for part in (str(tmp_path / SPEC.name), "hub cache", SPEC.hub_id, "HF_HUB_OFFLINE", "weights download"):
        assert part in text
    with pytest.raises(CheckpointError, match="downloading was not allowed"):
        resolve_clip(DEFAULT_CLIP, weights_dir=tmp_path, allow_download=False, offline=False)
    with pytest.raises(CheckpointError, match="vit-b-32-openai"):
        resolve_clip("no-such-model", weights_dir=tmp_path)


def test_resolution_order(saved_dir, tmp_path, no_downloads, monkeypatch):
    assert resolve_clip(saved_dir).source == "path"
    assert resolve_clip("laion", weights_dir=saved_dir.parent).source == "weights_dir"

    incomplete = tmp_path / "snapshot-incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    cached = {"folder": incomplete}
    downloads = []

    def snapshot_download(repo_id, *, local_files_only=False, **kwargs):
        assert repo_id == SPEC.hub_id and "model.safetensors" in kwargs["allow_patterns"]
        if local_files_only:
            return str(cached["folder"])
        downloads.append(repo_id)
        return str(saved_dir)

    monkeypatch.setattr(no_downloads, "snapshot_download", snapshot_download)
    empty = tmp_path / "empty"
    with pytest.raises(CheckpointError, match="snapshot-incomplete is incomplete"):  # a partial snapshot is not used
        resolve_clip(DEFAULT_CLIP, weights_dir=empty)
    assert resolve_clip(DEFAULT_CLIP, weights_dir=empty, offline=False).source == "hub_download"
    assert downloads == [SPEC.hub_id]
    cached["folder"] = saved_dir
    assert resolve_clip(DEFAULT_CLIP, weights_dir=empty).source == "hub_cache"


def test_download_clip(saved_dir, tmp_path, no_downloads, monkeypatch):
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE"):
        download_clip(DEFAULT_CLIP, tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def snapshot_download(repo_id, *, local_dir, allow_patterns, **kwargs):
        for path in saved_dir.iterdir():
            shutil.copy(path, Path(local_dir) / path.name)
        return str(local_dir)

    monkeypatch.setattr(no_downloads, "snapshot_download", snapshot_download)
    folder, downloaded = download_clip("laion", tmp_path)
    assert (folder, downloaded) == (tmp_path / SPEC.name, True)
    assert (folder / ".gitignore").read_text() == "*\n"
    assert download_clip("laion", tmp_path) == (folder, False)  # kept
    assert resolve_clip("laion", weights_dir=tmp_path).source == "weights_dir"


def test_model_table():
    assert [s.hub_id for s in CLIP_MODELS] == ["laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "openai/clip-vit-base-patch32"]
    assert find_clip_spec("OpenAI/clip-vit-base-patch32").name == "vit-b-32-openai"
    assert find_clip_spec("nope") is None


# --- track frames -----------------------------------------------------------------------------------------------


def test_sample_track_frames_spreads_over_time_and_prefers_large_masks():
    # Present on frames 0-11 (thirds: 0-3, 4-7, 8-11); the largest mask of each third is on frames 2, 4 and 11.
    sizes = {t: 4 for t in range(12)} | {2: 9, 4: 12, 6: 10, 11: 8}
    v = view(1, {t: box(0, 0, s, s) for t, s in sizes.items()} | {12: np.zeros((H, W), bool)})
    assert sample_track_frames(v, 3) == [2, 4, 11]
    assert sample_track_frames(v, 1) == [4]
    assert sample_track_frames(v, 3, num_frames=8) == [2, 4, 6]  # frames beyond the video are not candidates
    assert sample_track_frames(v, 20) == list(range(12))
    assert sample_track_frames(view(2, {0: np.zeros((H, W), bool)}), 3) == []
    assert v.decoded == 0  # areas come from the RLE


# --- classifier -------------------------------------------------------------------------------------------------


def top_labels(classifier, view, frames, k=5) -> list[tuple[str, float]]:
    """The entity's best ``k`` labels as the semantic step ranks them; [] when it has no mask on ``frames``."""
    embedding = classifier.entity_embedding(view, frames)
    if embedding is None:
        return []
    row = classifier.probabilities(embedding[None])[0]
    return [(classifier.labels[j], float(row[j])) for j in np.argsort(-row, kind="stable")[:k]]


def test_probabilities_rank_the_labels_of_an_entity(tiny):
    classifier = ClipEntityClassifier(tiny)
    assert isinstance(classifier, EntityClassifier) and classifier.labels == OPENPVSG.classes
    frames = frames_rgb()
    v = view(1, {t: box(10 + t, 8, 40 + t, 40) for t in range(T)})
    top = top_labels(classifier, v, frames)
    assert len(top) == 5 and all(label in OPENPVSG.classes for label, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    full = classifier.probabilities(classifier.entity_embedding(v, frames)[None])[0]
    assert full.sum() == pytest.approx(1.0, abs=1e-5)
    assert probs == pytest.approx(sorted(full, reverse=True)[:5], abs=1e-6)


def test_user_vocabulary_and_prompts(tiny):
    classifier = ClipEntityClassifier(tiny, labels=["red ball", "blue_cup", "dog", "dog"], frames_per_entity=2)
    assert classifier.labels == ("red ball", "blue_cup", "dog")
    top = top_labels(classifier, view(1, {0: box(5, 5, 30, 30), 3: box(6, 6, 31, 31)}), frames_rgb())
    assert sorted(label for label, _ in top) == ["blue_cup", "dog", "red ball"]
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-5)
    assert classifier.prompts("blue_cup")[0] == "a photo of a blue cup."
    openpvsg = ClipEntityClassifier(tiny)
    assert openpvsg.prompts("ballon")[0] == "a photo of a balloon." and "ballon" in openpvsg.labels


def test_absent_entity_gets_nothing(tiny):
    classifier = ClipEntityClassifier(tiny)
    frames = frames_rgb()
    assert top_labels(classifier, view(1, {}), frames) == []
    assert top_labels(classifier, view(2, {0: np.zeros((H, W), bool)}), frames) == []
    assert top_labels(classifier, view(3, {T + 5: box(0, 0, 9, 9)}), frames) == []  # only beyond the frames
    assert classifier.entity_embedding(view(4, {}), frames) is None


def test_entity_embeddings_batch_all_crops_and_match_one_by_one(tiny, monkeypatch):
    classifier = ClipEntityClassifier(tiny, labels=OPENPVSG.classes[:20])
    frames = frames_rgb(1)
    views = [
        view(1, {t: box(2, 2, 30, 40) for t in range(T)}),
        view(2, {}),
        view(3, {t: box(35, 10, 60, 30) for t in range(2, 5)}),
    ]
    single = {v.entity_id: classifier.entity_embedding(v, frames) for v in views}
    calls = []
    original = tiny.embed_images
    monkeypatch.setattr(tiny, "embed_images", lambda images: calls.append(len(images)) or original(images))
    many = classifier.entity_embeddings(views, frames)
    assert calls == [12]  # 3 frames x 2 crops for each present entity, in one call
    assert many.keys() == single.keys() and many[2] is None
    for eid in (1, 3):
        np.testing.assert_allclose(many[eid], single[eid], atol=1e-5)


def test_entity_embedding_is_the_weighted_mean_of_its_crops():
    fake = FakeEmbedder()
    frames = frames_rgb(2)
    v = view(1, {t: box(4 + 2 * t, 6, 20 + 3 * t, 30) for t in range(T)})
    picked = sample_track_frames(v, 3)
    masked = fake.embed_images([masked_crop(frames[t], v.entity.mask(t)) for t in picked])
    context = fake.embed_images([context_crop(frames[t], v.entity.mask(t)) for t in picked])
    fake.image_calls.clear()

    default = ClipEntityClassifier(fake, labels=["a", "b"])
    expected = unit((0.6 * masked + 0.4 * context).sum(axis=0))
    np.testing.assert_allclose(default.entity_embedding(v, frames), expected, atol=1e-6)
    masked_only = ClipEntityClassifier(fake, labels=["a", "b"], masked_weight=1.0)
    np.testing.assert_allclose(masked_only.entity_embedding(v, frames), unit(masked.sum(axis=0)), atol=1e-6)
    assert fake.image_calls == [6, 3]  # context crops are not embedded when their weight is 0


def test_label_embeddings_are_prompt_ensembles_computed_once():
    fake = FakeEmbedder()
    templates = ("a photo of a {}.", "a {} in a video.")
    classifier = ClipEntityClassifier(fake, labels=["ballon", "fire_truck"], templates=templates)
    frames, v = frames_rgb(), view(1, {0: box(0, 0, 20, 20)})
    top_labels(classifier, v, frames)
    top_labels(classifier, v, frames)
    assert fake.text_calls == [
        ["a photo of a balloon.", "a balloon in a video.", "a photo of a fire truck.", "a fire truck in a video."]
    ]
    per_prompt = fake.embed_texts(fake.text_calls[0]).reshape(2, 2, -1)
    np.testing.assert_allclose(classifier.label_embeddings(), unit(per_prompt.mean(axis=1)), atol=1e-6)


def test_mask_of_another_size_is_an_error(tiny):
    classifier = ClipEntityClassifier(tiny)
    wrong = EntityView(Entity(1, "object", masks={0: rle_encode(np.ones((10, 10), bool))}))
    with pytest.raises(ValueError, match="working resolution"):
        classifier.entity_embedding(wrong, frames_rgb())


def test_class_prompts_are_embedded_once_when_two_threads_ask(tiny):
    """The app's warm-up thread and a first request may ask at the same time: one computes, the other waits."""
    import threading
    import time

    calls = []

    class SlowEmbedder:
        logit_scale = tiny.logit_scale

        def embed_texts(self, texts):
            calls.append(len(texts))
            time.sleep(0.2)
            return tiny.embed_texts(texts)

    classifier = ClipEntityClassifier(SlowEmbedder(), labels=["cat", "dog"])
    results = []
    threads = [threading.Thread(target=lambda: results.append(classifier.label_embeddings())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 2 and results[0] is results[1]


def test_the_app_names_entities_with_a_clip_model_from_the_environment(saved_dir, tmp_path):
    """The app's module-level semantics come from the environment: a fresh process with CLICK2GRAPH_CLIP."""
    printed = run_app_once(tmp_path, {"CLICK2GRAPH_CLIP": str(saved_dir), "CLICK2GRAPH_BACKEND": "classic"}, frames=6)
    assert "CLIP int8 labels (OpenPVSG classes) and zero-shot predicates" in printed
    entities = [line.split(" ", 4) for line in printed.splitlines() if line.startswith("entity ")]
    assert entities and all(source == "model" and top5 == "5" for _, _, source, _, top5 in entities)
    assert all(ast.literal_eval(label) in OPENPVSG.classes for _, _, _, label, _ in entities)
