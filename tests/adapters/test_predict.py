"""Each adapter's outputs equal the model's own public predictions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from explain.adapters import get_adapter

from helpers import make_data
from zoo import build


def _rows(X):
    return np.asarray(X, dtype=float)[:20]


@pytest.mark.parametrize("name", ["LogisticRegression", "GradientBoostingClassifier", "SVC-pipeline",
                                  "XGBClassifier"])
def test_binary_margin_is_decision_function(name):
    model, X = build(name)
    a = get_adapter(model)
    Z = _rows(X)
    if name == "XGBClassifier":
        expected = model.predict(Z, output_margin=True)
    else:
        expected = model.decision_function(Z)
    out = a.predict(Z, "margin")
    np.testing.assert_allclose(out[:, 1], expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out[:, 0], -expected, rtol=1e-6, atol=1e-6)


def test_naive_bayes_margin_is_log_odds():
    model, X = build("GaussianNB")
    Z = _rows(X)
    p = model.predict_proba(Z)[:, 1]
    np.testing.assert_allclose(get_adapter(model).predict(Z, "margin")[:, 1], logit(p), rtol=1e-6, atol=1e-6)


def test_statsmodels_outputs():
    res, X = build("statsmodels-Logit")
    Z = _rows(X)
    a = get_adapter(res)
    import statsmodels.api as sm

    exog = sm.add_constant(Z, has_constant="add")
    np.testing.assert_allclose(a.predict(Z, "probability")[:, 1], res.predict(exog), rtol=1e-10)
    np.testing.assert_allclose(a.predict(Z, "margin")[:, 1], res.predict(exog, which="linear"), rtol=1e-10)


def test_statsmodels_formula_outputs_on_input_columns():
    res, df = build("statsmodels-formula")
    a = get_adapter(res)
    assert a.feature_names_in == list("abcde")
    Z = df.to_numpy(float)[:20]
    np.testing.assert_allclose(a.predict(Z, "probability")[:, 1], res.predict(df.iloc[:20]), rtol=1e-10)


def test_poisson_glm_link_and_response():
    model, X = build("PoissonRegressor")
    Z = _rows(X)
    a = get_adapter(model)
    np.testing.assert_allclose(np.exp(a.predict(Z, "margin")[:, 0]), model.predict(Z), rtol=1e-10)
    np.testing.assert_allclose(a.predict(Z, "raw")[:, 0], model.predict(Z), rtol=1e-12)


def test_forest_probability_and_no_margin():
    model, X = build("RandomForestClassifier")
    a = get_adapter(model)
    assert a.natural_output == "probability" and "margin" not in a.outputs
    np.testing.assert_allclose(a.predict(_rows(X), "probability"), model.predict_proba(_rows(X)))


def test_xgboost_and_lightgbm_boosters():
    import lightgbm
    import xgboost

    X, y = make_data(task="binary")
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, label=y), 10)
    a = get_adapter(booster)
    assert a.task == "classification" and list(a.classes) == [0, 1] and a.n_features_in == X.shape[1]
    np.testing.assert_allclose(a.predict(X[:10], "probability")[:, 1], booster.predict(xgboost.DMatrix(X[:10])),
                               rtol=1e-6)
    lgb = lightgbm.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lightgbm.Dataset(X, y), 10)
    b = get_adapter(lgb)
    assert b.task == "classification" and b.natural_output == "margin"
    np.testing.assert_allclose(expit(b.predict(X[:10], "margin")[:, 1]), lgb.predict(X[:10]), rtol=1e-6)


def test_dataframe_model_gets_named_columns(frame_data):
    """No 'X does not have valid feature names' warning: the model sees its own column names."""
    import warnings

    from sklearn.linear_model import LogisticRegression

    df, y = frame_data
    model = LogisticRegression().fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_adapter(model).predict(df.to_numpy(float)[:5], "probability")


def test_target_defaults():
    model, X = build("LogisticRegression-multiclass")
    a = get_adapter(model)
    Z = _rows(X)
    np.testing.assert_array_equal(a.resolve_target(None, Z, "margin"), model.predict(Z))
    binary, Xb = build("LogisticRegression")
    assert set(get_adapter(binary).resolve_target(None, _rows(Xb), "margin")) == {1}
    # by label, by index, per row
    np.testing.assert_array_equal(a.resolve_target(2, Z, "margin"), np.full(len(Z), 2))
    per_row = np.arange(len(Z)) % 3
    np.testing.assert_array_equal(a.resolve_target(per_row, Z, "margin"), per_row)


def test_string_class_labels():
    from sklearn.linear_model import LogisticRegression

    X, y = make_data(task="binary")
    model = LogisticRegression().fit(X, np.where(y == 1, "yes", "no"))
    a = get_adapter(model)
    np.testing.assert_array_equal(a.resolve_target("no", X[:3], "margin"), [0, 0, 0])
    np.testing.assert_array_equal(a.resolve_target("yes", X[:3], "margin"), [1, 1, 1])
