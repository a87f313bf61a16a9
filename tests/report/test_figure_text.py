"""Figures keep their text as SVG ``<text>`` (escaped), not one path per glyph: the pages stay small, the
bytes stay the same run to run, and no global matplotlib setting changes."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from explain import explain
from explain.report import figures


def _explanations():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["age", "income", "<script>alert(1)</script>", "a & b"])
    model = LogisticRegression().fit(X, (X["age"] > 0).astype(int))
    return list(explain(model, X.iloc[:5], methods=["shap", "coefficients"], background=X.iloc[20:]))


def test_waterfall_text_is_escaped_svg_text_and_deterministic():
    before = dict(matplotlib.rcParams)
    es = _explanations()
    svg = figures.waterfall_figure(es, [0, 1, 2], row_ids=["r1", "r2", "r3"])
    assert svg == figures.waterfall_figure(es, [0, 1, 2], row_ids=["r1", "r2", "r3"])  # byte for byte
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    joined = " ".join(texts)
    assert "row r2" in joined and "f(x) =" in joined and "E[f(X)] =" in joined
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined and "a &amp; b" in joined
    assert "<script" not in svg  # a user string never becomes markup
    assert "DejaVuSans-" not in svg  # no glyph drawn as a path (their ids are DejaVuSans-<code>)
    assert dict(matplotlib.rcParams) == before  # the setting was local to the figure
    assert matplotlib.rcParams["svg.fonttype"] == before["svg.fonttype"]
