"""What a build in another process costs beyond the build itself (a ZeroGPU build, less the GPU):

    python -m click2graph.bench remote [--example NAME] [pipeline flags]

The example's preset click is built twice: in this process (:func:`click2graph.batch.build_graph`), then as
:func:`click2graph.remote_build.stream_build` in a forked process (as ZeroGPU runs it), the request pickled and
sent there through a pipe and every update pickled and sent back. Prints the sizes that cross, the time to the
first update and to the graph, and whether both graphs are the same. The pipeline is made before the fork, as the
demo makes it at start-up.
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import time

from click2graph.batch import VideoPrompts, build_graph
from click2graph.examples import load_examples
from click2graph.remote_build import BuildRequest, assembled_for, stream_build
from click2graph.settings import Settings, add_arguments
from click2graph.video import VideoPolicy, load_video


def _worker(requests, updates) -> None:
    for update in stream_build(pickle.loads(requests.recv_bytes())):
        updates.send_bytes(pickle.dumps(update))
    updates.send_bytes(b"")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench remote",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--example", default="pingpong", help="an example with a preset click (default pingpong)")
    add_arguments(parser)
    parser.set_defaults(backend="classic", semantics="off")
    args = parser.parse_args(argv)
    example = next((e for e in load_examples() if e.name == args.example and e.prompts), None)
    if example is None:
        parser.error(f"no example {args.example!r} with a preset click")
    video = load_video(example.path, VideoPolicy())
    settings = Settings.from_args(args)
    pipeline = assembled_for(settings).pipeline
    request = BuildRequest(video, settings, ((1, tuple(example.prompts)),))

    started = time.perf_counter()
    local, _ = build_graph(pipeline, video, VideoPrompts(tuple(example.prompts)))
    in_process_s = time.perf_counter() - started

    started = time.perf_counter()
    requests, updates = multiprocessing.Pipe(), multiprocessing.Pipe(duplex=False)
    worker = multiprocessing.get_context("fork").Process(target=_worker, args=(requests[1], updates[1]), daemon=True)
    worker.start()
    sent = pickle.dumps(request)
    requests[0].send_bytes(sent)
    receiving = updates[0]
    sizes, first_s, graph = [], None, None
    while data := receiving.recv_bytes():
        first_s = first_s if first_s is not None else time.perf_counter() - started
        sizes.append(len(data))
        graph = pickle.loads(data).graph or graph
    remote_s = time.perf_counter() - started
    worker.join()

    print(f"backend: {pipeline.describe()}; {example.name}: {len(video)} working frames {video.width}x{video.height}")
    print(f"request pickled: {len(sent) / 1e6:.1f} MB ({len(sent) / len(video) / 1e6:.2f} MB a frame)")
    print(f"updates: {len(sizes)}, {sum(sizes) / 1e6:.2f} MB in all, largest {max(sizes) / 1e6:.3f} MB")
    print(f"in this process: {in_process_s:.1f} s; forked: first update after {first_s:.2f} s, graph after", end=" ")
    print(f"{remote_s:.1f} s")
    print(f"same graph: {graph is not None and graph.to_dict() == local.to_dict()}")
    return 0
