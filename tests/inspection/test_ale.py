"""First-order ALE: the linear identity in link space, bins and centring recomputed by hand, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

import explain
from explain.errors import DataError, ParameterError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 3)) * [1.0, 3.0, 0.2]
    y = (X[:, 0] - 0.5 * X[:, 1] + X[:, 2] * 4 + rng.normal(0, 0.5, 150) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("j", [0, 1, 2])
def test_linear_model_steps_are_beta_times_widths(data, j):
    X, y = data
    model = LogisticRegression().fit(X, y)
    ale = explain.accumulated_local_effects(model, X, j, bins=7)
    assert ale.output == "margin" and ale.edges.shape == (8,) and ale.values.shape == (8,)
    np.testing.assert_allclose(np.diff(ale.values), model.coef_[0, j] * np.diff(ale.edges), rtol=0, atol=1e-10)
    assert ale.counts.sum() == 150 and ale.counts.shape == (7,)


def test_matches_a_direct_computation(data):
    X, y = data
    model = GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0).fit(X, X[:, 0] ** 2)
    ale = explain.accumulated_local_effects(model, X, 0, bins=5)
    x = X[:, 0]
    z = np.quantile(x, np.linspace(0, 1, 6))
    np.testing.assert_array_equal(ale.edges, z)
    effects, counts = [], []
    for k in range(5):
        inside = (x > z[k]) & (x <= z[k + 1]) if k else (x >= z[0]) & (x <= z[1])
        hi, lo = X[inside].copy(), X[inside].copy()
        hi[:, 0], lo[:, 0] = z[k + 1], z[k]
        effects.append(np.mean(model.predict(hi) - model.predict(lo)))
        counts.append(int(inside.sum()))
    curve = np.concatenate([[0], np.cumsum(effects)])
    centred = curve - np.sum(0.5 * (curve[1:] + curve[:-1]) * counts) / np.sum(counts)
    np.testing.assert_allclose(ale.values, centred, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ale.counts, counts)
    frame = ale.to_frame()
    assert list(frame.columns) == ["edge", "value", "count"] and frame["count"].iloc[0] == 0
    with pytest.raises(AttributeError):
        ale.values = None


def test_refusals(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ParameterError, match="bins"):
        explain.accumulated_local_effects(model, X, 0, bins=0)
    Xc = X.copy()
    Xc[:, 1] = 1.0
    with pytest.raises(DataError, match="constant"):
        explain.accumulated_local_effects(model, Xc, 1)
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"a": X[:, 0], "c": np.where(X[:, 1] > 0, "u", "v")})
    pipe = make_pipeline(ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder="passthrough"),
                         LogisticRegression()).fit(frame, y)
    with pytest.raises(ParameterError, match="categorical"):
        explain.accumulated_local_effects(pipe, frame, "c")
    assert explain.accumulated_local_effects(pipe, frame, "a", bins=4).counts.sum() == 150
