"""What a visitor gets from each example: the whole pipeline from the example's preset click.

    python -m click2graph.bench examples [--names NAME ...] [--clip VIDEO X,Y[,FRAME] ...] [--sheets DIR]

For the bundled examples (their manifest clicks), and any video given with ``--clip`` (e.g. a clip no constant was
ever set on), build the scene graph as ``python -m click2graph run`` does and print per clip: working frames, the
subject's frames (tracked / all), entities, relations, seconds, then each object with its frames and median area.
With ``--sheets DIR`` it also writes ``DIR/NAME.png``: four working frames spread over the clip with every entity
drawn and labelled as the app draws them, to look at what the figures cannot say (a door kept as an object, a mask
on the wrong thing). With ``--reencode`` each clip's working frames are also written again with our H.264 writer
(the same picture to the eye) and the graph built from that file too, row ``NAME~``: how far codec noise alone
moves the graph; a last line counts the clips whose entities and relations stayed the same.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from click2graph.batch import VideoPrompts, build_graph
from click2graph.examples import load_examples
from click2graph.graph import SceneGraph
from click2graph.prompts import Click
from click2graph.settings import Settings, add_arguments
from click2graph.video import Video, VideoPolicy, encoded_again, load_video

SHEET_FRAMES = 4
SHEET_TILE_WIDTH = 640


def parse_clip(video: str, click: str) -> tuple[str, Path, Click]:
    """(name, path, click) of a ``--clip VIDEO X,Y[,FRAME]`` pair; the click is in the video's own pixels.

    Raises:
        ValueError: the click is not two or three numbers.
    """
    parts = click.split(",")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
        frame = int(parts[2]) if len(parts) == 3 else 0
    except ValueError:
        raise ValueError(f"--clip {video} {click}: the click must be X,Y or X,Y,FRAME (numbers)") from None
    return Path(video).stem, Path(video), Click(x, y, frame_idx=frame)


def object_rows(graph: SceneGraph) -> list[str]:
    """One line per object: its frames (first-last, how many) and median area as a share of the frame."""
    rows = []
    frame_px = graph.video.height * graph.video.width
    for entity in graph.entities:
        if entity.is_subject:
            continue
        frames = entity.frames
        if not frames:
            rows.append(f"  #{entity.entity_id} {entity.label}: no frame")
            continue
        area = float(np.median([entity.mask(t).sum() for t in frames])) / frame_px
        rows.append(
            f"  #{entity.entity_id} {entity.label}: frames {frames[0]}-{frames[-1]} ({len(frames)}),"
            f" median area {100 * area:.2f}% of the frame"
        )
    return rows


def contact_sheet(graph: SceneGraph, video: Video, frames: int = SHEET_FRAMES) -> np.ndarray:
    """uint8 (H, W, 3): ``frames`` working frames spread over the clip, two per row, drawn as the app draws them."""
    from click2graph.viz import render_frame  # plotly and fonts: only when sheets are asked for

    picks = np.linspace(0, len(video) - 1, frames).round().astype(int)
    scale = SHEET_TILE_WIDTH / video.width
    size = (SHEET_TILE_WIDTH, max(1, round(video.height * scale)))
    tiles = [
        cv2.resize(render_frame(graph, video.frames[t], int(t)), size, interpolation=cv2.INTER_AREA) for t in picks
    ]
    if len(tiles) % 2:
        tiles.append(np.zeros_like(tiles[0]))
    return np.concatenate([np.concatenate(tiles[i : i + 2], axis=1) for i in range(0, len(tiles), 2)], axis=0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench examples",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--names", nargs="*", default=None, help="bundled examples to run (default: all)")
    parser.add_argument(
        "--clip", nargs=2, action="append", default=[], metavar=("VIDEO", "X,Y[,FRAME]"), help="another clip"
    )
    parser.add_argument("--sheets", type=Path, default=None, help="write a contact sheet per clip into this folder")
    parser.add_argument(
        "--reencode", action="store_true", help="also build each clip from its frames encoded again (row NAME~)"
    )
    add_arguments(parser)
    parser.set_defaults(backend="classic", semantics="off")
    args = parser.parse_args(argv)

    examples = [e for e in load_examples() if e.click is not None]
    unknown = sorted(set(args.names or []) - {e.name for e in examples})
    if unknown:
        parser.error(f"no bundled example with a preset click named {', '.join(unknown)}")
    wanted = args.names or ([] if args.clip else [e.name for e in examples])  # --clip alone: only those clips
    clips = [(e.name, e.path, e.prompts[0]) for e in examples if e.name in wanted]
    try:
        clips += [parse_clip(video, click) for video, click in args.clip]
    except ValueError as exc:
        parser.error(str(exc))
    if args.sheets is not None:
        args.sheets.mkdir(parents=True, exist_ok=True)
    pipeline = Settings.from_args(args).assemble().pipeline
    print(f"backend: {pipeline.describe()}")
    print(f"{'clip':18s} {'frames':>6s} {'subject':>9s} {'entities':>8s} {'relations':>9s} {'s':>6s}")
    same = 0
    for name, path, click in clips:
        video = load_video(path, VideoPolicy())
        graph = _run(pipeline, name, video, click, args.sheets)
        if args.reencode:
            again, again_click = reencoded(video, click)
            graph_again = _run(pipeline, f"{name}~", again, again_click, args.sheets)
            same += _counts(graph) == _counts(graph_again)
    if args.reencode:
        print(f"encoded again: {same} of {len(clips)} clips keep their entities and relations")
    return 0


def _run(pipeline, name: str, video: Video, click: Click, sheets: Path | None) -> SceneGraph:
    """Build, print the clip's row and its objects, draw its sheet."""
    started = time.perf_counter()
    graph, warning = build_graph(pipeline, video, VideoPrompts((click,)))
    seconds = time.perf_counter() - started
    tracked = len(graph.subjects[0].frames)
    print(
        f"{name:18s} {len(video):6d} {f'{tracked}/{len(video)}':>9s} {len(graph.entities):8d}"
        f" {len(graph.relations):9d} {seconds:6.1f}"
    )
    for row in object_rows(graph):
        print(row)
    if warning:
        print(f"  warning: {warning}")
    if sheets is not None:
        Image.fromarray(contact_sheet(graph, video)).save(sheets / f"{name}.png")
    return graph


def _counts(graph: SceneGraph) -> tuple[int, int]:
    return len(graph.entities), len(graph.relations)


def reencoded(video: Video, click: Click) -> tuple[Video, Click]:
    """``video``'s working frames written again with our H.264 writer (:func:`~click2graph.video.encoded_again`),
    and ``click`` in that file's pixels and frames (its frames are the working frames)."""
    x, y = video.to_work_xy(click.x, click.y)
    return encoded_again(video), Click(x, y, frame_idx=video.work_index(click.frame_idx), positive=click.positive)
