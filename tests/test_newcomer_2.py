"""What a newcomer hit on real data (issue 26), second part: the .skops allow-list for scikit-learn's own stored
callables (item 11), Dask from a script without the main guard (item 13) and MLflow logging of bundles and paths
(item 15); items 6 and 3 are in test_newcomer_3.py."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import numpy as np
import pandas as pd
import pytest

from explain.io.models import ModelFileError, load_model

from helpers import run_cli


# -- item 11: every supported scikit-learn estimator round-trips through skops and our loader ------------------
def _penguins():
    from explain.datasets import load_tabular

    X, y = load_tabular("penguins")
    X = X.astype({"island": "category", "sex": "category"})
    return X, y


def _fitted_supported_estimators():
    """One fitted instance of every scikit-learn class explain supports, on penguins (numbers only where the
    estimator needs them), plus the pipelines and categorical boosters people save."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.gaussian_process import GaussianProcessClassifier
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel
    from sklearn.linear_model import LogisticRegression
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


def _log_four_ways(report, folder, uri):
    """{kind: (run_id, metrics)} after logging the Report, its loaded bundle and its .json and .html paths, one
    run each, to ``uri`` (None: whatever MLFLOW_TRACKING_URI says)."""
    import mlflow

    from explain import load_report
    from explain.integrations.mlflow import log_report

    mlflow.set_tracking_uri(uri)  # None: no URI set in this process (another test's), so the variable decides
    try:
        sources = {"report": report, "bundle": load_report(folder / "report.json"),
                   "json_path": str(folder / "report.json"), "html_path": folder / "report.html"}
        logged = {}
        for kind, source in sources.items():
            with mlflow.start_run() as run:
                logged[kind] = (run.info.run_id, log_report(source))
        return logged
    finally:
        mlflow.set_tracking_uri(None)


@pytest.mark.parametrize("store", ["file_uri", "plain_path", "env_uri"])
def test_mlflow_logs_a_report_a_loaded_bundle_and_a_path(penguins_report, tmp_path, monkeypatch, store):
    mlflow = pytest.importorskip("mlflow")
    from explain import load_report

    report, folder = penguins_report
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 opens a file store only when asked
    where = tmp_path / "mlruns"
    uri = {"file_uri": where.as_uri(), "plain_path": str(where), "env_uri": where.as_uri()}[store]
    if store == "env_uri":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    logged = _log_four_ways(report, folder, None if store == "env_uri" else uri)
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


@pytest.fixture
def mlflow_server(tmp_path):
    """A real tracking server (SQLite store, artifacts served over HTTP) in a subprocess; its URL. Always stopped."""
    pytest.importorskip("mlflow.server", reason="`mlflow server` needs the full mlflow package (pip install -e "
                        "'.[test]'); mlflow-skinny alone cannot run it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--serve-artifacts", "--artifacts-destination", str(tmp_path / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (tmp_path / "server.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"the MLflow server did not answer {url}/health (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_mlflow_logs_to_a_tracking_server_started_by_the_test(penguins_report, mlflow_server, tmp_path, monkeypatch):
    import mlflow

    from explain import load_report

    report, folder = penguins_report
    for name in [k for k in os.environ if k.startswith("MLFLOW_")]:
        monkeypatch.delenv(name)  # nothing may fall back to a local store
    logged = _log_four_ways(report, folder, mlflow_server)
    assert not (tmp_path / "mlruns").exists()
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    original = load_report(folder / "report.json")
    expected = {f"explain.{r.model}.{r.method}.{r.metric}": r.value for r in original["scores"].itertuples()
                if np.isfinite(r.value)}
    with open(folder / "report.json", encoding="utf-8") as fh:
        original_json = json.load(fh)
    for kind, (run_id, metrics) in logged.items():
        run = client.get_run(run_id)
        assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri  # served over HTTP
        assert run.data.metrics == metrics, kind
        assert metrics == pytest.approx(expected, rel=1e-13, abs=0), kind
        names = {a.path for a in client.list_artifacts(run_id, "explain")}
        assert {"explain/report.html", "explain/report.json", "explain/report.md"} <= names, kind
        path = client.download_artifacts(run_id, "explain/report.json", str(tmp_path / kind))
        with open(path, encoding="utf-8") as fh:
            logged_json = json.load(fh)
        if kind == "report":  # rendered again from the Report: the same scores and explanations
            back = load_report(path)
            pd.testing.assert_frame_equal(back["scores"], original["scores"])
            for a, b in zip(back["explanations"]["glm"], original["explanations"]["glm"], strict=True):
                np.testing.assert_array_equal(a.values, b.values)
                assert a.feature_names == b.feature_names and list(a.target) == list(b.target)
        else:  # a loaded bundle or a .json/.html file: the record as it was saved
            assert logged_json == original_json, kind
    json_file = client.download_artifacts(logged["json_path"][0], "explain/report.json", str(tmp_path / "j"))
    assert open(json_file, "rb").read() == (folder / "report.json").read_bytes()
    html = client.download_artifacts(logged["html_path"][0], "explain/report.html", str(tmp_path / "h"))
    assert open(html, "rb").read() == (folder / "report.html").read_bytes()


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
