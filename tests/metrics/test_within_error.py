"""How much of the disagreement between explanations is within sampling error (stderr-aware agreement)."""

import numpy as np

import explain
from explain import compare
from explain.adapters.callable import CallableAdapter
from explain.metrics.agreement import within_error_share

D = 13  # above the enumeration limit: "shap" samples and reports a stderr


def _mlp(seed):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(D, 12)) / np.sqrt(D), rng.normal(size=12) * 1.5
    return CallableAdapter(lambda Z: 1.0 / (1.0 + np.exp(-(np.tanh(np.asarray(Z) @ W1) @ W2))), n_features=D)


def _data():
    rng = np.random.default_rng(4)
    return rng.normal(size=(8, D)), rng.normal(size=(8, D))


def _shap(model, X, bg, seed):
    return explain.explain(model, X, methods=["shap"], background=bg, random_state=seed,
                           method_params={"shap": {"nsamples": 200}})["shap"]


def test_share_is_high_between_seeds_and_low_between_models():
    X, bg = _data()
    a, b = _shap(_mlp(0), X, bg, 1), _shap(_mlp(0), X, bg, 2)
    other = _shap(_mlp(5), X, bg, 1)
    assert not np.array_equal(a.values, b.values)  # the seeds did draw different coalitions
    same = within_error_share(a.values, b.values, a.stderr, b.stderr).mean()
    assert same >= 0.85, same
    different = within_error_share(a.values, other.values, a.stderr, other.stderr).mean()
    assert different <= 0.5, different
    # without standard errors nothing is within error unless it is identical
    np.testing.assert_array_equal(within_error_share(a.values, b.values), 0.0)
    np.testing.assert_array_equal(within_error_share(a.values, a.values), 1.0)


def test_compare_reports_the_share_for_seeds_and_methods():
    X, bg = _data()
    cmp = compare({"mlp": _mlp(0)}, X[:4], background=bg, methods=["shap", "lime"], n_seeds=2,
                  metrics=["seed_within_error", "agreement_within_error", "seed_cv"],
                  method_params={"shap": {"nsamples": 200}, "lime": {"num_samples": 500}})
    s = cmp.scores.set_index(["method", "metric"])["value"]
    assert s[("shap", "seed_within_error")] >= 0.8  # another seed: mostly noise
    # LIME's local slopes (in contribution units) are another quantity: more differences exceed the error bars
    # (LIME's own bootstrap errors at 500 samples are wide, so not all of them)
    assert s[("shap", "agreement_within_error")] <= s[("shap", "seed_within_error")] - 0.15
    assert s[("lime", "agreement_within_error")] == s[("shap", "agreement_within_error")]  # symmetric
    from explain.report.tables import scorecard_table

    table, _ = scorecard_table(cmp)  # the report's score table carries both
    assert {"seed_within_error", "agreement_within_error"} <= set(table["metric"])
