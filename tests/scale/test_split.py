"""n_jobs > 1 splits rows over worker processes only when a pilot's cost estimate says it pays."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from explain import explain
from explain.engine import split


class _Job:  # what decide() reads of a Job
    class method:  # noqa: N801
        name = "m"

    background = np.zeros((10, 5))


def test_expensive_rows_split_and_cheap_rows_stay():
    rest = np.zeros((100, 5))
    # 0.3 s per row (LIME-like): 30 s here against 15 s + start on two workers
    assert split.decide(_Job, rest, [(1, 0.35), (2, 0.6)], 32, 2)
    # a few microseconds per row and 10 ms per call: a fraction of a second here, workers cannot win
    assert not split.decide(_Job, rest, [(1, 0.5), (2, 0.010), (4, 0.010)], 4096, 2)


def test_per_call_and_per_row_times_ignore_the_warm_up_step():
    per_call, per_row = split.call_and_row_seconds([(1, 2.0), (2, 0.0102), (4, 0.0104)])
    assert np.isclose(per_call, 0.01) and np.isclose(per_row, 1e-4)


def test_small_work_runs_here_says_so_and_matches_one_job(caplog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    model = LinearRegression().fit(X, X @ np.arange(6.0))
    one = explain(model, X, methods="shap", background=X[:50], n_jobs=1, progress=False)["shap"]
    with caplog.at_level(logging.DEBUG, logger="explain.engine.split"):
        two = explain(model, X, methods="shap", background=X[:50], n_jobs=2, progress=False)["shap"]
    assert "not split (too little work" in caplog.text
    assert np.array_equal(one.values, two.values)


def test_forced_split_is_bit_identical(monkeypatch):
    """When the estimate says split, workers run the rest: the values are those of one job, bit for bit."""
    from sklearn.ensemble import RandomForestRegressor

    calls = []
    monkeypatch.setattr(split, "decide", lambda *a: calls.append(a) or True)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))
    model = RandomForestRegressor(10, max_depth=4, random_state=0).fit(X, X[:, 0] * X[:, 1])
    one = explain(model, X, methods=["shap", "lime"], background=X[:10], n_jobs=1, progress=False,
                  method_params={"lime": {"num_samples": 200}})
    two = explain(model, X, methods=["shap", "lime"], background=X[:10], n_jobs=2, batch_size=8, progress=False,
                  method_params={"lime": {"num_samples": 200}})
    assert len(calls) == 1  # LIME's decision; TreeSHAP runs here on threads (test below)
    for m in ("shap", "lime"):
        assert np.array_equal(one[m].values, two[m].values)


@pytest.mark.parametrize("family", ["forest", "svc"])
def test_compiled_kernels_run_on_threads_here_not_in_workers(family, monkeypatch, caplog):
    """Exact TreeSHAP and exact kernel Shapley release the GIL: n_jobs=2 runs them here on 2 threads (no
    pilot, no worker processes), with the values of n_jobs=1; LIME on the same model still goes to workers."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.svm import SVR

    from explain.engine import run
    from explain.methods.base import Method

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] * X[:, 1] + X[:, 2]
    model = RandomForestRegressor(20, max_depth=6, random_state=0).fit(X, y) if family == "forest" else \
        SVR(gamma=0.3).fit(X, y)
    monkeypatch.setattr(run, "_loky", lambda *a: (_ for _ in ()).throw(AssertionError("workers started")))
    monkeypatch.setattr(split, "decide", lambda *a: (_ for _ in ()).throw(AssertionError("pilot ran")))
    one = explain(model, X, methods="shap", background=X[:40], n_jobs=1, progress=False)["shap"]
    with caplog.at_level(logging.DEBUG, logger="explain.engine.run"):
        two = explain(model, X, methods="shap", background=X[:40], n_jobs=2, progress=False)["shap"]
    assert f"300 rows here on {min(2, os.cpu_count() or 1)} threads" in caplog.text and one.params["exact"]
    assert np.array_equal(one.values, two.values)
    assert not Method.threaded(None, None, "raw")  # the default: other methods keep the pilot


def _lime_on_two_workers(seed):
    """LIME on a small linear model with n_jobs=2 and 8-row chunks (the caller forces the split)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 4))
    model = LinearRegression().fit(X, X @ [1.0, 2.0, 0.0, -1.0])
    explain(model, X, methods=["lime"], background=X[:10], n_jobs=2, batch_size=8, progress=False,
            method_params={"lime": {"num_samples": 100}})


def test_workers_leave_joblib_parallel_working(monkeypatch):
    """explain's workers are its own pool: joblib's Parallel (and scikit-learn's n_jobs) still run afterwards.
    Sharing loky's process-wide executor made the next ``Parallel(n_jobs=2)`` fail with an AttributeError."""
    from joblib import Parallel, delayed

    monkeypatch.setattr(split, "decide", lambda *a: True)
    _lime_on_two_workers(seed=2)
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]


def test_the_estimate_counts_explains_own_running_workers_as_warm(monkeypatch, caplog):
    """Once explain's pool runs, the next estimate pays a warm start, not a cold one (it read loky's
    process-wide executor, which explain no longer uses, so it always assumed new workers)."""
    from explain.engine import _pool

    real = split.decide
    monkeypatch.setattr(split, "decide", lambda *a: True)
    _lime_on_two_workers(seed=3)
    assert _pool.running(2) and not _pool.running(3)
    with caplog.at_level(logging.DEBUG, logger="explain.engine.split"):
        real(_Job, np.zeros((100, 5)), [(1, 0.35), (2, 0.6)], 32, 2)
    assert "on 2 running workers" in caplog.text
