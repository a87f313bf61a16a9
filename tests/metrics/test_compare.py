"""compare() on GLMs and the zoo: true contributions beat the random control; sanity can fail; errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import explain as ex
from explain import compare
from explain.metrics.complexity import entropy, sparseness

from helpers import make_data


@pytest.fixture(scope="module")
def glm_comparison():
    X, y = make_data(d=6, n=200)
    model = LogisticRegression().fit(X, y)
    cmp = compare({"glm": model}, X[:25], methods=["coefficients"], background=X[100:], y=y[:25],
                  metrics=["faithfulness", "sanity", "complexity", "ground_truth", "cost"])
    return cmp


def _score(cmp, method, metric, model="glm"):
    s = cmp.scores
    return float(s[(s.model == model) & (s.method == method) & (s.metric == metric)]["value"].iloc[0])


def test_true_contributions_beat_random(glm_comparison):
    cmp = glm_comparison
    assert _score(cmp, "coefficients", "deletion") < _score(cmp, "random", "deletion")
    assert _score(cmp, "coefficients", "insertion") > _score(cmp, "random", "insertion")
    assert _score(cmp, "coefficients", "faithfulness_correlation") > 0.9
    assert _score(cmp, "coefficients", "faithfulness_correlation") > _score(cmp, "random", "faithfulness_correlation")
    assert _score(cmp, "coefficients", "infidelity") < _score(cmp, "random", "infidelity")
    assert _score(cmp, "coefficients", "ground_truth_error") == pytest.approx(0.0, abs=1e-12)


def test_sanity_check_can_pass_and_fail(glm_comparison):
    cmp = glm_comparison
    # the GLM's contributions follow its (permuted) coefficients...
    assert _score(cmp, "coefficients", "model_randomisation") < 0.9
    assert _score(cmp, "coefficients", "data_randomisation") < 0.9
    # ...while the seeded random control ignores the model entirely and fails the check
    assert _score(cmp, "random", "model_randomisation") == pytest.approx(1.0)


def test_scores_are_tidy_and_directions_known(glm_comparison):
    cmp = glm_comparison
    assert list(cmp.scores.columns) == ["model", "method", "metric", "value", "spread", "unit"]
    assert set(cmp.scores.method) == {"coefficients", "random"}
    assert cmp.directions["deletion"] == "lower" and cmp.directions["insertion"] == "higher"
    assert {"seconds", "model_evals"} <= set(cmp.timings.columns)


def test_complexity_definitions():
    class E:
        flat_values = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 5.0]])

    np.testing.assert_allclose(entropy(E), [np.log(4), 0.0])
    np.testing.assert_allclose(sparseness(E), [0.0, 0.75])  # Gini: uniform 0, one-hot (d-1)/d


def test_compare_on_the_zoo_is_deterministic(tabular_zoo):
    zoo = tabular_zoo
    models = {k: zoo[k] for k in ("glm", "gradient_boosting")}
    kw = dict(background=zoo.X_train.iloc[:20], metrics=["faithfulness", "agreement", "robustness"],
              method_params={"lime": {"num_samples": 300}}, n_seeds=2, robustness_rows=2)
    a = compare(models, zoo.X_test.iloc[:4], **kw)
    b = compare(models, zoo.X_test.iloc[:4], **kw)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    m = a.agreement("gradient_boosting")
    assert list(m.index) == ["shap", "lime", "random"] and np.allclose(np.diag(m), 1.0)
    card = a.scorecard()
    assert list(card.index) == ["glm", "gradient_boosting"] and "deletion" in card.columns
    assert "seed_cv" in set(a.scores.metric)  # lime is stochastic


def test_list_of_models_named_by_class():
    X, y = make_data(d=4)
    cmp = compare([LogisticRegression().fit(X, y), DecisionTreeClassifier(max_depth=3).fit(X, y)], X[:3],
                  metrics=["complexity"], methods=["shap"])
    assert cmp.models == ["LogisticRegression", "DecisionTreeClassifier"]


def test_bad_input():
    X, y = make_data(d=4)
    with pytest.raises(ex.DataError, match="at least one model"):
        compare({}, X)
    with pytest.raises(ex.UnknownMetricError, match=r"unknown metric 'deletoin'\. Did you mean 'deletion'\?"):
        compare({"m": LogisticRegression().fit(X, y)}, X[:3], metrics=["deletoin"])
    X5, _ = make_data(d=5)
    with pytest.raises(ex.DataError, match=r"model 'five'.*has 4 columns but the model expects 5"):
        compare({"four": LogisticRegression().fit(X, y), "five": LogisticRegression().fit(X5, y)}, X[:3],
                metrics="complexity")


def test_agreement_between_models_and_on_images(image_zoo):
    zoo = image_zoo
    images = zoo.X_test.to_numpy(float)[:3].reshape(-1, 1, 8, 8)
    bg = zoo.X_train.to_numpy(float)[:10].reshape(-1, 1, 8, 8)
    cmp = compare({k: zoo[k] for k in ("glm", "svm", "cnn")}, images, methods=["shap", "occlusion"], background=bg,
                  metrics=["deletion", "rank_correlation", "model_randomisation"])
    m = cmp.model_agreement("shap")
    assert list(m.index) == ["glm", "svm", "cnn"] and np.allclose(np.diag(m), 1.0)
    assert np.allclose(m.to_numpy(), m.to_numpy().T) and np.all(np.abs(m.to_numpy()) <= 1)
    s = cmp.scores
    assert set(s[s.metric == "model_randomisation"].model) == {"glm", "svm", "cnn"}


def test_random_state_none_runs():
    from sklearn.linear_model import LogisticRegression

    from explain import compare

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    cmp = compare({"glm": LogisticRegression().fit(X, y)}, X[:4], background=X, random_state=None,
                  metrics=["deletion", "seed_cv"], n_seeds=2)
    assert ((cmp.scores.method == "random") & (cmp.scores.metric == "seed_cv")).any()


def test_module_and_function_both_reachable_and_errors_chain():
    import explain
    from explain.errors import DataError

    assert callable(explain.compare) and explain.comparison.compare is explain.compare
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, X[:, 0])
    with pytest.raises(DataError, match="model 'lr'") as info:
        explain.compare({"lr": model}, X[:, :2], background=X)
    assert isinstance(info.value.__cause__, DataError)  # the original error is kept
