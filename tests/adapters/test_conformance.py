"""The conformance suite every adapter x applicable method passes: ``explain.testing``, on our own zoo.

Shapes, feature names, declared capabilities, determinism under random_state,
immutability, local accuracy, counted model evaluations, and the caller's X
and model left unmodified. Users run the same checks with
``explain.testing.check_adapter``.
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest

from explain import CallableAdapter
from explain.testing import adapter_checks, check_adapter, run_conformance

from zoo import MODEL_NAMES, build

N_ROWS, N_BG = 6, 25


def _fingerprint(model):
    """Hash of the fitted state (statsmodels results fill lazy caches, so hash what was fitted)."""
    if hasattr(model, "state_dict"):  # torch: parameters, buffers and every training flag
        return joblib.hash(([v.numpy() for v in model.state_dict().values()],
                            [m.training for m in model.modules()]))
    if hasattr(model, "model") and hasattr(model, "params"):
        return joblib.hash((np.asarray(model.params), model.model.exog, model.model.endog))
    return joblib.hash(model)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def run(request):
    name = request.param
    model, X = build(name)
    rows = X.iloc[:N_ROWS] if isinstance(X, pd.DataFrame) else X[:N_ROWS]
    bg = X.iloc[-N_BG:] if isinstance(X, pd.DataFrame) else X[-N_BG:]
    return run_conformance(model, rows, background=bg,
                           fingerprint=None if name == "CallableAdapter" else _fingerprint)


@pytest.mark.parametrize("check", list(adapter_checks()), ids=lambda c: c.__name__)
def test_conformance(run, check):
    check(run)


def test_check_adapter_for_a_user_adapter():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    adapter = CallableAdapter(lambda Z: Z[:, 0] * 2 + np.sin(Z[:, 1]), task="regression", n_features=3)
    passed = check_adapter(adapter, X[:4], background=X)
    assert "check_local_accuracy" in passed and len(passed) == len(list(adapter_checks()))


def test_check_adapter_catches_a_broken_adapter():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    calls = {"n": 0}

    def drifting(Z):  # a model whose output changes between calls: not deterministic
        calls["n"] += 1
        return Z[:, 0] + 1e-3 * calls["n"]

    with pytest.raises(AssertionError):
        check_adapter(CallableAdapter(drifting, n_features=3), X[:4], background=X)
