"""Displays draw what the results hold (asserted on the figure's objects) and return themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import explain
from explain.inspection import AccumulatedLocalEffectsDisplay, ImportanceDisplay, PartialDependenceDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "c": rng.choice(["u", "v", "w"], 60)})
    y = 2 * frame["a"] - frame["b"] + (frame["c"] == "w") + rng.normal(0, 0.1, 60)
    model = make_pipeline(ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder="passthrough"),
                          LinearRegression()).fit(frame, y)
    return model, frame, y.to_numpy()


def test_pd_display(fitted):
    import matplotlib.pyplot as plt

    model, frame, _ = fitted
    res = explain.partial_dependence(model, frame, "a", kind="both", grid_resolution=5)
    disp = PartialDependenceDisplay.from_result(res, max_ice=10)
    lines = disp.ax_.get_lines()
    assert len(lines) == 11 and disp.figure_ is disp.ax_.figure
    np.testing.assert_allclose(lines[-1].get_ydata(), res.average)
    fig, ax = plt.subplots()
    again = disp.plot(ax=ax, color="green")
    assert again is disp and disp.ax_ is ax and ax.get_lines()[-1].get_color() == "green"
    cat = PartialDependenceDisplay.from_result(explain.partial_dependence(model, frame, "c"))
    assert [t.get_text() for t in cat.ax_.get_xticklabels()] == ["u", "v", "w"]
    pair = PartialDependenceDisplay.from_result(explain.partial_dependence(model, frame, ["c", "b"],
                                                                          grid_resolution=4))
    mesh = pair.ax_.collections[0]
    assert mesh.get_array().size == 3 * 4
    plt.close("all")


def test_ale_and_importance_displays(fitted):
    import matplotlib.pyplot as plt

    model, frame, y = fitted
    ale = explain.accumulated_local_effects(model, frame, "b", bins=6)
    disp = AccumulatedLocalEffectsDisplay.from_result(ale)
    np.testing.assert_allclose(disp.ax_.get_lines()[0].get_ydata(), ale.values)
    assert [p.get_height() for p in disp.counts_ax_.patches] == list(ale.counts)
    cat = explain.accumulated_local_effects(model, frame, "c")
    shown = AccumulatedLocalEffectsDisplay.from_result(cat)
    assert [t.get_text() for t in shown.ax_.get_xticklabels()] == list(cat.labels)
    assert [p.get_height() for p in shown.counts_ax_.patches] == list(cat.counts)
    np.testing.assert_allclose(shown.ax_.get_lines()[0].get_ydata(), cat.values)
    imp = explain.importance(model, frame, y, n_repeats=10)
    bars = ImportanceDisplay.from_result(imp, max_features=2)
    assert len(bars.ax_.patches) == 2 and bars.names[0] == "a"
    np.testing.assert_allclose(sorted(p.get_width() for p in bars.ax_.patches), np.sort(imp.mean)[-2:])
    plt.close("all")
