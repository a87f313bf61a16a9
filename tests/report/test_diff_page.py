"""The diff page at 800 px (issue 25): no horizontal overflow, and the slope chart's labels do not overlap even
when many features end at nearly the same importance."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from explain import diff, explain
from explain.report.figures import spread_labels
from report_helpers import CHROMIUM, FLAGS, require_chromium


def test_spread_labels_keeps_order_and_gap_and_moves_as_little_as_needed():
    rng = np.random.default_rng(0)
    y = np.r_[rng.normal(1.0, 0.01, 12), 3.0, 5.0]
    placed = spread_labels(y, 0.1)
    order = np.argsort(y, kind="stable")
    assert np.all(np.diff(placed[order]) >= 0.1 - 1e-12)  # the gap, in the points' order
    assert placed[12] == 3.0 and placed[13] == 5.0  # labels with room stay where their point is
    assert abs(placed[:12].mean() - y[:12].mean()) < 1e-12  # a crowded block is centred on its points
    np.testing.assert_array_equal(spread_labels(np.array([0.0, 1.0]), 0.1), [0.0, 1.0])


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    rng = np.random.default_rng(0)
    names = [f"feature number {i} with a long name" for i in range(14)]
    X = pd.DataFrame(rng.normal(size=(400, 14)), columns=names)
    w = np.r_[np.full(12, 0.5), 2.0, -1.5]  # twelve features of about the same importance
    y = (X.to_numpy() @ w + rng.normal(0, 1, 400) > 0).astype(int)
    old = LogisticRegression(C=1.0).fit(X, y)
    new = LogisticRegression(C=0.5).fit(X, y)
    rows, bg = X.iloc[:40], X.iloc[100:200]
    d = diff(explain(old, rows, methods="shap", background=bg), explain(new, rows, methods="shap", background=bg))
    path = tmp_path_factory.mktemp("diff") / "diff.html"
    d.report().save(path)
    return str(path)


@pytest.mark.slow
def test_the_diff_page_fits_800_px_and_slope_labels_do_not_overlap(page):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        view = browser.new_context(viewport={"width": 800, "height": 900}).new_page()
        view.goto("file://" + os.path.abspath(page))
        assert view.evaluate("document.documentElement.scrollWidth") <= 800  # wide tables scroll inside their box
        figure = view.locator("section", has_text="Importance old -> new").locator("svg").first
        box = figure.bounding_box()
        lines = [b for b in (t.bounding_box() for t in figure.locator("text").all())
                 if b and b["x"] > box["x"] + 0.6 * box["width"] and b["y"] < box["y"] + 0.9 * box["height"]]
        assert len(lines) >= 28  # 14 labels of two lines each (wrapped, never cut)
        lines.sort(key=lambda b: b["y"])
        for upper, lower in zip(lines, lines[1:]):  # no two lines of text on top of each other
            assert lower["y"] >= upper["y"] + upper["height"] - 1.0, (upper, lower)
        browser.close()
