"""Command line: ``python -m explain demo --out reports``.

The demo fits the embedded model zoo (one model per family on breast cancer),
explains the same held-out rows with every family's default methods against
the same background, prints the side-by-side table and writes every value as
JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _demo(args) -> int:
    import numpy as np
    import pandas as pd

    from . import __version__, datasets
    from ._core import explain
    from .report.summary import results_record, side_by_side, write_json

    zoo = datasets.model_zoo("tabular", random_state=args.seed)
    X = zoo.X_test.iloc[: args.rows]
    rng = np.random.default_rng(args.seed)
    background = zoo.X_train.iloc[np.sort(rng.choice(len(zoo.X_train), min(100, len(zoo.X_train)), replace=False))]
    results = {}
    for name, model in zoo.items():
        start = time.perf_counter()
        results[name] = explain(model, X, background=background, random_state=args.seed, name=name)
        if not args.quiet:
            print(f"  {name:<18} {', '.join(results[name].methods):<32} {time.perf_counter() - start:6.1f} s",
                  file=sys.stderr)
    table = side_by_side(results)
    with pd.option_context("display.max_colwidth", 80, "display.width", 250):
        print(f"\nTop features by mean |attribution| on {len(X)} held-out rows (breast cancer; "
              "output: each family's natural space)\n")
        print(table.to_string())
    path = args.out if args.out.endswith(".json") else os.path.join(args.out, "demo.json")
    record = results_record(results, package=f"explain {__version__}", data="breast_cancer (scikit-learn)",
                            rows=len(X), background_rows=len(background), seed=args.seed,
                            accuracy=zoo.scores, command=" ".join(["python -m explain"] + sys.argv[1:]))
    write_json(record, path)
    print(f"\nwrote {path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="explain the embedded model zoo and write the result")
    demo.add_argument("--out", default="reports", help="folder (or .json path) to write to")
    demo.add_argument("--rows", type=int, default=20, help="held-out rows to explain")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return 2
