"""Eval and batch on a local Ray cluster of 2 workers: the same outputs as a run in this process, a run interrupted
and resumed that recomputes nothing finished, a failing query retried and then recorded, bad input as one line,
and Ray never imported by what does not ask for it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import ray
from builders import short_dataset

from click2graph import synth
from click2graph.cli import main
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval import protocol
from click2graph.jobs import ATTEMPTS, LocalPool, pending
from click2graph.ray_pool import RayOptions, RayPool, connect
from click2graph.settings import Settings
from click2graph.video import write_video

REPO = Path(__file__).resolve().parents[1]
CLIPS = ["ball_touch", "walk_in_front"]
SETTINGS = Settings(backend="classic", semantics="off")
FAST = ("--backend", "classic", "--semantics", "off", "--quiet")
TWO_WORKERS = RayOptions(workers=2)


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module: every pool (and command) below joins it instead of starting its own."""
    connected = connect()
    yield
    if connected:
        ray.shutdown()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load_pvsg(short_dataset(tmp_path_factory.mktemp("pvsg"), CLIPS, frames=16))


def _table(dataset, out: Path) -> tuple[list[protocol.Row], str]:
    ids = dataset.video_ids("val")
    rows = protocol.summarize({0: protocol.score_folder(dataset, out / "runs" / "mask" / "seed0", ids)}, "mask")
    return rows, protocol.markdown_table(rows)


@pytest.fixture(scope="module")
def local_table(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    LocalPool(lambda: SETTINGS.assemble().pipeline).run(
        pending(protocol.queries(dataset, dataset.video_ids("val"), out, "mask", 1))
    )
    return _table(dataset, out)


def test_a_ray_run_interrupted_and_resumed_equals_a_local_run(cluster, dataset, local_table, tmp_path):
    jobs = protocol.queries(dataset, dataset.video_ids("val"), tmp_path, "mask", 1)
    assert len(jobs) == 2

    def interrupt(job, result):
        raise KeyboardInterrupt  # the driver stopped once one result is in, the other query still running

    with pytest.raises(KeyboardInterrupt), RayPool(SETTINGS, TWO_WORKERS) as pool:
        pool.run(jobs, interrupt)
    [finished] = [job for job in jobs if job.done()]
    [left] = pending(jobs)
    written = finished.path.stat().st_mtime_ns
    half = left.path.with_name(left.path.name + ".tmp")  # what a write cut short leaves: never counted
    half.parent.mkdir(parents=True, exist_ok=True)
    half.write_text('{"video_id": "synth_')
    assert pending(jobs) == [left]

    ran = []
    with RayPool(SETTINGS, TWO_WORKERS) as pool:
        pool.run(pending(jobs), lambda job, result: ran.append((job.name, result.failure)))
    assert ran == [(left.name, None)] and finished.path.stat().st_mtime_ns == written
    assert not half.exists() and json.loads(left.path.read_text())["video_id"] == left.video.video_id
    assert _table(dataset, tmp_path) == local_table  # every digit


def test_a_query_that_raises_is_retried_then_recorded_as_failed(cluster, dataset, tmp_path, caplog, capsys):
    """Corrupt frames of one video: loading them raises on the worker, ATTEMPTS times, then the query is failed,
    with the reason, and the table counts it; a local run records the same."""
    root = tmp_path / "data"
    root.mkdir()
    shutil.copy(dataset.root / "pvsg.json", root)
    (root / "masks").symlink_to(dataset.root / "masks")
    frames = root / "frames" / "synth_ball_touch"
    shutil.copytree(dataset.root / "frames" / "synth_ball_touch", frames)
    (frames / "0005.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    args = ["eval", str(root), "--videos", "synth_ball_touch", "--prompt", "mask", *FAST]

    assert main([*args, "--out", str(tmp_path / "ray"), "--ray", "--workers", "2"]) == 0
    failed = tmp_path / "ray" / "training-free" / "runs" / "mask" / "seed0" / "synth_ball_touch" / "subject_1.failed"
    reason = failed.read_text()
    assert reason.startswith(f"failed {ATTEMPTS} times: VideoError: Cannot read frame") and "0005.png" in reason
    retries = [r.message for r in caplog.records if "trying again" in r.message]
    assert len(retries) == ATTEMPTS - 1 and all("synth_ball_touch subject 1 mask seed 0" in r for r in retries)
    printed = capsys.readouterr().out
    assert "| failed |" in printed and "| synthetic | mask |" in printed
    on_ray = json.loads((tmp_path / "ray" / "training-free" / "table_mask.json").read_text())
    assert on_ray[-1]["failed"] == 1

    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert json.loads((tmp_path / "local" / "training-free" / "table_mask.json").read_text()) == on_ray


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    """Two short videos with prompts (one by file name, one by stem), and a third without."""
    folder = tmp_path_factory.mktemp("clips")
    for name in CLIPS:
        clip = synth.render_clip(name)
        write_video(folder / f"{name}.mp4", clip.frames[:16], clip.fps)
    write_video(folder / "no_prompts.mp4", clip.frames[:4], clip.fps)
    x, y, frame = synth.preset_click("ball_touch")
    prompts = {
        "ball_touch.mp4": {"click": [[x, y, frame]], "label": "adult"},
        "walk_in_front": {"click": [list(synth.preset_click("walk_in_front")[:2])], "negative": [[5, 5, 0]]},
    }
    path = tmp_path_factory.mktemp("prompts") / "prompts.json"
    path.write_text(json.dumps(prompts))
    return folder, path


def test_batch_here_and_on_ray_writes_the_same_graphs(cluster, clips, tmp_path, capsys):
    folder, prompts = clips
    args = ["batch", str(folder), "--prompts", str(prompts), "--no-video", "--max-side", "320", *FAST]
    assert main([*args, "--out", str(tmp_path / "local")]) == 1  # one video has no prompts
    assert "warning: no prompts in" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "ray"), "--ray", "--workers", "2"]) == 1
    for name in CLIPS:
        for file in ("scene_graph.json", "masks_coco.json"):
            assert (tmp_path / "ray" / name / file).read_bytes() == (tmp_path / "local" / name / file).read_bytes()
    graph = json.loads((tmp_path / "ray" / "ball_touch" / "scene_graph.json").read_text())
    assert graph["objects"][0]["category"] == "adult"
    assert not (tmp_path / "ray" / "no_prompts").exists()
    capsys.readouterr()

    assert main([*args, "--out", str(tmp_path / "ray"), "--ray"]) == 1  # all done: nothing runs again
    assert "2 of 2 video(s) already done" in capsys.readouterr().out


def test_ray_missing_is_one_line(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is not installed
    assert main(["eval", str(dataset.root), "--prompt", "mask", "--out", str(tmp_path), "--ray", *FAST]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --ray needs Ray, which is not installed: pip install ray"
    ]


@pytest.mark.parametrize(
    "address, fragment",
    [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"), ("headnode", "'headnode' is not a cluster address")],
)
def test_a_bad_cluster_address_is_one_line(dataset, tmp_path, address, fragment):
    """In a fresh process (not connected yet): refused in seconds, where Ray would retry for minutes."""
    args = ["eval", str(dataset.root), "--prompt", "mask", "--out", str(tmp_path), "--ray", address, *FAST]
    done = subprocess.run(
        [sys.executable, "-m", "click2graph", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (
        done.stderr
    )


def test_the_cli_and_the_app_do_not_import_ray():
    modules = "click2graph.cli, click2graph.batch, click2graph.ray_pool, click2graph.eval.protocol, demo.app"
    code = f"import sys, {modules}; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=120).returncode == 0
