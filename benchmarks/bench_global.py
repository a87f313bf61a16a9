"""Partial dependence of an RBF SVC in closed form vs scikit-learn's brute force, in one run.

StandardScaler + RBF SVC on breast cancer (30 features): 500 rows x 50 grid points of one feature, the
margin (decision function). Times ``explain.partial_dependence`` (product-kernel factorisation, O(n_sv) per
grid point once the per-support-vector constants are known; the time includes explain's validation) against
``sklearn.inspection.partial_dependence(method="brute")`` on the same grid, prints both, their ratio
(goal >= 20x) and the largest difference. Then the same with ICE curves (kind="both"); then gradient boosting
(one model call per distinct routing of the grid) against the same brute force. Then SAGE on 10
features: exact enumeration vs the permutation estimator at a similar number of model rows.

    .venv/bin/python benchmarks/bench_global.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def best_of(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def bench_pdp(repeats: int) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.inspection import partial_dependence as sk_pd
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    import explain

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:500], y[:500]
    model = make_pipeline(StandardScaler(), SVC()).fit(X, y)
    n_sv = model[-1].support_vectors_.shape[0]
    for feature in (0, 7):
        grid = np.linspace(np.quantile(X[:, feature], 0.05), np.quantile(X[:, feature], 0.95), 50)
        for kind in ("average", "both"):
            ours_t, ours = best_of(lambda: explain.partial_dependence(model, X, feature, grid=grid, kind=kind),
                                   repeats)
            theirs_t, theirs = best_of(lambda: sk_pd(model, X, [feature], custom_values={feature: grid},
                                                     method="brute", kind=kind,
                                                     response_method="decision_function"), repeats)
            diff = np.abs(ours.average - theirs["average"][0]).max() if kind == "average" else \
                max(np.abs(ours.average - theirs["average"][0]).max(),
                    np.abs(ours.individual - theirs["individual"][0]).max())
            print(f"PD feature {feature} ({kind:7s}) 500 rows x 50 grid, {n_sv} support vectors: "
                  f"explain {1e3 * ours_t:7.1f} ms ({ours.method}), sklearn brute {1e3 * theirs_t:7.1f} ms, "
                  f"speed-up {theirs_t / ours_t:5.1f}x, max |diff| {diff:.1e}")


def bench_trees(repeats: int) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.inspection import partial_dependence as sk_pd

    import explain

    X, y = load_diabetes(return_X_y=True)
    model = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0).fit(X, y)
    grid = np.linspace(np.quantile(X[:, 2], 0.05), np.quantile(X[:, 2], 0.95), 50)
    ours_t, ours = best_of(lambda: explain.partial_dependence(model, X, 2, grid=grid, kind="both"), repeats)
    theirs_t, theirs = best_of(lambda: sk_pd(model, X, [2], custom_values={2: grid}, method="brute", kind="both"),
                               repeats)
    diff = np.abs(ours.individual - theirs["individual"][0]).max()
    print(f"PD gradient boosting (100 trees), {len(X)} rows x 50 grid: explain {1e3 * ours_t:7.1f} ms "
          f"({ours.method}, {ours.params['evaluated_grid_points']} distinct routings), sklearn brute "
          f"{1e3 * theirs_t:7.1f} ms, speed-up {theirs_t / ours_t:5.1f}x, max |diff| {diff:.1e}")


def bench_sage(repeats: int) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    import explain
    from explain.errors import ApproximationWarning

    X, y = load_diabetes(return_X_y=True)  # 10 features: the largest game enumerated
    model = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=0).fit(X[:300], y[:300])
    Xt, yt, bg = X[300:380], y[300:380], X[:20]
    exact_t, exact = best_of(lambda: explain.importance(model, Xt, yt, method="sage", background=bg), 1)
    rows_exact = (1 << 10) * len(Xt) * len(bg)
    print(f"SAGE exact, 10 features, 80 rows, background 20: {exact_t:6.2f} s ({rows_exact:,} model rows)")
    # the permutation estimator on the same game (forced by adding a constant 11th feature)
    Xp, bgp = np.column_stack([Xt, np.zeros(len(Xt))]), np.column_stack([bg, np.zeros(len(bg))])
    wrapped = explain.CallableAdapter(lambda Z: model.predict(Z[:, :10]), task="regression", n_features=11)
    draws = rows_exact // (12 * len(bg))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)
        samp_t, samp = best_of(lambda: explain.importance(wrapped, Xp, yt, method="sage", background=bgp,
                                                          n_repeats=int(draws)), 1)
    err = np.abs(samp.mean[:10] - exact.mean)
    print(f"SAGE permutation estimator, at most {draws:,} draws ({samp.params['n_draws']:,} used): {samp_t:6.2f} s, "
          f"max |error| {err.max():.3g} (largest value {exact.mean.max():.3g}), "
          f"errors within 3 standard errors: {int(np.sum(err <= 3 * samp.stderr[:10]))}/10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-sage", action="store_true")
    args = parser.parse_args()
    bench_pdp(args.repeats)
    bench_trees(args.repeats)
    if not args.skip_sage:
        bench_sage(args.repeats)


if __name__ == "__main__":
    main()
