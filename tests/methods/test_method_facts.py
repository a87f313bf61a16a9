"""Facts about a method live on its class: every registered method declares them, and the places that treat a
control differently (compare(), the scorecard, agreement, the report) follow the ``control`` attribute, not a name."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from explain.methods import base
from explain.methods.baseline import RandomAttribution
from explain.methods.base import METHODS, control_methods, is_control, method_class, method_names

_FLAGS = ("exact", "additive", "stochastic", "supports_groups", "images_only", "per_row_targets", "global_rng",
          "reads_internals", "control")


@pytest.mark.parametrize("name", method_names())
def test_every_registered_method_declares_its_facts(name):
    cls = method_class(name)
    assert issubclass(cls, base.Method) and cls.name == name
    assert isinstance(cls.game, str) and cls.game.strip(), f"{name}: no game"
    assert isinstance(cls.assumptions, str) and cls.assumptions.strip(), f"{name}: no assumptions"
    for flag in _FLAGS:
        assert type(getattr(cls, flag)) is bool, f"{name}.{flag} is {getattr(cls, flag)!r}, not a bool"


def test_the_facts_are_the_ones_a_reviewer_needs():
    assert control_methods() == ["random"]  # the registered name of the control is kept
    assert [n for n in method_names() if method_class(n).exact] == ["coefficients", "naive_bayes", "shap.tree",
                                                                    "shap.tree_shap_lib", "shap.exact",
                                                                    "shap.kernel_exact"]
    internals = {n for n in method_names() if method_class(n).reads_internals}
    assert {"coefficients", "naive_bayes", "shap.kernel_exact", "shap.tree", "integrated_gradients"} <= internals
    assert not internals & {"lime", "shap.kernel", "shap.permutation", "shap.exact", "occlusion",
                            "feature_ablation", "random"}
    assert not is_control("shap") and not is_control("not a method")


def test_method_notes_read_the_class_attributes():
    from explain import Explanation
    from explain.report.method_notes import method_notes_table

    class _Set(list):
        model_name = "m"

    result = _Set(Explanation(np.zeros((2, 3)), np.zeros(2), np.zeros((2, 3)), list("abc"), output="raw",
                              method=m, model_name="m") for m in ("shap", "random", "hand-made"))
    table = method_notes_table(result)
    shap = method_class("shap")
    assert table.loc[0, "game"] == shap.game and table.loc[0, "assumptions"] == shap.assumptions
    assert table.loc[0, "reads internals"] == "yes" and table.loc[1, "reads internals"] == "no"
    assert table.loc[1, "game"] == "none: the control"
    assert table.loc[2, ["game", "assumptions"]].tolist() == ["-", "-"]  # not a registered method


class ControlTwin(RandomAttribution):
    """A second control (same draws as "random") under another name."""

    name = "control_twin"


class Noise(RandomAttribution):
    """The same draws, not a control: it must be scored and compared like any method."""

    name = "noise"
    control = False
    game = "random draws, scored like a method"


@pytest.fixture
def extra_methods(monkeypatch):
    monkeypatch.setitem(METHODS._paths, "control_twin", f"{__name__}:ControlTwin")
    monkeypatch.setitem(METHODS._paths, "noise", f"{__name__}:Noise")


def test_exactly_the_control_methods_are_skipped(extra_methods):
    from explain import compare
    from explain.report.build import build_report

    assert control_methods() == ["random", "control_twin"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    model = LinearRegression().fit(X, X @ [1.0, -2.0, 0.5, 0.0])
    cmp = compare({"lin": model}, X[:5], background=X[20:], methods=["shap", "noise"],
                  metrics=["deletion_vs_random", "rank_correlation"])
    result = cmp.explanations["lin"]
    assert set(result.methods) == {"shap", "noise", "random", "control_twin"}  # every control is added
    s = cmp.scores.set_index(["method", "metric"])["value"]
    # ratios to the control for every method that is not one, none for the controls
    assert {m for m, metric in s.index if metric == "deletion_vs_random"} == {"shap", "noise"}
    ratio = s[("noise", "deletion_normalised")] / s[("random", "deletion_normalised")]
    assert s[("noise", "deletion_vs_random")] == pytest.approx(ratio)
    # agreement with the other methods leaves the controls out (and keeps "noise", which is not one)
    matrix = cmp.agreement("lin")
    assert s[("shap", "rank_correlation")] == pytest.approx(matrix.loc["shap", "noise"])
    assert s[("random", "rank_correlation")] == pytest.approx(matrix.loc["random", ["shap", "noise"]].mean())
    assert cmp.scorecard().loc["lin", "method_agreement"] == pytest.approx(matrix.loc["shap", "noise"])
    card = build_report(cmp).to_model_card()
    assert "**noise**" in card and "**shap**" in card
    assert "**random**" not in card and "**control_twin**" not in card
    assert '"noise"' in card and '"random"' not in card and '"control_twin"' not in card


def test_the_evaluation_count_check_skips_exactly_methods_that_read_internals():
    from explain.testing import check_model_evaluations_counted

    for name in method_names():
        run = SimpleNamespace(first=[SimpleNamespace(method=name, n_model_evals=0)])
        if method_class(name).reads_internals:
            check_model_evaluations_counted(run)
        else:
            with pytest.raises(AssertionError, match=name.replace(".", r"\.")):
                check_model_evaluations_counted(run)
        check_model_evaluations_counted(SimpleNamespace(first=[SimpleNamespace(method=name, n_model_evals=3)]))
