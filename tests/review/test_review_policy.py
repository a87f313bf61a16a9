"""The policy is validated before any work (issue 22): one clear line and exit 2 for every mistake."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from review_data import make_rows
from explain import build_report, explain
from explain.review import PolicyError, check, load_policy


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """old: all five features; same: the same model; dropped: refitted without the top feature 'a';
    scaled: every coefficient times 1.5."""
    tmp = tmp_path_factory.mktemp("policy")
    X, y = make_rows(0, 300)
    rows, bg = X.iloc[:30], X.iloc[100:200]
    full = LogisticRegression().fit(X, y)
    less = LogisticRegression().fit(X.drop(columns="a"), y)
    scaled = LogisticRegression().fit(X, y)
    scaled.coef_ = full.coef_ * 1.5  # every importance up by half, the ranking unchanged
    paths = {}
    for name, model, cols in (("old", full, list(X)), ("same", full, list(X)), ("dropped", less, list("bcde")),
                              ("scaled", scaled, list(X))):
        r = explain(model, rows[cols], methods="shap", background=bg[cols], name="model")
        paths[name] = build_report(r, title=name).save(tmp / f"{name}.json")
    return paths


def _policy(tmp_path, text):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ('forbid_sign_flip = "a"', "'forbid_sign_flip' must be a list of feature names"),
    ('forbid_sign_flip = ["aa"]', "names feature 'aa', which neither version has. Did you mean 'a'?"),
    ("[max_rank_change]\nbb = 1", "names feature 'bb', which neither version has. Did you mean 'b'?"),
    ("min_top_k_overlap = 7.5", "'min_top_k_overlap' must be between 0 and 1, got 7.5"),
    ('min_ndcg_at_k = "high"', "'min_ndcg_at_k' must be a number, got 'high' (str)"),
    ("k = 2.5", "'k' must be an integer"),
    ("k = true", "'k' must be an integer"),
    ("max_flagged = -1", "'max_flagged' must be >= 0"),
    ("[max_rank_change]\nb = 1.5", "'max_rank_change.b' must be an integer"),
    ("max_rank_change = 3", "'max_rank_change' must be a table"),
    ("min_ndgc_at_k = 0.5", "unknown policy key 'min_ndgc_at_k'"),
    ("min_ndcg_at_k = = 1", "is not valid TOML"),
    ('method = "shapp"', "'method' must be a method name, got 'shapp'. Did you mean 'shap'?"),
    ("min_rank_correlation = -2", "'min_rank_correlation' must be between -1 and 1"),
])
def test_every_policy_mistake_is_one_line_and_exit_2(cli, bundles, tmp_path, text, message):
    result = cli("check", bundles["same"], "--baseline", bundles["old"], "--policy", _policy(tmp_path, text))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""  # one line, nothing checked


def test_policy_errors_are_explain_errors_and_defaults_fill_the_rest(tmp_path):
    from explain.errors import ExplainError

    with pytest.raises(ExplainError):
        load_policy(tmp_path / "missing.toml")
    assert issubclass(PolicyError, ExplainError)
    given = load_policy(_policy(tmp_path, 'max_flagged = 2\nforbid_sign_flip = ["a"]'))
    assert given["max_flagged"] == 2 and given["forbid_sign_flip"] == ["a"] and given["k"] == 10


def test_a_dropped_top_feature_is_a_change(cli, bundles, tmp_path):
    policy = _policy(tmp_path, 'forbid_sign_flip = ["a"]\n[max_rank_change]\na = 3')
    result = cli("check", bundles["dropped"], "--baseline", bundles["old"], "--policy", policy)
    assert result.returncode == 1
    assert "| no sign flip of a | **fail** | removed in the new model |" in result.stdout
    assert "| a moves at most 3 ranks | **fail** | removed in the new model |" in result.stdout
    summary = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert summary[1].startswith("- Removed in the new model: a")  # right after the output line
    passed, results, d = check(bundles["dropped"], bundles["old"], load_policy())
    assert d.metrics["top_k_overlap"] == pytest.approx(4 / 5)  # the old top feature is not in the new top 5
    assert d.metrics["ndcg_at_k"] < 0.9 and not passed


def test_without_training_data_the_flag_count_alone_does_not_fail(bundles, tmp_path):
    """A change beyond a rows-only band is reported, but only gates when the policy sets max_flagged."""
    from explain.review.gate import validate_policy

    passed, results, d = check(bundles["scaled"], bundles["old"], load_policy())
    flag_rows = [r for r in results if r[0].startswith("features beyond")]
    assert d.flagged[:3] == ["a", "b", "c"] and passed and "not gated" in flag_rows[0][0]
    assert any("row sampling only" in s for s in d.summary)
    strict = validate_policy({"max_flagged": 0})
    assert not check(bundles["scaled"], bundles["old"], strict)[0]
