"""What a newcomer hit on real data (issue 26): a function that imputes NaN, duplicated column names, a value of
1e300 under LIME, and the report of a multiclass one-hot pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explain.errors import ParameterError
from sklearn.linear_model import LogisticRegression, Ridge

from explain import CallableAdapter, build_report, explain
from explain.errors import BackgroundError, DataError

from helpers import naive_shapley, penguins_onehot


# -- item 10: CallableAdapter(fn, allow_nan=True) --------------------------------------------------------------
def _imputing(means, w):
    def f(Z):
        Z = np.where(np.isnan(Z), means, Z)  # the function imputes missing values itself
        return Z @ w + np.tanh(Z[:, 0] * Z[:, 1])
    return f


def test_callable_adapter_allow_nan_lets_an_imputing_function_see_nan():
    rng = np.random.default_rng(0)
    bg = rng.normal(size=(30, 3))
    means, w = bg.mean(axis=0), np.array([1.0, -2.0, 0.5])
    f = _imputing(means, w)
    X = np.array([[0.3, np.nan, 1.0], [np.nan, 0.2, -1.0], [0.5, 0.5, 0.5]])
    with pytest.raises(DataError, match="allow_nan=True"):  # the default still refuses, and says how
        explain(CallableAdapter(f, n_features=3), X, background=bg, methods=["shap"])
    e = explain(CallableAdapter(f, n_features=3, allow_nan=True), X, background=bg, methods=["shap"])["shap"]
    for i in range(len(X)):  # NaN is a value the function sees: the textbook game on the same rows
        ref, base = naive_shapley(f, X[i], bg)
        np.testing.assert_allclose(e.values[i], ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(e.base_values[i], base, rtol=1e-10, atol=1e-12)
    assert np.isnan(e.data).sum() == 2
    with pytest.raises(ParameterError, match="allow_nan"):
        CallableAdapter(f, allow_nan="yes")


# -- item 5: duplicated column names --------------------------------------------------------------------------
@pytest.mark.parametrize("mixed", [False, True])
def test_duplicated_column_names_are_refused_by_name(mixed):
    frame = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["age", "age", "income"])
    if mixed:  # a string column sends the frame through the category codec first
        frame["city"] = ["a", "b", "a", "b"]
    adapter = CallableAdapter(lambda Z: np.ones(len(Z)), task="regression")
    with pytest.raises(DataError, match=r"duplicated columns \['age'\]"):
        explain(adapter, frame, methods=["shap"])


def test_duplicated_names_after_text_conversion_and_in_feature_names():
    frame = pd.DataFrame(np.arange(8.0).reshape(4, 2), columns=[1, "1"])  # both are "1" in explanations
    adapter = CallableAdapter(lambda Z: Z[:, 0], task="regression")
    with pytest.raises(DataError, match=r"duplicated columns \['1'\]"):
        explain(adapter, frame, methods=["shap"])
    with pytest.raises(DataError, match=r"feature_names has duplicated names \['b'\]"):
        explain(adapter, np.ones((3, 3)), feature_names=["b", "a", "b"], methods=["shap"])
    bg = pd.DataFrame(np.ones((4, 2)), columns=["a", "a"])
    with pytest.raises(BackgroundError, match=r"duplicated columns \['a'\]"):
        explain(adapter, pd.DataFrame(np.ones((2, 2)), columns=["a", "b"]), background=bg, methods=["shap"])


# -- item 8: a value of 1e300 under LIME ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ridge():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    return Ridge().fit(X, X["a"] - 2 * X["c"]), X


def test_lime_names_the_cell_whose_scale_overflows(ridge):
    model, X = ridge
    rows = X.iloc[:4].copy()
    rows.iloc[2, 1] = 1e300
    with pytest.raises(DataError, match=r"X row 2, column 'b': value 1e\+300"):
        explain(model, rows, background=X, methods=["lime"], method_params={"lime": {"num_samples": 200}})
    with pytest.warns(UserWarning, match="left out 'lime'.*column 'b'"):  # auto leaves LIME out, says why
        result = explain(model, rows, background=X)
    assert "lime" not in result.methods and "coefficients" in result.methods
    ok = explain(model, rows, background=X, methods=["coefficients"])["coefficients"]
    np.testing.assert_allclose(ok.values[2, 1], model.coef_[1] * (1e300 - X["b"].mean()), rtol=1e-12)


def test_lime_names_the_background_column_whose_scale_overflows(ridge):
    model, X = ridge
    bg = X.copy()
    bg.iloc[7, 2] = -1e300
    with pytest.raises(BackgroundError, match=r"background column 'c'.*background row 7"):
        explain(model, X.iloc[:2], background=bg, methods=["lime"], method_params={"lime": {"num_samples": 200}})


def test_lime_still_runs_on_large_but_representable_values(ridge):
    model, X = ridge
    rows = X.iloc[:2].copy()
    rows.iloc[0, 0] = 1e100
    e = explain(model, rows, background=X, methods=["lime"], method_params={"lime": {"num_samples": 200}})["lime"]
    assert np.all(np.isfinite(e.values))


# -- item 4: the report of a multiclass one-hot pipeline -------------------------------------------------------
def test_report_of_multiclass_onehot_logistic_pipeline_on_penguins():
    model, X = penguins_onehot(LogisticRegression(max_iter=1000))
    pre = model[0]
    rows = X.iloc[[0, 160, 300]]  # Adelie, Gentoo, Chinstrap: three explained classes
    e = explain(model, rows, background=X.iloc[::25], methods=["coefficients"])
    report = build_report(e)
    model_section = next(s for s in report.sections if s.kind == "model")
    table = next(s for s in model_section.children if s.title.startswith("Inference table")).data["table"]
    assert table["columns"][:3] == ["class", "term", "input_column"]
    cells = pd.DataFrame(table["rows"], columns=table["columns"])
    explained = sorted({str(t) for t in np.asarray(e["coefficients"].target)})
    assert sorted(cells["class"].unique()) == explained and len(explained) == 3
    terms = [str(t) for t in pre.get_feature_names_out()]
    for k, label in enumerate(model.classes_):  # estimates are scikit-learn's own coefficients, class by class
        part = cells[cells["class"] == str(label)]
        assert list(part["term"]) == terms
        assert list(part["estimate"]) == [f"{v:.4g}" for v in model[-1].coef_[k]]
    assert "Inference table" in report.to_html()


# -- item 7: a formula term outside its domain ----------------------------------------------------------------
def test_auto_methods_skip_a_method_that_leaves_a_formula_domain_and_say_why():
    """np.log(a) in a formula: LIME samples a <= 0 (patsy used to drop those rows: 5,000 vs 3,826 samples).
    methods='auto' leaves LIME out with a warning and explains with the rest; a named LIME fails clearly."""
    import warnings

    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.lognormal(size=300), "b": rng.normal(size=300)})
    df["y"] = (np.log(df.a) + df.b + rng.normal(size=300) > 0).astype(int)
    res = smf.logit("y ~ np.log(a) + b", df).fit(disp=0)
    X = df[["a", "b"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = explain(res, X.iloc[:5], background=X)
    assert "lime" not in result.methods and {"coefficients", "shap"} <= set(result.methods)
    skipped = [w for w in caught if "left out 'lime'" in str(w.message)]
    assert len(skipped) == 1 and "np.log(column) only positive values" in str(skipped[0].message)
    assert skipped[0].filename == __file__  # the warning points at the caller's line
    with pytest.raises(DataError, match="method 'lime': the model's formula could not be evaluated"):
        explain(res, X.iloc[:5], background=X, methods=["lime"])
