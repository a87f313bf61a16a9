"""First call of exact TreeSHAP (and exact kernel Shapley) on a fresh install: compile time, empty numba cache.

Each measurement runs in a child process whose ``NUMBA_CACHE_DIR`` is a new
empty directory, so nothing compiled before is reused. The child imports
explain, fits a small forest (not timed; depth 5, explained leaf by leaf, and
default depth, explained by the walk: each compiles only the kernels it uses), then times ``explain(model, rows,
methods="shap")`` twice: the first call includes the compilation, the second
does not (their difference is the compile time). A last child runs with the
cache now filled (the second start after install).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_first_call.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time, warnings
import numpy as np
from sklearn.ensemble import RandomForestRegressor
t0 = time.perf_counter()
from explain import explain
t_import = time.perf_counter() - t0
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 6))
depth = {DEPTH}  # 5: the leaf-table kernels; None (default depth): the walk's; "svm": exact kernel Shapley
if depth == "svm":
    from sklearn.svm import SVC
    model = SVC().fit(X, X[:, 0] * X[:, 1] > 0)
else:
    model = RandomForestRegressor(10, max_depth=depth, random_state=0).fit(X, X[:, 0] * X[:, 1] + X[:, 2])
t = time.perf_counter(); explain(model, X[:5], methods="shap", background=X[100:150]); first = time.perf_counter() - t
t = time.perf_counter(); explain(model, X[:5], methods="shap", background=X[100:150]); second = time.perf_counter() - t
print(json.dumps({"import": t_import, "first": first, "second": second}))
"""


def run(cache_dir: str, depth) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", CHILD.replace("{DEPTH}", repr(depth))], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"{'run':46s} {'import s':>9s} {'first call s':>13s} {'second call s':>14s} {'compile s':>10s}")
    for r in range(args.repeats):
        for depth, model in ((5, "depth-5 forest"), (None, "default-depth forest"), ("svm", "RBF SVC (kernel)")):
            with tempfile.TemporaryDirectory() as cache:
                for label in ("empty numba cache", "cache filled"):
                    t = run(cache, depth)
                    print(f"{model + ', ' + label + f' #{r + 1}':46s} {t['import']:9.2f} {t['first']:13.2f} "
                          f"{t['second']:14.2f} {t['first'] - t['second']:10.2f}")


if __name__ == "__main__":
    main()
