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
    assert explain.accumulated_local_effects(pipe, frame, "c").labels in (("u", "v"), ("v", "u"))
    assert explain.accumulated_local_effects(pipe, frame, "a", bins=4).counts.sum() == 150


def _categorical_frame(kind):
    """A category whose rows differ on the other features in the order lo < mid < hi (names sort otherwise)."""
    rng = np.random.default_rng(5)
    c = rng.choice(["lo", "mid", "hi", "top"], size=240)
    shift = pd.Series(c).map({"lo": -3.0, "mid": 0.0, "hi": 3.0, "top": 6.0}).to_numpy()
    frame = pd.DataFrame({"a": shift + rng.normal(0, 3.0, 240), "c": c, "b": rng.normal(size=240)})
    if kind == "category":
        frame["c"] = pd.Categorical(c, categories=["top", "hi", "mid", "lo"])
    y = (frame["b"] + 0.3 * shift + rng.normal(0, 1, 240) > 0).astype(int)
    return frame, y


@pytest.mark.parametrize("kind", ["string", "category"])
def test_categorical_ale_steps_are_coefficient_differences(kind):
    """One-hot GLM in its link space: adjacent ALE differences equal the coefficient differences exactly."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, y = _categorical_frame(kind)
    ct = ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder="passthrough")
    pipe = make_pipeline(ct, LogisticRegression(C=10.0)).fit(frame, y)
    ale = explain.accumulated_local_effects(pipe, frame, "c")
    assert ale.output == "margin"
    # labels are the category values, in the order of the other features' distributions (the chain
    # lo-mid-hi-top, either way round), never codes
    assert ale.labels in (("lo", "mid", "hi", "top"), ("top", "hi", "mid", "lo"))
    onehot = pipe[0].named_transformers_["c"]
    beta = dict(zip(onehot.categories_[0], pipe[-1].coef_[0][:len(onehot.categories_[0])]))
    np.testing.assert_allclose(np.diff(ale.values), np.diff([beta[c] for c in ale.labels]), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ale.effects, np.diff(ale.values), rtol=0, atol=1e-12)
    counts = frame["c"].astype(str).value_counts()
    assert ale.counts.tolist() == [counts[c] for c in ale.labels]
    assert abs(float(np.sum(ale.values * ale.counts))) < 1e-9  # centred over the rows
    table = ale.to_frame()
    assert table.columns.tolist() == ["category", "value", "count"] and table["category"].tolist() == list(ale.labels)


def test_categorical_ale_matches_a_hand_computation():
    """A model with interactions: each step is the pooled mean of the up and down moves of adjacent rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    frame, y = _categorical_frame("string")
    target = frame["a"] * frame["b"] + y
    ct = ColumnTransformer([("c", OrdinalEncoder(), ["c"])], remainder="passthrough")
    model = make_pipeline(ct, RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0))
    model.fit(frame, target)
    ale = explain.accumulated_local_effects(model, frame, "c")
    order = list(ale.labels)
    steps = []
    for lo, hi in zip(order[:-1], order[1:]):
        rows_lo, rows_hi = frame[frame["c"] == lo], frame[frame["c"] == hi]
        up = model.predict(rows_lo.assign(c=hi)) - model.predict(rows_lo)
        down = model.predict(rows_hi) - model.predict(rows_hi.assign(c=lo))
        steps.append((up.sum() + down.sum()) / (len(rows_lo) + len(rows_hi)))
    np.testing.assert_allclose(ale.effects, steps, rtol=0, atol=1e-10)
    curve = np.concatenate([[0.0], np.cumsum(steps)])
    weights = np.array([np.sum(frame["c"] == c) for c in order])
    np.testing.assert_allclose(ale.values, curve - np.sum(curve * weights) / weights.sum(), rtol=0, atol=1e-10)


def test_category_order_is_the_mds_chain():
    from explain.inspection._ale_categorical import category_order

    points = np.array([0.0, 5.0, 1.0, 3.0])  # categories 0..3 on a line: the order is 0, 2, 3, 1
    D = np.abs(points[:, None] - points[None, :])
    assert category_order(D).tolist() == [0, 2, 3, 1]
    assert category_order(D[::-1, ::-1]).tolist() == [2, 0, 1, 3]  # the end first among the categories first


def test_categorical_ale_refuses_a_single_category():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, y = _categorical_frame("string")
    pipe = make_pipeline(ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["c"])],
                                           remainder="passthrough"), LogisticRegression()).fit(frame, y)
    with pytest.raises(DataError, match="one category"):
        explain.accumulated_local_effects(pipe, frame[frame["c"] == "lo"], "c")
