"""Run the demo's handlers once in a fresh process: the app builds its backend and semantic models at import, from
the environment, so a test that sets ``CLICK2GRAPH_*`` variables needs a new interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from click2graph import synth
from click2graph.video import write_video
from demo import handlers, server

clip = synth.render_clip("ball_touch")
write_video(sys.argv[1], clip.frames[: int(sys.argv[2])], clip.fps)
print(server.current().status())
handlers.warm_up()  # as app.py does in a background thread at launch
key = handlers.on_video(sys.argv[1], None).key
x, y, _ = synth.preset_click("ball_touch")
handlers.on_click_xy(x, y, True, 0, handlers.POSITIVE, key)
for _ in handlers.on_build(0, key, lambda fraction, desc=None: None):  # a build streams its updates
    pass
graph = server.current().store.get(key).result.graph
print("graph backend:", graph.backend, "frames:", graph.video.num_work_frames, "subjects:", len(graph.subjects))
for e in graph.entities:
    print("entity", e.entity_id, e.label_source, repr(e.label), len(e.top5))
"""


def run_app_once(folder: Path, env: dict[str, str], frames: int = 5) -> str:
    """Status line, then the built graph's backend and entities, for ball_touch's first ``frames`` frames clicked
    at its preset point; fails the test with the child's stderr when the process fails."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder / "clip.mp4"), str(frames)],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
