"""Exact interventional Shapley interactions: our closed forms vs peers, in one run.

1. RBF SVC (StandardScaler pipeline) on breast cancer, all 30 features, background 40: the exact SII matrix of
   5 rows (goal: well under a minute). No peer computes exact interventional interactions for kernel models; the
   diagonal is checked against our exact kernel Shapley values and one row's pairs against the sampler's
   95% intervals.
2. A 50-tree random forest, 12 features (breast cancer's first 12), background 50 and 100, 20 rows: exact SII,
   checked against enumeration of the same game on 2 rows; timed beside shap.TreeExplainer's
   shap_interaction_values (path-dependent: a different game, the only one shap offers) and, if installed,
   shapiq's TreeExplainer (k-SII, path-dependent too). Ratios are peer time / our time, same rows.

    .venv/bin/python benchmarks/bench_interactions.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def timed(fn, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def kernel_case():
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    import explain

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), SVC(gamma=0.02)).fit(X, y)
    bg = X[::14][:40]
    explain.interactions(model, X[:1], background=bg[:2])  # compile once, outside the timing
    inter, seconds = timed(lambda: explain.interactions(model, X[:5], background=bg), repeat=1)
    phi = explain.explain(model, X[:5], methods="shap.kernel_exact", background=bg)["shap.kernel_exact"].values
    print(f"SVC, breast cancer, 30 features, {model[-1].support_vectors_.shape[0]} support vectors, background "
          f"{len(bg)}: exact SII matrix of 5 rows in {seconds:.2f} s ({inter.params['algorithm']}); "
          f"diagonal vs exact Shapley: max |diff| {np.abs(inter.main - phi).max():.2e}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = explain.interactions(model, X[:1], background=bg, algorithm="sampling", n_samples=64)
    off = ~np.eye(30, dtype=bool)
    inside = (np.abs(s.values[0] - inter.values[0]) <= 1.96 * s.stderr[0])[off].mean()
    print(f"  sampled (64 coalitions per pair) 95% intervals cover the exact pairs: {inside:.3f} of {off.sum()}")


def tree_case(background_rows):
    import shap
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    import explain
    from explain.interactions.games import enumerate_game, indices_from_table
    from explain.adapters import get_adapter

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :12]
    model = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0).fit(X, y)
    bg, rows = X[::5][:background_rows], X[1::7][:20]
    explain.interactions(model, rows[:1], background=bg[:2])  # compile once
    inter, ours = timed(lambda: explain.interactions(model, rows, background=bg))
    f = get_adapter(model).output_function(inter.output, 1)
    ref = indices_from_table(enumerate_game(f, rows[:2], bg, np.arange(12), 12), 12, "SII")
    err = np.abs(inter.values[:2] - ref).max()
    tree = shap.TreeExplainer(model)  # path-dependent: shap_interaction_values supports nothing else
    _, theirs = timed(lambda: tree.shap_interaction_values(rows))
    line = (f"forest (50 trees, depth 8), 12 features, background {len(bg)}, 20 rows: ours {ours:.3f} s "
            f"(exact; max |diff| vs enumeration on 2 rows {err:.1e}); shap path-dependent interactions "
            f"{theirs:.3f} s (ratio {theirs / ours:.2f})")
    try:
        import shapiq

        explainer = shapiq.TreeExplainer(model, max_order=2, index="k-SII", class_index=1)
        _, peer = timed(lambda: [explainer.explain(r) for r in rows], repeat=1)
        line += f"; shapiq k-SII path-dependent {peer:.3f} s (ratio {peer / ours:.2f})"
    except ImportError:
        line += "; shapiq not installed"
    print(line)


if __name__ == "__main__":
    kernel_case()
    for m in (50, 100):
        tree_case(m)
