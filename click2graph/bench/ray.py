"""Evaluation queries per minute here (one after another) and on a local Ray cluster of 1 and 2 workers.

    python -m click2graph.bench ray [--prompt mask] [--seeds 1] [--workers 1 2] [--backend classic]

Runs the eval protocol's queries on the synthetic clips (written to a temporary folder) three ways: serially in
this process, then on a Ray cluster started on this machine with each worker count; prints the time to start
(pipeline assembled; for Ray, the workers up), the time of the queries, queries per minute, and each worker's
peak resident memory (the serial run: this process's). The tables of all runs must be the same to the last digit.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from click2graph import synth
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval import protocol
from click2graph.jobs import LocalPool, ProgressBar
from click2graph.ray_pool import RayOptions, RayPool, connect, import_ray, peak_memory_mb
from click2graph.settings import Settings, add_arguments


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench ray",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--prompt", choices=protocol.PROMPT_KINDS, default="mask", help="simulated prompt")
    parser.add_argument("--seeds", type=int, default=1, help="seeds for point and box prompts (default 1)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts (default 1 2)")
    add_arguments(parser)
    parser.set_defaults(backend="classic", semantics="off")
    args = parser.parse_args(argv)
    settings = Settings.from_args(args)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = load_pvsg(synth.write_dataset(Path(tmp) / "data"))
        ids = dataset.video_ids("val")

        def queries(name: str) -> list[protocol.Query]:
            return protocol.queries(dataset, ids, Path(tmp) / name, args.prompt, args.seeds)

        def table(name: str) -> str:
            runs = Path(tmp) / name / "runs" / args.prompt
            seeds = protocol.seeds_for(args.prompt, args.seeds)
            per_seed = {s: protocol.score_folder(dataset, runs / f"seed{s}", ids) for s in seeds}
            return protocol.markdown_table(protocol.summarize(per_seed, args.prompt))

        rows = []
        started = time.perf_counter()
        assembled = settings.assemble()
        ready = time.perf_counter() - started
        jobs = queries("local")
        print(f"{len(jobs)} queries ({args.prompt} prompts, {len(ids)} synthetic clips), {os.cpu_count()} CPUs")
        print(f"backend: {assembled.backend.describe()}; {assembled.describe()}")
        seconds = _timed(LocalPool(lambda: assembled.pipeline), jobs, "serial")
        rows.append(("serial, this process", 1, ready, seconds, [peak_memory_mb()], table("local")))

        started = time.perf_counter()
        connected = connect()
        cluster = time.perf_counter() - started
        try:
            for workers in args.workers:
                started = time.perf_counter()
                with RayPool(settings, RayOptions(workers=workers)) as pool:
                    ready = time.perf_counter() - started
                    seconds = _timed(pool, queries(f"ray{workers}"), f"ray x{workers}")
                    memory = pool.peak_memory_mb()
                rows.append(("Ray, local cluster", workers, ready, seconds, memory, table(f"ray{workers}")))
        finally:
            if connected:
                import_ray().shutdown()

    print(f"\nlocal Ray cluster started in {cluster:.1f} s")
    print(f"{'run':22s} {'workers':>7s} {'start s':>8s} {'run s':>7s} {'queries/min':>11s}  peak RSS per worker (MiB)")
    for name, workers, ready, seconds, memory, _ in rows:
        print(
            f"{name:22s} {workers:7d} {ready:8.1f} {seconds:7.1f} {60 * len(jobs) / seconds:11.2f}  "
            + ", ".join(f"{m:.0f}" for m in memory)
        )
    same = all(row[-1] == rows[0][-1] for row in rows)
    print(f"tables of all runs identical: {'yes' if same else 'NO'}")
    return 0 if same else 1


def _timed(pool, jobs: list, label: str) -> float:
    started = time.perf_counter()
    with ProgressBar(len(jobs), label, unit="query") as bar:
        pool.run(jobs, bar)
    return time.perf_counter() - started
