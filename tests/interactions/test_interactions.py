"""Exact interaction indices per pair and row against a textbook enumeration of the interventional game."""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pandas as pd
import pytest

import explain
from explain import CallableAdapter
from explain.errors import ApproximationWarning, ExplainError


def _game(f, x, background, S):
    Z = background.copy()
    Z[:, list(S)] = x[list(S)]
    return float(np.mean(f(Z)))


def textbook_indices(f, x, background, index):
    """Pairwise SII / STII by their defining sums over coalitions (independent of the package's code)."""
    d = x.shape[0]
    cache = {}

    def v(S):
        key = tuple(sorted(S))
        if key not in cache:
            cache[key] = _game(f, x, background, key)
        return cache[key]

    out = np.zeros((d, d))
    for i, j in itertools.combinations(range(d), 2):
        rest = [k for k in range(d) if k not in (i, j)]
        total = 0.0
        for r in range(len(rest) + 1):
            w = (factorial(r) * factorial(d - r - 2) / factorial(d - 1) if index == "SII"
                 else 2.0 / (d * comb(d - 1, r)))
            for S in itertools.combinations(rest, r):
                total += w * (v(S + (i, j)) - v(S + (i,)) - v(S + (j,)) + v(S))
        out[i, j] = out[j, i] = total
    for i in range(d):
        if index == "STII":
            out[i, i] = v((i,)) - v(())
        else:
            rest = [k for k in range(d) if k != i]
            out[i, i] = sum(factorial(r) * factorial(d - r - 1) / factorial(d) * (v(S + (i,)) - v(S))
                            for r in range(d) for S in itertools.combinations(rest, r))
    return out


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 5)) * np.arange(1, 6) + 0.1  # float64, not float32-representable
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.5 * X[:, 3] * (X[:, 4] > 0)
    return X, y, (y > np.median(y)).astype(int)


def _models(data):
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, SVR

    X, y, yc = data
    return {
        "forest": (RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X, y), "raw"),
        "boosting": (GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(X, yc), "margin"),
        "hist": (HistGradientBoostingRegressor(max_iter=15, random_state=0).fit(X, y), "raw"),
        "svr": (SVR(gamma=0.05).fit(X, y), "raw"),
        "svc": (SVC(gamma=0.05).fit(X, yc), "margin"),
        "kernel_ridge": (KernelRidge(kernel="rbf", gamma=0.05, alpha=0.5).fit(X, y), "raw"),
        "glm_proba": (LogisticRegression(max_iter=1000).fit(X, yc), "probability"),
    }


@pytest.mark.parametrize("index", ["SII", "STII"])
# the forest (about a minute) runs in the full tier; boosting and HistGB keep trees in the fast tier
@pytest.mark.parametrize("name", [pytest.param("forest", marks=pytest.mark.slow), "boosting", "hist", "svr", "svc",
                                  "kernel_ridge", "glm_proba"])
def test_exact_per_pair_against_textbook_enumeration(data, name, index):
    X, _, _ = data
    model, output = _models(data)[name]
    B = X[:25]
    inter = explain.interactions(model, X[:3], background=B, index=index, output=output)
    assert inter.exact.all()
    from explain.adapters import get_adapter

    adapter = get_adapter(model)
    t = None if adapter.task != "classification" else 1
    f = adapter.output_function(output, t)
    for k in range(3):
        ref = textbook_indices(f, X[k], B, index)
        np.testing.assert_allclose(inter.values[k], ref, rtol=0, atol=1e-10 * max(1.0, np.abs(ref).max()))
    np.testing.assert_array_equal(inter.values, np.transpose(inter.values, (0, 2, 1)))


def test_glm_pairs_are_exactly_zero_in_link_space(data):
    from sklearn.linear_model import LogisticRegression

    X, _, yc = data
    model = LogisticRegression(max_iter=1000).fit(X, yc)
    inter = explain.interactions(model, X[:4], background=X[:30])
    assert inter.output == "margin" and inter.exact.all()
    assert np.all(inter.pairs == 0.0)
    assert inter.strength() == pytest.approx(0.0, abs=1e-12)
    shap_values = explain.explain(model, X[:4], methods="coefficients", background=X[:30])["coefficients"].values
    np.testing.assert_allclose(inter.main, shap_values, atol=1e-12)
    # in probability space the same model interacts: enumeration, non-zero pairs
    prob = explain.interactions(model, X[:4], background=X[:30], output="probability")
    assert prob.params["algorithm"].startswith("exact enumeration") and np.abs(prob.pairs).max() > 1e-4


def test_sii_diagonal_is_our_shapley_values_and_to_shap_sums_to_the_prediction(data):
    X, _, _ = data
    model, _ = _models(data)["forest"]
    inter = explain.interactions(model, X[:5], background=X[:30])
    phi = explain.explain(model, X[:5], methods="shap.tree", background=X[:30])["shap.tree"].values
    np.testing.assert_allclose(inter.main, phi, atol=1e-10)
    layout = inter.to_shap()
    np.testing.assert_allclose(layout.sum(axis=(1, 2)), inter.prediction - inter.base_values, atol=1e-10)
    np.testing.assert_allclose(layout.sum(axis=2), phi, atol=1e-10)  # shap's convention: rows give Shapley values
    stii = explain.interactions(model, X[:5], background=X[:30], index="STII")
    np.testing.assert_allclose(stii.to_shap().sum(axis=(1, 2)), stii.prediction - stii.base_values, atol=1e-10)


def test_strength_is_zero_for_additive_one_for_xor_and_in_between_otherwise():
    rng = np.random.default_rng(3)
    X = rng.choice([-1.0, 1.0], size=(64, 3))
    B = X.copy()
    additive = CallableAdapter(lambda Z: Z[:, 0] + 2 * Z[:, 1] ** 3 - Z[:, 2], task="regression")
    xor = CallableAdapter(lambda Z: Z[:, 0] * Z[:, 1], task="regression")
    mixed = CallableAdapter(lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 2], task="regression")
    assert explain.interactions(additive, X[:8], background=B).strength() == pytest.approx(0.0, abs=1e-12)
    x = explain.interactions(xor, X[:8], background=np.zeros((1, 3)))  # first-order effects all 0
    assert x.strength() == pytest.approx(1.0)
    s = explain.interactions(mixed, X[:8], background=B).strength()
    assert 0.0 < s < 1.0


def test_product_of_two_features_gives_the_closed_form_pair():
    rng = np.random.default_rng(4)
    X, B = rng.normal(size=(6, 4)), rng.normal(size=(20, 4))
    model = CallableAdapter(lambda Z: Z[:, 1] * Z[:, 3], task="regression")
    for index in ("SII", "STII"):
        inter = explain.interactions(model, X, background=B, index=index)
        expected = ((X[:, 1][:, None] - B[:, 1][None]) * (X[:, 3][:, None] - B[:, 3][None])).mean(axis=1)
        np.testing.assert_allclose(inter[:, 1, 3], expected, atol=1e-12)


def test_sampling_reports_standard_errors_that_cover():
    """Nominal 95% intervals of sampled entries cover the enumerated values 90-98% of the time (600 entries)."""
    rng = np.random.default_rng(1)
    X, W = rng.normal(size=(40, 10)), rng.normal(size=(10, 8))
    net = CallableAdapter(lambda Z: np.tanh(Z @ W / 2).sum(axis=1), task="regression")
    covered = []
    for index in ("SII", "STII"):
        exact = explain.interactions(net, X[:6], background=X[20:40], algorithm="enumeration", index=index)
        with pytest.warns(ApproximationWarning):
            s = explain.interactions(net, X[:6], background=X[20:40], algorithm="sampling", n_samples=64,
                                     index=index)
        assert not s.exact.any() and s.stderr is not None
        sampled = s.stderr > 0
        assert sampled[:, ~np.eye(10, dtype=bool)].all()  # every pair is sampled at this size
        covered.append((np.abs(s.values - exact.values) <= 1.96 * s.stderr)[sampled])
    share = np.concatenate(covered)
    assert share.size >= 500 and 0.90 <= share.mean() <= 0.98, (share.size, share.mean())
    again = explain.interactions(net, X[:6], background=X[20:40], algorithm="sampling", n_samples=64, index="STII")
    np.testing.assert_array_equal(again.values, s.values)  # seeded per row


def test_sampling_enumerates_strata_it_can_afford():
    """With few players every size stratum is enumerated: the 'sample' is exact and says so by a zero stderr."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 4))
    f = CallableAdapter(lambda Z: Z[:, 0] * Z[:, 1] * Z[:, 2] + np.sin(Z[:, 3]), task="regression")
    exact = explain.interactions(f, X[:3], background=X, algorithm="enumeration")
    with pytest.warns(ApproximationWarning):
        s = explain.interactions(f, X[:3], background=X, algorithm="sampling", n_samples=64)
    np.testing.assert_allclose(s.values, exact.values, atol=1e-12)
    assert np.all(s.stderr == 0)


def test_result_is_immutable_sliceable_and_long_form(data):
    X, _, yc = data
    model, _ = _models(data)["boosting"]
    frame = pd.DataFrame(X[:4], columns=["a", "b", "c", "d", "é"])
    inter = explain.interactions(model, frame, background=pd.DataFrame(X[:20], columns=frame.columns))
    assert inter.feature_names == ["a", "b", "c", "d", "é"]
    with pytest.raises(AttributeError):
        inter.index = "STII"
    with pytest.raises(ValueError):
        inter.values[0, 0, 0] = 1.0
    sub = inter[1:3]
    assert sub.shape == (2, 5, 5) and list(sub.target) == [1, 1]
    np.testing.assert_array_equal(inter[:, "a", "b"], inter.values[:, 0, 1])
    long = inter.to_frame()
    assert list(long.columns) == ["row", "target", "feature_i", "feature_j", "value"] and len(long) == 4 * 10
    assert inter.global_pairs().iloc[0]["mean_abs"] == long["value"].abs().groupby(
        [long.feature_i, long.feature_j]).mean().max()


def test_bad_options_raise_explain_errors(data):
    X, y, _ = data
    model, _ = _models(data)["svr"]
    for kwargs in ({"index": "shapley"}, {"algorithm": "fast"}, {"n_samples": 1}):
        with pytest.raises(ExplainError):
            explain.interactions(model, X[:2], background=X[:10], **kwargs)
    wide = np.random.default_rng(0).normal(size=(30, 14))
    net = CallableAdapter(lambda Z: np.tanh(Z).prod(axis=1), task="regression")
    with pytest.raises(ExplainError, match="no exact interactions"):
        explain.interactions(net, wide[:2], background=wide[:5], algorithm="exact")


def test_compare_interaction_strength_is_the_bounded_share_of_interactions_strength():
    """compare()'s interaction_strength and Interactions.strength() are one quantity, in [0, 1], also for
    Naive Bayes in probability space (the old partial-dependence ratio reached 3.13 there)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.naive_bayes import GaussianNB

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    model = GaussianNB().fit(X, y)
    scores = explain.compare({"nb": model}, X[:30], methods=["shap"], metrics=["interaction_strength"],
                             background=X[100:140], output="probability").scores
    value = scores.loc[scores.metric == "interaction_strength", "value"].iloc[0]
    inter = explain.interactions(model, X[:30], background=X[100:140], output="probability")
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(inter.strength(), abs=1e-10)
    margin = explain.interactions(model, X[:30], background=X[100:140], output="margin")
    assert margin.strength() == pytest.approx(0.0, abs=1e-12) and np.all(margin.pairs == 0)
