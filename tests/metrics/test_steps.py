"""Deletion/insertion with n_steps: exact per-feature curves up to n_steps features, blocks beyond."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from explain import explain
from explain.metrics import faithfulness as fm
from explain.metrics.base import MetricContext


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 6)) * [1, 2, 3, 0.5, 1, 4] + 0.7
    y = (X @ np.array([1.0, -0.4, 0.3, 2.0, 0.0, 0.2]) + rng.normal(size=200) > 0.7).astype(int)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    e = explain(model, X[:8], methods="coefficients", background=X[100:])["coefficients"]
    return model, X, e


def _reference_deletion(model, e, baseline, counts):
    """Plain loops: remove the top-k features (by attribution) for each k in counts; area over k / d."""
    X, A = e.codes, e.flat_values
    d = X.shape[1]
    areas = []
    for x, a in zip(X, A):
        order = np.argsort(-a, kind="stable")
        curve = []
        for k in counts:
            z = x.copy()
            z[order[:k]] = baseline[order[:k]]
            curve.append(model.decision_function(z[None])[0])
        areas.append(np.trapezoid(curve, x=np.asarray(counts) / d))
    return np.array(areas)


def e_adapter(model):
    from explain.adapters import get_adapter

    return get_adapter(model)


def test_per_feature_curve_is_unchanged_for_d_up_to_n_steps(setup):
    model, X, e = setup
    bg = X[100:]
    ref = _reference_deletion(model, e, bg.mean(axis=0), range(7))
    for n_steps in (6, 7, 100):
        ctx = MetricContext(e_adapter(model), "margin", bg, options={"n_steps": n_steps})
        np.testing.assert_allclose(fm.deletion(e, ctx), ref, rtol=1e-12, atol=1e-12)
    default = MetricContext(e_adapter(model), "margin", bg)
    np.testing.assert_array_equal(fm.deletion(e, default), fm.deletion(
        e, MetricContext(e_adapter(model), "margin", bg, options={"n_steps": 6})))


def test_blocks_of_features_past_n_steps(setup):
    model, X, e = setup
    bg = X[100:]
    assert list(fm.removal_counts(6, 2)) == [0, 3, 6] and list(fm.removal_counts(6, 4)) == [0, 2, 4, 6]
    assert list(fm.removal_counts(7, 3)) == [0, 3, 6, 7]
    for n_steps, counts in ((2, [0, 3, 6]), (4, [0, 2, 4, 6])):
        ctx = MetricContext(e_adapter(model), "margin", bg, options={"n_steps": n_steps})
        np.testing.assert_allclose(fm.deletion(e, ctx), _reference_deletion(model, e, bg.mean(axis=0), counts),
                                   rtol=1e-12, atol=1e-12)
        assert fm.curves(e, ctx, insert=False).shape == (8, len(counts))


def test_large_images_score_in_bounded_blocks():
    """64 x 64 pixels: 101 curve points instead of 4,097, built a few rows at a time."""
    from explain import CallableAdapter

    rng = np.random.default_rng(0)
    w = rng.normal(size=4096)
    adapter = CallableAdapter(lambda Z: Z @ w, n_features=4096)
    X = rng.normal(size=(3, 4096))
    e = explain(adapter, X, methods="random", background=X)["random"]
    ctx = MetricContext(adapter, "raw", X, options={"n_steps": 100})
    curve = fm.curves(e, ctx, insert=False)
    assert curve.shape == (3, 101)
    np.testing.assert_allclose(curve[:, 0], X @ w)  # nothing removed
    np.testing.assert_allclose(curve[:, -1], np.full(3, X.mean(axis=0) @ w))  # all removed
