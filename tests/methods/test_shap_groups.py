"""``"shap"`` with ``feature_groups``: the groups' game enumerated up to 12 groups (checked against a Shapley
sum written out here), our KernelSHAP with standard errors beyond (checked against enumeration of the same game)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

import explain
from explain.methods._enumeration import enumerate_shapley


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 16))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + X[:, 3:].sum(axis=1)
    return MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y), X


def _group_value(model, x, bg, g, S):
    Z = bg.copy()
    cols = np.isin(g, list(S))
    Z[:, cols] = x[cols]
    return model.predict(Z).mean()


def test_up_to_twelve_groups_is_the_exact_shapley_value_of_the_groups_game(net):
    model, X = net
    g = np.arange(16) // 3  # 6 groups (the last one of a single column)
    G, bg = int(g.max()) + 1, X[:20]
    e = explain.explain(model, X[:2], background=bg, methods=["shap"], feature_groups=g, random_state=0)["shap"]
    assert e.stderr is None and "exact enumeration" in e.params["algorithm"]
    for row, x in enumerate(X[:2]):
        phi = np.zeros(G)
        for i in range(G):
            rest = [j for j in range(G) if j != i]
            for k in range(G):
                w = math.factorial(k) * math.factorial(G - k - 1) / math.factorial(G)
                for S in itertools.combinations(rest, k):
                    phi[i] += w * (_group_value(model, x, bg, g, set(S) | {i}) - _group_value(model, x, bg, g, S))
        np.testing.assert_allclose(np.bincount(g, e.values[row], minlength=G), phi, atol=1e-10)
        np.testing.assert_allclose(e.values[row][g == 0], phi[0] / 3)  # spread evenly over the group


def test_beyond_twelve_groups_is_sampled_with_standard_errors_that_cover(net):
    model, X = net
    g = np.minimum(np.arange(16), 13)  # 14 groups
    bg = X[:10]
    e = explain.explain(model, X[:6], background=bg, methods=["shap"], feature_groups=g, random_state=0,
                        method_params={"shap": {"nsamples": 600}})["shap"]
    assert e.stderr is not None and e.params.get("exact") is not True
    np.testing.assert_allclose(e.values.sum(axis=1), model.predict(X[:6]) - model.predict(bg).mean(), atol=1e-8)
    est, se = np.vstack([np.bincount(g, v) for v in e.values]), np.vstack([np.bincount(g, s) for s in e.stderr])
    exact = []
    for x in X[:6]:
        def game(P, x=x):
            present = np.asarray(P, dtype=bool)[:, g]
            mixed = np.where(present[:, None, :], x[None, None, :], bg[None, :, :])
            return model.predict(mixed.reshape(-1, 16)).reshape(len(P), -1).mean(axis=1)
        exact.append(enumerate_shapley(game, np.ones((1, 14)), np.zeros((1, 14)))[0][0])
    err = np.abs(est - np.array(exact))
    assert err.max() > 0  # sampled, not enumerated
    assert np.mean(err <= 1.96 * se) >= 0.8  # 84 values; nominal 95%
