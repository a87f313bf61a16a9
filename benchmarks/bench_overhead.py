"""Our "shap" path against the raw shap call on the same input, in one run.

Breast cancer (569 rows, 30 features), background = 100 seeded training rows:
- random forest (200 trees): explain(..., methods="shap") vs shap.TreeExplainer
  (interventional, same background) .shap_values(X);
- logistic regression: explain(..., methods="shap") vs shap.LinearExplainer.

Prints best-of-N wall times, the ratio ours / raw (target <= 1.10) and the
largest difference between the two sets of values.

    .venv/bin/python benchmarks/bench_overhead.py [--repeats 4]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def interleaved_best(raw, ours, repeats):
    """Best wall time of each, alternating the two so machine noise hits both alike."""
    best = [np.inf, np.inf]
    outs = [None, None]
    for _ in range(repeats):
        for k, fn in enumerate((raw, ours)):
            start = time.perf_counter()
            outs[k] = fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best, outs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import shap
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from explain import explain

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    bg = X[np.sort(rng.choice(len(X), 100, replace=False))]

    rf = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1).fit(X, y)
    lr = LogisticRegression(max_iter=10000).fit(StandardScaler().fit_transform(X), y)
    Xs, bgs = StandardScaler().fit(X).transform(X), StandardScaler().fit(X).transform(bg)

    def raw_rf():
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        ex = shap.TreeExplainer(rf, data=masker, feature_perturbation="interventional")
        return np.asarray(ex.shap_values(X, check_additivity=False))[:, :, 1]

    def raw_lr_call():  # shap's current API: builds a shap.Explanation
        return np.asarray(shap.LinearExplainer(lr, bgs)(Xs).values)

    def raw_lr_legacy():  # the legacy array API, a bare matrix product
        return np.asarray(shap.LinearExplainer(lr, bgs).shap_values(Xs))

    ours_lr = lambda: explain(lr, Xs, methods="shap", background=bgs)
    cases = [
        ("random forest (200 trees), TreeSHAP", raw_rf, lambda: explain(rf, X, methods="shap", background=bg),
         max(1, args.repeats // 2)),
        ("logistic, vs LinearExplainer(...)(X)", raw_lr_call, ours_lr, 20 * args.repeats),
        ("logistic, vs .shap_values(X)", raw_lr_legacy, ours_lr, 20 * args.repeats),
    ]
    print(f"breast cancer: {X.shape[0]} rows x {X.shape[1]} features, background {len(bg)} rows; "
          "best time of interleaved repeats")
    print(f"{'case':<40} {'raw shap s':>11} {'explain s':>10} {'ratio':>7} {'max |diff|':>11}")
    for name, raw, ours, repeats in cases:
        (t_raw, t_ours), (v_raw, res) = interleaved_best(raw, ours, repeats)
        diff = float(np.abs(res["shap"].values - v_raw).max())
        print(f"{name:<40} {t_raw:11.4f} {t_ours:10.4f} {t_ours / t_raw:7.3f} {diff:11.2e}")


if __name__ == "__main__":
    main()
