"""Our infidelity and max-sensitivity equal captum.metrics on identical inputs and perturbations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max
from sklearn.ensemble import GradientBoostingClassifier

from explain import explain
from explain.adapters import get_adapter
from explain.metrics import faithfulness, robustness
from explain.metrics.base import MetricContext

from helpers import make_data


@pytest.fixture(scope="module")
def setting():
    X, y = make_data(d=6)
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)
    e = explain(model, X[:8], methods="shap", background=X[-40:])["shap"]
    ctx = MetricContext(get_adapter(model), e.output, X[-40:], random_state=3)
    return model, X, e, ctx


def _forward(model):
    return lambda t: torch.as_tensor(model.decision_function(t.detach().numpy()))


@pytest.mark.parametrize("normalize", [True, False])
def test_infidelity_equals_captum(setting, normalize):
    model, X, e, ctx = setting
    I = faithfulness.infidelity_perturbations(e, ctx)            # (n, s, d)
    n, s, d = I.shape
    ours = faithfulness.infidelity_from_perturbations(e, ctx, I, normalize=normalize)

    def perturb(inputs):
        flat = torch.as_tensor(I.reshape(n * s, d))
        return flat, inputs - flat

    theirs = captum_infidelity(_forward(model), perturb, torch.as_tensor(e.data.copy()), torch.as_tensor(e.values.copy()),
                               n_perturb_samples=s, normalize=normalize)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6, atol=1e-9)


def test_max_sensitivity_equals_captum(setting):
    model, X, e, ctx = setting
    rows = e.data
    noise = robustness.sensitivity_perturbations(rows, ctx)      # (n, s, d)
    n, s, d = noise.shape

    def attributions(Z):
        return explain(model, Z, methods="shap", background=X[-40:], target=1)["shap"].values

    perturbed = attributions((rows[:, None, :] + noise).reshape(-1, d)).reshape(n, s, d)
    ours = robustness.max_sensitivity(e.values, perturbed)

    def explanation_func(inputs):
        if isinstance(inputs, tuple):  # captum passes a tuple of tensors first and wants a tuple back
            return (explanation_func(inputs[0]),)
        return torch.as_tensor(attributions(inputs.detach().numpy()))

    def perturb(inputs):
        inputs = inputs[0] if isinstance(inputs, tuple) else inputs
        return inputs + torch.as_tensor(noise.reshape(n * s, d))

    theirs = sensitivity_max(explanation_func, torch.as_tensor(rows), perturb_func=perturb, n_perturb_samples=s)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6, atol=1e-9)
