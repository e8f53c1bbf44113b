"""Several visitors for a while (demo.soak, briefly): the app's memory, disk and threads stay flat once warm.

Three gradio_client visitors loop through open example -> build -> click + undo -> build -> relabel -> scrub for
about 48 s against the app in this process with an oracle segmenter, Gradio's file cache cleaned of files older
than 12 s. Each relabel writes new exports (~5 MB), so anything kept per action would grow without bound.
"""

from __future__ import annotations

import pytest
from demo_server import use_private_server
from oracle import OracleSegmenter

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

from click2graph import synth
from click2graph.pipeline import Pipeline
from demo import server
from demo.app import build_demo
from demo.soak import free_port, soak

CLIP = "ball_touch"
SECONDS = 48


def test_memory_disk_and_threads_stay_flat_under_several_visitors(tmp_path, monkeypatch):
    use_private_server(
        monkeypatch, tmp_path, Pipeline(OracleSegmenter(synth.render_clip(CLIP).labels)), file_max_age_s=12
    )
    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        samples = soak(demo, url, clients=3, seconds=SECONDS, example=CLIP, every_s=2)
    finally:
        demo.close()
    table = "\n".join(
        f"{s.seconds:5.0f}s {s.rounds:4d} rounds {s.rss_mb:7.0f} MB RSS {s.gradio_files_mb:6.1f} MB"
        f" {s.threads:3d} threads"
        for s in samples
    )
    middle = [s for s in samples if SECONDS / 3 <= s.seconds < 2 * SECONDS / 3]
    last = [s for s in samples if s.seconds >= 2 * SECONDS / 3]
    assert samples[-1].rounds >= 6, f"too few rounds to tell anything:\n{table}"
    assert max(s.gradio_files_mb for s in last) <= 1.5 * max(s.gradio_files_mb for s in middle) + 10, table
    assert max(s.rss_mb for s in last) <= max(s.rss_mb for s in middle) + 150, table
    assert max(s.threads for s in last) <= max(s.threads for s in middle) + 4, table  # a thread per round would show
    assert len(server.current().store) <= 3 and sum(1 for _ in (tmp_path / "visits").iterdir()) <= 3
    print(table)
