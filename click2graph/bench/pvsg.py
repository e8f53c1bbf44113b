"""Our own OpenPVSG-style benchmark: the synthetic clips (exact ground truth) scored by the evaluation protocol.

    python -m click2graph.bench pvsg [--prompts point box mask] [--seeds 3] [--backend classic] [--out DIR]

Generates the clips in the OpenPVSG layout in a temporary folder (or ``--out``), runs the same protocol as
``python -m click2graph eval`` (every GT subject, simulated prompts, several seeds) and prints the paper-style table
per prompt type, so a change to tracking, discovery or semantics shows up as R@K / SpIR / PLR. Default labels
("subject", "object N") never equal a GT class, so R@K stays 0 until entities are classified.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from click2graph import synth
from click2graph.data.openpvsg import load_pvsg
from click2graph.eval import protocol
from click2graph.jobs import LocalPool, ProgressBar, pending
from click2graph.settings import Settings, add_arguments


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m click2graph.bench pvsg",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--prompts", nargs="+", choices=protocol.PROMPT_KINDS, default=list(protocol.PROMPT_KINDS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds for point and box prompts (default 3)")
    parser.add_argument("--out", type=Path, help="keep the clips, runs and tables here (default: a temp folder)")
    add_arguments(parser)
    parser.set_defaults(backend="classic")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        dataset = load_pvsg(synth.write_dataset(out / "data"))
        ids = dataset.video_ids("val")
        assembled = Settings.from_args(args).assemble()
        pool = LocalPool(lambda: assembled.pipeline)
        relations = sum(len(dataset.videos[v].relations) for v in ids)
        print(f"backend: {assembled.backend.describe()}; {assembled.describe()}")
        print(f"{len(ids)} clips, {relations} GT relations")
        for kind in args.prompts:
            started = time.perf_counter()
            todo = pending(protocol.queries(dataset, ids, out, kind, args.seeds))
            with ProgressBar(len(todo), kind, unit="query") as bar:
                pool.run(todo, bar)
            per_seed = {
                s: protocol.score_folder(dataset, out / "runs" / kind / f"seed{s}", ids)
                for s in protocol.seeds_for(kind, args.seeds)
            }
            rows = protocol.summarize(per_seed, kind)
            protocol.write_table(rows, out, f"table_{kind}")
            print(f"\n{kind} prompts ({time.perf_counter() - started:.0f} s)")
            print(protocol.markdown_table(rows[-1:]))
    return 0
