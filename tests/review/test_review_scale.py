"""One scale (issue 22): model files are explained in one output; bundles in different outputs are refused."""

from __future__ import annotations

import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from review_data import make_rows, save_model, write_rows
from explain import build_report, explain


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    X, y = make_rows(0, 200)
    rows, ry = make_rows(1, 60)
    lr, rf = LogisticRegression().fit(X, y), RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    out = {"lr": save_model(lr, tmp / "lr.skops"), "rf": save_model(rf, tmp / "rf.skops"),
           "rows": write_rows(rows, ry, tmp / "rows.csv"), "train": write_rows(X, y, tmp / "train.csv")}
    for name, model in (("lr", lr), ("rf", rf)):  # bundles in each model's own output: log-odds and probability
        r = explain(model, rows, methods="shap", background=X.iloc[:50], name="model")
        out[f"{name}.json"] = build_report(r, title=name).save(tmp / f"{name}.json")
    return out


def test_model_files_are_explained_in_one_output(cli, files, tmp_path):
    md = tmp_path / "d.md"
    result = cli("diff", "--old-model", files["lr"], "--new-model", files["rf"], "--data", files["rows"],
                 "--target", "y", "--rows", 30, "--out", md)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "Both versions explained in probability (two classifiers; --output to change)."
    text = md.read_text()
    assert "different outputs" not in text and "shap\\|, probability) old and new" in text
    margin = cli("diff", "--old-model", files["lr"], "--new-model", files["lr"], "--data", files["rows"],
                 "--target", "y", "--rows", 30, "--output", "margin", "--out", tmp_path / "m.json")
    assert margin.returncode == 0, margin.stderr
    assert margin.stdout.splitlines()[0] == "Both versions explained in margin (--output margin)."
    assert any(line.startswith("No feature's importance changed") for line in margin.stdout.splitlines())


def test_bundles_in_different_outputs_are_refused(cli, files, tmp_path):
    refused = cli("diff", files["lr.json"], files["rf.json"], "--out", tmp_path / "d.json")
    assert refused.returncode == 2 and "different outputs (margin vs probability)" in refused.stderr
    assert "--output" in refused.stderr and refused.stderr.count("\n") == 1
    gate = cli("check", files["rf.json"], "--baseline", files["lr.json"])
    assert gate.returncode == 2 and "--allow-different-outputs" in gate.stderr
    forced = cli("diff", files["lr.json"], files["rf.json"], "--allow-different-outputs", "--out",
                 tmp_path / "d.json")
    assert forced.returncode == 0 and "Warning: the versions are explained in different outputs" in forced.stdout


@pytest.mark.parametrize("args, message", [
    (["--train", "TRAIN"], "--train applies to model files"),
    (["--output", "margin"], "--output applies to model files"),
])
def test_model_only_options_on_bundles_are_usage_errors(cli, files, args, message):
    args = [files["train"] if a == "TRAIN" else a for a in args]
    result = cli("check", files["lr.json"], "--baseline", files["lr.json"], *args)
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.parametrize("extra, message", [
    (["--train", "TRAIN"], "--train needs --target"),
    (["--train", "TRAIN", "--target", "y", "--refits", "1"], "refits must be an integer >= 2"),
    (["--target", "y", "--refits", "3"], "--refits needs --train"),
    (["--target", "nope"], "--target column 'nope' is not in"),
])
def test_model_mode_usage_errors_exit_2_in_one_line(cli, files, extra, message):
    extra = [files["train"] if a == "TRAIN" else a for a in extra]
    result = cli("check", "--old-model", files["lr"], "--new-model", files["lr"], "--data", files["rows"],
                 "--rows", 20, *extra)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
