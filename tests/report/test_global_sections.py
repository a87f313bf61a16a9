"""The report's "Global behaviour" and "Interactions" sections: present per model, one output scale with its unit
printed, numbers equal to the public functions on the same rows, Markdown too, and the opt-out."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import explain
from explain import build_report
from explain.report._global_models import global_models
from explain.report.global_section import GRID, global_behaviour_section
from explain.report.interaction_section import MAX_BACKGROUND, MAX_ROWS, interactions_section


def _section(report, title):
    found = [s for s in report.sections if s.title == title]
    assert len(found) == 1, [s.title for s in report.sections]
    return found[0]


def test_global_behaviour_per_model_on_one_scale(small_report_inputs):
    cmp, _, X, models = small_report_inputs
    sec = global_behaviour_section(dict(cmp.explanations), cmp)
    assert sec.title == "Global behaviour" and "one output scale: log-odds" in " ".join(sec.data["paragraphs"])
    assert "mean |Shapley value|" in sec.data["paragraphs"][0]  # no labels given: the label-free importance
    assert sec.data["bullets"] == [f"{m}: output=margin (log-odds), curves of class 1" for m in models]
    table = sec.children[0].data["table"]
    assert table["columns"] == ["feature"] + [f"{m}: estimate [interval]" for m in models]
    titles = [c.title for c in sec.children]
    # one figure per view, every model in it, the unit in the title (not one figure per model)
    assert titles[1:] == ["Importance with 95% intervals, in mean |Shapley value| (log-odds)",
                          "Partial dependence, in log-odds", "Accumulated local effects, in log-odds"]
    assert all(c.data["svg"].startswith("<svg") for c in sec.children[1:])
    # the label-free importance is the explanations' mean |SHAP value|, with an interval around it
    shap = cmp.explanations["glm"]["shap"]
    top = table["rows"][0][0]
    est, low, high = map(float, re.findall(r"-?[\d.e+-]+", table["rows"][0][1].replace(" [", " ").replace(",", " ")))
    j = shap.feature_names.index(top)
    assert est == pytest.approx(np.abs(shap.values[:, j]).mean(), rel=1e-3) and low <= est <= high


def test_labels_switch_to_permutation_importance(small_report_inputs):
    cmp, _, X, _ = small_report_inputs
    sec = global_behaviour_section(dict(cmp.explanations), cmp)
    assert "mean |Shapley value|" in sec.data["paragraphs"][0]
    from explain.datasets import model_zoo

    y = model_zoo("tabular", size="small").y_test[:len(X)]
    labelled = global_behaviour_section(dict(cmp.explanations), cmp, y=y)
    assert labelled.data["paragraphs"][0].startswith("Importance: permutation importance")
    assert "cross-entropy" in labelled.children[0].title


def test_curves_equal_the_public_functions(small_report_inputs):
    cmp, _, X, models = small_report_inputs
    from explain.report.global_section import _curves

    ms = global_models(dict(cmp.explanations), cmp, max_rows=50, max_background=20)
    notes = []
    pd_panels, ale_panels = _curves(ms, ["mean area"], notes)
    assert notes == [] and set(pd_panels["mean area"]) == set(models)
    for name, model in models.items():
        ref = explain.partial_dependence(model, X, "mean area", grid_resolution=GRID, output="margin", background=X)
        np.testing.assert_allclose(pd_panels["mean area"][name][1], ref.average, rtol=0, atol=1e-10)
        ale = explain.accumulated_local_effects(model, X, "mean area", bins=6, output="margin", background=X)
        np.testing.assert_allclose(ale_panels["mean area"][name][1], ale.values, rtol=0, atol=1e-10)


def test_interactions_section_names_index_and_space(small_report_inputs):
    cmp, _, X, models = small_report_inputs
    sec = interactions_section(dict(cmp.explanations), cmp)
    text = " ".join(sec.data["paragraphs"] + sec.data["bullets"])
    assert "SII" in text and "output=margin (log-odds)" in text
    rows = sec.children[0].data["table"]["rows"]
    assert ["glm", "every pair", "0 (additive in this output)", "log-odds"] in rows
    heat = sec.children[1]
    assert heat.title == "Interaction heat maps: mean |SII| in log-odds, one colour scale"
    # the strongest pair of the boosted trees equals explain.interactions on the same rows and background
    m = global_models(dict(cmp.explanations), cmp, max_rows=MAX_ROWS, max_background=MAX_BACKGROUND)
    ref = explain.interactions(models["gradient_boosting"], X.iloc[:MAX_ROWS],
                               background=m["gradient_boosting"].background,
                               output="margin", target=1)
    strength = np.abs(ref.values).mean(axis=0)
    np.fill_diagonal(strength, 0)
    gb = [r for r in rows if r[0] == "gradient_boosting"]
    i, j = np.unravel_index(np.argmax(strength), strength.shape)
    assert gb[0][1] == f"{ref.feature_names[min(i, j)]} × {ref.feature_names[max(i, j)]}"
    assert float(gb[0][2]) == pytest.approx(strength[i, j], rel=1e-3)


@pytest.fixture(scope="module")
def mixed_outputs():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(120, 13)), columns=[f"x{k}" for k in range(13)])
    y = (X["x0"] + X["x1"] * X["x2"] > 0).astype(int)
    glm, forest = LogisticRegression().fit(X, y), RandomForestClassifier(n_estimators=5, max_depth=3,
                                                                        random_state=0).fit(X, y)
    rows, bg = X.iloc[:6], X.iloc[60:80]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = {"glm_p": explain.explain(glm, rows, methods="shap", background=bg, output="probability",
                                        name="glm_p"),
               "glm": explain.explain(glm, rows, methods="shap", background=bg, name="glm"),
               "forest": explain.explain(forest, rows, methods="shap", background=bg, name="forest")}
    return out


def test_different_units_get_their_own_figures_and_skips_are_explained(mixed_outputs):
    results = {"glm": mixed_outputs["glm"], "forest": mixed_outputs["forest"]}  # log-odds beside probability
    sec = global_behaviour_section(results)
    assert "do not share a unit (glm: margin (margin), forest: probability (probability))" in sec.data["paragraphs"][2]
    titles = [c.title for c in sec.children]
    assert "glm: partial dependence, in margin" in titles and "forest: partial dependence, in probability" in titles
    inter = interactions_section({"glm_p": mixed_outputs["glm_p"], "forest": mixed_outputs["forest"]})
    notes = [b for b in inter.data["bullets"] if b.startswith("⚠")]
    # a GLM in probability with 13 features: not additive there, too many players to enumerate: left out
    assert len(notes) == 1 and notes[0].startswith("⚠ glm_p: left out: no exact, cheap interactions in "
                                                   "output='probability'")
    assert [c.title for c in inter.children][-1] == ("Interaction heat maps: mean |SII| in probability, "
                                                     "one colour scale")


def test_markdown_shows_the_sections_and_the_opt_out(small_report, small_report_inputs, tmp_path):
    text = open(small_report.save(tmp_path / "r.md"), encoding="utf-8").read()
    for heading in ("## Global behaviour", "### Importance of the top features", "### Partial dependence, in log-odds",
                    "## Interactions", r"### Strongest pairs: mean \|SII\|"):
        assert heading in text
    assert re.search(r"!\[Interaction heat maps[^\]]*\]\(r_files/figure_\d+\.svg\)", text)
    html = small_report.to_html()
    assert "<h2>Global behaviour</h2>" in html and "<h2>Interactions</h2>" in html
    cmp = small_report_inputs[0]
    bare = build_report(cmp, global_views=False)
    assert not {"Global behaviour", "Interactions"} & {s.title for s in bare.sections}
    _section(small_report, "Global behaviour")


@pytest.mark.slow
def test_global_figures_fit_and_stay_readable_in_dark_mode_and_print(small_report, tmp_path):
    """In a real browser: the new sections' figures are inside the page width (nothing cut), drawn on their own
    white background (dark text stays readable on a dark page) and kept when printing."""
    from playwright.sync_api import sync_playwright

    from report_helpers import CHROMIUM, FLAGS, require_chromium

    require_chromium()
    path = small_report.save(tmp_path / "r.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for media in ("screen", "print"):
            context = browser.new_context(color_scheme="dark", viewport={"width": 900, "height": 800})
            page = context.new_page()
            page.emulate_media(media=media, color_scheme="dark")
            page.goto("file://" + str(path))
            for title in ("Global behaviour", "Interactions"):
                section = page.locator("section", has=page.locator("h2", has_text=title))
                figures = section.locator(".figure svg")
                assert figures.count() >= 2 if title == "Global behaviour" else figures.count() >= 1
                for k in range(figures.count()):
                    svg = figures.nth(k)
                    assert svg.is_visible()
                    right = svg.evaluate("e => e.getBoundingClientRect().right")
                    assert right <= page.evaluate("document.documentElement.clientWidth") + 1
                    fill = svg.evaluate("e => getComputedStyle(e.querySelector('path')).fill")
                    assert fill in ("rgb(255, 255, 255)", "#ffffff"), fill  # the figure's own background
            context.close()
        browser.close()
