"""Real mixed-type tables (issue 10): strings, categories, NaN, ColumnTransformer pipelines, per original column.

The reference is brute-force enumeration over the *original* columns, built in
DataFrame space: hybrid rows take a coalition's columns from x and the rest
from a background row, and go through the user's whole pipeline.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from explain import compare, datasets, explain
from helpers import run_cli, shapley_of_game


def enumerate_frame(f, x: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    """Interventional Shapley values of f over the original columns, by enumeration in DataFrame space."""
    cols = list(background.columns)

    def v(S):
        rows = background.copy()
        for j in S:
            rows[cols[j]] = pd.Series([x.iloc[0][cols[j]]] * len(rows), index=rows.index,
                                      dtype=background[cols[j]].dtype)
        return float(np.mean(f(rows)))

    return shapley_of_game(v, len(cols))[0]


@pytest.fixture(scope="module")
def fair():
    data = datasets.load_tabular("fair")
    order = np.random.default_rng(0).permutation(len(data.y))  # the file is sorted by the label
    X = data.X.iloc[order, 1:]  # 7 columns: 4 numeric (float64, not float32-representable after scaling), 3 categories
    return X.reset_index(drop=True), data.y[order]


@pytest.fixture(scope="module")
def mixed_zoo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return datasets.model_zoo("mixed", size="small")


def _pipelines(X, y):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from explain.datasets._mixed import _encoders

    Xt, yt = X.iloc[:800], y[:800]
    return {
        "onehot+LogisticRegression": (make_pipeline(_encoders(X), LogisticRegression(max_iter=2000)).fit(Xt, yt),
                                      "decision_function", 1e-9),
        "onehot+RandomForest": (make_pipeline(_encoders(X), RandomForestClassifier(30, max_depth=6, random_state=0))
                                .fit(Xt, yt), "proba", 1e-9),
        "onehot+RBF SVC": (make_pipeline(_encoders(X), SVC(gamma=0.1)).fit(Xt, yt), "decision_function", 1e-9),
        "HistGB native categories": (HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=30)
                                     .fit(Xt, yt), "decision_function", 1e-9),
    }


@pytest.mark.parametrize("name", ["onehot+LogisticRegression", "onehot+RandomForest", "onehot+RBF SVC",
                                  "HistGB native categories"])
def test_shap_is_exact_per_original_column(fair, name):
    X, y = fair
    model, kind, tol = _pipelines(X, y)[name]
    f = model.decision_function if kind == "decision_function" else (lambda Z: model.predict_proba(Z)[:, 1])
    rows, bg = X.iloc[900:903], X.iloc[1000:1020]
    e = explain(model, rows, methods="shap", background=bg)["shap"]
    assert e.params["exact"] and e.feature_names == list(X.columns)
    for i in range(len(rows)):
        ref = enumerate_frame(f, rows.iloc[[i]], bg)
        np.testing.assert_allclose(e.values[i], ref, atol=tol * max(1, np.abs(ref).max()), err_msg=name)


def test_scaler_only_column_transformer_keeps_the_exact_method(fair):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = fair
    nums = X.select_dtypes("number")
    model = make_pipeline(ColumnTransformer([("s", StandardScaler(), list(nums.columns))]),
                          RandomForestRegressor(20, max_depth=5, random_state=0)).fit(nums.iloc[:500], y[:500])
    e = explain(model, nums.iloc[:5], methods="shap", background=nums.iloc[600:640])["shap"]
    assert e.params["algorithm"].startswith("exact interventional TreeSHAP") and e.n_model_evals < 1000


def test_native_categorical_boosters_with_nan_are_exact():
    import lightgbm
    import xgboost

    data = datasets.load_tabular("penguins")
    X = data.X.copy()
    for col in ("island", "sex"):
        X[col] = X[col].astype("category")
    X = X.rename(columns={"bill_length_mm": "bill length (mm)"})  # LightGBM renames spaces internally
    y = (data.y == 0).astype(int)
    models = [lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, min_child_samples=5, verbose=-1).fit(X, y),
              xgboost.XGBClassifier(n_estimators=20, max_depth=3, enable_categorical=True, tree_method="hist")
              .fit(X, y)]
    rows = X[X.isna().any(axis=1)].iloc[:3]
    assert rows.isna().any().any()
    bg = X.iloc[::9]
    for model in models:
        e = explain(model, rows, methods="shap", background=bg)["shap"]
        margin = (lambda Z, m=model: m.predict(Z, raw_score=True)) if "LGBM" in type(model).__name__ else \
            (lambda Z, m=model: m.predict(Z, output_margin=True))
        tol = 1e-6 if "XGB" in type(model).__name__ else 1e-9
        for i in range(len(rows)):
            ref = enumerate_frame(margin, rows.iloc[[i]], bg)
            np.testing.assert_allclose(e.values[i], ref, atol=tol * max(1, np.abs(ref).max()),
                                       err_msg=type(model).__name__)


def test_original_values_kept_and_shown(mixed_zoo):
    X = mixed_zoo.X_test.iloc[:4]
    e = explain(mixed_zoo["glm"], X, methods="shap", background=mixed_zoo.X_train.iloc[:50])["shap"]
    j = e.feature_names.index("occupation")
    assert e.data[0, j] == X["occupation"].iloc[0]  # the label, not a code
    frame = e.to_frame()
    row = frame[(frame.row == 0) & (frame.feature == "occupation")]
    assert row.feature_value.iloc[0] == X["occupation"].iloc[0]
    assert e.codes.dtype == float


@pytest.mark.slow
def test_every_method_runs_on_the_mixed_zoo(mixed_zoo):
    X, bg = mixed_zoo.X_test.iloc[:3], mixed_zoo.X_train.iloc[:30]
    methods = ["shap", "shap.kernel", "shap.permutation", "shap.exact", "lime", "occlusion", "feature_ablation",
               "random"]
    params = {"shap.kernel": {"nsamples": 300}, "lime": {"num_samples": 300}, "shap.permutation": {"max_evals": 300}}
    for name, model in mixed_zoo.items():
        r = explain(model, X, methods=methods, background=bg, method_params=params)
        for e in r:
            assert np.all(np.isfinite(e.values)), (name, e.method)
            assert e.shape == (3, X.shape[1])


def test_compare_on_the_mixed_zoo(mixed_zoo):
    X, bg = mixed_zoo.X_test.iloc[:6], mixed_zoo.X_train.iloc[:40]
    models = {k: mixed_zoo[k] for k in ("glm", "random_forest", "hist_gradient_boosting")}
    cmp = compare(models, X, background=bg, methods=["shap", "lime"],
                  metrics=["deletion", "faithfulness_correlation", "infidelity", "max_sensitivity", "rank_correlation",
                           "model_randomisation"], method_params={"lime": {"num_samples": 300}}, robustness_rows=2)
    card = cmp.scorecard()
    assert list(card.index) == list(models) and np.isfinite(card["deletion"]).all()


def test_lime_treats_categories_as_categories(mixed_zoo):
    X, bg = mixed_zoo.X_test.iloc[:3], mixed_zoo.X_train.iloc[:200]
    e = explain(mixed_zoo["glm"], X, methods="lime", background=bg, method_params={"lime": {"num_samples": 500}})
    lime = e["lime"]
    assert "categorical columns" in lime.params["algorithm"]


def test_a_model_that_cannot_take_nan_says_which_column():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from explain.errors import DataError

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, (X.a > 0).astype(int))
    Xn = X.copy()
    Xn.loc[2, "b"] = np.nan
    with pytest.raises(DataError, match=r"missing values in column\(s\) \['b'\]"):
        explain(model, Xn.iloc[:5], background=X)


def test_common_wrappers(fair):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    from explain.datasets._mixed import _encoders

    X, y = fair
    Xt, yt = X.iloc[:600], y[:600]
    rows, bg = X.iloc[700:702], X.iloc[800:815]
    calibrated = make_pipeline(_encoders(X), CalibratedClassifierCV(SVC(), cv=3)).fit(Xt, yt)
    e = explain(calibrated, rows, methods="shap", background=bg)["shap"]
    assert e.output == "probability" and e.params["exact"]  # 7 columns: exact enumeration of the probability
    ref = enumerate_frame(lambda Z: calibrated.predict_proba(Z)[:, 1], rows.iloc[[0]], bg)
    np.testing.assert_allclose(e.values[0], ref, atol=1e-9)

    nums = X.select_dtypes("number")
    ttr = TransformedTargetRegressor(Ridge(), func=np.log1p, inverse_func=np.expm1).fit(nums.iloc[:600],
                                                                                       nums.age.iloc[:600] * 0 + y[:600])
    e = explain(ttr, nums.iloc[:2], methods="shap", background=nums.iloc[800:815])["shap"]
    ref = enumerate_frame(ttr.predict, nums.iloc[[0]], nums.iloc[800:815])
    np.testing.assert_allclose(e.values[0], ref, atol=1e-9)

    three = (X.yrs_married.to_numpy() > 5).astype(int) + (X.age.to_numpy() > 30)
    ovr = make_pipeline(_encoders(X), OneVsRestClassifier(LogisticRegression(max_iter=500))).fit(Xt, three[:600])
    r = explain(ovr, rows, methods=["shap", "lime"], background=bg, method_params={"lime": {"num_samples": 200}})
    assert r["shap"].params["exact"] and r["shap"].output == "probability"


def test_cli_report_on_parquet_and_csv_with_categories(tmp_path, mixed_zoo):
    import skops.io as sio

    sio.dump(mixed_zoo["glm"], tmp_path / "glm.skops")  # a Pipeline with a ColumnTransformer
    data = mixed_zoo.X_test.iloc[:30].assign(label=mixed_zoo.y_test[:30])
    data.to_parquet(tmp_path / "data.parquet")
    data.to_csv(tmp_path / "data.csv", index=False)
    label = str(data["occupation"].iloc[0])
    for source, extra in (("data.parquet", []), ("data.csv", ["--categorical", "religious,occupation"])):
        out = tmp_path / f"{source}.md"
        proc = run_cli("report", "--model", f"glm={tmp_path / 'glm.skops'}", "--data", str(tmp_path / source),
                       "--target", "label", "--metrics", "faithfulness", "--rows", "4", "--out", str(out), "--quiet",
                       *extra)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text()
        assert f"occupation = {label}" in text  # the original value beside its contribution


@pytest.mark.parametrize("kind", ["poisson", "negativebinomial", "glm_gamma", "glm_tweedie"])
def test_formula_count_and_glm_families_with_string_categories(fair, kind):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    X, _ = fair
    df = X.iloc[:1500].assign(children=np.round(X.children.iloc[:1500]), rate=X.age.iloc[:1500] / 10 + 1)
    formula = "children ~ age + C(religious) + C(occupation) + Q('yrs_married')"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "poisson":
            res = smf.poisson(formula, df).fit(disp=0)
        elif kind == "negativebinomial":
            res = smf.negativebinomial(formula, df).fit(disp=0, maxiter=200)
        else:
            family = sm.families.Gamma(sm.families.links.Log()) if kind == "glm_gamma" else \
                sm.families.Tweedie(var_power=1.5)
            res = smf.glm(formula.replace("children", "rate"), df, family=family).fit()
    cols = ["age", "religious", "occupation", "yrs_married"]
    rows, bg = df[cols].iloc[:3], df[cols].iloc[100:160]
    r = explain(res, rows, methods=["coefficients", "shap"], background=bg)
    e = r["coefficients"]
    assert sorted(e.feature_names) == sorted(cols) and e.params["exact"]
    table = e.params["inference"]
    assert set(table["input_column"]) >= {"religious", "occupation"}  # dummy terms grouped to their column
    # exact on the link scale: enumeration over the original columns of the linear predictor
    eta = lambda Z: np.log(res.predict(Z))  # every family here has a log link
    ref = enumerate_frame(eta, rows.iloc[[0]], bg)
    np.testing.assert_allclose(e[:, cols].values[0], ref, atol=1e-8)


def test_other_per_column_encoders_keep_exactness(fair):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, TargetEncoder

    X, y = fair
    ct = ColumnTransformer([("ord", OrdinalEncoder(), ["religious"]), ("te", TargetEncoder(random_state=0),
                                                                        ["occupation", "occupation_husb"]),
                            ("bins", KBinsDiscretizer(n_bins=4, encode="onehot-dense"), ["age", "yrs_married"])],
                           remainder="passthrough")
    model = make_pipeline(ct, LogisticRegression(max_iter=2000)).fit(X.iloc[:1000], y[:1000])
    rows, bg = X.iloc[1100:1102], X.iloc[1200:1230]
    e = explain(model, rows, methods="shap", background=bg)["shap"]
    assert e.params["algorithm"].startswith("closed form") and e.feature_names == list(X.columns)
    ref = enumerate_frame(model.decision_function, rows.iloc[[1]], bg)
    np.testing.assert_allclose(e.values[1], ref, atol=1e-9)
