"""Reports say which output every score is in (issue 28): the first screen, one unit per scorecard row (or a unit
in each cell where the models' outputs differ), and per-row plots that name their output."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from explain import build_report, compare


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(160, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    models = {"glm": LogisticRegression().fit(X, y),
              "forest": RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)}
    kw = dict(background=X[100:130], methods=["shap"], metrics=["deletion", "infidelity", "rank_correlation"])
    common = compare(models, X[:3], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        natural = compare(models, X[:3], output="natural", **kw)
    return common, natural


@pytest.fixture(scope="module")
def reports(pair):
    """Each report built once; the figures of the natural one are kept to read their axes."""
    from explain.report import figures

    common, natural = pair
    seen = []
    real = figures.to_svg
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "to_svg", lambda fig: (seen.append(fig), real(fig))[1])
        natural_report = build_report(natural, rows=(0,))
    return build_report(common, rows=(0,)), natural_report, seen


def _card(report):
    section = next(s for s in report.sections if s.kind == "scorecard")
    table = section.data["table"]
    return section, {row[0]: dict(zip(table["columns"], row)) for row in table["rows"]}


def test_first_screen_names_the_common_output_and_every_row_has_one_unit(reports):
    report = reports[0]
    first = report.sections[0]
    assert first.kind == "text" and first.title.startswith("Output")
    assert "one output: probability" in first.data["paragraphs"][0]
    assert "Why: several classifiers with different natural outputs" in first.data["paragraphs"][0]
    assert first.data["bullets"] == ["glm: explained in output='probability' (probability)",
                                     "forest: explained in output='probability' (probability)"]
    section, rows = _card(report)
    assert section.data["table"]["columns"][:2] == ["metric", "unit"] and section.data["mixed"] == []
    assert rows["deletion"]["unit"] == "probability" and rows["infidelity"]["unit"] == "squared probability"
    assert rows["random_deletion"]["unit"] == "probability" and rows["method_agreement"]["unit"] == "correlation"
    float(rows["deletion"]["glm"])  # a plain number: the unit lives in its column
    record = json.loads(report.to_json())
    units = {}
    for s in record["scores"]:
        units.setdefault(s["metric"], set()).add(s["unit"])
    assert all(len(u) == 1 for u in units.values()), units
    html = report.to_html()
    assert html.index("Output: the scale of every score") < html.index("Provenance")
    assert "<td>squared probability</td>" in html


def test_per_family_outputs_put_the_unit_in_each_cell_and_say_the_row_does_not_compare(pair, reports):
    natural, report = pair[1], reports[1]
    assert "different outputs" in report.sections[0].data["paragraphs"][0]
    section, rows = _card(report)
    assert set(section.data["mixed"]) == {"deletion", "infidelity", "random_deletion"}
    assert rows["deletion"]["unit"] == "per cell: not comparable"
    assert rows["deletion"]["glm"].endswith(" log-odds") and rows["deletion"]["forest"].endswith(" probability")
    assert rows["method_agreement"]["unit"] == "correlation" and " " not in rows["method_agreement"]["glm"]
    meaning = next(m for m in section.data["meanings"] if m["metric"] == "deletion")["meaning"]
    assert meaning.endswith("not comparable across models, not ranked)")
    assert "these rows do not compare across models" in report.to_html()
    assert "| deletion | per cell: not comparable |" in report.to_markdown()
    html = natural._repr_html_()
    assert "<th>unit</th>" in html and " log-odds</td>" in html
    assert 'unit: "log-odds"' in report.to_model_card()


def test_per_row_plots_name_their_output(pair, reports):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from explain import AttributionDisplay, WaterfallDisplay

    natural, (_, report, seen) = pair[1], reports
    waterfalls = [f for f in seen if any(ax.get_title().startswith("row 0 ·") for ax in f.axes)]
    labels = {ax.get_xlabel() for f in waterfalls for ax in f.axes}
    assert labels == {"contribution (log-odds)", "contribution (probability)"}
    assert all(ax.get_title().endswith(("log-odds", "probability")) for f in waterfalls for ax in f.axes)
    titles = [c.title for s in report.sections if s.kind == "model" for c in s.children]
    assert "Rows 0: largest contributions, in log-odds" in titles
    # every row's numbers (the table of predictions and each row's contributions) name their output too
    assert any(t.startswith("Every explained row") and t.endswith("in probability") for t in titles)
    e = natural.explanations["glm"]["shap"]
    assert WaterfallDisplay.from_explanation(e, row=0).ax_.get_xlabel().endswith("(margin)")
    assert AttributionDisplay.from_explanation(e, row=0).ax_.get_xlabel() == "contribution (margin)"
    plt.close("all")


def test_cli_scorecard_text_and_demo_calibration(pair):
    from sklearn.svm import SVC

    from explain.adapters import get_adapter
    from explain.cli import _scorecard_text, _with_probability

    common, natural = pair
    text = _scorecard_text(common)
    assert text.startswith("Output: several classifiers") and "squared probability" in text
    assert " log-odds" in _scorecard_text(natural) and "per cell" in _scorecard_text(natural)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    svm, glm = SVC().fit(X, y), LogisticRegression().fit(X, y)
    models, calibrated = _with_probability({"svm": svm, "glm": glm}, X, y)
    assert list(calibrated) == ["svm"] and models["glm"] is glm and models["svm"] is not svm
    assert "probability" in get_adapter(models["svm"]).outputs and not hasattr(svm, "predict_proba")
