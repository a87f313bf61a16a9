"""Attributions against ground truth that does not come from explain's own code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from explain import explain
from explain.methods._enumeration import enumerate_shapley

from helpers import make_data, naive_shapley
from zoo import build


def test_enumeration_matches_textbook_formula():
    rng = np.random.default_rng(1)
    X, B = rng.normal(size=(3, 5)), rng.normal(size=(7, 5))
    f = lambda Z: Z[:, 0] * Z[:, 1] + np.sin(Z[:, 2]) * Z[:, 4] + np.maximum(Z[:, 3], 0)
    values, base = enumerate_shapley(f, X, B, max_batch=50)  # small batches exercise the chunking
    for i in range(3):
        phi, v0 = naive_shapley(f, X[i], B)
        np.testing.assert_allclose(values[i], phi, atol=1e-12)
        assert base[i] == pytest.approx(v0)


# -- GLMs: beta_j (x_j - mean_bg x_j) on the link scale -------------------------------------------

@pytest.mark.parametrize("method", ["shap", "coefficients"])
def test_logistic_regression_closed_form(method):
    model, X = build("LogisticRegression")
    bg = X[-40:]
    e = explain(model, X[:10], methods=method, background=bg)[method]
    expected = model.coef_[0] * (X[:10] - bg.mean(axis=0))
    np.testing.assert_allclose(e.values, expected, atol=1e-8)
    assert e.output == "margin"


def test_multinomial_logistic_explains_each_class():
    model, X = build("LogisticRegression-multiclass")
    bg = X[-40:]
    e = explain(model, X[:12], methods="shap", background=bg, target=2)["shap"]
    np.testing.assert_allclose(e.values, model.coef_[2] * (X[:12] - bg.mean(0)), atol=1e-8)
    np.testing.assert_allclose(e.values.sum(1) + e.base_values, model.decision_function(X[:12])[:, 2], atol=1e-8)


def test_scaled_pipeline_is_explained_in_input_columns():
    model, X = build("Ridge-pipeline")
    scaler, ridge = model[0], model[-1]
    bg = X[-40:]
    e = explain(model, X[:10], methods="shap", background=bg)["shap"]
    np.testing.assert_allclose(e.values, ridge.coef_ / scaler.scale_ * (X[:10] - bg.mean(0)), atol=1e-8)


def test_poisson_link_scale():
    model, X = build("PoissonRegressor")
    bg = X[-40:]
    e = explain(model, X[:10], methods="coefficients", background=bg)["coefficients"]
    np.testing.assert_allclose(e.values, model.coef_ * (X[:10] - bg.mean(0)), atol=1e-8)
    np.testing.assert_allclose(np.exp(e.values.sum(1) + e.base_values), model.predict(X[:10]), rtol=1e-8)


def test_statsmodels_logit_closed_form_and_inference():
    res, X = build("statsmodels-Logit")
    bg = X[-40:]
    e = explain(res, X[:10], methods="coefficients", background=bg)["coefficients"]
    beta = np.asarray(res.params)[1:]
    np.testing.assert_allclose(e.values, beta * (X[:10] - bg.mean(0)), atol=1e-8)
    table = e.params["inference"]
    np.testing.assert_allclose(table["std_error"], res.bse, rtol=1e-12)
    np.testing.assert_allclose(table["p_value"], res.pvalues, rtol=1e-12)
    np.testing.assert_allclose(table[["ci_lower", "ci_upper"]], res.conf_int(), rtol=1e-12)


def test_statsmodels_formula_groups_terms_by_input_column():
    res, df = build("statsmodels-formula")
    bg = df.iloc[-40:]
    e = explain(res, df.iloc[:8], methods="coefficients", background=bg)["coefficients"]
    params = res.params
    a_term = params["np.log(a)"] * np.log(df["a"])
    c_term = params["I(c ** 2)"] * df["c"] ** 2
    np.testing.assert_allclose(e.values[:, 0], (a_term.iloc[:8] - a_term.iloc[-40:].mean()).to_numpy(), atol=1e-8)
    np.testing.assert_allclose(e.values[:, 2], (c_term.iloc[:8] - c_term.iloc[-40:].mean()).to_numpy(), atol=1e-8)
    table = e.params["inference"]
    assert dict(zip(table["term"], table["input_column"]))["np.log(a)"] == "a"


def test_formula_with_interaction_is_not_additive_but_explained():
    import statsmodels.formula.api as smf

    X, y = make_data(task="binary", d=4)
    df = pd.DataFrame(X, columns=list("abcd"))
    res = smf.logit("y ~ a * b + c + d", df.assign(y=y)).fit(disp=0)
    result = explain(res, df.iloc[:4], background=df.iloc[-20:])
    assert "coefficients" not in result.methods
    e = result["shap"]
    assert e.params["algorithm"].startswith("exact enumeration")
    f = lambda Z: res.predict(pd.DataFrame(Z, columns=list("abcd")), which="linear")
    phi, base = naive_shapley(f, df.to_numpy(float)[0], df.to_numpy(float)[-20:])
    np.testing.assert_allclose(e.values[0], phi, atol=1e-8)


def test_gaussian_nb_log_likelihood_ratios():
    model, X = build("GaussianNB")
    bg = X[-40:]
    e = explain(model, X[:10], methods="naive_bayes", background=bg)["naive_bayes"]
    sd = np.sqrt(model.var_)

    def g(Z):
        return norm.logpdf(Z, model.theta_[1], sd[1]) - norm.logpdf(Z, model.theta_[0], sd[0])

    np.testing.assert_allclose(e.values, g(X[:10]) - g(bg).mean(0), atol=1e-8)


# -- trees and kernels: exact interventional Shapley values ----------------------------------------

@pytest.mark.parametrize("name,output", [
    ("GradientBoostingClassifier", "margin"), ("RandomForestClassifier", "probability"),
    ("RandomForestRegressor", "raw"), ("XGBClassifier", "margin"), ("LGBMRegressor", "raw"),
    ("SVC-pipeline", "margin"), ("SVR", "raw"), ("KernelRidge", "raw"),
    ("GradientBoostingClassifier", "probability"),
])
def test_shap_equals_enumeration(name, output):
    model, X = build(name)
    bg = X[-15:]
    e = explain(model, X[:3], methods="shap", background=bg, output=output)["shap"]
    from explain.adapters import get_adapter

    f = get_adapter(model).output_function(output, None if e.target is None else 1)
    for i in range(3):
        phi, base = naive_shapley(f, X[i], bg)
        np.testing.assert_allclose(e.values[i], phi, atol=1e-6)
        assert e.base_values[i] == pytest.approx(base, abs=1e-6)


def test_tree_shap_itself_matches_enumeration_on_tie_free_data():
    """shap.tree (no fallback) on data that does not sit on split thresholds."""
    model, X = build("RandomForestClassifier")
    rng = np.random.default_rng(5)
    rows = X[:3] + rng.normal(scale=1e-3, size=X[:3].shape).astype(np.float32)
    bg = X[-15:] + rng.normal(scale=1e-3, size=X[-15:].shape).astype(np.float32)
    rows, bg = rows.astype(np.float32).astype(float), bg.astype(np.float32).astype(float)
    e = explain(model, rows, methods="shap.tree", background=bg)["shap.tree"]
    assert e.params["exact"]
    f = lambda Z: model.predict_proba(Z)[:, 1]
    for i in range(3):
        np.testing.assert_allclose(e.values[i], naive_shapley(f, rows[i], bg)[0], atol=1e-6)


def test_kernel_shap_keeps_every_feature_and_converges():
    """shap's default l1_reg would keep 10 of 12 features; ours keeps all and nears the exact values."""
    from sklearn.svm import SVR

    X, y = make_data(task="regression", d=12, n=200)
    model = SVR().fit(X, y)
    bg = X[-10:]
    kern = explain(model, X[:2], methods="shap.kernel", background=bg,
                   method_params={"shap.kernel": {"nsamples": 6000}})["shap.kernel"]
    assert np.all(kern.values != 0)
    assert kern.params["nsamples"] == 6000 and kern.params["l1_reg"] is False
    exact = explain(model, X[:2], methods="shap", background=bg)["shap"]
    assert exact.params["exact"]
    err = np.abs(kern.values - exact.values).sum() / np.abs(exact.values).sum()
    assert err < 0.1


def test_lime_contributions_match_shap_on_a_linear_model():
    model, X = build("LinearRegression")
    bg = X[-60:]
    result = explain(model, X[:5], methods=["shap", "lime"], background=bg,
                     method_params={"lime": {"num_samples": 4000}})
    lime, shap = result["lime"], result["shap"]
    np.testing.assert_allclose(lime.values, shap.values, rtol=0.05, atol=0.05 * np.abs(shap.values).max())
    assert lime.params["slopes"].shape == (5, X.shape[1])
    assert np.all(lime.params["local_r2"] > 0.99)


@pytest.mark.slow
def test_shap_exact_and_permutation_agree_with_enumeration():
    model, X = build("SVR")
    bg = X[-10:]
    result = explain(model, X[:2], methods=["shap", "shap.exact", "shap.permutation"], background=bg,
                     method_params={"shap.permutation": {"max_evals": 2000}})
    np.testing.assert_allclose(result["shap.exact"].values, result["shap"].values, atol=1e-8)
    # antithetic permutations are exact for d <= 2 orders per feature; here just close
    np.testing.assert_allclose(result["shap.permutation"].values, result["shap"].values,
                               atol=0.1 * np.abs(result["shap"].values).max())
