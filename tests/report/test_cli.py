"""The report command: escaping user strings, safe model loading, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from helpers import run_cli as run
from report_helpers import open_page

EVIL = ['<script>alert(1)</script>', 'quote"s and \'apostrophes\'', "<img src=x onerror=alert(2)>"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skops.io as sio

    tmp = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 3)), columns=EVIL)
    df["label"] = (df[EVIL[0]] > 0).astype(int)
    model = LogisticRegression().fit(df[EVIL], df["label"])
    sio.dump(model, tmp / "model.skops")
    import joblib

    joblib.dump(model, tmp / "model.pkl")
    df.to_csv(tmp / "data.csv", index=False)
    df.drop(columns=[EVIL[1]]).to_csv(tmp / "fewer.csv", index=False)
    return tmp


@pytest.mark.slow
def test_script_tag_columns_show_as_text(files):
    out = files / "evil.html"
    proc = run("report", "--model", f"m=<b>{files / 'model.skops'}".replace("<b>", ""), "--data",
               str(files / "data.csv"), "--target", "label", "--metrics", "faithfulness,complexity", "--rows", "5",
               "--out", str(out), "--quiet", "--no-timestamp")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = open_page(out)
    assert page["dialogs"] == [] and page["errors"] == []
    assert EVIL[0] in page["text"]  # shown as text


def test_pickle_needs_trust(files):
    proc = run("report", "--model", f"m={files / 'model.pkl'}", "--data", str(files / "data.csv"),
               "--target", "label", "--out", str(files / "p.json"), "--quiet")
    assert proc.returncode == 2 and "runs arbitrary code" in proc.stderr and "--trust-pickle" in proc.stderr
    assert not (files / "p.json").exists()
    ok = run("report", "--model", f"m={files / 'model.pkl'}", "--trust-pickle", "--data", str(files / "data.csv"),
             "--target", "label", "--metrics", "none", "--rows", "3", "--out", str(files / "p.json"), "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert (files / "p.json").exists()


@pytest.mark.parametrize("args,message", [
    (["--data", "missing.csv"], "data file not found: missing.csv"),
    (["--target", "nope"], "--target column 'nope' is not in"),
    (["--data", "FEWER"], "is missing column(s)"),
])
def test_cli_errors(files, args, message):
    args = [str(files / "fewer.csv") if a == "FEWER" else a for a in args]
    base = {"--data": str(files / "data.csv"), "--target": "label"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    cli = ["report", "--model", f"m={files / 'model.skops'}", "--out", str(files / "e.html"), "--quiet"]
    for flag, value in base.items():
        cli += [flag, value]
    proc = run(*cli)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (files / "e.html").exists()


def test_missing_model_file(files):
    proc = run("report", "--model", "m=nowhere.skops", "--data", str(files / "data.csv"), "--out",
               str(files / "x.html"))
    assert proc.returncode == 2 and "model file not found: nowhere.skops" in proc.stderr
