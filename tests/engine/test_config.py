"""One validated, frozen configuration: built once, carried to every re-explanation compare() makes."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import explain.comparison as comparison
from explain import ExplainError, ParameterError, compare, explain, read_explanations, to_parquet
from explain.engine.config import ExplainConfig


@pytest.fixture(scope="module")
def digits():
    """Small 8 x 8 one-channel "images" and a logistic model fitted on their flat pixels."""
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 1, 8, 8))
    y = (X[:, 0, :4, :4].mean(axis=(1, 2)) > X[:, 0, 4:, 4:].mean(axis=(1, 2))).astype(int)
    return X, LogisticRegression(max_iter=2000).fit(X.reshape(60, -1), y)


def test_config_is_frozen_and_validated():
    config = ExplainConfig.build(methods=["shap"], n_jobs=2, method_params={"lime": {"num_samples": 10}})
    assert config.methods == ("shap",) and config.n_jobs == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_jobs = 3
    with pytest.raises(ParameterError, match=r"n_jobs must be None, a positive int or -1, got 0"):
        dataclasses.replace(config, n_jobs=0)  # a variant is validated again
    with pytest.raises(ParameterError, match=r"unexpected keyword\(s\) \['n_job'\]\. Did you mean 'n_jobs'\?"):
        ExplainConfig.build(n_job=2)
    with pytest.raises(ParameterError, match=r"output must be 'auto', 'margin', 'probability' or 'raw', got "
                                             r"'probabilty'\. Did you mean 'probability'\?"):
        ExplainConfig.build(output="probabilty")
    # the caller's dicts and arrays are copied: editing them afterwards changes nothing
    params, groups = {"lime": {"num_samples": 10}}, np.zeros(4, int)
    config = ExplainConfig.build(method_params=params, feature_groups=groups)
    params["lime"]["num_samples"], groups[0] = 99, 7
    assert config.method_params["lime"]["num_samples"] == 10 and config.feature_groups[0] == 0
    assert not config.feature_groups.flags.writeable


def test_explain_signature_is_the_config():
    """explain() lists its options once (its signature); they are exactly ExplainConfig's fields."""
    keywords = [p.name for p in inspect.signature(explain).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert sorted(set(keywords) - {"background"}) == sorted(f.name for f in dataclasses.fields(ExplainConfig))
    defaults = {p.name: p.default for p in inspect.signature(explain).parameters.values()}
    for f in dataclasses.fields(ExplainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        assert defaults[f.name] == default or (defaults[f.name] is None and default == {}), f.name


def test_every_reexplanation_in_compare_carries_groups_output_removal_n_jobs_and_params(digits, monkeypatch):
    X, model = digits
    calls, contexts = [], []
    real_explain_with, real_context = comparison.explain_with, comparison.MetricContext

    def spy(model_, X_, config, *, background=None):
        result = real_explain_with(model_, X_, config, background=background)
        calls.append((config, result))
        return result

    def context_spy(*args, **kwargs):
        ctx = real_context(*args, **kwargs)
        contexts.append(ctx)
        return ctx

    monkeypatch.setattr(comparison, "explain_with", spy)
    monkeypatch.setattr(comparison, "MetricContext", context_spy)
    cmp = compare({"glm": model}, X[:4], methods=["lime"], background=X[20:40], y=None, n_seeds=3,
                  metrics=["max_sensitivity", "seed_cv", "model_randomisation"], robustness_rows=2,
                  method_params={"lime": {"num_samples": 40}}, feature_groups="patches:2", output="probability",
                  removal="zero", parallel={"n_jobs": 1}, options={"n_perturb_samples": 2})
    first, reruns = calls[0], calls[1:]
    assert len(reruns) >= 4  # robustness, seed stability and sanity each re-explained
    assert {c.methods for c, _ in reruns} >= {("lime",), ("random",)}
    assert first[0].method_params == {"lime": {"num_samples": 40}}
    for config, result in calls:
        assert config.feature_groups == "patches:2"
        assert config.n_jobs == 1 and config.output == "probability"
        # none of the three metrics reads a re-explanation's stderr: LIME's re-runs skip its bootstrap
        user = {"num_samples": 40} if (config, result) == first else {"num_samples": 40, "stderr": False}
        assert config.method_params == ({"lime": user} if config.methods == ("lime",) else
                                        {"lime": {"num_samples": 40}})
        for e in result:
            assert e.params["n_groups"] == 16, (config.methods, e.method)  # 4 x 4 patches of 2 x 2 pixels
            assert e.output == "probability"
            if e.method == "lime":
                assert e.params["options"] == user
    seeds = sorted({c.random_state for c, _ in reruns if c.methods == ("lime",)})
    assert {1, 2} <= set(seeds)  # seed stability changed only the seed
    assert [ctx.removal for ctx in contexts] == ["zero"] and cmp.params["removal"] == "zero"
    assert first[0].name == "glm" and all(c.name == "glm" for c, _ in reruns)


def test_compare_and_to_parquet_check_through_the_same_table(digits, tmp_path):
    X, model = digits
    with pytest.raises(ParameterError, match=r"compare\(\) got unexpected keyword\(s\) \['n_job'\]"):
        compare({"glm": model}, X[:2], parallel={"n_job": 2})
    with pytest.raises(ParameterError, match=r"n_seeds must be a positive int, got 0"):
        compare({"glm": model}, X[:2], n_seeds=0)
    with pytest.raises(ParameterError, match=r"compare\(\): progress must be 'auto', True or False, got 'yes'"):
        compare({"glm": model}, X[:2], progress="yes")
    with pytest.raises(ParameterError, match=r"backend must be 'loky' or 'dask', got 'dusk'. Did you mean 'dask'"):
        compare({"glm": model}, X[:2], parallel={"backend": "dusk"})
    with pytest.raises(ParameterError, match=r"to_parquet\(\) got unexpected keyword\(s\) \['feature_group'\]"):
        to_parquet(model, X[:2], tmp_path / "x.parquet", feature_group="patches:2")
    with pytest.raises(ExplainError, match=r"batch_size must be a positive int, got 0"):
        to_parquet(model, X[:2], tmp_path / "x.parquet", batch_size=0)


def test_to_parquet_carries_groups_and_method_params(digits, tmp_path):
    X, model = digits
    path = to_parquet(model, X[:5], tmp_path / "g.parquet", methods=["lime"], background=X[20:40], batch_size=2,
                      feature_groups="patches:2", method_params={"lime": {"num_samples": 40}}, random_state=3)
    meta = read_explanations(path).meta["methods"]["lime"]
    assert meta["n_groups"] == 16
    direct = explain(model, X[:5], methods=["lime"], background=X[20:40], feature_groups="patches:2",
                     method_params={"lime": {"num_samples": 40}}, random_state=3)["lime"]
    # the same numbers as explain() with the same groups and options (40 LIME samples, not the default 5,000)
    np.testing.assert_array_equal(read_explanations(path).to_explanation("lime").values, direct.values)
    other = explain(model, X[:5], methods=["lime"], background=X[20:40], feature_groups="patches:2",
                    method_params={"lime": {"num_samples": 41}}, random_state=3)["lime"]
    assert not np.array_equal(other.values, direct.values)


def test_seed_reruns_keep_their_stderr_when_a_metric_reads_it(digits, monkeypatch):
    """seed_within_error compares the seeds' values within their standard errors: those re-runs keep them;
    max-sensitivity's re-run (values only) skips LIME's bootstrap."""
    X, model = digits
    calls = []
    real_explain_with = comparison.explain_with

    def spy(model_, X_, config, *, background=None):
        calls.append(config)
        return real_explain_with(model_, X_, config, background=background)

    monkeypatch.setattr(comparison, "explain_with", spy)
    cmp = compare({"glm": model}, X[:3], methods=["lime"], background=X[20:40], n_seeds=3, robustness_rows=1,
                  metrics=["seed_within_error", "max_sensitivity"], method_params={"lime": {"num_samples": 60}},
                  options={"n_perturb_samples": 2})
    lime = [c for c in calls[1:] if c.methods == ("lime",)]
    seeds = [c for c in lime if c.random_state in (1, 2)]
    assert len(seeds) == 2 and all(c.method_params["lime"] == {"num_samples": 60} for c in seeds)
    assert any(c.method_params["lime"] == {"num_samples": 60, "stderr": False} for c in lime)
    within = cmp.scores.query("method == 'lime' and metric == 'seed_within_error'")["value"]
    assert len(within) == 1 and np.isfinite(within.iloc[0])
