"""Every documented bad input raises our own error with a message that says what and how to fix it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

import explain as ex
from explain import explain

from helpers import make_data


@pytest.fixture(scope="module")
def fitted(frame_data):
    df, y = frame_data
    return LogisticRegression().fit(df, y), df


def test_unfitted_model(frame_data):
    df, _ = frame_data
    with pytest.raises(ex.NotFittedError, match=r"LogisticRegression is not fitted yet.*\.fit\(X, y\)"):
        explain(LogisticRegression(), df)


def test_unfitted_pipeline_step(frame_data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df, _ = frame_data
    with pytest.raises(ex.NotFittedError, match="StandardScaler is not fitted"):
        explain(make_pipeline(StandardScaler(), SVC()), df)


def test_unfitted_statsmodels_model(frame_data):
    import statsmodels.api as sm

    df, y = frame_data
    with pytest.raises(ex.NotFittedError, match=r"Pass the fitted results instead: res = model.fit\(\)"):
        explain(sm.Logit(y, df), df)


def test_unsupported_model_lists_supported_and_callable_adapter(frame_data):
    df, _ = frame_data

    class Mystery:
        def predict(self, X):
            return X[:, 0]

    with pytest.raises(ex.UnsupportedModelError) as info:
        explain(Mystery(), df)
    msg = str(info.value)
    assert "Mystery" in msg and "CallableAdapter" in msg and "RandomForestClassifier" in msg and "SVC" in msg
    assert isinstance(info.value, TypeError)


def test_plain_function_points_to_callable_adapter(frame_data):
    df, _ = frame_data
    with pytest.raises(ex.UnsupportedModelError, match="CallableAdapter"):
        explain(lambda X: X[:, 0], df)


def test_wrong_column_count(fitted):
    model, df = fitted
    with pytest.raises(ex.DataError, match="has 4 columns but the model expects 5"):
        explain(model, df.to_numpy()[:, :4])


def test_wrong_column_names(fitted):
    model, df = fitted
    bad = df.rename(columns={"feat_2": "feat_two"})
    with pytest.raises(ex.DataError, match=r"missing column\(s\) \['feat_2'\].*unexpected column\(s\) \['feat_two'\]"):
        explain(model, bad)


def test_reordered_columns_are_matched_by_name(fitted):
    model, df = fitted
    shuffled = df[df.columns[::-1]]
    e = explain(model, shuffled.iloc[:3], methods="coefficients", background=df)["coefficients"]
    assert e.feature_names == list(df.columns)
    np.testing.assert_array_equal(e.data, df.iloc[:3].to_numpy(float))


def test_nan_names_the_column(fitted):
    model, df = fitted
    bad = df.copy()
    bad.iloc[3, 2] = np.nan
    with pytest.raises(ex.DataError, match=r"NaN values in column\(s\) \['feat_2'\] \(first at row 3"):
        explain(model, bad)


def test_inf_names_the_column(fitted):
    model, df = fitted
    bad = df.to_numpy().copy()
    bad[0, 4] = np.inf
    with pytest.raises(ex.DataError, match=r"inf values in column\(s\) \['x4'\]|inf values in column\(s\) \['feat_4'\]"):
        explain(model, bad)


def test_non_numeric_column(fitted):
    model, df = fitted
    bad = df.assign(feat_1=["a"] * len(df))
    with pytest.raises(ex.DataError, match=r"non-numeric column\(s\) \['feat_1'\].*Encode them as numbers"):
        explain(model, bad)


def test_empty_x(fitted):
    model, df = fitted
    with pytest.raises(ex.DataError, match="empty"):
        explain(model, df.iloc[:0])


def test_one_dimensional_x(fitted):
    model, df = fitted
    with pytest.raises(ex.DataError, match=r"1-D.*reshape\(1, -1\)"):
        explain(model, df.to_numpy()[0])


def test_unknown_method_suggests_closest(fitted):
    model, df = fitted
    with pytest.raises(ex.UnknownMethodError, match=r"unknown method 'shapp'\. Did you mean 'shap'\?.*Valid methods"):
        explain(model, df, methods=["shapp"])


def test_method_not_applicable_lists_those_that_do(fitted):
    model, df = fitted
    with pytest.raises(ex.MethodNotApplicableError) as info:
        explain(model, df, methods="naive_bayes")
    msg = str(info.value)
    assert "explains naive_bayes models only" in msg and "Methods that apply:" in msg and "coefficients" in msg


def test_target_out_of_range(fitted):
    model, df = fitted
    with pytest.raises(ex.TargetError, match=r"target 7 is not a class.*classes are \[0, 1\]"):
        explain(model, df.iloc[:3], target=7)


def test_target_on_regression():
    from sklearn.linear_model import LinearRegression

    X, y = make_data(task="regression")
    with pytest.raises(ex.TargetError, match="regression model; target must be None"):
        explain(LinearRegression().fit(X, y), X[:3], target=1)


def test_background_wrong_shape(fitted):
    model, df = fitted
    with pytest.raises(ex.BackgroundError, match="background has 3 columns but the model expects 5"):
        explain(model, df.iloc[:3], background=df.to_numpy()[:, :3])
    assert issubclass(ex.BackgroundError, ex.DataError)


def test_output_not_offered():
    X, y = make_data()
    with pytest.raises(ex.OutputError, match=r"offers output \['margin'\], not 'probability'.*predict_proba"):
        explain(SVC().fit(X, y), X[:3], output="probability")


def test_errors_are_builtin_subclasses():
    assert issubclass(ex.DataError, ValueError) and issubclass(ex.UnsupportedModelError, TypeError)
    assert issubclass(ex.UnknownMethodError, ValueError) and issubclass(ex.NotFittedError, ValueError)
