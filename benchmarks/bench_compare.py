"""compare() on the tabular zoo: time and model evaluations per metric, against raw batched model calls.

For every (model, method, metric), the rows it sent through the model (its own
perturbations, plus the re-explanations that max-sensitivity, seed stability
and the sanity checks need) are replayed as one raw ``predict`` of that many
rows on the same model, and the summed times compared (target <= 1.5 for the
perturbation metrics, whose cost is model calls; the re-explaining ones are
bounded by the explanation method's own cost, which the ratio shows).

    .venv/bin/python benchmarks/bench_compare.py [--rows 100] [--lime-samples 1000] [--metrics faithfulness]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--lime-samples", type=int, default=1000)
    parser.add_argument("--metrics", default="all", help="comma-separated metrics or families (default all)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from explain import compare, datasets
    from explain.adapters import get_adapter

    zoo = datasets.model_zoo("tabular")
    X = zoo.X_test.iloc[: args.rows]
    start = time.perf_counter()
    metrics = "all" if args.metrics == "all" else args.metrics.split(",")
    cmp = compare(dict(zoo), X, background=zoo.X_train.iloc[:100], y=zoo.y_test[: args.rows], metrics=metrics,
                  method_params={"lime": {"num_samples": args.lime_samples}})
    total = time.perf_counter() - start

    adapters = {name: get_adapter(model) for name, model in zoo.items()}
    pool = zoo.X_train.to_numpy(float)

    def raw_seconds(model, rows):
        """One raw predict of the same number of rows, in the explained output: the batched call the metric needs."""
        if rows == 0:
            return 0.0
        a = adapters[model]
        Z = pool[np.arange(rows) % len(pool)]
        t0 = time.perf_counter()
        for start in range(0, rows, 100_000):
            a.predict(Z[start:start + 100_000], a.natural_output)
        return time.perf_counter() - t0

    t = cmp.timings.copy()
    t["raw_seconds"] = [raw_seconds(m, int(n)) for m, n in zip(t.model, t.model_evals)]
    per_metric = t.groupby("metric")[["seconds", "model_evals", "raw_seconds"]].sum()
    per_metric["ratio"] = per_metric["seconds"] / per_metric["raw_seconds"].where(per_metric["raw_seconds"] > 0)
    pd.set_option("display.width", 200)
    print(f"compare() on the tabular zoo: {len(X)} rows, {len(cmp.models)} models, metrics {args.metrics}: "
          f"{total:.1f} s")
    print(per_metric.sort_values("seconds", ascending=False).to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nscorecard (method 'shap'):")
    print(cmp.scorecard().T.to_string(float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
