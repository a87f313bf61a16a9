"""What a newcomer hit on real data (issue 26), third part: XGBoost's unseen categories on penguins (item 6), and
a cost estimate before a long request and Ctrl-C that stops the workers on statsmodels' randhie table (item 3)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import naive_shapley


def _penguins():
    from explain.datasets import load_tabular

    X, y = load_tabular("penguins")
    return X.astype({"island": "category", "sex": "category"}), y


# -- item 6: XGBoost with a category level unseen in training --------------------------------------------------
def _penguins_mass():
    """Penguins with body mass as the target (every island keeps every other column's levels)."""
    X, _ = _penguins()
    X = X[X.body_mass_g.notna()].reset_index(drop=True)
    return X.drop(columns="body_mass_g"), X.body_mass_g.to_numpy()


def _xgb(X, y):
    xgb = pytest.importorskip("xgboost")
    return xgb.XGBRegressor(n_estimators=30, max_depth=3, enable_categorical=True, tree_method="hist").fit(X, y)


def test_xgboost_routes_an_unseen_category_as_xgboost_does():
    from explain import explain

    X, y = _penguins_mass()
    seen = (X.island != "Biscoe").to_numpy()
    train = X[seen].assign(island=X.island[seen].cat.remove_unused_categories())
    model = _xgb(train, y[seen])
    rows = X.iloc[::25]  # all three islands, with the category dtype that still lists Biscoe
    assert "Biscoe" in set(rows.island)
    # what XGBoost itself does (its re-coding's lower_bound): an unseen level goes as the next known one
    as_dream = rows.assign(island=pd.Categorical(["Dream"] * len(rows), categories=X.island.cat.categories))
    biscoe = (rows.island == "Biscoe").to_numpy()
    np.testing.assert_array_equal(model.predict(rows)[biscoe], model.predict(as_dream)[biscoe])
    background = train.iloc[::20]
    with pytest.warns(UserWarning, match=r"island='Biscoe' \(routed as 'Dream'\)"):
        tree = explain(model, rows, background=background, methods=["shap"])["shap"]
    assert tree.params["exact"] and "TreeSHAP" in tree.params["algorithm"]  # the tree path ran
    output = model.predict(rows, output_margin=True).astype(float)
    np.testing.assert_allclose(tree.base_values + tree.values.sum(axis=1), output, rtol=1e-6)  # float32 sums
    # the textbook game through the model's own predict, on the rows with the unseen level
    cats = {c: X[c].cat.categories for c in ("island", "sex")}

    def f(Z):
        frame = pd.DataFrame(Z, columns=X.columns)
        for c, levels in cats.items():
            codes = np.where(np.isnan(frame[c]), -1, frame[c]).astype(int)
            frame[c] = pd.Categorical.from_codes(codes, categories=levels)
        return model.predict(frame.astype({c: float for c in X.columns if c not in cats}), output_margin=True)

    def codes(frame):
        return frame.assign(**{c: frame[c].cat.codes.where(frame[c].notna(), np.nan) for c in cats}).to_numpy(float)

    B = codes(background.astype({c: X[c].dtype for c in cats}))
    for i in np.flatnonzero(biscoe)[:2]:
        ref, base = naive_shapley(f, codes(rows.iloc[[i]])[0], B)
        np.testing.assert_allclose(tree.values[i], ref, rtol=0, atol=2e-3)  # float32 leaf sums of ~4,000 g
        np.testing.assert_allclose(tree.base_values[i], base, rtol=1e-6)


def test_xgboost_categories_in_another_order_than_in_training():
    from explain import explain

    X, y = _penguins_mass()
    train = X.assign(island=X.island.cat.reorder_categories(["Torgersen", "Dream", "Biscoe"]))
    model = _xgb(train, y)
    rows, background = X.iloc[::30], X.iloc[::15]  # alphabetical order: other codes than in training
    e = explain(model, rows, background=background, methods=["shap"])["shap"]
    ref = explain(model, train.iloc[::30], background=train.iloc[::15], methods=["shap"])["shap"]
    np.testing.assert_allclose(e.values, ref.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(e.base_values + e.values.sum(axis=1), model.predict(rows).astype(float),
                               rtol=1e-6)  # XGBoost adds its leaves in float32


# -- item 3: a cost estimate before a long request, and Ctrl-C that stops the workers --------------------------
@pytest.fixture(scope="module")
def randhie():
    """statsmodels' RAND health insurance table (20,190 rows): the whole table was the newcomer's background."""
    from sklearn.svm import SVC
    from statsmodels.datasets import randhie as data

    frame = data.load_pandas().data
    X = frame.drop(columns="mdvis").to_numpy(float)
    y = (frame.mdvis > 0).to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # SVC(probability=True) is deprecated in 1.9
        model = SVC(probability=True, random_state=0).fit(X[:600], y[:600])
    return model, X


def test_whole_table_as_background_warns_with_the_estimate_before_running(randhie):
    from explain import explain
    from explain.engine import cost

    model, X = randhie
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the warning stops the call before any method runs
        with pytest.raises(UserWarning, match="estimated to take about") as info:
            explain(model, X[:5], background=X, methods=["shap"], output="probability")
    text = str(info.value)
    assert "background size (background=, now 20190 rows)" in text and "COST_WARNING_SECONDS" in text
    # 9 features, probability space: enumeration, 2^9 coalitions x 20,190 background rows x 5 rows
    from explain.adapters import get_adapter
    from explain.methods.base import get_method

    found = cost.model_rows(get_method("shap"), get_adapter(model, X=X[:10]), "probability", 5, 9, 20190, {})
    assert found[0] == 2 ** 9 * 20190 * 5


def test_cost_estimate_is_the_right_size_and_warns_once(randhie, monkeypatch):
    import time

    from explain import explain
    from explain.engine import cost

    model, X = randhie
    # probability space: no product kernel, so explain enumerates 2^9 coalitions x 40 background rows x 6 rows
    kw = dict(background=X[:40], methods=["shap"], method_params={}, output="probability")
    monkeypatch.setattr(cost, "_UNTIMED_ROWS", 0)  # time even this small request
    monkeypatch.setattr(cost, "COST_WARNING_SECONDS", 0.0)
    start = time.perf_counter()
    with pytest.warns(UserWarning, match=r"shap: about \d+ s \(turn down the background size \(background=, now 40 rows\)") as rec:
        explain(model, X[:6], **kw)
    took = time.perf_counter() - start
    said = [w for w in rec if "estimated to take" in str(w.message)]
    assert len(said) == 1  # once per call
    from explain.engine.config import ExplainConfig
    from explain.engine.plan import prepare

    plan = prepare(model, X[:6], ExplainConfig(methods=kw["methods"], method_params=kw["method_params"],
                                               output="probability"), background=kw["background"])
    estimate = sum(s for _, s, _ in cost.estimate_seconds(plan, 6))
    assert took / 10 < estimate < took * 10, (estimate, took)  # the order of magnitude, from one timed call


def test_no_cost_estimate_or_warning_for_a_normal_small_request(randhie, monkeypatch):
    from explain import explain
    from explain.engine import cost

    def never(*args):
        raise AssertionError("a small request must not pay for a timing call")

    monkeypatch.setattr(cost, "seconds_per_row", never)
    model, X = randhie
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        explain(model, X[:5], background=X[:50], methods=["shap", "lime"], output="probability",
                method_params={"lime": {"num_samples": 500}})
    assert not [w for w in rec if "estimated to take" in str(w.message)]


_INTERRUPTED = """\
import numpy as np
from sklearn.svm import SVC
from explain import explain

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 20))
    model = SVC().fit(X, (X[:, 0] + X[:, 1] > 0).astype(int))
    print("START", flush=True)
    explain(model, X[:200], background=X[:50], methods=["shap.kernel"], n_jobs=2, batch_size=100, progress=False)
    print("FINISHED", flush=True)
"""


@pytest.mark.slow  # a worker pool that runs for seconds before the interrupt
def test_ctrl_c_stops_parallel_workers_promptly_and_leaks_nothing(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    (tmp_path / "job.py").write_text(_INTERRUPTED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH")] if p)}
    shm = "/dev/shm"
    semaphores = (lambda: {f for f in os.listdir(shm) if f.startswith("sem.")}) if os.path.isdir(shm) else set
    before = semaphores()
    proc = subprocess.Popen([sys.executable, "job.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "START"
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and len(workers) < 2:  # both workers busy with a 100-row chunk each
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True) if "loky" in " ".join(c.cmdline())]
        time.sleep(0.5)
    time.sleep(4)  # the chunks are running: each takes tens of seconds
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    stopped = time.time() - sent
    assert "FINISHED" not in out and "KeyboardInterrupt" in err
    assert stopped < 5, f"took {stopped:.1f} s to stop after Ctrl-C"  # not after the running chunks
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, alive
    # no named semaphore left behind (a killed worker's own locks are unlinked by the resource tracker, which
    # may say so on stderr: that message reports the clean-up, not a leak)
    time.sleep(1)
    assert not semaphores() - before, err[-2000:]
    assert "Traceback" not in err.split("KeyboardInterrupt")[-1], err[-2000:]  # nothing failed while stopping


def test_xgboost_category_above_every_training_level_is_refused_by_name():
    from explain import explain
    from explain.errors import DataError

    X, y = _penguins_mass()
    seen = (X.island != "Torgersen").to_numpy()  # Torgersen sorts after Biscoe and Dream: XGBoost refuses it
    train = X[seen].assign(island=X.island[seen].cat.remove_unused_categories())
    model = _xgb(train, y[seen])
    with pytest.raises(Exception, match="Found a category not in the training set"):
        model.predict(X.iloc[::30])  # XGBoost's own answer, with a C++ stack trace
    with pytest.raises(DataError, match=r"column 'island' has the category 'Torgersen', which the XGBoost model "
                                        r"never saw in training \(\['Biscoe', 'Dream'\]\)"):
        explain(model, X.iloc[::30], background=train.iloc[::20], methods=["shap"])
