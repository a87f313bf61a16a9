"""Class labels and category labels survive every trip: explain(), slicing, Parquet and the report bundle.

Real data (issue 26): wine relabelled 1..3 (integer labels that are not the class positions), Palmer penguins with
the species as strings and island/sex as string columns with missing values.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explain import Explanation, explain, load_report, read_explanations, to_parquet
from explain.comparison import _rerun
from explain.datasets import load_tabular
from explain.report.build import build_report

KW = dict(methods=["shap"], output="margin", progress=False)


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y + 1)  # labels 1, 2, 3
    assert list(model.classes_) == [1, 2, 3]
    return model, X.iloc[[0, 1, 70, 71, 140, 141]], X.iloc[::9]


@pytest.fixture(scope="module")
def penguins():
    ds = load_tabular("penguins")
    X = ds.X
    y = np.asarray(ds.target_names, dtype=object)[ds.y]  # "Adelie", "Chinstrap", "Gentoo"
    cats = ["island", "sex"]
    pre = ColumnTransformer([
        ("c", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cats),
        ("n", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [c for c in X if c not in cats])])
    model = make_pipeline(pre, LogisticRegression(max_iter=2000)).fit(X, y)
    rows = X.iloc[[0, 3, 150, 200, 300, 340]]  # Torgersen (one with every measurement missing), Biscoe, Dream
    return model, rows, X.iloc[::7]


# -- item 1: the target is the label ---------------------------------------------------------------------
def test_integer_labels_that_are_not_positions(wine):
    model, rows, bg = wine
    e = explain(model, rows, target=3, background=bg, **KW)["shap"]
    assert e.target.tolist() == [3] * 6 and e.target_index.tolist() == [2] * 6
    assert set(e.to_frame()["target"]) == {3}
    # the values explain class 3: they add up to scikit-learn's own score of that class (column 2)
    np.testing.assert_allclose(e.base_values + e.values.sum(axis=1), model.decision_function(rows)[:, 2],
                               atol=1e-10)
    again = explain(model, rows, target=e.target, background=bg, **KW)["shap"]
    np.testing.assert_array_equal(again.values, e.values)
    np.testing.assert_array_equal(again.target, e.target)
    # the default explains the predicted class: the label scikit-learn predicts
    d = explain(model, rows, background=bg, **KW)["shap"]
    np.testing.assert_array_equal(d.target, model.predict(rows))
    assert d.target.dtype.kind == "i"
    np.testing.assert_array_equal(np.asarray(model.classes_)[d.target_index], d.target)
    s = d[2:5]
    np.testing.assert_array_equal(s.target, d.target[2:5])
    np.testing.assert_array_equal(s.target_index, d.target_index[2:5])


def test_rerun_of_comparison_explains_the_same_classes(wine):
    """compare()'s re-explanations (seeds, robustness, sanity) pass e.target back into explain()."""
    model, rows, bg = wine
    result = explain(model, rows, background=bg, **KW)
    e = result["shap"]
    again = _rerun(model, e, result.validated)(e.codes)
    np.testing.assert_array_equal(again.target, e.target)
    np.testing.assert_allclose(again.values, e.values, atol=1e-12)


def test_string_labels(penguins):
    model, rows, bg = penguins
    e = explain(model, rows, background=bg, **KW)["shap"]
    np.testing.assert_array_equal(e.target, model.predict(rows))
    assert all(type(t) is str for t in e.target)
    assert list(e.to_frame()["target"].unique()) == list(pd.unique(model.predict(rows)))
    again = explain(model, rows, target=e.target, background=bg, **KW)["shap"]
    np.testing.assert_array_equal(again.values, e.values)
    gentoo = explain(model, rows, target="Gentoo", background=bg, **KW)["shap"]
    assert gentoo.target.tolist() == ["Gentoo"] * 6 and gentoo.target_index.tolist() == [2] * 6


def test_hand_built_explanations_need_positions_for_other_labels():
    kw = dict(output="raw", method="m", model_name="x")
    e = Explanation(np.zeros((2, 1)), 0.0, np.zeros((2, 1)), ["a"], target=[1, 0], **kw)
    assert e.target_index.tolist() == [1, 0]  # integer labels default to being the positions
    with pytest.raises(ValueError, match="target_index"):  # DataError is a ValueError too
        Explanation(np.zeros((2, 1)), 0.0, np.zeros((2, 1)), ["a"], target=["b", "a"], **kw)
    s = Explanation(np.zeros((2, 1)), 0.0, np.zeros((2, 1)), ["a"], target="b", target_index=1, **kw)
    assert s.target.tolist() == ["b", "b"] and s.target_index.tolist() == [1, 1]


# -- items 1 and 2 through Parquet ------------------------------------------------------------------------------
def _assert_same_rows(e: Explanation, rows: pd.DataFrame):
    """The explanation's data decodes to the user's rows, values and dtypes (the independent reference)."""
    pd.testing.assert_frame_equal(e.codec.decode(e.codes), rows.reset_index(drop=True))
    island = e.to_frame().query("feature == 'island'")["feature_value"].tolist()
    assert island == rows["island"].tolist() and "Biscoe" in island


def test_parquet_keeps_labels_and_categories(penguins, wine, tmp_path):
    model, rows, bg = penguins
    direct = explain(model, rows, background=bg, random_state=0, **KW)["shap"]
    path = to_parquet(model, rows, tmp_path / "p.parquet", background=bg, random_state=0, batch_size=4, **KW)
    reader = read_explanations(path)
    back = reader.to_explanation("shap")
    np.testing.assert_array_equal(back.values, direct.values)
    np.testing.assert_array_equal(back.target, direct.target)
    assert all(type(t) is str for t in back.target)
    np.testing.assert_array_equal(back.target_index, direct.target_index)
    _assert_same_rows(back, rows)
    frame = reader.to_pandas(columns=["row_id", "target", "target_index"]).sort_values("row_id")
    assert frame["target"].tolist() == list(model.predict(rows))
    for chunk in reader.iter_batches("shap", batch_size=4):
        assert chunk.data[0, 0] in ("Torgersen", "Biscoe", "Dream")

    wmodel, wrows, wbg = wine
    out = to_parquet(wmodel, wrows, tmp_path / "w.parquet", target=3, background=wbg, **KW)
    wback = read_explanations(out).to_explanation("shap")
    assert wback.target.tolist() == [3] * 6 and wback.target.dtype.kind == "i"
    assert wback.target_index.tolist() == [2] * 6


# -- items 1 and 2 through the report bundle ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".html"])
def test_report_bundle_keeps_labels_and_categories(penguins, wine, tmp_path, suffix):
    model, rows, bg = penguins
    result = explain(model, rows, background=bg, name="penguins", **KW)
    wmodel, wrows, wbg = wine
    wresult = explain(wmodel, wrows, target=3, background=wbg, name="wine", **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = build_report({"penguins": result, "wine": wresult}, title="labels").save(tmp_path / f"r{suffix}")
    loaded = load_report(path)["explanations"]
    back, direct = loaded["penguins"]["shap"], result["shap"]
    np.testing.assert_array_equal(back.target, direct.target)
    assert all(type(t) is str for t in back.target)
    np.testing.assert_array_equal(back.target_index, direct.target_index)
    _assert_same_rows(back, rows)
    wback = loaded["wine"]["shap"]
    assert wback.target.tolist() == [3] * 6 and wback.target.dtype.kind == "i"
    assert wback.target_index.tolist() == [2] * 6 and wback.codec is None


def test_version_1_bundles_are_still_read(penguins, tmp_path):
    """A bundle written before labels: target held the positions, categories their text only."""
    model, rows, bg = penguins
    path = build_report(explain(model, rows, background=bg, name="p", **KW), title="v1").save(tmp_path / "r.json")
    record = json.loads(open(path).read())
    record["schema_version"] = "1"
    for r in record["explanations"]["p"]:
        r["target"] = r.pop("target_index")
        r.pop("codec")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(record))
    e = load_report(old)["explanations"]["p"]["shap"]
    assert e.target.tolist() == e.target_index.tolist() == [0, 0, 0, 2, 1, 1]
    assert e.data[:, 0].tolist() == rows["island"].tolist()  # categories as text, as version 1 stored them
