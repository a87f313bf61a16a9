"""Sampled Shapley values: explain's KernelSHAP vs shap.KernelExplainer(l1_reg=False) at equal model evaluations.

Three models in probability space on 14 features (an MLP, a logistic regression, gradient boosting), background
10 rows, 24 explained rows, budgets of 512 and 2048 coalitions per row. Both estimators evaluate each coalition
as the mean of the model over the background, so a coalition costs 10 model rows for both; the script counts the
rows each one sends to the model (per explained row, besides the background's mean, which both compute once)
and prints them. Exact values: enumeration of all 2^14 coalitions. Prints RMSE vs exact for both, the ratio
(ours / KernelExplainer; the goal is <= 0.5) and the share of exact values inside our values +- 1.96 stderr.

    flock /work/notes/heavy.lock .venv/bin/python benchmarks/bench_sampling.py [--rows 24]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

D, N_BACKGROUND, BUDGETS = 14, 10, (512, 2048)


class Counted:
    """A model function that counts the rows it is asked for."""

    def __init__(self, f):
        self.f, self.rows = f, 0

    def __call__(self, Z):
        Z = np.asarray(Z)
        self.rows += Z.shape[0]
        return self.f(Z)


def models():
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from explain.adapters import get_adapter

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, D))
    logit = (X[:, 0] - 0.8 * X[:, 1] + 0.9 * X[:, 2] * X[:, 3] + 0.5 * X[:, 4:].sum(axis=1)
             - 0.7 * np.abs(X[:, 5] * X[:, 6]))
    y = (logit + rng.logistic(size=len(X)) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the MLP's convergence warning
        fitted = {"MLP (32 relu units)": MLPClassifier((32,), max_iter=400, random_state=0).fit(X, y),
                  "logistic regression": LogisticRegression().fit(X, y),
                  "gradient boosting (60 trees)": GradientBoostingClassifier(n_estimators=60, max_depth=3,
                                                                             random_state=0).fit(X, y)}
    return {k: get_adapter(m).output_function("probability", 1) for k, m in fitted.items()}, X


def run(name, f, X, bg, n_rows):
    import shap

    from explain.methods._enumeration import enumerate_shapley
    from explain.methods._kernel_sampling import kernel_shap_estimate

    exact, base = enumerate_shapley(f, X, bg)
    for budget in BUDGETS:
        ours, theirs, cover, rows_ours, rows_theirs = [], [], [], 0, 0
        t_ours = t_theirs = 0.0
        for i, x in enumerate(X):
            g = Counted(f)
            start = time.perf_counter()
            v_full = float(g(x[None])[0])
            r = kernel_shap_estimate(g, x, bg, v_empty=float(base[i]), v_full=v_full, nsamples=budget,
                                     rng=np.random.default_rng([11, i]))
            t_ours += time.perf_counter() - start
            rows_ours += g.rows
            ours.append(r.values - exact[i])
            cover.append(np.abs(r.values - exact[i]) <= 1.96 * r.stderr)
            h = Counted(f)
            explainer = shap.KernelExplainer(h, bg, link="identity")
            h.rows = 0  # the background's mean, computed once, as ours is
            np.random.seed(i)
            start = time.perf_counter()
            phi = explainer.shap_values(x[None], nsamples=budget, l1_reg=False, silent=True)
            t_theirs += time.perf_counter() - start
            rows_theirs += h.rows
            theirs.append(np.asarray(phi, dtype=float).reshape(-1) - exact[i])
        rmse_ours, rmse_theirs = np.sqrt(np.mean(np.square(ours))), np.sqrt(np.mean(np.square(theirs)))
        print(f"{name:30s} {budget:5d} coalitions | model rows/row ours {rows_ours / n_rows:6.0f} "
              f"shap {rows_theirs / n_rows:6.0f} | RMSE ours {rmse_ours:.2e} shap {rmse_theirs:.2e} "
              f"ratio {rmse_ours / rmse_theirs:.2f} | coverage {np.mean(cover):.3f} of {np.size(cover)} | "
              f"s/row ours {t_ours / n_rows:.3f} shap {t_theirs / n_rows:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=24)
    args = parser.parse_args()
    fs, X = models()
    rng = np.random.default_rng(1)
    rows = X[rng.choice(len(X), args.rows, replace=False)]
    bg = X[rng.choice(len(X), N_BACKGROUND, replace=False)]
    print(f"{D} features, background {N_BACKGROUND}, {args.rows} rows; ratio = RMSE ours / RMSE "
          "shap.KernelExplainer(l1_reg=False) at equal model evaluations (goal <= 0.5)")
    for name, f in fs.items():
        run(name, f, rows, bg, args.rows)


if __name__ == "__main__":
    main()
