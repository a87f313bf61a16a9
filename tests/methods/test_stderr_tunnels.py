"""Standard errors of shap's own KernelExplainer (``shap.kernel``): mean and spread of independent runs per row.

The reference is exact: enumeration of all 2^d coalitions, checked against the textbook Shapley formula on a row.
Every run is seeded per row, so the shares below are fixed numbers.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import explain
from explain.adapters import get_adapter
from explain.errors import ExplainError
from explain.methods._enumeration import enumerate_shapley
from tests.helpers import naive_shapley

D = 10  # 1022 coalitions: the budgets below sample (shap enumerates them all from nsamples >= 1022)


@pytest.fixture(scope="module")
def glm():
    """A logistic regression explained in probability space (not additive there), 10 features."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, D))
    logit = 1.2 * X[:, 0] - X[:, 1] + 0.8 * X[:, 2] + 0.5 * X[:, 3:].sum(axis=1)
    y = (logit + rng.logistic(size=400) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def _kernel(model, X, bg, nsamples=500, seed=3, params=(), **kw):
    return explain.explain(model, X, methods=["shap.kernel"], background=bg, random_state=seed,
                           output="probability", method_params={"shap.kernel": {"nsamples": nsamples, **dict(params)}},
                           **kw)["shap.kernel"]


def test_stderr_shape_and_none_for_exact(glm):
    model, X = glm
    e = _kernel(model, X[:4], X[300:310], nsamples=500)
    assert e.stderr.shape == e.values.shape and np.all(e.stderr > 0)
    assert e.params["runs"] == 11 and "mean of 11 independent runs" in e.params["algorithm"]  # 500 // (4 x 10 + 2)
    few = _kernel(model, X[:2], X[300:310], nsamples=400)  # room for 9 runs only: by default one, no stderr
    assert few.params["runs"] == 1 and few.stderr is None
    asked = _kernel(model, X[:2], X[300:310], nsamples=400, params={"runs": 4})
    assert asked.params["runs"] == 4 and asked.stderr.shape == asked.values.shape
    stock = explain.explain(model, X[:2], methods=["shap.kernel"], background=X[300:310], output="probability",
                            method_params={"shap.kernel": {"nsamples": 840, "runs": 1}})["shap.kernel"]
    assert stock.params["runs"] == 1 and stock.stderr is None
    # a budget covering every coalition: shap enumerates them in one run, exact, so no stderr
    full = _kernel(model, X[:2], X[300:310], nsamples=1100)
    f = get_adapter(model).output_function("probability", 1)
    assert full.params["runs"] == 1 and full.stderr is None
    np.testing.assert_allclose(full.values, enumerate_shapley(f, X[:2], X[300:310])[0], atol=1e-10)
    with pytest.raises(ExplainError, match="runs"):
        explain.explain(model, X[:1], methods=["shap.kernel"], background=X[300:310],
                        method_params={"shap.kernel": {"runs": 0}})
    exact = explain.explain(model, X[:2], methods=["shap.exact", "shap"], background=X[300:310],
                            output="probability")
    assert exact["shap.exact"].stderr is None and exact["shap"].stderr is None


def test_bit_identical_across_chunking(glm):
    model, X = glm
    e = _kernel(model, X[:5], X[300:310])
    for kw in ({"batch_size": 1}, {"batch_size": 2}, {"n_jobs": 2, "batch_size": 2}):
        other = _kernel(model, X[:5], X[300:310], **kw)
        assert np.array_equal(other.values, e.values) and np.array_equal(other.stderr, e.stderr), kw


def test_stderr_matches_the_spread_over_seeds(glm):
    model, X = glm
    runs = [_kernel(model, X[:4], X[300:310], nsamples=840, seed=s) for s in range(8)]
    values = np.array([r.values for r in runs])
    spread = values.std(axis=0, ddof=1)  # (rows, features): the seed-to-seed standard deviation of one result
    reported = np.sqrt(np.mean([r.stderr ** 2 for r in runs], axis=0))
    ratio = float(np.median(spread / reported))
    assert 0.6 <= ratio <= 1.6, ratio


def test_coverage_against_enumeration_in_probability_space(glm):
    model, X = glm
    bg = X[300:310]
    f = get_adapter(model).output_function("probability", 1)
    exact, _ = enumerate_shapley(f, X[:32], bg)
    np.testing.assert_allclose(exact[0], naive_shapley(f, X[0], bg)[0], atol=1e-10)
    e = _kernel(model, X[:32], bg, nsamples=840)
    assert e.params["runs"] == 20
    inside = np.abs(e.values - exact) <= 1.96 * e.stderr
    assert inside.size >= 200
    assert 0.88 <= inside.mean() <= 0.99, inside.mean()


def test_feature_groups_share_their_group_stderr():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 1, 6, 6))
    y = (X[:, 0, :3].mean(axis=(1, 2)) > 0.5).astype(int)
    model = LogisticRegression().fit(X.reshape(60, -1), y)
    e = explain.explain(model, X[:2], methods=["shap.kernel"], background=X[30:40], feature_groups="patches:2",
                        output="probability", random_state=1,
                        method_params={"shap.kernel": {"nsamples": 400}})["shap.kernel"]  # 9 groups, 10 runs
    assert e.params["runs"] == 10 and e.stderr.shape == e.values.shape
    groups = (np.arange(6)[:, None] // 2) * 3 + np.arange(6)[None, :] // 2
    se = e.stderr.reshape(2, -1)
    for g in range(9):  # a group's value and its stderr are spread evenly over its 4 pixels
        assert np.ptp(se[:, groups.reshape(-1) == g], axis=1).max() < 1e-15 and se[:, groups.reshape(-1) == g].min() > 0
