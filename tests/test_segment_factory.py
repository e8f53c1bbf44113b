"""Backend choice: SAM 2 with a checkpoint present (a saved random one here), else classic with a notice."""

from __future__ import annotations

import pytest
from app_process import run_app_once

from click2graph.errors import CheckpointError, Click2GraphWarning
from click2graph.segment.classic import ClassicSegmenter
from click2graph.segment.factory import make_segmenter


def test_without_a_checkpoint_auto_falls_back_with_a_notice(tmp_path):
    with pytest.warns(Click2GraphWarning, match="classic tracker"):
        choice = make_segmenter("auto", checkpoint=str(tmp_path / "sam2.1_hiera_tiny.pt"), allow_download=False)
    assert isinstance(choice.segmenter, ClassicSegmenter)
    assert "SAM 2 not used" in choice.notice and choice.notice in choice.describe()
    with pytest.raises(CheckpointError):
        make_segmenter("sam2", checkpoint=str(tmp_path / "sam2.1_hiera_tiny.pt"), allow_download=False)


def test_classic_on_request_has_no_notice():
    choice = make_segmenter("classic")
    assert isinstance(choice.segmenter, ClassicSegmenter) and choice.notice is None
    with pytest.raises(ValueError, match="backend"):
        make_segmenter("gpu-magic")


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    pytest.importorskip("sam2")
    from click2graph.segment.sam2 import Sam2Config, Sam2Segmenter

    segmenter = Sam2Segmenter.from_random_weights(Sam2Config(image_size=512), seed=0)
    path = tmp_path_factory.mktemp("weights") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": segmenter.predictor.state_dict()}, path)
    return path


def test_with_a_checkpoint_auto_uses_sam2(random_checkpoint):
    choice = make_segmenter("auto", checkpoint=str(random_checkpoint), image_size=512, allow_download=False)
    assert choice.notice is None
    assert choice.describe().startswith("SAM 2.1 tiny @512")


def test_cli_runs_end_to_end_on_sam2(random_checkpoint, tmp_path, capsys):
    """The whole CLI run on the SAM 2 backend (random weights: the plumbing, not the quality); our progress only."""
    from click2graph import synth
    from click2graph.cli import main
    from click2graph.graph import SceneGraph

    synth.write_dataset(tmp_path / "data", ["ball_touch"])
    video = tmp_path / "data" / "videos" / "synth_ball_touch.mp4"
    x, y, frame = synth.preset_click("ball_touch")
    args = [
        "run",
        str(video),
        "--click",
        f"{x},{y},{frame}",
        "--out",
        str(tmp_path / "out"),
        "--max-duration",
        "0.5",
        "--checkpoint",
        str(random_checkpoint),
        "--sam2-size",
        "512",
        "--max-objects",
        "1",
        "--no-video",
    ]
    assert main(args) == 0
    shown = capsys.readouterr()
    assert "backend: SAM 2.1 tiny @512" in shown.out
    assert "propagate in video" not in shown.err  # sam2's own bar: ours count frames per phase
    graph = SceneGraph.load_json(tmp_path / "out" / "scene_graph.json")
    assert graph.backend.startswith("SAM 2.1 tiny") and graph.subjects


def test_on_a_cpu_sam2_defaults_to_512_px_and_an_int8_encoder(random_checkpoint):
    import torch

    choice = make_segmenter("sam2", checkpoint=str(random_checkpoint), allow_download=False)
    cpu = not torch.cuda.is_available()
    assert choice.segmenter.config.image_size == (512 if cpu else 1024)
    assert choice.segmenter.encoder_int8 == cpu and choice.segmenter.config.stride == 1


def test_the_speed_settings_reach_sam2(random_checkpoint):
    from click2graph.settings import Settings

    settings = Settings(backend="sam2", checkpoint=str(random_checkpoint), sam2_encoder="fp32", sam2_stride=2)
    segmenter = settings.segmenter().segmenter
    assert not segmenter.encoder_int8 and segmenter.config.stride == 2
    assert segmenter.describe().endswith(", fp32, SAM 2 every 2 frames")


def test_the_app_uses_sam2_end_to_end_with_a_checkpoint(random_checkpoint, tmp_path):
    """The app's module-level backend comes from the environment: run it in a fresh process."""
    env = {"CLICK2GRAPH_CHECKPOINT": str(random_checkpoint), "CLICK2GRAPH_SAM2_SIZE": "512"}
    printed = run_app_once(tmp_path, env)
    assert "**Backend:** SAM 2.1 tiny @512" in printed
    assert "graph backend: SAM 2.1 tiny @512" in printed and "frames: 5 subjects: 1" in printed


def test_a_registered_backend_is_offered_and_built(monkeypatch, capsys):
    """One registration: the CLI offers it, settings build a pipeline on it, "auto" tries it when preferred."""
    from oracle import OracleSegmenter

    from click2graph import synth
    from click2graph.cli import build_parser
    from click2graph.segment import factory
    from click2graph.settings import Settings

    labels = synth.render_clip("ball_touch").labels
    built = []

    def build(options: factory.BackendOptions) -> OracleSegmenter:
        built.append(options)
        return OracleSegmenter(labels)

    monkeypatch.setattr(factory, "_BACKENDS", dict(factory._BACKENDS))  # the registry as it was, after the test
    factory.register_backend(factory.Backend("oracle", "the oracle", build, preferred=True))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    assert "{auto,classic,sam2,oracle}" in capsys.readouterr().out
    pipeline = Settings(backend="oracle", checkpoint="x", semantics="off").assemble().pipeline
    assert isinstance(pipeline.segmenter, OracleSegmenter) and built[-1].checkpoint == "x"
    with pytest.warns(Click2GraphWarning):  # SAM 2, preferred first, has no checkpoint here; the oracle is next
        choice = make_segmenter("auto", checkpoint="missing.pt", allow_download=False)
    assert isinstance(choice.segmenter, OracleSegmenter)
    with pytest.raises(ValueError, match="taken"):
        factory.register_backend(factory.Backend("classic", "again", build))
