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


def test_compacting_keeps_every_element_and_text(monkeypatch):
    """_compact merges the per-dot clip groups, truncates coordinates to 0.01 px, drops identity rotations
    and sets the font once: the same elements (groups aside) and the same texts, in far fewer bytes."""
    import xml.etree.ElementTree as ET

    es = _explanations()
    monkeypatch.setattr(figures, "_compact", lambda svg: svg)
    raw = [figures.beeswarm_figure(es), figures.waterfall_figure(es, [0, 1])]
    monkeypatch.undo()
    for svg in raw:
        small = figures._compact(svg)
        assert len(small) < 0.8 * len(svg)
        a, b = ET.fromstring(svg), ET.fromstring(small)
        assert sorted(e.tag for e in a.iter() if not e.tag.endswith("}g")) == \
            sorted(e.tag for e in b.iter() if not e.tag.endswith("}g"))
        assert [e.text for e in a.iter() if e.tag.endswith("}text")] == \
            [e.text for e in b.iter() if e.tag.endswith("}text")]
        assert "rotate(-0 " not in small and "font-family" not in small.split(">", 1)[1]
        assert not re.search(r'\sx="-?\d+\.\d{3,}"', small)
    beeswarm = figures._compact(raw[0])
    assert len(re.findall(r"<g clip-path", beeswarm)) <= len(re.findall(r"<g clip-path", raw[0])) / 4
