"""Exact product-kernel Shapley values vs shap.KernelExplainer, in one run.

StandardScaler + RBF SVC on breast cancer (30 features), 100 background rows:
our exact method on 50 rows vs KernelExplainer (default nsamples = 2d + 2048,
l1_reg=False so no feature is dropped, same background) on the first
``--kernel-rows`` of them. Prints per-row times, their ratio (target >= 200x)
and KernelSHAP's error against the exact values. Then the same on digits
(64 pixels, 847 support vectors, multiclass: the explained margin is the predicted
class's sum of signed one-vs-one decision functions; target >= 50x), and peak memory for 1,000 support
vectors x 1,000 background rows x 64 features (target < 1 GB).

    .venv/bin/python benchmarks/bench_kernel_shapley.py [--kernel-rows 5] [--repeats 1]

With ``--repeats N`` the two are timed N times, interleaved, and the medians compared (each of our runs
starts cold: the background factors kept from the previous run are dropped first).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
import warnings

import numpy as np


def kernel_shap(f, X, bg):
    import shap

    ex = shap.KernelExplainer(f, bg)
    return np.asarray(ex.shap_values(X, l1_reg=False, silent=True))


def report(name, model, X, bg, n_rows, kernel_rows, repeats):
    from explain import explain
    from explain.adapters import get_adapter
    from explain.methods.kernel_shapley import forget_reused_factors

    explain(model, X[:1], methods="shap", background=bg[:2])  # compile once, outside the timing
    adapter = get_adapter(model)
    ours_runs, theirs_runs = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        forget_reused_factors()  # a cold call: nothing kept from the previous repeat's background
        start = time.perf_counter()
        e = explain(model, X[:n_rows], methods="shap", background=bg)["shap"]
        ours_runs.append((time.perf_counter() - start) / n_rows)
        np.random.seed(0)
        start = time.perf_counter()
        approx = np.vstack([  # one KernelExplainer per row: each row is explained for its own class
            kernel_shap(adapter.output_function("margin", None if e.target is None else int(e.target[i])),
                        X[i:i + 1], bg) for i in range(kernel_rows)])
        theirs_runs.append((time.perf_counter() - start) / kernel_rows)
    ours, theirs = float(np.median(ours_runs)), float(np.median(theirs_runs))
    exact = e.flat_values[:kernel_rows]
    rel = np.abs(approx - exact).sum(axis=1) / np.abs(exact).sum(axis=1)
    print(f"{name}: {X.shape[1]} features, {adapter.estimator.support_vectors_.shape[0]} support vectors, "
          f"background {len(bg)}")
    print(f"  exact (ours)       {1e3 * ours:9.1f} ms/row over {n_rows} rows, local-accuracy gap "
          f"{e.params['additivity_gap']:.1e}")
    print(f"  KernelExplainer    {1e3 * theirs:9.1f} ms/row over {kernel_rows} rows (nsamples {2 * X.shape[1] + 2048})")
    print(f"  speed-up {theirs / ours:.0f}x (medians of {repeats}; per repeat "
          f"{', '.join(f'{t / o:.0f}x' for o, t in zip(ours_runs, theirs_runs))}); KernelSHAP error vs exact: "
          f"mean relative L1 {rel.mean():.3f}, max abs {np.abs(approx - exact).max():.2e}")


def memory_check():
    from explain.adapters.kernels import KernelExpansion
    from explain.methods.kernel_shapley import product_kernel_shapley

    rng = np.random.default_rng(0)
    d = 64
    exp = KernelExpansion(rng.normal(size=(1000, d)), rng.normal(size=1000), 0.1, np.full(d, 1.0 / d), 2)
    X, bg = rng.normal(size=(2, d)), rng.normal(size=(1000, d))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    values, base = product_kernel_shapley(X, bg, exp)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"memory: 1,000 support x 1,000 background x 64 features, 2 rows: peak traced numpy memory "
          f"{peak / 2**20:.0f} MiB, growth of the process's peak RSS {(rss_after - rss_before) / 1024:.0f} MiB "
          f"(target < 1024), {seconds:.1f} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel-rows", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved (ours, KernelExplainer) timings")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import numba

    print(f"{os.cpu_count()} cores, {numba.get_num_threads()} numba threads, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
    memory_check()  # first, while the process's peak RSS is still low
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    X, y = load_breast_cancer(return_X_y=True)
    svm = make_pipeline(StandardScaler(), SVC(kernel="rbf")).fit(X, y)
    bg = X[rng.choice(len(X), 100, replace=False)]
    report("breast cancer, StandardScaler + RBF SVC", svm, X, bg, 50, args.kernel_rows, args.repeats)

    D, t = load_digits(return_X_y=True)
    svm = make_pipeline(StandardScaler(), SVC(kernel="rbf")).fit(D / 16.0, t)
    bg = D[rng.choice(len(D), 100, replace=False)] / 16.0
    report("digits, StandardScaler + RBF SVC (10 classes)", svm, D / 16.0, bg, 20, max(1, args.kernel_rows // 2),
           args.repeats)


if __name__ == "__main__":
    main()
