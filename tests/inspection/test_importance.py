"""SAGE against a textbook enumeration of its game; permutation intervals on a noise and a strong feature."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

import explain
from helpers import shapley_of_game
from explain.errors import ApproximationWarning, DataError, OutputError, ParameterError


def textbook_sage(prob, X, y, B, classifier):
    """Marginal SAGE by definition: v(S) = mean_r [l(y_r, g_empty) - l(y_r, g_S(x_r))], Shapley values of v."""
    d = X.shape[1]

    n, nb = X.shape[0], B.shape[0]

    def g(S):  # (n, k): mean over background rows b of f(x_S, b_rest), for every row x
        Z = np.tile(B, (n, 1))
        Z[:, list(S)] = np.repeat(X[:, list(S)], nb, axis=0)
        return prob(Z).reshape(n, nb, -1).mean(axis=1)

    def loss(P):
        return -np.log(P[np.arange(n), y]) if classifier else (y - P[:, 0]) ** 2

    empty = loss(g(()))

    def v(S):
        return float(np.mean(empty - loss(g(S))))

    return shapley_of_game(v, d)[0]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 4))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + rng.normal(0, 0.3, 30)
    return X, y


def test_sage_classifier_equals_enumeration(data):
    X, y = data
    yc = np.where(y > 0, "yes", "no")
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, yc)
    res = explain.importance(model, X, yc, method="sage", background=X[:8])
    expected = textbook_sage(model.predict_proba, X, np.searchsorted(model.classes_, yc), X[:8], True)
    assert res.exact and res.loss == "cross_entropy" and res.output == "probability"
    np.testing.assert_allclose(res.mean, expected, rtol=0, atol=1e-9)
    assert np.all(res.ci_low <= res.mean) and np.all(res.mean <= res.ci_high)


def test_sage_regressor_equals_enumeration(data):
    X, y = data
    model = LinearRegression().fit(X, y)
    res = explain.importance(model, X, y, method="sage", background=X[:6])
    expected = textbook_sage(lambda Z: model.predict(Z)[:, None], X, y, X[:6], False)
    np.testing.assert_allclose(res.mean, expected, rtol=0, atol=1e-9)
    assert res.loss == "squared_error" and int(np.argmax(res.mean)) == 0


def test_sage_of_an_ignored_feature_is_exactly_zero(data):
    X, y = data
    Xz = X.copy()
    Xz[:, 3] = 0.0
    model = LinearRegression().fit(Xz, y)  # minimum-norm fit: coefficient 0 on the constant column
    assert model.coef_[3] == 0.0
    res = explain.importance(model, X, y, method="sage", background=X[:6])
    assert res.mean[3] == 0.0 and res.stderr[3] == 0.0 and res.ci_low[3] == res.ci_high[3] == 0.0
    assert res.ci_low[0] > 0  # the strong feature's interval (over rows) excludes 0


def test_sage_sampling_beyond_ten_players():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 11))
    y = X @ np.linspace(2.0, 0.0, 11) + rng.normal(0, 0.1, 12)
    model = LinearRegression().fit(X, y)
    with pytest.warns(ApproximationWarning, match="sampled"):
        res = explain.importance(model, X, y, method="sage", background=X[:3], n_repeats=3000)
    expected = textbook_sage(lambda Z: model.predict(Z)[:, None], X, y, X[:3], False)
    assert not res.exact and res.params["n_draws"] <= 3000
    assert np.all(np.abs(res.mean - expected) <= 4.5 * res.stderr + 1e-12), (res.mean, expected, res.stderr)


def test_permutation_intervals_noise_and_strong():
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(2 * n, 3))
    y = 3 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 1, 2 * n)  # column 2 is pure noise
    model = LinearRegression().fit(X[:n], y[:n])
    res = explain.importance(model, X[n:], y[n:], n_repeats=60)
    assert not res.exact and res.method == "permutation"
    assert res.ci_low[0] > 0 and res.ci_low[1] > 0          # strong and weak-but-real features
    assert res.ci_low[2] < 0 < res.ci_high[2]              # the noise feature's interval holds 0
    assert list(res.to_frame()["feature"])[0] == res.feature_names[0]
    # a feature the model ignores (coefficient exactly 0) scores exactly 0 in every repeat
    Xz = X[:n].copy()
    Xz[:, 2] = 0.0
    ignoring = LinearRegression().fit(Xz, y[:n])
    assert ignoring.coef_[2] == 0.0
    zero = explain.importance(ignoring, X[n:], y[n:], n_repeats=5)
    assert zero.mean[2] == 0.0 and zero.ci_low[2] == 0.0 and zero.ci_high[2] == 0.0


def test_permutation_is_reproducible_and_immutable(data):
    X, y = data
    model = LinearRegression().fit(X, y)
    a = explain.importance(model, X, y, n_repeats=5, random_state=3)
    b = explain.importance(model, X, y, n_repeats=5, random_state=3)
    np.testing.assert_array_equal(a.mean, b.mean)
    with pytest.raises(AttributeError):
        a.mean = None
    with pytest.raises(ValueError):
        a.mean[0] = 1.0


def test_errors(data):
    X, y = data
    model = LinearRegression().fit(X, y)
    with pytest.raises(ParameterError, match="method"):
        explain.importance(model, X, y, method="shap")
    with pytest.raises(ParameterError, match="ci"):
        explain.importance(model, X, y, ci=1.5)
    with pytest.raises(DataError, match="shape"):
        explain.importance(model, X, y[:-1])
    with pytest.raises(OutputError, match="regressor"):
        explain.importance(model, X, y, loss="cross_entropy")
    from sklearn.svm import SVC

    svc = SVC().fit(X, y > 0)
    with pytest.raises(OutputError, match="probabilit"):
        explain.importance(svc, X, y > 0)
    with pytest.raises(DataError, match="not classes"):
        explain.importance(LogisticRegression().fit(X, y > 0), X, np.where(y > 0, "a", "b"))
