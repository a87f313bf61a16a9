"""The Explanation type: immutability, aligned slicing, conversions."""

from __future__ import annotations

import numpy as np
import pytest

from explain import Explanation, ExplanationSet


@pytest.fixture
def e():
    rng = np.random.default_rng(0)
    return Explanation(rng.normal(size=(4, 3)), np.arange(4.0), rng.normal(size=(4, 3)), ["a", "b", "c"],
                       output="margin", method="shap", model_name="m", target=[1, 0, 1, 1],
                       params={"scores": np.ones(3), "nested": {"k": [1, 2]}})


def test_fields_are_read_only(e):
    with pytest.raises(ValueError):
        e.values[0, 0] = 0
    with pytest.raises(ValueError):
        e.target[0] = 3
    with pytest.raises(AttributeError):
        e.values = np.zeros((4, 3))
    with pytest.raises(TypeError):
        e.params["new"] = 1
    with pytest.raises(ValueError):
        e.params["scores"][0] = 2
    names = e.feature_names
    names.append("d")
    assert e.feature_names == ["a", "b", "c"]


def test_constructor_copies_input():
    values = np.zeros((2, 2))
    e = Explanation(values, 0.0, values, ["a", "b"], output="raw", method="m", model_name="x")
    values[0, 0] = 5
    assert e.values[0, 0] == 0 and e.base_values.tolist() == [0.0, 0.0]


def test_slicing_keeps_rows_and_features_aligned(e):
    s = e[1:3, "b"]
    assert s.shape == (2, 1) and s.feature_names == ["b"]
    np.testing.assert_array_equal(s.values[:, 0], e.values[1:3, 1])
    np.testing.assert_array_equal(s.data[:, 0], e.data[1:3, 1])
    np.testing.assert_array_equal(s.base_values, [1.0, 2.0])
    np.testing.assert_array_equal(s.target, [0, 1])
    assert e[2].shape == (1, 3) and e[-1].base_values[0] == 3.0
    assert e[:, ["c", "a"]].feature_names == ["c", "a"]
    assert e[[0, 3]].shape == (2, 3)
    with pytest.raises(KeyError, match="no feature named 'z'"):
        e[:, "z"]
    with pytest.raises(IndexError):
        e[9]


def test_to_frame_is_tidy(e):
    df = e.to_frame()
    assert len(df) == 12
    assert list(df.columns) == ["model", "method", "output", "row", "target", "feature", "feature_value",
                                "attribution", "base_value", "stderr"]
    row2 = df[df.row == 2].set_index("feature")
    np.testing.assert_allclose(row2.loc[["a", "b", "c"], "attribution"], e.values[2])


def test_to_shap_round_trip(e):
    import shap

    s = e.to_shap()
    assert isinstance(s, shap.Explanation)
    np.testing.assert_array_equal(s.values, e.values)
    np.testing.assert_array_equal(s.base_values, e.base_values)
    assert list(s.feature_names) == e.feature_names
    np.testing.assert_array_equal(s[:, "b"].values, e.values[:, 1])


def test_global_importance_is_sorted(e):
    imp = e.global_importance()
    assert list(imp.values) == sorted(imp.values, reverse=True)
    assert imp["a"] == pytest.approx(np.abs(e.values[:, 0]).mean())


def test_bad_shapes_rejected():
    with pytest.raises(ValueError, match="base_values must have shape"):
        Explanation(np.zeros((2, 2)), np.zeros(3), np.zeros((2, 2)), ["a", "b"], output="raw", method="m",
                    model_name="x")
    with pytest.raises(ValueError, match="output must be one of"):
        Explanation(np.zeros((2, 2)), 0, np.zeros((2, 2)), ["a", "b"], output="logit", method="m", model_name="x")


def test_explanation_set(e):
    other = Explanation(np.ones((4, 3)), 0, np.zeros((4, 3)), ["a", "b", "c"], output="margin", method="lime",
                        model_name="m")
    s = ExplanationSet([e, other], model_name="m")
    assert s.methods == ["shap", "lime"]
    assert [x.method for x in s] == ["shap", "lime"]
    assert s["lime"] is other and "shap" in s and len(s) == 2
    with pytest.raises(KeyError, match="this set has"):
        s["kernel"]
    assert len(s.to_frame()) == 24
    assert "shap" in repr(s)


def test_params_frames_cannot_be_edited_through_the_result():
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    res = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    from explain import explain

    e = explain(res, X[:3], methods="coefficients", background=X)["coefficients"]
    before = e.params["inference"]["estimate"].to_numpy().copy()
    table = e.params["inference"]
    table.loc[0, "estimate"] = 999.0
    np.testing.assert_array_equal(e.params["inference"]["estimate"].to_numpy(), before)
    with pytest.raises(TypeError):
        e.params["exact"] = False


def test_get_adapter_renames_a_copy():
    from sklearn.linear_model import LinearRegression

    from explain.adapters import get_adapter

    X = np.random.default_rng(0).normal(size=(30, 2))
    adapter = get_adapter(LinearRegression().fit(X, X[:, 0]))
    renamed = get_adapter(adapter, name="mine")
    assert renamed.name == "mine" and adapter.name == "LinearRegression"


def test_not_fitted_is_sklearn_not_fitted():
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.linear_model import LinearRegression

    from explain import explain

    with pytest.raises(SkNotFitted):
        explain(LinearRegression(), np.zeros((3, 2)))
