"""Checkpoint table, resolution order, downloads (never real ones) and validation of fake SAM 2.1 checkpoints.

The fake checkpoints carry only the keys the validator reads, with the real names and shapes; building real SAM2
models belongs to the SAM2 backend's tests.
"""

from __future__ import annotations

import random
import sys
import zipfile
from pathlib import Path

import pytest

from click2graph.cli import main
from click2graph.errors import CheckpointError
from click2graph.segment.sam2_checkpoints import (
    CHECKPOINTS,
    download_checkpoint,
    find_spec,
    get_spec,
    identify_checkpoint,
    resolve_checkpoint,
    validate_checkpoint,
)
from click2graph.weights import WEIGHTS_DIR

TINY = get_spec("tiny")


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Offline by default, and any real hub download fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    try:
        import huggingface_hub
    except ImportError:
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to download {args} {kwargs}")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


@pytest.fixture
def hub(monkeypatch):
    """huggingface_hub with an empty cache: lookups find nothing unless a test patches them."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo_id, filename: None)
    return huggingface_hub


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not read by the resolver")
    return path


def fake_state_dict(torch, embed_dim: int, blocks: int, *, sam21: bool = True) -> dict:
    """The keys the validator reads, named and shaped as in a real SAM2 checkpoint (values are zeros)."""
    state = {"image_encoder.trunk.patch_embed.proj.weight": torch.zeros(embed_dim, 3, 7, 7)}
    for i in range(blocks):
        state[f"image_encoder.trunk.blocks.{i}.norm1.weight"] = torch.zeros(1)
    state["sam_mask_decoder.iou_token.weight"] = torch.zeros(1, 256)
    if sam21:
        state["no_obj_embed_spatial"] = torch.zeros(1, 64)
        state["obj_ptr_tpos_proj.weight"] = torch.zeros(256, 256)
    return state


def save_checkpoint(torch, path: Path, embed_dim: int, blocks: int, *, sam21: bool = True) -> Path:
    torch.save({"model": fake_state_dict(torch, embed_dim, blocks, sam21=sam21)}, path)
    return path


# --- the table ---------------------------------------------------------------------------------------------------


def test_table_matches_sam2_build_sam():
    """Hub ids, file names and configs as in facebookresearch/sam2:sam2/build_sam.py HF_MODEL_ID_TO_FILENAMES."""
    assert {s.hub_id: (s.config, s.filename) for s in CHECKPOINTS} == {
        "facebook/sam2.1-hiera-tiny": ("configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_tiny.pt"),
        "facebook/sam2.1-hiera-small": ("configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_small.pt"),
        "facebook/sam2.1-hiera-base-plus": ("configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_base_plus.pt"),
        "facebook/sam2.1-hiera-large": ("configs/sam2.1/sam2.1_hiera_l.yaml", "sam2.1_hiera_large.pt"),
    }
    # the mismatch check needs every size to differ in (channels, blocks)
    assert len({(s.trunk_embed_dim, s.trunk_blocks) for s in CHECKPOINTS}) == len(CHECKPOINTS)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("tiny", "tiny"),
        ("base+", "base_plus"),  # the README's spelling
        ("Base-Plus", "base_plus"),  # hub spelling, any case
        ("facebook/sam2.1-hiera-large", "large"),  # hub id
        ("sam2.1_hiera_small.pt", "small"),  # file name
        ("medium", None),
        ("sam2_hiera_tiny.pt", None),  # SAM 2.0 file: not supported
    ],
)
def test_find_spec(name, expected):
    spec = find_spec(name)
    assert (spec.name if spec else None) == expected


def test_get_spec_lists_the_known_names():
    with pytest.raises(CheckpointError, match="tiny, small, base_plus, large"):
        get_spec("medium")


# --- resolution order --------------------------------------------------------------------------------------------


def test_explicit_path_beats_weights_dir(tmp_path, hub):
    given = touch(tmp_path / "mine" / TINY.filename)
    touch(tmp_path / "weights" / TINY.filename)
    found = resolve_checkpoint(given, weights_dir=tmp_path / "weights", allow_download=False)
    assert (found.source, found.path, found.spec) == ("path", given, TINY)


def test_weights_dir_beats_hub_cache(tmp_path, hub, monkeypatch):
    local = touch(tmp_path / "weights" / TINY.filename)
    cached = touch(tmp_path / "cache" / TINY.filename)
    monkeypatch.setattr(hub, "try_to_load_from_cache", lambda repo_id, filename: str(cached))
    found = resolve_checkpoint("tiny", weights_dir=tmp_path / "weights", allow_download=False)
    assert (found.source, found.path) == ("weights_dir", local)


def test_hub_cache_when_weights_dir_lacks_the_file(tmp_path, monkeypatch):
    """A real hub-cache layout (models--org--name/refs/main + snapshots/<commit>/file), read by huggingface_hub."""
    hub = pytest.importorskip("huggingface_hub")
    snapshot = tmp_path / "hub" / "models--facebook--sam2.1-hiera-base-plus" / "snapshots" / "abc123"
    cached = touch(snapshot / "sam2.1_hiera_base_plus.pt")
    touch(tmp_path / "hub" / "models--facebook--sam2.1-hiera-base-plus" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    found = resolve_checkpoint("base+", weights_dir=tmp_path / "weights", allow_download=False)
    assert (found.source, found.path, found.spec.name) == ("hub_cache", cached, "base_plus")


def test_nothing_found_says_where_it_looked_and_how_to_fetch(tmp_path, hub):
    with pytest.raises(CheckpointError) as error:
        resolve_checkpoint("tiny", weights_dir=tmp_path / "weights", allow_download=False)
    message = str(error.value)
    assert str(tmp_path / "weights" / TINY.filename) in message
    assert "facebook/sam2.1-hiera-tiny" in message and "hub cache" in message
    assert f"python -m click2graph weights download tiny --dir {tmp_path / 'weights'}" in message
    assert "\n" not in message  # the CLI prints errors on one line


def test_default_weights_dir_hint_has_no_dir_flag(hub):
    if (WEIGHTS_DIR / TINY.filename).is_file():
        pytest.skip("a real tiny checkpoint is in weights/")
    with pytest.raises(CheckpointError, match=r"`python -m click2graph weights download tiny` \(needs internet\)"):
        resolve_checkpoint("tiny", allow_download=False)


@pytest.mark.parametrize("offline", [None, True])  # from HF_HUB_OFFLINE (set by no_downloads), or given
def test_no_download_when_offline(tmp_path, hub, offline):
    with pytest.raises(CheckpointError, match="offline"):
        resolve_checkpoint("small", weights_dir=tmp_path, offline=offline)  # the refusing fake was not called


def test_download_when_online(tmp_path, hub, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    fetched = touch(tmp_path / "cache" / TINY.filename)
    calls = []
    monkeypatch.setattr(hub, "hf_hub_download", lambda **kw: calls.append(kw) or str(fetched))
    found = resolve_checkpoint("tiny", weights_dir=tmp_path / "weights")
    assert (found.source, found.path) == ("hub_download", fetched)
    assert calls == [{"repo_id": TINY.hub_id, "filename": TINY.filename, "local_dir": None}]


def test_network_error_counts_as_offline(tmp_path, hub, monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError

    def no_network(**kwargs):
        raise LocalEntryNotFoundError("An error happened while trying to locate the file on the Hub.\nmore text")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hub, "hf_hub_download", no_network)
    with pytest.raises(CheckpointError, match="could not download .* locate the file on the Hub.*weights download"):
        resolve_checkpoint("tiny", weights_dir=tmp_path)


@pytest.mark.parametrize(
    "name_or_path, message",
    [
        ("medium", "neither an existing file nor a known SAM 2.1 checkpoint"),
        ("no/such/file.pt", "neither an existing file"),
    ],
)
def test_unknown_name_or_missing_path(name_or_path, message, hub):
    with pytest.raises(CheckpointError, match=message):
        resolve_checkpoint(name_or_path, allow_download=False)


# --- the download helper -----------------------------------------------------------------------------------------


def test_download_refused_offline(tmp_path):
    with pytest.raises(CheckpointError, match="offline mode .*dl.fbaipublicfiles.com.*sam2.1_hiera_large.pt"):
        download_checkpoint("large", tmp_path)


def test_download_keeps_a_file_already_there(tmp_path):
    existing = touch(tmp_path / TINY.filename)
    assert download_checkpoint("tiny", tmp_path) == (existing, False)


def test_download_into_the_folder(tmp_path, hub, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    calls = []
    monkeypatch.setattr(hub, "hf_hub_download", lambda **kw: calls.append(kw) or str(touch(tmp_path / "w" / "f")))
    assert download_checkpoint("base+", tmp_path / "w") == (tmp_path / "w" / "f", True)
    assert calls == [
        {
            "repo_id": "facebook/sam2.1-hiera-base-plus",
            "filename": "sam2.1_hiera_base_plus.pt",
            "local_dir": tmp_path / "w",
        }
    ]


def test_cli_list_shows_where_each_is_found_and_checks_it(tmp_path, hub, torch, capsys):
    """A file that is there but corrupt, or of another size, is listed as unusable with the reason, never found."""
    found = save_checkpoint(torch, tmp_path / "sam2.1_hiera_small.pt", 96, 16)
    touch(tmp_path / "sam2.1_hiera_tiny.pt")
    save_checkpoint(torch, tmp_path / "sam2.1_hiera_large.pt", 96, 12)  # holds tiny
    assert main(["weights", "list", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    from click2graph.semantics.clip_models import CLIP_MODELS

    assert len(lines) == 1 + len(CHECKPOINTS) + len(CLIP_MODELS)
    assert lines[2].startswith("small") and lines[2].endswith(f"{found} (weights_dir)")
    assert lines[1].startswith("tiny") and "unusable (weights_dir)" in lines[1] and "corrupt" in lines[1]
    assert lines[3].endswith("not found")
    assert lines[4].startswith("large") and "unusable" in lines[4] and "holds tiny" in lines[4]
    assert lines[-1].startswith(CLIP_MODELS[-1].name) and lines[-1].endswith("not found")


def test_cli_download_offline_is_one_line_error(tmp_path, capsys):
    assert main(["weights", "download", "tiny", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download sam2.1_hiera_tiny.pt") and err.count("\n") == 1


def test_cli_download_checks_the_file(tmp_path, torch, capsys):
    save_checkpoint(torch, tmp_path / TINY.filename, 96, 12)
    assert main(["weights", "download", "tiny", "--dir", str(tmp_path)]) == 0
    assert "checked: SAM 2.1 hiera-tiny" in capsys.readouterr().out


# --- validation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", CHECKPOINTS, ids=lambda s: s.name)
def test_valid_fake_checkpoint_is_accepted(spec, tmp_path, torch):
    path = save_checkpoint(torch, tmp_path / spec.filename, spec.trunk_embed_dim, spec.trunk_blocks)
    validate_checkpoint(path, spec)
    assert identify_checkpoint(path) == spec


def test_legacy_torch_format_is_read_too(tmp_path, torch):
    """Files from torch.save(_use_new_zipfile_serialization=False) cannot be memory-mapped: read them plainly."""
    path = tmp_path / "old.pt"
    torch.save({"model": fake_state_dict(torch, 96, 12)}, path, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(path)  # the plain (not memory-mapped) read is the one under test
    validate_checkpoint(path, TINY)
    assert identify_checkpoint(path) == TINY
    with pytest.raises(CheckpointError, match=r"holds tiny .*, not small"):  # its shapes are read, not only its format
        validate_checkpoint(path, next(s for s in CHECKPOINTS if s.name == "small"))


def test_explicit_path_with_any_name_is_identified_by_its_shapes(tmp_path, torch, hub):
    path = save_checkpoint(torch, tmp_path / "my_finetune.pt", 112, 24)
    found = resolve_checkpoint(path, allow_download=False)
    assert (found.source, found.spec.name) == ("path", "base_plus")


def write_bad(kind: str, path: Path, torch) -> None:
    """Write one kind of broken checkpoint to ``path``."""
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(random.Random(0).randbytes(4096))
    elif kind.startswith("cut"):  # "cut N": the last N bytes missing, as after an interrupted download
        save_checkpoint(torch, path, 96, 12)
        path.write_bytes(path.read_bytes()[: -int(kind.split()[1])])
    elif kind == "bare state dict":
        torch.save(fake_state_dict(torch, 96, 12), path)
    elif kind == "no model key":
        torch.save({"state_dict": fake_state_dict(torch, 96, 12)}, path)
    elif kind == "not sam2":
        torch.save({"model": {"backbone.conv1.weight": torch.zeros(64, 3, 7, 7)}}, path)
    elif kind == "small for tiny":
        save_checkpoint(torch, path, 96, 16)
    elif kind == "unknown size":
        save_checkpoint(torch, path, 128, 20)
    elif kind == "sam 2.0":
        save_checkpoint(torch, path, 96, 12, sam21=False)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("missing", "does not exist"),
        ("empty", r"is empty \(0 bytes\).*weights download tiny"),
        ("garbage", r"not a PyTorch checkpoint \(0.0 MB where sam2.1_hiera_tiny.pt is about 156 MB\)"),
        ("cut 1000", "corrupt, truncated or not a PyTorch checkpoint.*failed finding central directory;.*delete it"),
        ("bare state dict", r"bare state dict.*torch.save\(\{'model': state_dict\}"),
        ("no model key", r"no 'model' entry \(found keys \['state_dict'\]\)"),
        ("not sam2", "not a SAM2 checkpoint: .*no Hiera image encoder"),
        ("small for tiny", r"holds small \(image encoder: 96 channels, 16 blocks\), not tiny \(96 channels, 12"),
        ("unknown size", "holds an unknown size"),
        ("sam 2.0", "SAM 2 \\(July 2024\\) checkpoint, not SAM 2.1: it lacks no_obj_embed_spatial"),
    ],
)
def test_validation_errors(kind, message, tmp_path, torch):
    path = tmp_path / "checkpoint.pt"
    write_bad(kind, path, torch)
    with pytest.raises(CheckpointError, match=message) as error:
        validate_checkpoint(path, TINY)
    assert "\n" not in str(error.value)


def test_identify_unknown_size(tmp_path, torch):
    path = save_checkpoint(torch, tmp_path / "x.pt", 128, 20)
    with pytest.raises(CheckpointError, match="unknown size .*supported: tiny 96/12, small 96/16"):
        identify_checkpoint(path)


def test_without_torch_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    path = touch(tmp_path / TINY.filename)
    with pytest.raises(CheckpointError, match=r"PyTorch is not installed.*pip install torch==2.13.0"):
        validate_checkpoint(path, TINY)
