"""The common scale (issue 12): output and removal in compare(), normalised curves, interaction strength."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from explain import CallableAdapter, compare
from explain.metrics.base import MetricContext
from explain.metrics.complexity import features_for_90
from explain.metrics.interaction import interaction_strength


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * np.array([1.0, 2.0, 0.5, 1.5]) + 0.3
    return X


def test_normalised_deletion_of_a_linear_model_equals_the_hand_computation(data):
    X = data
    w = np.array([1.5, -0.7, 2.0, 0.3])
    model = LinearRegression().fit(X, X @ w + 1.0)
    rows, bg = X[:5], X[100:200]
    cmp = compare({"lin": model}, rows, background=bg, methods=["shap"], metrics=["deletion_normalised"])
    got = cmp.scores.query("method == 'shap' and metric == 'deletion_normalised'")
    mu = bg.mean(axis=0)
    spread = model.predict(bg).std()
    areas = []
    for x in rows:
        phi = model.coef_ * (x - mu)  # exact SHAP of a linear model
        f_x, f_removed = model.predict(x[None])[0], model.predict(mu[None])[0]
        order = np.argsort(-phi * np.sign(f_x - f_removed), kind="stable")  # towards f(removed) fastest
        curve = [f_x - phi[order[:k]].sum() for k in range(5)]
        normalised = np.clip((np.array(curve) - f_removed) / (f_x - f_removed), 0, 1)
        if abs(f_x - f_removed) > 0.25 * spread:  # rows with little to explain are left out (documented)
            areas.append(np.trapezoid(normalised, dx=0.25))
    assert 0 < len(areas) < len(rows) + 1
    assert got.value.iloc[0] == pytest.approx(np.mean(areas), abs=1e-12)
    assert got.unit.iloc[0] == "share of f(x) - f(removed)"


def test_interaction_strength_is_zero_for_additive_and_large_for_products(data):
    X = data
    additive = CallableAdapter(lambda Z: np.sin(Z[:, 0]) + Z[:, 1] ** 2 - Z[:, 2], n_features=4)
    product = CallableAdapter(lambda Z: (Z[:, 0] - 0.3) * (Z[:, 1] - 0.3), n_features=4)
    mixed = CallableAdapter(lambda Z: Z[:, 0] + 0.5 * (Z[:, 0] - 0.3) * (Z[:, 1] - 0.3), n_features=4)
    ias = {}
    for name, f in (("additive", additive), ("product", product), ("mixed", mixed)):
        ctx = MetricContext(f, "raw", X[100:250])
        ias[name] = interaction_strength(X[:60], ctx)
    assert ias["additive"] == pytest.approx(0.0, abs=1e-12)
    assert ias["product"] > 0.8  # almost all of a centred product is interaction
    assert 0.05 < ias["mixed"] < ias["product"]


def test_glm_has_no_interaction_on_its_link_scale_but_some_in_probability(data):
    X = data
    y = (X[:, 0] - X[:, 1] + np.random.default_rng(1).normal(size=len(X)) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    kw = dict(methods=["shap"], metrics=["interaction_strength"], background=X[100:200])
    margin = compare({"glm": model}, X[:40], output="margin", **kw).scores
    prob = compare({"glm": model}, X[:40], output="probability", **kw).scores
    assert margin.value.iloc[0] == pytest.approx(0.0, abs=1e-10)
    assert prob.value.iloc[0] > 1e-4 and prob.unit.iloc[0] == "share of squared deviation"


def test_removal_choices_and_ratio_to_random(data):
    X = data
    y = (X[:, 0] + X[:, 2] > 0.5).astype(int)
    model = LogisticRegression().fit(X, y)
    scores = {}
    for removal in ("mean", "zero", "sample", X[150]):
        cmp = compare({"glm": model}, X[:10], background=X[100:200], methods=["shap"], output="probability",
                      removal=removal, metrics=["deletion", "deletion_normalised", "deletion_vs_random"])
        s = cmp.scores.set_index(["method", "metric"])["value"]
        scores[removal if isinstance(removal, str) else "row"] = s
        assert s[("shap", "deletion_vs_random")] == pytest.approx(
            s[("shap", "deletion_normalised")] / s[("random", "deletion_normalised")])
        if isinstance(removal, str) and removal in ("mean", "sample"):  # removal by the background SHAP was computed against
            assert s[("shap", "deletion_vs_random")] < 1.0  # exact SHAP beats random attributions
    assert scores["zero"][("shap", "deletion")] != pytest.approx(scores["mean"][("shap", "deletion")])
    assert cmp.params["removal"] == "array" and cmp.params["output"] == "probability"
    from explain.errors import DataError

    with pytest.raises(DataError, match="removal must be"):
        compare({"glm": model}, X[:3], background=X, removal="median")


def test_features_for_90():
    from explain import Explanation

    values = np.array([[5.0, 3.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    e = Explanation(values, np.zeros(3), np.zeros((3, 4)), list("abcd"), output="raw", method="m", model_name="x")
    np.testing.assert_array_equal(features_for_90(e)[:2], [3, 4])  # 8/10 < 0.9 <= 9/10; 4 equal shares
    assert np.isnan(features_for_90(e)[2])


def test_the_registry_carries_every_metric_and_refuses_bad_registrations(monkeypatch):
    import copy

    from explain.metrics import registry
    from explain.metrics.base import METRICS

    assert set(registry.REGISTRY) == set(METRICS)
    assert all(callable(registry.get_metric(name).fn) for name in registry.REGISTRY)  # every kind has a function
    monkeypatch.setattr(registry, "REGISTRY", copy.deepcopy(registry.REGISTRY))
    path = "explain.metrics.complexity:entropy"
    with pytest.raises(ValueError, match="no MetricSpec"):
        registry.register_metric("my_metric", path, kind="row")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_metric("deletion", path, kind="row")
    with pytest.raises(ValueError, match="unknown kind"):
        registry.register_metric("deletion", path, kind="rows")
    with pytest.raises(ValueError, match="needs its source"):
        registry.register_metric("deletion_vs_random", "explain.metrics.base:ratio_to_control", kind="derived")
    monkeypatch.setitem(METRICS, "my_metric", METRICS["entropy"])
    for bad in ("explain.metrics.complexity.entropy", "explain/metrics:entropy", "", None):
        with pytest.raises(ValueError, match="path must look like"):
            registry.register_metric("my_metric", bad, kind="row")
    with pytest.raises(ValueError, match="cannot load"):  # resolved at registration, not at first use
        registry.register_metric("my_metric", "explain.metrics.complexity:no_such_function", kind="row")
    with pytest.raises(ValueError, match="cannot load"):
        registry.register_metric("my_metric", "explain.metrics.no_such_module:entropy", kind="row")
    assert "my_metric" not in registry.REGISTRY  # a failed registration leaves nothing behind


def _mean_abs(e, ctx):
    return np.abs(e.flat_values).mean(axis=1)


def test_a_new_row_metric_is_one_function_and_two_lines(data, monkeypatch):
    import copy

    from explain.comparison import compare
    from explain.metrics import base, registry

    spec = base.MetricSpec("mean_abs", "complexity", "lower", "mean |a| per row", "output")
    monkeypatch.setitem(base.METRICS, "mean_abs", spec)
    monkeypatch.setattr(registry, "REGISTRY", copy.deepcopy(registry.REGISTRY))
    registry.register_metric("mean_abs", f"{__name__}:_mean_abs", kind="row")
    X = data
    model = LinearRegression().fit(X, X[:, 0])
    cmp = compare({"lin": model}, X[:4], background=X, methods=["shap"], metrics=["mean_abs"])
    got = cmp.scores.query("method == 'shap'")
    assert got.metric.tolist() == ["mean_abs"] and got.value.iloc[0] > 0


# -- one output for every model (issue 28) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary(data):
    X = data
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3] > 0.3).astype(int)
    return X, y


_FAST = dict(methods=["shap"], metrics=["deletion", "infidelity", "rank_correlation"])


def _output_of(cmp, name):
    return cmp.explanations[name]["shap"].output


def _units(cmp, metric):
    s = cmp.scores[(cmp.scores.metric == metric) & (cmp.scores.method != "random")]
    return dict(zip(s.model, s.unit))


def test_several_classifiers_default_to_the_probability_of_the_explained_class(binary):
    from sklearn.ensemble import RandomForestClassifier

    X, y = binary
    glm = LogisticRegression().fit(X, y)
    forest = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    cmp = compare({"glm": glm, "forest": forest}, X[:4], background=X[100:140], **_FAST)
    assert _output_of(cmp, "glm") == _output_of(cmp, "forest") == "probability"
    assert _units(cmp, "deletion") == {"glm": "probability", "forest": "probability"}
    assert set(_units(cmp, "infidelity").values()) == {"squared probability"}
    assert set(_units(cmp, "rank_correlation").values()) == {"correlation"}
    for name, model in (("glm", glm), ("forest", forest)):  # the explained number is sklearn's own probability
        e = cmp.explanations[name]["shap"]
        target = e.target  # the explained class (the positive one for a binary model)
        np.testing.assert_allclose(e.values.sum(axis=1) + e.base_values,
                                   model.predict_proba(X[:4])[np.arange(4), target], atol=1e-6)
    assert cmp.params["scale"]["common"] and "probability" in cmp.params["scale"]["reason"]
    assert cmp.params["output"] == "auto"


def test_one_model_keeps_its_natural_output(binary):
    X, y = binary
    cmp = compare({"glm": LogisticRegression().fit(X, y)}, X[:3], background=X[100:140], **_FAST)
    assert _output_of(cmp, "glm") == "margin" and _units(cmp, "deletion") == {"glm": "log-odds"}


def test_margins_that_are_all_log_odds_stay_in_log_odds_and_others_go_to_probability(binary):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.naive_bayes import GaussianNB

    X, y = binary
    glm = LogisticRegression().fit(X, y)
    glm_c = LogisticRegression(C=0.01).fit(X, y)
    boost = GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0).fit(X, y)
    bg = X[100:140]
    cmp = compare({"glm": glm, "glm_c": glm_c, "boost": boost}, X[:4], background=bg, **_FAST)
    assert {_output_of(cmp, n) for n in cmp.models} == {"margin"}
    assert set(_units(cmp, "deletion").values()) == {"log-odds"}
    e = cmp.explanations["glm"]["shap"]  # in log-odds a logistic model is additive: beta (x - mean background)
    sign = np.where(e.target == 1, 1.0, -1.0)[:, None]
    np.testing.assert_allclose(e.values, sign * glm.coef_[0] * (X[:4] - bg.mean(axis=0)), atol=1e-8)
    boosted = cmp.explanations["boost"]["shap"]
    np.testing.assert_allclose((boosted.values.sum(axis=1) + boosted.base_values)[boosted.target == 1],
                               boost.decision_function(X[:4])[boosted.target == 1], atol=1e-6)
    # binary Naive Bayes' margin is jll_1 - jll_0, the log-odds too
    nb_model = GaussianNB().fit(X, y)
    nb = compare({"glm": glm, "nb": nb_model}, X[:3], background=bg, **_FAST)
    assert set(_units(nb, "deletion").values()) == {"log-odds"}
    e, p = nb.explanations["nb"]["shap"], nb_model.predict_proba(X[:3])[:, 1]
    np.testing.assert_allclose((e.values.sum(axis=1) + e.base_values)[e.target == 1],
                               np.log(p / (1 - p))[e.target == 1], rtol=1e-6)
    # three classes: a margin per class is a logit defined up to a constant, not a log-odds: probability
    y3 = np.digitize(X[:, 0], np.quantile(X[:, 0], [1 / 3, 2 / 3]))
    three = compare({"glm": LogisticRegression().fit(X, y3), "nb": GaussianNB().fit(X, y3)}, X[:3], background=bg,
                    **_FAST)
    assert {_output_of(three, n) for n in three.models} == {"probability"}


def test_several_regressors_share_the_prediction(data):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import PoissonRegressor

    X = data
    target = np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1])
    models = {"ols": LinearRegression().fit(X, target),
              "poisson": PoissonRegressor(alpha=1e-4).fit(X, target),  # natural output: its link (log) scale
              "forest": RandomForestRegressor(n_estimators=10, max_depth=3, random_state=0).fit(X, target)}
    cmp = compare(models, X[:4], background=X[100:140], **_FAST)
    assert {_output_of(cmp, n) for n in models} == {"raw"}
    assert set(_units(cmp, "deletion").values()) == {"prediction"}
    e = cmp.explanations["poisson"]["shap"]  # the explained number is the predicted mean, not its log
    np.testing.assert_allclose(e.values.sum(axis=1) + e.base_values, models["poisson"].predict(X[:4]), rtol=1e-6)
    alone = compare({"poisson": models["poisson"]}, X[:2], background=X[100:140], **_FAST)
    assert _output_of(alone, "poisson") == "margin"


def test_natural_output_for_several_models_warns_and_keeps_units_per_model(binary):
    from sklearn.ensemble import RandomForestClassifier

    from explain.metrics.scale import OutputScaleWarning

    X, y = binary
    models = {"glm": LogisticRegression().fit(X, y),
              "forest": RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)}
    with pytest.warns(OutputScaleWarning, match="not compare across models"):
        cmp = compare(models, X[:3], background=X[100:140], output="natural", **_FAST)
    assert _output_of(cmp, "glm") == "margin" and _output_of(cmp, "forest") == "probability"
    assert _units(cmp, "deletion") == {"glm": "log-odds", "forest": "probability"}
    assert _units(cmp, "infidelity") == {"glm": "squared log-odds", "forest": "squared probability"}
    assert not cmp.params["scale"]["common"] and cmp.params["output"] == "natural"


def test_a_classifier_without_probability_falls_back_to_natural_outputs_with_a_warning(binary):
    from sklearn.svm import SVC

    from explain.errors import OutputError
    from explain.metrics.scale import OutputScaleWarning

    X, y = binary
    models = {"glm": LogisticRegression().fit(X, y), "svm": SVC().fit(X, y)}
    with pytest.warns(OutputScaleWarning, match="'svm' offers no probability"):
        cmp = compare(models, X[:2], background=X[100:130], **_FAST)
    assert _units(cmp, "deletion") == {"glm": "log-odds", "svm": "margin of svm"}
    with pytest.raises(OutputError, match="offers output"):  # asked for explicitly: refused, as before
        compare(models, X[:2], background=X[100:130], output="probability", **_FAST)
    with pytest.raises(OutputError, match="output must be one of"):
        compare(models, X[:2], background=X[100:130], output="probabilty", **_FAST)
