"""compare() on the tabular zoo: time and model evaluations per metric, against raw batched model calls.

For every (model, method, metric), the rows it sent through the model (its own
perturbations, plus the re-explanations that max-sensitivity, seed stability
and the sanity checks need) are replayed as one raw ``predict`` of that many
training rows on the same model, and the summed times compared (``ratio``;
target <= 1.5 for the perturbation metrics, whose cost is model calls). Rows of
another kind cost the model differently (a forest takes ~3x longer on LIME's
Gaussian perturbations than on training rows), so ``model_s`` is also measured:
the time the model calls inside ``compare()`` took on exactly the rows sent
(every counted row goes through one ``CountingFunction``, timed here), and
``ratio_inside`` = seconds / model_s; and the exact rows are replayed after the
run as raw batched predicts (``replay_s``, ``ratio_replay``: issue 27's "at most 3x
the raw model calls they need" for the re-explaining metrics).

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
    model_seconds, model_rows = _time_model_calls()
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

    def replay_seconds(model, parts):
        """The exact rows the metric sent, replayed as raw batched predicts of the same model."""
        if not parts:
            return 0.0
        a, Z = adapters[model], np.concatenate([p for p in parts if p.size])
        t0 = time.perf_counter()
        for start in range(0, len(Z), 100_000):
            a.predict(Z[start:start + 100_000], a.natural_output)
        return time.perf_counter() - t0

    t = cmp.timings.copy()
    t["raw_seconds"] = [raw_seconds(m, int(n)) for m, n in zip(t.model, t.model_evals)]
    keys = list(zip(t.model, t.method, t.metric))
    t["model_s"] = [model_seconds.get(k, 0.0) for k in keys]
    t["replay_s"] = [replay_seconds(k[0], model_rows.get(k, [])) for k in keys]
    per_metric = t.groupby("metric")[["seconds", "model_evals", "raw_seconds", "model_s", "replay_s"]].sum()
    positive = lambda col: per_metric[col].where(per_metric[col] > 0)
    per_metric["ratio"] = per_metric["seconds"] / positive("raw_seconds")
    per_metric["ratio_inside"] = per_metric["seconds"] / positive("model_s")
    per_metric["ratio_replay"] = per_metric["seconds"] / positive("replay_s")
    pd.set_option("display.width", 200)
    print(f"compare() on the tabular zoo: {len(X)} rows, {len(cmp.models)} models, metrics {args.metrics}: "
          f"{total:.1f} s")
    print(per_metric.sort_values("seconds", ascending=False).to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nscorecard (method 'shap'):")
    print(cmp.scorecard().T.to_string(float_format=lambda v: f"{v:.3g}"))


def _time_model_calls() -> tuple[dict, dict]:
    """Time every counted model call and keep its rows; give each (model, method, metric) row of compare()'s
    clock the model seconds and the rows inside it (nested measures excluded, as the clock does)."""
    from explain import comparison
    from explain.adapters._columns import CountingFunction

    spent, inner, seconds, rows = [0.0], [], {}, {}
    call = CountingFunction.__call__

    def timed_call(self, X):
        t0 = time.perf_counter()
        try:
            return call(self, X)
        finally:
            spent[0] += time.perf_counter() - t0
            if inner:
                inner[-1][1].append(np.array(X, dtype=float, ndmin=2))

    measure = comparison._Clock.measure

    def timed_measure(self, model, method, metric, fn):
        before = spent[0]
        inner.append([0.0, []])
        try:
            return measure(self, model, method, metric, fn)
        finally:
            nested, own_rows = inner.pop()
            total = spent[0] - before
            if inner:
                inner[-1][0] += total
            key = (model, method, metric)
            seconds[key] = seconds.get(key, 0.0) + total - nested
            rows.setdefault(key, []).extend(own_rows)

    CountingFunction.__call__ = timed_call
    comparison._Clock.measure = timed_measure
    return seconds, rows


if __name__ == "__main__":
    main()
