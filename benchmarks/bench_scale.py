"""Scale: chunked and parallel explain(), a Dask LocalCluster, deletion in n_steps, IG on 224x224 images.

Each case runs in a fresh Python process, so its peak resident memory (ru_maxrss; worker processes
reported separately) is its own. Cases:

  glm        1,000,000 x 20 logistic GLM, "coefficients" (closed form): n_jobs None, 1, 2, vs the raw numpy formula
  forest     a 200-tree random forest (depth 8), exact TreeSHAP on ROWS rows, background 100: n_jobs None
             (numba's own threads), 1 (one core) and 2 (two threads here: TreeSHAP's kernels release the GIL)
  dask       the same forest and rows through a 2-worker LocalCluster
  deletion   the deletion metric on 64x64 images (a CNN on upscaled digits): every feature (old) vs n_steps=100
  ig         integrated gradients on 32 images of 3x224x224 through a ResNet-18-sized net vs raw captum
  sampling   LIME and KernelSHAP on a scikit-learn MLP (breast cancer, SAMPLING_ROWS rows, background 50):
             n_jobs 1 vs 2, each after an untimed run (warm workers)

    .venv/bin/python benchmarks/bench_scale.py [--cases glm,forest,dask,deletion,ig] [--forest-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def _workers_peak_mb() -> float:
    """Largest peak RSS (VmHWM) among this process's live children: loky's reusable workers stay alive."""
    import os

    peak = 0.0
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[1] != me:
                    continue
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024.0)
        except (OSError, IndexError):
            continue
    return peak


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def case_glm(args) -> dict:
    from sklearn.linear_model import LogisticRegression

    from explain import explain

    rng = np.random.default_rng(0)
    n, d = 1_000_000, 20
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 3, d) + 0.123456789
    y = (X[:, :5].sum(axis=1) + rng.normal(size=n) > 0.6).astype(int)
    model = LogisticRegression(max_iter=200).fit(X[:20000], y[:20000])
    bg = X[:100]
    base_mb = _peak_mb()
    _, raw = _timed(lambda: model.coef_[0] * (X - bg.mean(axis=0)))
    out = {"rows": n, "raw_numpy_s": raw, "data_mb": X.nbytes / 2 ** 20}
    for jobs in (None, 1, 2):
        r, sec = _timed(lambda: explain(model, X, methods="coefficients", background=bg, n_jobs=jobs,
                                        progress=False))
        out[f"n_jobs={jobs}_s"] = sec
        assert np.allclose(r["coefficients"].values[:1000], model.coef_[0] * (X[:1000] - bg.mean(axis=0)))
        del r
    out.update(peak_mb=_peak_mb(), peak_before_explain_mb=base_mb, workers_peak_mb=_workers_peak_mb())
    return out


def _forest(rows):
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows + 6000, 20)) * np.linspace(0.5, 3, 20) + 0.123456789
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3:8].sum(axis=1) + rng.normal(scale=0.3, size=len(X))
    model = RandomForestRegressor(200, max_depth=8, random_state=0, n_jobs=2).fit(X[:6000], y[:6000])
    model.set_params(n_jobs=None)
    return model, X[6000:], X[:100]


def case_forest(args) -> dict:
    from explain import explain

    model, X, bg = _forest(args.forest_rows)
    out = {"rows": len(X), "trees": 200}
    # compile or load the kernels once (n_jobs=2 runs TreeSHAP on two threads here: no workers to start)
    _, out["warm_up_s"] = _timed(lambda: explain(model, X[:500], methods="shap", background=bg, n_jobs=2,
                                                 progress=False))
    values = {}
    for jobs in (None, 1, 2):
        r, sec = _timed(lambda: explain(model, X, methods="shap", background=bg, n_jobs=jobs, progress=False))
        out[f"n_jobs={jobs}_s"] = sec
        values[jobs] = r["shap"].values
        del r
    out["speedup_2_vs_1"] = out["n_jobs=1_s"] / out["n_jobs=2_s"]
    out["speedup_2_vs_default"] = out["n_jobs=None_s"] / out["n_jobs=2_s"]
    out["bit_identical"] = bool(np.array_equal(values[1], values[2]) and np.array_equal(values[None], values[2]))
    out.update(peak_mb=_peak_mb())
    return out


def case_dask(args) -> dict:
    import distributed

    from explain import explain

    model, X, bg = _forest(args.forest_rows)
    one, sec1 = _timed(lambda: explain(model, X, methods="shap", background=bg, n_jobs=1, progress=False))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        r, sec = _timed(lambda: explain(model, X, methods="shap", background=bg, backend="dask", progress=False))
    return {"rows": len(X), "n_jobs=1_s": sec1, "dask_2_workers_s": sec, "speedup_vs_1": sec1 / sec,
            "bit_identical": bool(np.array_equal(one["shap"].values, r["shap"].values)), "peak_mb": _peak_mb()}


def case_deletion(args) -> dict:
    import tracemalloc

    from explain import explain
    from explain.adapters import get_adapter
    from explain.datasets import load_images
    from explain.datasets._cnn import train_cnn
    from explain.metrics import faithfulness as fm
    from explain.metrics.base import MetricContext

    d = load_images(size=64)
    X = (d.X.to_numpy(np.float32) / 16.0).reshape(-1, 1, 64, 64)
    cnn = train_cnn(X[:800], d.y[:800], epochs=3)
    rows = X[1000:1100]
    e = explain(cnn, rows, methods="saliency", background=X[:50], progress=False)["saliency"]
    adapter = get_adapter(cnn, X=rows.reshape(len(rows), -1), image_shape=(1, 64, 64))
    out = {"rows_new": len(rows), "features": 4096}
    for label, n_rows, steps in (("old_every_feature", args.old_rows, 4096), ("new_n_steps_100", len(rows), 100)):
        ctx = MetricContext(adapter, e.output, X[:50].reshape(50, -1).astype(float), options={"n_steps": steps})
        tracemalloc.start()
        vals, sec = _timed(lambda: fm.deletion(e[:n_rows], ctx))
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
        out[f"{label}_rows"] = n_rows
        out[f"{label}_s_per_row"] = sec / n_rows
        out[f"{label}_peak_traced_mb"] = peak
        out[f"{label}_model_rows_per_row"] = ctx.n_evals / n_rows
    out["speedup_per_row"] = out["old_every_feature_s_per_row"] / out["new_n_steps_100_s_per_row"]
    return out


def case_ig(args) -> dict:
    import captum.attr
    import torch

    from explain import explain
    from explain.datasets._resnet import make_resnet18

    model = make_resnet18(10)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 3, 224, 224)).astype(np.float32)
    bg = rng.uniform(size=(8, 3, 224, 224)).astype(np.float32)
    steps = args.ig_steps
    warm = explain(model, images[:2], methods="integrated_gradients", background=bg, target=0, progress=False,
                   method_params={"integrated_gradients": {"n_steps": steps}})
    batch = int(warm["integrated_gradients"].params["internal_batch_size"])  # the raw call uses the same batches
    out = {"images": 32, "n_steps": steps, "internal_batch_size": batch}
    ours_t, raw_t = [], []
    for _ in range(args.repeats):  # interleaved
        r, sec = _timed(lambda: explain(model, images, methods="integrated_gradients", background=bg, target=0,
                                        method_params={"integrated_gradients": {"n_steps": steps}}, progress=False))
        ours_t.append(sec)
        ig = captum.attr.IntegratedGradients(model)
        base = torch.as_tensor(bg.mean(axis=0, keepdims=True))

        def raw():
            vals = []
            for s in range(0, 32, batch):
                x = torch.as_tensor(images[s:s + batch]).requires_grad_(True)
                vals.append(ig.attribute(x, baselines=base, target=0, n_steps=steps, method="gausslegendre",
                                         internal_batch_size=batch).detach().numpy())
            return np.concatenate(vals)
        ref, sec = _timed(raw)
        raw_t.append(sec)
    out.update(ours_s=min(ours_t), captum_s=min(raw_t), ratio=min(ours_t) / min(raw_t),
               max_abs_diff=float(np.abs(r["integrated_gradients"].flat_values - ref.reshape(32, -1)).max()),
               peak_mb=_peak_mb())
    return out


def case_sampling(args) -> dict:
    """LIME and KernelSHAP (model-agnostic, CPU-bound) on a scikit-learn MLP, breast cancer (30 features):
    n_jobs=1 against n_jobs=2 with warm workers, bit-identical values."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from explain import explain
    from explain.engine import _pool

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=500, random_state=0)).fit(X, y)
    rows, bg = X[:args.sampling_rows], X[300:350]
    params = {"lime": {"num_samples": 2000}, "shap.kernel": {"nsamples": 512}}
    out = {"rows": len(rows), "background": len(bg)}
    for method in ("lime", "shap.kernel"):
        run = lambda jobs, r=rows: explain(model, r, methods=method, background=bg, n_jobs=jobs, progress=False,
                                           method_params=params)[method].values
        # each timed after an untimed run with the same n_jobs: the workers (a pool of one for n_jobs=1 where the
        # method runs isolated, as shap's KernelExplainer does) started and their imports done
        run(1)
        one, out[f"{method}_n_jobs=1_s"] = _timed(lambda: run(1))
        run(2)
        out[f"{method}_workers_warm"] = _pool.running(2)
        two, out[f"{method}_n_jobs=2_s"] = _timed(lambda: run(2))
        out[f"{method}_speedup_2_vs_1"] = out[f"{method}_n_jobs=1_s"] / out[f"{method}_n_jobs=2_s"]
        out[f"{method}_bit_identical"] = bool(np.array_equal(one, two))
    return out


CASES = {"glm": case_glm, "forest": case_forest, "dask": case_dask, "deletion": case_deletion, "ig": case_ig,
         "sampling": case_sampling}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="glm,forest,dask,deletion,ig,sampling")
    p.add_argument("--sampling-rows", type=int, default=600)
    p.add_argument("--forest-rows", type=int, default=100_000)
    p.add_argument("--old-rows", type=int, default=3, help="rows for the every-feature deletion curve (slow)")
    p.add_argument("--ig-steps", type=int, default=50)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(CASES[args.one](args)))
        return
    for name in args.cases.split(","):
        cmd = [sys.executable, __file__, "--one", name, "--forest-rows", str(args.forest_rows), "--old-rows",
               str(args.old_rows), "--ig-steps", str(args.ig_steps), "--repeats", str(args.repeats),
               "--sampling-rows", str(args.sampling_rows)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"{name}: failed\n{res.stderr[-3000:]}")
            continue
        result = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"== {name}")
        for k, v in result.items():
            print(f"   {k:32s} {v:.4g}" if isinstance(v, float) else f"   {k:32s} {v}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
