"""Dispatch ``python -m click2graph.bench NAME [args]`` to ``click2graph.bench.NAME.main(args)``."""

import importlib
import sys

BENCHMARKS = (
    "tracking",
    "corrections",
    "shots",
    "discovery",
    "pipeline",
    "examples",
    "pvsg",
    "sam2",
    "sam2_speed",
    "stride_fill",
    "small_objects",
    "semantics",
    "ray",
    "remote",
)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(f"usage: python -m click2graph.bench {{{','.join(BENCHMARKS)}}} [options]  (--help per benchmark)")
        return 2
    module = importlib.import_module(f"click2graph.bench.{argv[0]}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
