"""Exact interventional TreeSHAP: explain's own algorithm vs shap.TreeExplainer vs woodelf-explainer.

One run, interleaved, same input: 1,000 explained rows x 20 features (float64),
background 100 and 1,000 rows, for a RandomForestRegressor (100 trees, depth 8),
the same forest at scikit-learn's default depth (paths ~25 deep, more than 12
distinct features on some), XGBoost (200 trees, depth 6), LightGBM (200
trees, 31 leaves) and HistGradientBoosting (200 iterations). Prints seconds, the
ratios, the largest difference between the three, two floors (bare numba loops
computing every explained and background row's pass/fail pattern on every leaf
path, 2 threads: row by row, and column by column as ours does) and our time over each, our peak memory, and for the forests how long reading the trees takes
(first time, and from the cache).
Accuracy against enumeration is pinned by tests/methods/test_tree_shapley.py.

    .venv/bin/python benchmarks/bench_trees.py [--rows 1000] [--backgrounds 100,1000] [--no-shap]
        [--no-woodelf] [--no-memory] [--models rf8,rf,xgb,lgbm,hgb]
    # default-depth forest only, few rows (shap takes ~0.1-0.3 s a row there):
    .venv/bin/python benchmarks/bench_trees.py --models rf --rows 40 --backgrounds 100 --no-woodelf

woodelf-explainer is a benchmark-only dependency: pip install woodelf-explainer.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def data(n=6000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 3, d) + 0.123456789
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3:8].sum(axis=1) + 0.5 * (X[:, 9] > 0) * X[:, 10]
    return X, y + rng.normal(scale=0.3, size=n)


MODELS = {
    "rf8": "RandomForest (100 trees, depth 8)",
    "rf": "RandomForest (100 trees, default depth)",
    "xgb": "XGBoost (200 trees, depth 6)",
    "lgbm": "LightGBM (200 trees, 31 leaves)",
    "hgb": "HistGradientBoosting (200 iterations)",
}


def models(X, y, keys):
    import lightgbm
    import xgboost
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

    make = {
        "rf8": lambda: RandomForestRegressor(100, max_depth=8, random_state=0, n_jobs=2),
        "rf": lambda: RandomForestRegressor(100, random_state=0, n_jobs=2),  # paths ~25 deep, ~2,500 leaves a tree
        "xgb": lambda: xgboost.XGBRegressor(n_estimators=200, max_depth=6, n_jobs=2),
        "lgbm": lambda: lightgbm.LGBMRegressor(n_estimators=200, num_leaves=31, verbose=-1, n_jobs=2),
        "hgb": lambda: HistGradientBoostingRegressor(max_iter=200, random_state=0),
    }
    return {MODELS[k]: make[k]().fit(X, y) for k in keys}


def read_once(model):
    """Seconds to read a fitted scikit-learn forest into explain's tree arrays (first call, then cached)."""
    from explain.adapters import get_adapter
    from explain.adapters._tree_structure import _read_ensemble

    start = time.perf_counter()
    _read_ensemble("sklearn", model, 1)
    first = time.perf_counter() - start
    get_adapter(model).tree_ensemble()
    start = time.perf_counter()
    get_adapter(model).tree_ensemble()
    return first, time.perf_counter() - start


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, np.asarray(out, dtype=float)


def ours(model, rows, bg):
    from explain import explain

    return explain(model, rows, methods="shap", background=bg)["shap"].values


def shap_lib(model, rows, bg):
    import shap

    explainer = shap.TreeExplainer(model, shap.maskers.Independent(bg, max_samples=len(bg)),
                                   feature_perturbation="interventional")
    return explainer.shap_values(rows, check_additivity=False)


def woodelf_lib(model, rows, bg, names):
    import woodelf

    explainer = woodelf.WoodelfExplainer(model, pd.DataFrame(bg, columns=names), feature_perturbation="interventional")
    out = explainer.shap_values(pd.DataFrame(rows, columns=names), verbose=False)
    return out.to_numpy() if hasattr(out, "to_numpy") else out


def floor_loops(model, rows, bg):
    """Two bare leaf-pattern loops: each explained and background row's pass/fail pattern on every leaf path
    (plain numeric splits in line, nothing else), compiled with numba, rows split over 2 threads like ours.
    The row floor tests row by row (for each leaf, each row, each path node); the column floor tests path
    node by path node over the transposed rows (the loop the compiler vectorises, as ours does): the floor
    for any leaf-pattern method. Returns (row floor seconds, column floor seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from explain.adapters import get_adapter
    from explain.adapters._tree_kernels import leaf_paths_of, split_arrays

    @numba.njit(cache=False, nogil=True)
    def by_row(M, feature, thr_le, starts, lengths, path_node, path_dir):
        total = 0
        for li in range(starts.shape[0]):
            s, h = starts[li], lengths[li]
            for r in range(M.shape[0]):
                mask = 0
                for q in range(h):
                    nd = path_node[s + q]
                    if (M[r, feature[nd]] <= thr_le[nd]) != path_dir[s + q]:
                        mask |= 1 << q
                total += mask
        return total

    @numba.njit(cache=False, nogil=True)
    def by_column(MT, feature, thr_le, starts, lengths, path_node, path_dir):
        n = MT.shape[1]
        masks = np.empty(n, np.int64)
        total = 0
        for li in range(starts.shape[0]):
            s, h = starts[li], lengths[li]
            masks[:] = 0
            for q in range(h):
                nd = path_node[s + q]
                col = MT[feature[nd]]
                t = thr_le[nd]
                d = path_dir[s + q]
                bit = np.int64(1) << q
                for r in range(n):
                    if (col[r] <= t) != d:
                        masks[r] |= bit
            for r in range(n):
                total += masks[r]
        return total

    ens = get_adapter(model).tree_ensemble()
    _, starts, lengths, path_node, path_dir = leaf_paths_of(ens)
    thr_le = split_arrays(ens)[-2]
    both = ens.prepare(np.vstack([rows, bg]))
    half = len(both) // 2
    parts = (both[:half], both[half:])
    times = []
    for kernel, data in ((by_row, parts), (by_column, [np.ascontiguousarray(p.T) for p in parts])):
        kernel(data[0], ens.feature, thr_le, starts[:2], lengths[:2], path_node, path_dir)  # compile

        def run(kernel=kernel, data=data):
            with ThreadPoolExecutor(2) as pool:
                return sum(pool.map(lambda part: kernel(part, ens.feature, thr_le, starts, lengths, path_node,
                                                        path_dir), data))
        times.append(timed(run)[0])
    return tuple(times)


def peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--backgrounds", default="100,1000")
    parser.add_argument("--no-shap", action="store_true", help="skip shap (slow at background 1,000)")
    parser.add_argument("--no-woodelf", action="store_true")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory rerun")
    parser.add_argument("--models", default="rf8,rf,xgb,lgbm,hgb", help=f"comma-separated keys of {MODELS}")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = data()
    names = [f"f{j}" for j in range(X.shape[1])]
    fitted = models(X[:4000], y[:4000], args.models.split(","))
    rows = X[4000:4000 + args.rows]
    for model in fitted.values():  # compile what each model needs once (numba caches on disk)
        ours(model, rows[:2], X[:10])
    print(f"{args.rows} rows x {X.shape[1]} features, float64")
    header = f"{'model':34s} {'bg':>5s} {'ours s':>8s} {'shap s':>8s} {'woodelf s':>9s} {'shap/ours':>9s} " \
             f"{'woodelf/ours':>12s} {'row floor s':>11s} {'ours/row floor':>14s} {'column floor s':>14s} " \
             f"{'ours/column floor':>17s} {'max|ours-shap|':>14s} " \
             f"{'max|ours-woodelf|':>17s} {'peak MiB':>8s}"
    print(header)
    for name, model in fitted.items():
        if name.startswith("RandomForest"):
            first, again = read_once(model)
            print(f"{name}: trees read in {first:.3f} s, {again * 1e3:.2f} ms when cached")
        for m in (int(b) for b in args.backgrounds.split(",")):
            bg = X[5000:5000 + m]
            t_ours, v_ours = timed(lambda: ours(model, rows, bg))
            t_shap, v_shap = (np.nan, None) if args.no_shap else timed(lambda: shap_lib(model, rows, bg))
            t_wood, v_wood = np.nan, None
            try:
                if not args.no_woodelf:
                    t_wood, v_wood = timed(lambda: woodelf_lib(model, rows, bg, names))
            except Exception as exc:  # woodelf may not read every model
                print(f"  woodelf failed on {name}: {type(exc).__name__}: {exc}")
            t_floor, t_column = floor_loops(model, rows, bg)
            skip = args.no_memory or args.rows > 200 and "default" in name
            mem = np.nan if skip else peak_memory(lambda: ours(model, rows, bg))
            d_shap = np.nan if v_shap is None else np.abs(v_ours - v_shap).max()
            d_wood = np.nan if v_wood is None else np.abs(v_ours - v_wood).max()
            print(f"{name:34s} {m:5d} {t_ours:8.2f} {t_shap:8.2f} {t_wood:9.2f} {t_shap / t_ours:9.1f} "
                  f"{t_wood / t_ours:12.2f} {t_floor:11.2f} {t_ours / t_floor:14.2f} {t_column:14.3f} "
                  f"{t_ours / t_column:17.2f} {d_shap:14.2e} {d_wood:17.2e} "
                  f"{mem:8.0f}")


if __name__ == "__main__":
    main()
