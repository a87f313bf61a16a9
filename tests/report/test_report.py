"""Reports: self-contained HTML in a real browser, escaping, JSON round trip, Markdown, determinism."""

from __future__ import annotations

import re

import numpy as np
import pytest

from explain import load_report_json

from report_helpers import make_report, open_page


@pytest.mark.slow
def test_html_opens_offline_with_every_section(small_report, tmp_path):
    path = small_report.save(tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    page = open_page(path, screenshot=shot)
    assert page["errors"] == []
    assert page["requests"] == [f"file://{path}"]  # nothing but the file itself
    assert page["n_sections"] == len(small_report.sections) and all(page["visible"])
    for title in ("Provenance", "Scorecard", "Model: glm", "Model: gradient_boosting"):
        assert title in page["headings"]
    assert "Images: every model and method" in page["text"] and "Inference table" in page["text"]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # not blank


def test_html_is_self_contained(small_report):
    html = small_report.to_html()
    # two script elements: the inert JSON bundle (application/json is never run) and the one script the CSP
    # pins by its hash (tests/report/test_interactive.py checks the hash)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/json" id="explain-data">', "<script>"]
    assert "unsafe-inline'; img-src" in html and "script-src 'sha256-" in html
    assert "'unsafe-eval'" not in html and not re.search(r"script-src[^;\"]*unsafe-inline", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline handlers
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_json_round_trips_to_equal_arrays(small_report, tmp_path):
    path = small_report.save(tmp_path / "r.json")
    back = load_report_json(path)
    for name, result in small_report.explanations.items():
        for e in result:
            b = back["explanations"][name][e.method]
            np.testing.assert_array_equal(b.values, e.values)
            np.testing.assert_array_equal(b.base_values, e.base_values)
            assert b.feature_names == e.feature_names and b.image_shape == e.image_shape
    assert back["provenance"]["data_sha256"] == small_report.provenance["data_sha256"]
    assert len(back["scores"]) == len(small_report.scores)


def test_markdown_tables_are_well_formed(small_report, tmp_path):
    path = small_report.save(tmp_path / "r.md")
    text = open(path, encoding="utf-8").read()
    lines = text.splitlines()
    tables = 0
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(---\|)+", line):
            tables += 1
            width = len(re.findall(r"(?<!\\)\|", lines[i - 1]))
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert len(re.findall(r"(?<!\\)\|", lines[j])) == width, lines[j]
                j += 1
    assert tables >= 2
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert figures and all((tmp_path / f).exists() for f in figures)


@pytest.mark.slow
def test_same_inputs_give_identical_bytes_but_the_timestamp(small_report_inputs, tmp_path):
    a, b = make_report(small_report_inputs), make_report(small_report_inputs)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for suffix in (".html", ".md", ".json"):
        first, second = a.save(tmp_path / "a" / f"r{suffix}"), b.save(tmp_path / "b" / f"r{suffix}")
        assert open(first, "rb").read() == open(second, "rb").read(), suffix
    stamped = make_report(small_report_inputs, timestamp=True).to_html().splitlines()
    plain = a.to_html().splitlines()
    extra = [line for line in stamped if line not in plain]
    # the timestamp, shown once and once in the embedded record: nothing else moves
    assert len(extra) == 2 and all("created" in line for line in extra)
    plain_json = set(a.to_json().splitlines())
    json_extra = [line for line in make_report(small_report_inputs, timestamp=True).to_json().splitlines()
                  if line not in plain_json]
    assert len(json_extra) == 1 and "created" in json_extra[0]


def test_failed_write_leaves_no_file(small_report, tmp_path, monkeypatch):
    import explain.report.render as render

    def boom(report):
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "render_json", boom)
    with pytest.raises(KeyboardInterrupt):
        small_report.save(tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_notebook_reprs(small_report_inputs):
    cmp = small_report_inputs[0]
    result = cmp.explanations["glm"]
    assert "<table>" in result._repr_html_() and "coefficients" in result._repr_html_()
    assert "Explanation" in result["shap"]._repr_html_()
    assert "deletion" in cmp._repr_html_()
    assert repr(cmp).startswith("Comparison(models=['glm', 'gradient_boosting']")


def test_attribution_display(small_report_inputs):
    import matplotlib

    matplotlib.use("Agg")
    from explain import AttributionDisplay

    import matplotlib.pyplot as plt

    e = small_report_inputs[0].explanations["glm"]["shap"]
    disp = AttributionDisplay.from_explanation(e, max_features=4)  # computes and draws
    assert len(disp.ax_.patches) == 4 and disp.figure_ is disp.ax_.figure
    fig, ax = plt.subplots()
    again = disp.plot(ax=ax, color="green", alpha=0.5)  # styling keywords reach matplotlib
    assert again.ax_ is ax and all(p.get_alpha() == 0.5 for p in ax.patches)
    row = AttributionDisplay.from_explanation(e, row=1, max_features=3)
    np.testing.assert_allclose(np.sort(np.abs(row.values)), np.sort(np.abs(e.values[1]))[-3:])
    plt.close("all")


def test_beeswarm_waterfall_and_image_displays(small_report_inputs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from explain import BeeswarmDisplay, ImageDisplay, WaterfallDisplay, explain

    e = small_report_inputs[0].explanations["glm"]["shap"]
    bee = BeeswarmDisplay.from_explanation(e, max_features=3, s=5)
    assert len(bee.ax_.collections) == 3
    assert all(len(c.get_offsets()) == len(e) for c in bee.ax_.collections)
    wf = WaterfallDisplay.from_explanation(e, row=0, max_features=2)
    assert len(wf.ax_.patches) == 3  # two features and "the others"
    assert wf.output == pytest.approx(e.base_values[0] + e.values[0].sum())
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 16))
    model = LogisticRegression().fit(X, (X[:, 5] > 0).astype(int))
    img = explain(model, X[:2].reshape(2, 1, 4, 4), methods="coefficients", background=X)["coefficients"]
    disp = ImageDisplay.from_explanation(img, rows=(0, 1))
    assert len(disp.axes_) == 2 and len(disp.axes_[0].images) == 2
    assert disp.axes_[0].images[1].get_clim() == (-disp.scale, disp.scale)
    with pytest.raises(ValueError, match="image explanation"):
        ImageDisplay.from_explanation(e)
    plt.close("all")


def test_report_repr_is_short(small_report):
    text = repr(small_report)
    assert len(text) < 300 and text.startswith("Report(") and "<svg" not in text
