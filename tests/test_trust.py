"""Nothing wrong passes silently (issue 9): each test pins one item found in review."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from explain import compare, explain
from explain.errors import (ApproximationWarning, DataError, TargetError, UnknownMethodError,
                            UnsupportedModelError)
from explain.methods.base import Attribution, Method
from explain.metrics.agreement import pairwise_rank_agreement
from explain.metrics.base import METRICS
from explain.metrics.sanity import randomisation_similarity


@pytest.fixture(scope="module")
def cancer():
    from explain import datasets

    data = datasets.load_tabular()
    X = data.X.iloc[:, :6]
    return X, data.y


# -- item 2: metrics use the validated, reordered data --------------------------------------------
def test_compare_scores_do_not_depend_on_column_order(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    bg = X.iloc[100:160]
    kw = dict(methods=["shap"], metrics=["deletion", "insertion", "faithfulness_correlation", "infidelity"],
              random_state=0)
    straight = compare({"glm": model}, X.iloc[:15], background=bg, **kw).scores
    reversed_ = compare({"glm": model}, X.iloc[:15, ::-1], background=bg.iloc[:, ::-1], **kw).scores
    pd.testing.assert_frame_equal(straight, reversed_)
    deletion = straight[(straight.method == "shap") & (straight.metric == "faithfulness_correlation")]
    assert deletion.value.iloc[0] > 0.9  # the correct (reordered) background gives the faithful score


def test_explanation_set_carries_the_validated_background(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    r = explain(model, X.iloc[:3], methods="shap", background=X.iloc[50:70, ::-1])
    np.testing.assert_array_equal(r.background, X.iloc[50:70].to_numpy())
    assert not r.background.flags.writeable


# -- item 5: per-block flags ------------------------------------------------------------------------
class _ExactForSomeClasses(Method):
    """A stand-in method: exact (closed form) for classes 0 and 1, 'approximate' for class 2."""

    name = "shap"
    additive = True

    def attribute(self, task):
        from explain.methods._enumeration import enumerate_shapley

        values, base = enumerate_shapley(task.f, task.X, task.background)
        if task.target == 2:
            values = values + np.array([0.1, -0.1, 0.0, 0.0])  # same sum, wrong per feature
            return Attribution(values, base, {"algorithm": "approx", "approximate": "made up for the test"},
                               exact=False)
        return Attribution(values, base, {"algorithm": "enumeration"}, exact=True)


def _run(method, adapter, X, bg, output, targets, names, random_state, options, prediction, context):
    """One method through the engine on already validated rows (what explain() does after validation)."""
    from explain.engine.chunks import Parallelism
    from explain.engine.config import ExplainConfig
    from explain.engine.plan import Plan

    config = ExplainConfig(method_params={method.name: options}, random_state=random_state)
    plan = Plan(adapter=adapter, X=X, background=bg, names=tuple(names), output=output, methods=[method],
                config=config, entropy=random_state,
                image_shape=context["image_shape"], groups=context["groups"],
                parallel=Parallelism(batch_size=context.get("batch_size", "auto")))
    return plan.run(method, X, targets, prediction)


def test_multiclass_blocks_merge_their_flags():
    from explain.adapters import get_adapter

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    model = LogisticRegression(max_iter=2000).fit(X, y)
    a = get_adapter(model)
    Xe = X[:30]
    pred = a.predict(Xe, "margin")
    targets = np.argmax(pred, axis=1)
    assert set(targets) == {0, 1, 2}
    prediction = pred[np.arange(30), targets]
    with pytest.warns(ApproximationWarning, match="approximate"):
        e = _run(_ExactForSomeClasses(), a, Xe, X[60:90], "margin", targets, ["a", "b", "c", "d"], 0, {},
                 prediction, {"image_shape": None, "groups": None})
    assert e.params["exact"] is False  # not taken from the last (or first) block
    blocks = {b["class"]: b for b in e.params["blocks"]}
    assert blocks["2"]["exact"] is False and blocks["0"]["exact"] is True and blocks["1"]["exact"] is True
    assert "class 2: approx" in e.params["algorithm"] and "class 0: enumeration" in e.params["algorithm"]


# -- item 6: honesty fixes --------------------------------------------------------------------------
def test_ground_truth_error_is_never_a_self_comparison():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    model = SVC(kernel="rbf", gamma=0.3).fit(X, y)
    cmp = compare({"svm": model}, X[:6], background=X[100:130], methods=["shap", "lime"],
                  metrics=["ground_truth_error"], method_params={"lime": {"num_samples": 500}})
    s = cmp.scores.set_index(["method", "metric"])["value"]
    assert s[("shap", "ground_truth_error")] < 1e-8  # exact kernel Shapley against independent enumeration
    assert s[("lime", "ground_truth_error")] > 1e-3
    assert (cmp.timings.method == "(reference)").any()


def test_ground_truth_error_left_empty_without_an_independent_reference():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 12))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    cmp = compare({"glm": model}, X[:5], background=X[50:80], methods=["shap"], metrics=["ground_truth_error"])
    s = cmp.scores.set_index(["method", "metric"])["value"]
    assert np.isnan(s[("shap", "ground_truth_error")])
    assert any("glm/shap: ground_truth_error left empty" in n for n in cmp.params["notes"])


def test_stochastic_flag_follows_the_algorithm_that_ran():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 13))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    model = SVC(kernel="poly", degree=2).fit(X, y)  # not a product kernel, 13 features: KernelSHAP
    r = explain(model, X[:2], methods="shap", background=X[:10], method_params={"shap": {"nsamples": 100}})
    assert r["shap"].params["algorithm"].startswith("KernelSHAP") and r["shap"].params["stochastic"] is True
    cmp = compare({"svm": model}, X[:2], background=X[:10], methods=["shap"], metrics=["seed_cv"], n_seeds=2,
                  method_params={"shap": {"nsamples": 100}})
    assert ((cmp.scores.method == "shap") & (cmp.scores.metric == "seed_cv")).any()


def test_pairwise_rank_agreement_ties_follow_the_boolean_convention():
    A = np.array([[3.0, 0.0, 0.0]])  # features 1 and 2 tied
    B_reversed = np.array([[3.0, 1.0, 2.0]])  # 2 above 1: "1 ranks above 2" is False in both
    B_forward = np.array([[3.0, 2.0, 1.0]])  # 1 above 2: True here, False (tie) in A
    assert pairwise_rank_agreement(A, B_reversed)[0] == pytest.approx(1.0)
    assert pairwise_rank_agreement(A, B_forward)[0] == pytest.approx(2 / 3)


def test_randomisation_similarity_does_not_reward_sign_flips():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert randomisation_similarity(a, -a)[0] == pytest.approx(1.0)  # flipped is not "changed"
    assert randomisation_similarity(a, a)[0] == pytest.approx(1.0)
    assert "|a|" in METRICS["rank_correlation"].meaning
    assert "|Spearman rho|" in METRICS["model_randomisation"].meaning


def test_tiny_default_background_warns(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    with pytest.warns(UserWarning, match="background=X_train"):
        r = explain(model, X.iloc[:1], methods="coefficients")
    assert np.all(r["coefficients"].values == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(model, X.iloc[:1], methods="coefficients", background=X)


def test_empty_methods_boolean_target_and_unknown_options(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    with pytest.raises(UnknownMethodError, match="methods is empty"):
        explain(model, X.iloc[:3], methods=[], background=X)
    with pytest.raises(TargetError, match="boolean"):
        explain(model, X.iloc[:3], methods="coefficients", background=X, target=True)
    with pytest.raises(UnknownMethodError, match=r"no option 'num_sample'.*Did you mean 'num_samples'"):
        explain(model, X.iloc[:3], methods="lime", background=X, method_params={"lime": {"num_sample": 100}})
    with pytest.raises(UnknownMethodError, match="unknown method 'lmie'"):
        explain(model, X.iloc[:3], methods="lime", background=X, method_params={"lmie": {"num_samples": 100}})


def test_boolean_target_allowed_for_boolean_classes(cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y.astype(bool))
    r = explain(model, X.iloc[:3], methods="coefficients", background=X, target=True)
    assert list(r["coefficients"].target) == [1, 1, 1]


# -- statsmodels formulas ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fair():
    import statsmodels.api as sm

    d = sm.datasets.fair.load_pandas().data
    d = d.rename(columns={"rate_marriage": "rate marriage"})
    d["affair"] = (d["affairs"] > 0).astype(int)
    return d


def test_formula_q_columns_are_inputs(fair):
    import statsmodels.formula.api as smf

    res = smf.logit('affair ~ Q("rate marriage") + age + yrs_married', data=fair).fit(disp=0)
    cols = ["rate marriage", "age", "yrs_married"]
    r = explain(res, fair[cols].iloc[:5], methods="coefficients", background=fair[cols].iloc[:200])
    e = r["coefficients"]
    assert e.feature_names == cols
    assert abs(e[:, "rate marriage"].values).sum() > 0


def test_exposure_and_offset_are_refused(fair):
    import statsmodels.api as sm

    X = sm.add_constant(fair[["age", "yrs_married"]])
    res = sm.GLM(fair["children"].round(), X, family=sm.families.Poisson(),
                 exposure=np.full(len(fair), 2.0)).fit()
    with pytest.raises(UnsupportedModelError, match="exposure"):
        explain(res, fair[["age", "yrs_married"]].iloc[:3])
    res = sm.GLM(fair["children"].round(), X, family=sm.families.Poisson(), offset=np.ones(len(fair))).fit()
    with pytest.raises(UnsupportedModelError, match="offset"):
        explain(res, fair[["age", "yrs_married"]].iloc[:3])


def test_formula_categorical_term_under_perturbation_says_which_method(fair):
    import statsmodels.formula.api as smf

    res = smf.logit("affair ~ C(occupation) + age", data=fair).fit(disp=0)
    cols = ["occupation", "age"]
    r = explain(res, fair[cols].iloc[:3], methods="shap", background=fair[cols].iloc[:50])
    assert r["shap"].params["exact"]
    with pytest.raises(DataError, match=r"method 'occlusion'.*C\(column\)"):
        explain(res, fair[cols].iloc[:3], methods="occlusion", background=fair[cols].iloc[:50])


def test_approximate_results_are_marked_in_every_report(tmp_path):
    import json

    from explain import build_report
    from explain.adapters import get_adapter
    from explain.explanation import ExplanationSet

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    model = LogisticRegression(max_iter=2000).fit(X, y)
    a = get_adapter(model)
    pred = a.predict(X[:20], "margin")
    targets = np.argmax(pred, axis=1)
    with pytest.warns(ApproximationWarning):
        e = _run(_ExactForSomeClasses(), a, X[:20], X[60:90], "margin", targets, ["a", "b", "c", "d"], 0, {},
                 pred[np.arange(20), targets], {"image_shape": None, "groups": None})
    report = build_report(ExplanationSet([e], model_name="glm"))
    html = report.save(tmp_path / "r.html")
    md = report.save(tmp_path / "r.md")
    js = report.save(tmp_path / "r.json")
    for path in (html, md):
        text = open(path, encoding="utf-8").read()
        assert "shap: approximate: gap" in text and "made up for the test" in text
    assert any("approximate: gap" in n for n in json.load(open(js))["notes"]["glm"])
