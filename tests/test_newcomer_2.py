"""What a newcomer hit on real data (issue 26), second part: the .skops allow-list for scikit-learn's own stored
callables (item 11), XGBoost's unseen categories (item 6), cost estimates and interrupts (item 3), Dask from a
script without the main guard (item 13) and MLflow logging of bundles and paths (item 15)."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

from explain.io.models import ModelFileError, load_model

from helpers import naive_shapley, run_cli


# -- item 11: every supported scikit-learn estimator round-trips through skops and our loader ------------------
def _penguins():
    from explain.datasets import load_tabular

    X, y = load_tabular("penguins")
    X = X.astype({"island": "category", "sex": "category"})
    return X, y


def _fitted_supported_estimators():
    """One fitted instance of every scikit-learn class explain supports, on penguins (numbers only where the
    estimator needs them), plus the pipelines and categorical boosters people save."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.gaussian_process import GaussianProcessClassifier
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC
    from sklearn.utils import all_estimators

    from explain.adapters.registry import supported_models

    X, y = _penguins()
    X, y = X.iloc[::3], y[::3]  # 115 rows, all three species: enough for a round trip, quick to fit
    num = X.select_dtypes("number").fillna(X.select_dtypes("number").mean())
    num = (num - num.mean()) / num.std()  # standardised: the default solvers converge in a few steps
    target = X["body_mass_g"].fillna(X["body_mass_g"].mean())
    num_r = num.drop(columns="body_mass_g")
    classes = dict(all_estimators())
    names = sorted({p.split(".", 1)[1] for p in supported_models() if p.startswith("sklearn.")} - {"Pipeline"})
    fitted = {}
    for name in names:
        cls = classes[name]
        if name == "CalibratedClassifierCV":
            model = cls(SVC(), cv=3)
        elif name == "OneVsRestClassifier":
            model = cls(LogisticRegression(max_iter=500))
        elif name in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
            continue  # below, with native categories
        elif name.endswith("CV"):
            model = cls(cv=3)
        else:
            model = cls()
        if name == "MultinomialNB":  # counts: non-negative
            fitted[name] = (model.fit(num.abs(), y), num.abs())
        elif hasattr(model, "predict_proba") or name.endswith("Classifier") or name in ("SVC", "NuSVC"):
            fitted[name] = (model.fit(num, y), num)
        elif hasattr(model, "predict"):
            fitted[name] = (model.fit(num_r, target), num_r)
        else:  # a preprocessing step: saved inside a pipeline
            fitted[name] = (make_pipeline(model, LogisticRegression(max_iter=500)).fit(num.abs(), y), num.abs())
    fitted["HGBClassifier_from_dtype"] = (
        HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=20).fit(X, y), X)
    fitted["HGBRegressor_from_dtype"] = (
        HistGradientBoostingRegressor(categorical_features="from_dtype", max_iter=20)
        .fit(X.drop(columns="body_mass_g")[target.notna()], target), X.drop(columns="body_mass_g"))
    fitted["OneHot_pipeline"] = (make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
                           ("n", StandardScaler(), make_column_selector(dtype_include="number"))]),
        LogisticRegression(max_iter=500)).fit(X.dropna(), y[X.notna().all(axis=1)]), X.dropna())
    fitted["GPC_multiclass_matern"] = (GaussianProcessClassifier(Matern() + WhiteKernel(), optimizer=None).fit(num, y), num)
    fitted["MLP_sgd"] = (MLPClassifier(solver="sgd", max_iter=30, random_state=0).fit(num, y), num)
    return fitted


@pytest.mark.slow  # fits ~50 estimators: 10-40 s on a busy two-core machine
def test_every_supported_sklearn_estimator_round_trips_through_skops(tmp_path):
    import skops.io as sio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of default settings on raw penguins
        fitted = _fitted_supported_estimators()
    assert len(fitted) >= 45
    for name, (model, X) in fitted.items():
        path = tmp_path / f"{name}.skops"
        sio.dump(model, path)
        back = load_model(str(path))  # no trust_pickle: only the allow-list
        np.testing.assert_array_equal(back.predict(X), model.predict(X), err_msg=name)
        if hasattr(model, "predict_proba"):
            np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X), err_msg=name)


def test_cli_explains_a_skops_hist_gradient_boosting_with_categories_from_dtype(tmp_path):
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _penguins()
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=20).fit(X, y)
    sio.dump(model, tmp_path / "hgb.skops")
    X.assign(species=y).to_csv(tmp_path / "penguins.csv", index=False)
    proc = run_cli("report", "--model", f"hgb={tmp_path / 'hgb.skops'}", "--data", tmp_path / "penguins.csv",
                   "--target", "species", "--categorical", "island,sex", "--rows", "5", "--methods", "shap.tree", "--metrics", "none",
                   "--out", tmp_path / "e.json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "e.json").exists()


def _halve(X):
    return np.asarray(X) / 2.0


def test_a_callable_not_stored_by_sklearn_is_still_refused(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _penguins()
    num = X.select_dtypes("number").dropna()
    # partial is allowed, but only around a function that is itself on the list
    model = make_pipeline(FunctionTransformer(functools.partial(_halve)), LogisticRegression(max_iter=500))
    model.fit(num, y[num.index])
    sio.dump(model, tmp_path / "m.skops")
    with pytest.raises(ModelFileError, match=r"test_newcomer_2\._halve"):
        load_model(str(tmp_path / "m.skops"))


# -- item 15: MLflow logs a Report, a loaded bundle or a saved report's path -----------------------------------
@pytest.fixture(scope="module")
def penguins_report(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    from explain import build_report, compare

    X, y = _penguins()
    num = X.select_dtypes("number").dropna()
    model = LogisticRegression(max_iter=2000).fit(num, y[num.index])
    cmp = compare({"glm": model}, num.iloc[:5], background=num.iloc[::10], methods=["shap"],
                  metrics=["deletion", "sparseness"])
    report = build_report(cmp, title="penguins")
    folder = tmp_path_factory.mktemp("report")
    report.save(folder / "report.json")
    report.save(folder / "report.html")
    return report, folder


@pytest.mark.parametrize("store", ["file_uri", "plain_path", "env_uri"])
def test_mlflow_logs_a_report_a_loaded_bundle_and_a_path(penguins_report, tmp_path, monkeypatch, store):
    mlflow = pytest.importorskip("mlflow")
    from explain import load_report
    from explain.integrations.mlflow import log_report

    report, folder = penguins_report
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 opens a file store only when asked
    where = tmp_path / "mlruns"
    uri = {"file_uri": where.as_uri(), "plain_path": str(where), "env_uri": where.as_uri()}[store]
    if store == "env_uri":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    else:
        mlflow.set_tracking_uri(uri)
    try:
        sources = {"report": report, "bundle": load_report(folder / "report.json"),
                   "json_path": str(folder / "report.json"), "html_path": folder / "report.html"}
        logged = {}
        for kind, source in sources.items():
            with mlflow.start_run() as run:
                logged[kind] = (run.info.run_id, log_report(source))
    finally:
        mlflow.set_tracking_uri(None)
    assert list(where.iterdir()), "nothing was written to the file store"
    client = mlflow.MlflowClient(tracking_uri=uri)
    original = load_report(folder / "report.json")
    for kind, (run_id, metrics) in logged.items():
        # the same scores whichever form came in (a bundle keeps 15 significant digits)
        assert metrics == pytest.approx(logged["report"][1], rel=1e-13, abs=0), kind
        assert kind == "report" or metrics == logged["bundle"][1], kind
        assert client.get_run(run_id).data.metrics == metrics, kind
        names = {a.path for a in client.list_artifacts(run_id, "explain")}
        assert {"explain/report.html", "explain/report.json", "explain/report.md"} <= names, kind
        back = load_report(client.download_artifacts(run_id, "explain/report.json", str(tmp_path / kind)))
        pd.testing.assert_frame_equal(back["scores"], original["scores"])
        for a, b in zip(back["explanations"]["glm"], original["explanations"]["glm"]):
            np.testing.assert_array_equal(a.values, b.values)
            assert a.feature_names == b.feature_names and list(a.target) == list(b.target)
    html = client.download_artifacts(logged["html_path"][0], "explain/report.html", str(tmp_path / "h"))
    assert open(html, encoding="utf-8").read() == (folder / "report.html").read_text(encoding="utf-8")


def test_mlflow_log_report_refuses_what_is_not_a_report(tmp_path):
    pytest.importorskip("mlflow")
    from explain.errors import ExplainError
    from explain.integrations.mlflow import log_report

    with pytest.raises(ExplainError, match="no report file at"):
        log_report(str(tmp_path / "missing.json"))
    with pytest.raises(ExplainError, match=r"has no \['explanations', 'provenance', 'scores', 'title'\]"):
        log_report({"a": 1})
    with pytest.raises(ExplainError, match="takes a Report"):
        log_report(42)


# -- item 13: backend="dask" from a script without the main guard ----------------------------------------------
_DASK_SCRIPT = """\
import numpy as np
from sklearn.linear_model import LinearRegression
from explain import explain

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
model = LinearRegression().fit(X, X @ [1.0, 2.0, 3.0])


def run():
    e = explain(model, X[:4], background=X, methods=["shap"], backend="dask", n_jobs=2)["shap"]
    ref = explain(model, X[:4], background=X, methods=["shap"])["shap"]
    print("SAME" if np.array_equal(e.values, ref.values) else "DIFFERENT")

{call}
"""


def _run_script(tmp_path, call, timeout):
    import os
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(_DASK_SCRIPT.format(call=call))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH")] if p)}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_dask_from_a_script_without_the_main_guard_says_to_add_it(tmp_path):
    pytest.importorskip("distributed")
    proc = _run_script(tmp_path, "run()", timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("explain.errors.ExplainError") and f"script.py, line {_DASK_SCRIPT.splitlines().index('{call}') + 1}" in last, proc.stderr[-2000:]
    assert 'if __name__ == "__main__":' in last and "Client" in last
    assert "Nanny failed to start worker process" not in proc.stderr  # refused before any worker started


@pytest.mark.slow  # starts a two-worker local cluster
def test_dask_from_a_guarded_script_runs(tmp_path):
    pytest.importorskip("distributed")
    proc = _run_script(tmp_path, 'if __name__ == "__main__":\n    run()', timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("SAME"), proc.stderr[-2000:]


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
    assert "leaked semaphore" not in err and "resource_tracker" not in err, err[-2000:]
