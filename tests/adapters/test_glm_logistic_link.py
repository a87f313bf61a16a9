"""statsmodels logistic models in probability space: the same numbers as statsmodels, and no overflow
warning when a scrambled (model-randomisation) or extreme linear predictor reaches exp's range."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from explain.adapters import get_adapter


def _fit(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 50.0, 400.0]  # unscaled columns, as in breast cancer
    y = (X[:, 0] + X[:, 1] / 50 + rng.normal(size=200) > 0).astype(int)
    exog = sm.add_constant(X)
    if kind == "Logit":
        return sm.Logit(y, exog).fit(disp=0), X
    return sm.GLM(y, exog, family=sm.families.Binomial()).fit(), X


@pytest.mark.parametrize("kind", ["Logit", "GLM"])
def test_probability_matches_statsmodels_and_never_overflows(kind):
    res, X = _fit(kind)
    adapter = get_adapter(res)
    proba = adapter.predict(X[:20], output="probability")
    np.testing.assert_allclose(proba[:, 1], res.predict(sm.add_constant(X[:20])), rtol=1e-12, atol=1e-15)
    far = X[:5] * 0 + [0.0, 1e6, 0.0]  # a linear predictor of 1e6 times the second coefficient (about 1/50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' own 1 / (1 + exp(-eta)) warns "overflow in exp" here
        extreme = adapter.predict(np.vstack([far, -far]), output="probability")[:, 1]
        scrambled = get_adapter(adapter.randomized_model(np.random.default_rng(4)))
        scrambled.predict(np.vstack([far, -far, X]), output="probability")
    sign = np.sign(res.params[2])
    assert np.all(extreme[:5] == (1.0 if sign > 0 else 0.0)) and np.all(extreme[5:] == (0.0 if sign > 0 else 1.0))
