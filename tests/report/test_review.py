"""Model reviews (issue 13): the versioned bundle, load_report, diff, the CI gate, MLflow and model cards."""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from explain import build_report, diff, explain, load_report
from explain.report.bundle import read_bundle, validate_bundle
from helpers import run_cli as _cli

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """A model, the same model, one with feature 'c' switched off, one with 'b' flipped; bundles on disk."""
    tmp = tmp_path_factory.mktemp("review")
    rng = np.random.default_rng(0)
    cols = ["a", "b", "c", EVIL, "e"]
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=cols)
    y = (X.a + 0.8 * X.b + 1.2 * X.c + 0.3 * X[EVIL] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    base = LogisticRegression().fit(X, y)
    no_c = LogisticRegression().fit(X, y)
    no_c.coef_ = base.coef_.copy()
    no_c.coef_[0, 2] = 0.0  # feature c's effect removed
    flipped = LogisticRegression().fit(X, y)
    flipped.coef_ = base.coef_.copy()
    flipped.coef_[0, 1] *= -1  # b's effect reversed: same importance, opposite sign
    rows, bg = X.iloc[:40], X.iloc[200:300]
    paths = {}
    for name, model in (("old", base), ("same", base), ("no_c", no_c), ("flipped", flipped)):
        r = explain(model, rows, methods=["shap"], background=bg, name="model")
        report = build_report(r, title=f"version {name}")
        paths[name] = report.save(tmp / f"{name}.json")
        report.save(tmp / f"{name}.html")
    return tmp, paths


def test_bundle_validates_and_round_trips_through_json_and_html(versions):
    tmp, paths = versions
    record = json.loads(open(paths["old"]).read())
    validate_bundle(record)
    assert record["schema_version"] == "2"
    e = record["explanations"]["model"][0]
    assert set(e["global_importance"]) == {"a", "b", "c", EVIL, "e"} and "importance_spread" in e
    from_html = read_bundle(tmp / "old.html")
    assert from_html == record  # one file: the readable review and the machine-readable record
    a, b = load_report(paths["old"]), load_report(tmp / "old.html")
    np.testing.assert_array_equal(a["explanations"]["model"]["shap"].values, b["explanations"]["model"]["shap"].values)
    bad = dict(record, schema_version="3")
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        validate_bundle(bad)


def test_diff_against_itself_reports_no_change(versions):
    _, paths = versions
    d = diff(paths["old"], paths["same"])
    assert d.flagged == [] and d.metrics["n_sign_flips"] == 0
    assert d.metrics["ndcg_at_k"] == pytest.approx(1.0) and d.metrics["top_k_overlap"] == 1.0
    assert d.summary[0] == "Both versions are explained in margin."  # the scale comes first
    assert any(s.startswith("No feature's importance changed beyond the noise band") for s in d.summary)
    assert any("row sampling only" in s for s in d.summary)  # no training data: says what the band covers


def test_diff_flags_a_removed_effect_and_a_sign_flip(versions):
    _, paths = versions
    d = diff(paths["old"], paths["no_c"])
    assert d.flagged == ["c"] and d.features.loc["c", "importance_new"] == 0.0
    assert any(s.startswith("c: importance fell") for s in d.summary)
    f = diff(paths["old"], paths["flipped"])
    assert f.flagged == [] and f.metrics["sign_flip_features"] == ["b"]  # same size, opposite direction
    assert any("sign flips" in s and "b" in s for s in f.summary)



def test_gate_exit_codes_and_step_summary(versions, tmp_path, monkeypatch):
    tmp, paths = versions
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    ok = _cli("check", paths["same"], "--baseline", paths["old"])
    assert ok.returncode == 0, ok.stderr
    assert "explain check: PASS" in ok.stdout and "PASS" in (tmp_path / "summary.md").read_text()
    policy = tmp_path / "policy.toml"
    policy.write_text('forbid_sign_flip = ["b"]\nmax_flagged = 0\n')
    bad = _cli("check", paths["flipped"], "--baseline", paths["old"], "--policy", str(policy))
    assert bad.returncode == 1 and "**fail**" in bad.stdout and "no sign flip of b" in bad.stdout
    removed = _cli("check", paths["no_c"], "--baseline", paths["old"], "--policy", str(policy))
    assert removed.returncode == 1
    typo = tmp_path / "typo.toml"
    typo.write_text("min_ndgc_at_k = 0.5\n")
    usage = _cli("check", paths["same"], "--baseline", paths["old"], "--policy", str(typo))
    assert usage.returncode == 2 and "Did you mean 'min_ndcg_at_k'" in usage.stderr
    assert _cli("check", paths["same"]).returncode == 2  # --baseline missing
    assert _cli("check", str(tmp_path / "nowhere.json"), "--baseline", paths["old"]).returncode == 2


@pytest.mark.slow
def test_diff_command_on_bundles_and_on_models(versions, tmp_path):
    import skops.io as sio

    tmp, paths = versions
    out = tmp_path / "d.html"
    proc = _cli("diff", paths["old"], paths["no_c"], "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    record = read_bundle(out)
    assert record["diff"]["flagged"] == ["c"]
    from report_helpers import open_page

    page = open_page(out)
    assert page["dialogs"] == [] and page["errors"] == [] and EVIL in page["text"]  # hostile name shown as text

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["p", "q", "r"])
    y = (X.p + X.q > 0).astype(int)
    sio.dump(LogisticRegression().fit(X, y), tmp_path / "old.skops")
    sio.dump(LogisticRegression().fit(X, (X.p - X.r > 0).astype(int)), tmp_path / "new.skops")
    X.to_csv(tmp_path / "data.csv", index=False)
    md = tmp_path / "models.md"
    proc = _cli("diff", "--old-model", str(tmp_path / "old.skops"), "--new-model", str(tmp_path / "new.skops"),
                "--data", str(tmp_path / "data.csv"), "--rows", "30", "--out", str(md), "--quiet")
    assert proc.returncode == 0, proc.stderr
    text = md.read_text()
    assert "q: importance fell" in text and "r: importance rose" in text


def test_mlflow_artifacts_and_metrics(versions, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file: store, no server (MLflow 3 asks opt-in)
    from explain import compare
    from explain.integrations.mlflow import log_report

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    cmp = compare({"glm": model}, X[:5], background=X, methods=["shap"], metrics=["deletion", "sparseness"])
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # undone after the test (mlflow.set_tracking_uri would stay)
    with mlflow.start_run() as run:
        logged = log_report(build_report(cmp))
    client = mlflow.MlflowClient(tracking_uri=uri)
    names = {a.path for a in client.list_artifacts(run.info.run_id, "explain")}
    assert {"explain/report.html", "explain/report.json", "explain/report.md"} <= names
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["explain.glm.shap.sparseness"] == pytest.approx(logged["explain.glm.shap.sparseness"])


def test_model_card_section(versions, tmp_path):
    import yaml

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    from explain import compare

    cmp = compare({"glm": model}, X[:5], background=X, methods=["shap"], metrics=["deletion"])
    card = build_report(cmp).to_model_card(figure_dir=tmp_path / "card_files")
    front = card.split("---")[1]
    meta = yaml.safe_load(front)
    assert meta["explain"]["scores"][0]["metric"] == "deletion"
    assert "## Explanations" in card and "![glm: global importance](card_files/" in card
    assert any(p.suffix == ".svg" for p in (tmp_path / "card_files").iterdir())


def test_seed_spread_widens_the_noise_band_for_stochastic_methods():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("wxyz"))
    model = LogisticRegression().fit(X, (X.w + X.x > 0).astype(int))
    kw = dict(methods="lime", background=X.iloc[100:], method_params={"lime": {"num_samples": 200}})
    runs = [explain(model, X.iloc[:20], random_state=s, **kw)["lime"] for s in range(3)]
    plain = diff(runs[0], runs[1], method="lime")
    widened = diff(runs[0], runs[1], method="lime", seed_runs=(runs[2],))
    width = lambda d: d.features.band
    assert (width(widened) > width(plain)).all() and (widened.features.seed_spread > 0).all()
    assert len(widened.flagged) <= len(plain.flagged)  # seed noise is not reported as change
