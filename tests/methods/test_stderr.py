"""Standard errors of sampled values: the Explanation field, its round trips, and that the intervals hold.

Coverage is checked against exact values computed independently (enumeration of all 2^d coalitions, and the
textbook Shapley formula of ``tests/helpers`` on a few rows); every draw is seeded, so the shares are fixed.
"""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

import explain
from explain import Explanation
from explain.adapters import get_adapter
from explain.adapters.callable import CallableAdapter
from explain.errors import ExplainError
from explain.methods._enumeration import enumerate_shapley
from explain.methods._kernel_sampling import kernel_shap_estimate
from tests.helpers import naive_shapley

D_BIG = 13  # above the enumeration limit: "shap" samples


def _mlp(d, seed=0, hidden=12):
    """An MLP-like function (tanh layer, sigmoid output) with fixed random weights."""
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(d, hidden)) / np.sqrt(d), rng.normal(size=hidden) * 1.5

    def f(Z):
        return 1.0 / (1.0 + np.exp(-(np.tanh(np.asarray(Z) @ W1) @ W2)))
    return f


def _estimates(f, X, bg, nsamples, seed=0):
    v_empty = float(np.mean(f(bg)))
    return [kernel_shap_estimate(f, x, bg, v_empty=v_empty, v_full=float(f(x[None])[0]), nsamples=nsamples,
                                 rng=np.random.default_rng([seed, i])) for i, x in enumerate(X)]


def _coverage(f, X, bg, nsamples):
    exact, _ = enumerate_shapley(f, X, bg)
    est = _estimates(f, X, bg, nsamples)
    values, se = np.array([e.values for e in est]), np.array([e.stderr for e in est])
    # the reference itself checked against the textbook formula on two rows
    for i in (0, 1):
        np.testing.assert_allclose(exact[i], naive_shapley(f, X[i], bg)[0], atol=1e-10)
    return float(np.mean(np.abs(values - exact) <= 1.96 * se)), values.size


def _binary_data(d, n=300, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logit = X[:, 0] - 0.8 * X[:, 1] + 0.6 * X[:, 2] * X[:, 3] + 0.5 * X[:, 4:].sum(axis=1)
    return X, (logit + rng.logistic(size=n) > 0).astype(int)


# -- coverage of values ± 1.96 stderr ------------------------------------------------------------------

def test_coverage_mlp():
    d = 10
    rng = np.random.default_rng(5)
    f = CallableAdapter(_mlp(d), n_features=d).output_function("raw", None)
    share, pairs = _coverage(f, rng.normal(size=(70, d)), rng.normal(size=(12, d)), nsamples=256)
    assert pairs >= 500
    assert 0.90 <= share <= 0.98, share


def test_coverage_logistic_probability():
    d = 10
    X, y = _binary_data(d)
    f = get_adapter(LogisticRegression().fit(X, y)).output_function("probability", 1)
    share, pairs = _coverage(f, X[:70], X[200:212], nsamples=256)
    assert pairs >= 500
    assert 0.90 <= share <= 0.98, share


def test_coverage_boosting_probability():
    d = 10
    X, y = _binary_data(d, seed=2)
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    f = get_adapter(model).output_function("probability", 1)
    share, pairs = _coverage(f, X[:70], X[200:212], nsamples=256)
    assert pairs >= 500
    assert 0.90 <= share <= 0.98, share


def test_stderr_shrinks_like_one_over_sqrt_budget():
    # d = 13: the 26 coalitions of sizes 1 and 12 are enumerated at both budgets, the sampled part quadruples
    # (30 -> 120 pairs; both budgets below the cubic terms' threshold, so the same linear regression)
    d = 13
    rng = np.random.default_rng(7)
    f = _mlp(d, seed=3)
    X, bg = rng.normal(size=(20, d)), rng.normal(size=(10, d))
    small, large = _estimates(f, X, bg, 86), _estimates(f, X, bg, 266, seed=1)
    assert {e.nsamples for e in small} == {86} and {e.nsamples for e in large} == {266}
    ratio = np.mean([e.stderr for e in small]) / np.mean([e.stderr for e in large])
    assert 1.8 <= ratio <= 2.6, ratio


# -- through explain() -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sampled():
    rng = np.random.default_rng(0)
    model = CallableAdapter(_mlp(D_BIG, seed=1), n_features=D_BIG)
    return model, rng.normal(size=(6, D_BIG)), rng.normal(size=(8, D_BIG))


def _shap(model, X, bg, **kw):
    params = kw.pop("params", {"nsamples": 200})
    return explain.explain(model, X, methods=["shap"], background=bg, random_state=3,
                           method_params={"shap": params}, **kw)["shap"]


def test_sampled_shap_has_stderr_bit_identical_across_chunking(sampled):
    model, X, bg = sampled
    e = _shap(model, X, bg)
    assert e.stderr.shape == e.values.shape and np.all(e.stderr > 0)
    for kw in ({"batch_size": 1}, {"batch_size": 4}, {"n_jobs": 2, "batch_size": 2}):
        other = _shap(model, X, bg, **kw)
        assert np.array_equal(other.values, e.values) and np.array_equal(other.stderr, e.stderr), kw


def test_exact_results_have_no_stderr():
    X, y = _binary_data(5)
    model = LogisticRegression().fit(X, y)
    prob = explain.explain(model, X[:4], methods=["shap"], background=X[100:120], output="probability")["shap"]
    assert prob.params["exact"] and prob.stderr is None  # enumeration (d <= 12)
    assert np.isnan(prob.to_frame()["stderr"]).all()
    margin = explain.explain(model, X[:4], methods=["shap", "coefficients"], background=X[100:120])
    assert margin["shap"].stderr is None and margin["coefficients"].stderr is None  # closed forms


def test_target_stderr_stops_at_target_or_cap(sampled):
    model, X, bg = sampled
    first = _shap(model, X[:3], bg, params={"nsamples": 100})
    target = 0.5 * float(first.stderr.max(axis=1).min())  # every row must sample more
    loose = _shap(model, X[:3], bg, params={"nsamples": 100, "target_stderr": target})
    assert loose.stderr.max() <= target
    assert loose.params["stopping"] == "target_stderr reached on every row"
    assert np.all(loose.params["nsamples_used"] > 100)
    capped = _shap(model, X[:3], bg, params={"nsamples": 100, "target_stderr": 1e-6, "max_nsamples": 400})
    assert capped.params["stopping"].startswith("max_nsamples reached before target_stderr on 3 of 3")
    assert np.all(capped.params["nsamples_used"] <= 402) and capped.stderr.max() > 1e-6
    with pytest.raises(ExplainError, match="target_stderr"):
        _shap(model, X[:1], bg, params={"target_stderr": -1})


# -- the field and its round trips ---------------------------------------------------------------------------

def _hand_built(stderr):
    rng = np.random.default_rng(0)
    return Explanation(rng.normal(size=(4, 3)), 0.5, rng.normal(size=(4, 3)), ["a", "b", "c"], output="raw",
                       method="m", model_name="f", stderr=stderr)


def test_field_slices_and_frames():
    se = np.arange(12, dtype=float).reshape(4, 3) / 100
    e = _hand_built(se)
    np.testing.assert_array_equal(e[1:3, ["c", "a"]].stderr, se[1:3][:, [2, 0]])
    assert not e.stderr.flags.writeable
    np.testing.assert_array_equal(e.to_frame()["stderr"], se.reshape(-1))
    np.testing.assert_array_equal(e.to_shap().error_std, se)
    assert _hand_built(None).stderr is None and _hand_built(None)[:2].stderr is None
    with pytest.raises(ValueError, match="shape of values"):
        _hand_built(np.ones((4, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        _hand_built(-np.ones((4, 3)))


def test_parquet_round_trip_and_files_without_the_column(sampled, tmp_path):
    import pyarrow.parquet as pq

    model, X, bg = sampled
    path = explain.to_parquet(model, X[:3], tmp_path / "e.parquet", methods=["shap", "random"], background=bg,
                              random_state=3, method_params={"shap": {"nsamples": 200}})
    reader = explain.read_explanations(path)
    direct = _shap(model, X[:3], bg)
    np.testing.assert_array_equal(reader.to_explanation("shap").stderr, direct.stderr)
    assert reader.to_explanation("random").stderr is None
    table = pq.read_table(path)
    old = tmp_path / "old.parquet"
    pq.write_table(table.drop(["stderr"]).replace_schema_metadata(table.schema.metadata), old)
    back = explain.read_explanations(old).to_explanation("shap")
    assert back.stderr is None and np.array_equal(back.values, direct.values)


def test_report_record_and_bundle_round_trip():
    from explain.report.bundle import bundle_to_objects
    from explain.report.summary import explanation_record

    se = np.full((4, 3), 0.02)
    se[0, 0] = np.nan
    rec = explanation_record(_hand_built(se))
    assert rec["stderr"][0][0] is None and rec["stderr"][1] == [0.02] * 3
    assert explanation_record(_hand_built(None))["stderr"] is None
    record = {"title": "t", "provenance": {}, "explanations": {"f": [rec]}}
    back = bundle_to_objects(record)["explanations"]["f"]["m"]
    np.testing.assert_array_equal(back.stderr, se)


# -- LIME: bootstrap over its perturbations --------------------------------------------------------------------

def test_lime_stderr_matches_spread_over_seeds():
    d = 5
    rng = np.random.default_rng(4)
    model = CallableAdapter(_mlp(d, seed=2), n_features=d)
    X, bg = rng.normal(size=(3, d)), rng.normal(size=(40, d))
    runs = [explain.explain(model, X, methods=["lime"], background=bg, random_state=s,
                            method_params={"lime": {"num_samples": 300}})["lime"] for s in range(24)]
    spread = np.std([r.values for r in runs], axis=0, ddof=1)
    stderr = np.mean([r.stderr for r in runs], axis=0)
    ratio = np.median(stderr / spread)
    assert 0.75 <= ratio <= 1.33, ratio  # measured 1.06 (24 seeds)


# -- Gradient SHAP: standard error over its sampled baselines and points ----------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gradient_shap_stderr_matches_spread_over_seeds():
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 4))
    model = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(
        X, np.tanh(X[:, 0] * X[:, 1]) + X[:, 2])
    runs = [explain.explain(model, X[:3], methods=["gradient_shap"], background=X[100:140], random_state=s,
                            method_params={"gradient_shap": {"n_samples": 32}})["gradient_shap"]
            for s in range(24)]
    spread = np.std([r.values for r in runs], axis=0, ddof=1)
    stderr = np.mean([r.stderr for r in runs], axis=0)
    ratio = np.median(stderr / spread)
    assert 0.75 <= ratio <= 1.33, ratio


def test_report_row_views_show_plus_minus_for_sampled_values():
    from explain.report.rows import rows_section

    se = np.full((4, 3), 0.0123)
    sampled = str(rows_section("m", [_hand_built(se)], anchor="m", unit="output").data["views"])
    assert "± 0.012" in sampled
    assert "±" not in str(rows_section("m", [_hand_built(None)], anchor="m", unit="output").data["views"])


# -- shap's PermutationExplainer: standard error over its antithetic permutation pairs --------------------------

def test_shap_permutation_stderr_matches_the_spread_and_covers():
    d = 5
    rng = np.random.default_rng(8)
    f = _mlp(d, seed=4)
    model = CallableAdapter(f, n_features=d)
    X, bg = rng.normal(size=(3, d)), rng.normal(size=(10, d))
    runs = [explain.explain(model, X, methods=["shap.permutation"], background=bg, random_state=s,
                            method_params={"shap.permutation": {"max_evals": 8 * (2 * d + 1)}})["shap.permutation"]
            for s in range(16)]
    spread = np.std([r.values for r in runs], axis=0, ddof=1)
    stderr = np.mean([r.stderr for r in runs], axis=0)
    ratio = np.median(stderr / spread)
    assert 0.7 <= ratio <= 1.4, ratio
    exact, _ = enumerate_shapley(model.output_function("raw", None), X, bg)
    assert 0.85 <= np.mean(np.abs(np.array([r.values for r in runs]) - exact)
                           <= 1.96 * np.array([r.stderr for r in runs])) <= 0.99
