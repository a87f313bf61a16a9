"""The conformance suite every adapter x applicable method passes.

Shapes, feature names, determinism under random_state, immutability, local
accuracy, and the caller's X and model left unmodified.
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest

from explain import explain
from explain.adapters.base import get_adapter

from zoo import MODEL_NAMES, build

N_ROWS, N_BG = 6, 25


def _fingerprint(model):
    """Hash of the fitted state (statsmodels results fill lazy caches, so hash what was fitted)."""
    if hasattr(model, "state_dict"):  # torch: parameters, buffers and every training flag
        return joblib.hash(([v.numpy() for v in model.state_dict().values()],
                            [m.training for m in model.modules()]))
    if hasattr(model, "model") and hasattr(model, "params"):
        return joblib.hash((np.asarray(model.params), model.model.exog, model.model.endog))
    return joblib.hash(model)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def fitted(request):
    model, X = build(request.param)
    return request.param, model, X


@pytest.fixture(scope="module")
def run(fitted):
    name, model, X = fitted
    X_rows = X.iloc[:N_ROWS] if isinstance(X, pd.DataFrame) else X[:N_ROWS]
    bg = X.iloc[-N_BG:] if isinstance(X, pd.DataFrame) else X[-N_BG:]
    X_before = X_rows.copy()
    model_hash = None if name == "CallableAdapter" else _fingerprint(model)
    kw = dict(background=bg, methods=["auto", "random"], random_state=3,
              method_params={"lime": {"num_samples": 300}})
    first = explain(model, X_rows, **kw)
    second = explain(model, X_rows, **kw)
    return dict(name=name, model=model, X=X_rows, X_before=X_before, model_hash=model_hash,
                first=first, second=second)


def test_shapes_and_names(run):
    X = run["X"]
    n, d = X.shape[0], int(np.prod(X.shape[1:]))
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    assert len(run["first"]) >= 2
    for e in run["first"]:
        assert e.values.shape == np.shape(X)  # images keep their shape, rows stay (n, d)
        assert e.flat_values.shape == (n, d)
        assert e.base_values.shape == (n,)
        np.testing.assert_array_equal(e.data, np.asarray(X, dtype=float))
        assert len(e.feature_names) == d
        if names is not None:
            assert e.feature_names == [str(c) for c in names]
        assert np.all(np.isfinite(e.values))
        assert e.output in ("margin", "probability", "raw")
        adapter = get_adapter(run["model"])
        adapter.prepare(np.asarray(X, dtype=float).reshape(n, -1), e.image_shape)
        if adapter.task == "classification":
            assert e.target is not None and e.target.shape == (n,)
        else:
            assert e.target is None


def test_deterministic_under_random_state(run):
    for a, b in zip(run["first"], run["second"]):
        assert a.method == b.method
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.base_values, b.base_values)


def test_immutable(run):
    e = next(iter(run["first"]))
    assert not e.values.flags.writeable and not e.base_values.flags.writeable
    with pytest.raises(ValueError):
        e.values[0, 0] = 1.0
    with pytest.raises(AttributeError):
        e.method = "other"
    with pytest.raises(TypeError):
        e.params["x"] = 1


def test_local_accuracy(run):
    adapter = get_adapter(run["model"])
    flat = np.asarray(run["X"], dtype=float).reshape(len(run["X"]), -1)
    adapter.prepare(flat, run["first"][run["first"].methods[0]].image_shape)
    for e in run["first"]:
        out = adapter.predict(flat, e.output)
        pred = out[:, 0] if e.target is None else out[np.arange(len(e)), e.target]
        gap = np.abs(e.base_values + e.flat_values.sum(axis=1) - pred)
        if e.params["exact"]:
            assert gap.max() <= 1e-6 * max(1.0, np.abs(pred).max()), (e.method, gap.max())
        if e.method.startswith("shap") or e.method in ("coefficients", "naive_bayes"):
            assert e.params["additivity_gap"] == pytest.approx(gap.max(), abs=1e-12)


def test_inputs_unmodified(run):
    X, before = run["X"], run["X_before"]
    if isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X, before)
    else:
        np.testing.assert_array_equal(X, before)
    if run["model_hash"] is not None:
        assert _fingerprint(run["model"]) == run["model_hash"]


def test_model_evaluations_counted(run):
    for e in run["first"]:
        reads_internals = e.params.get("algorithm", "").startswith("exact product-kernel")
        if e.method not in ("coefficients", "naive_bayes") and not reads_internals:
            assert e.n_model_evals > 0, e.method
