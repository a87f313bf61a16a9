"""``report --rows / --id-column --ids / --background``: which rows are explained, against which background,
and the report saying both; every mistake is one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from explain import load_report_json
from helpers import run_cli as run

FEATURES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skops.io as sio

    tmp = tmp_path_factory.mktemp("rows")
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(150, 3)), columns=FEATURES)
    df["label"] = (df["a"] + df["b"] > 0).astype(int)
    df.insert(0, "patient", [f"p{i:03d}" for i in range(len(df))])
    model = LogisticRegression().fit(df[FEATURES], df["label"])
    sio.dump(model, tmp / "model.skops")
    df.to_csv(tmp / "data.csv", index=False)
    bg = pd.DataFrame(rng.normal(loc=2.0, size=(30, 3)), columns=FEATURES)
    bg.to_csv(tmp / "bg.csv", index=False)
    bg[["c", "a", "b"]].assign(label=0).to_csv(tmp / "bg_reordered.csv", index=False)
    bg[["a", "b"]].assign(d=1.0).to_csv(tmp / "bg_wrong.csv", index=False)
    return tmp, df, model, bg


def _report(files, tmp_path, *args, out="r.json"):
    tmp = files[0]
    target = tmp_path / out
    proc = run("report", "--model", f"m={tmp / 'model.skops'}", "--data", str(tmp / "data.csv"), "--target", "label",
               "--metrics", "none", "--methods", "shap", "--output", "margin", "--out", str(target), "--quiet",
               "--no-timestamp", *args)
    return proc, target


def _explained(target):
    record = load_report_json(target)
    return record["explanations"]["m"]["shap"], record["provenance"]


@pytest.mark.parametrize("rows,positions", [
    ("10:14", [10, 11, 12, 13]),
    ("140:", list(range(140, 150))),
    ("-3:", [147, 148, 149]),
    ("::50", [0, 50, 100]),
    ("5,2,99", [5, 2, 99]),
    ("7,", [7]),
    ("4", [0, 1, 2, 3]),
])
def test_rows_by_position(files, tmp_path, rows, positions):
    _, df, _, _ = files
    proc, target = _report(files, tmp_path, "--id-column", "patient", f"--rows={rows}")
    assert proc.returncode == 0, proc.stderr
    e, prov = _explained(target)
    np.testing.assert_allclose(np.asarray(e.data, float), df[FEATURES].to_numpy()[positions])
    assert e.values.shape == (len(positions), 3)
    said = prov["rows_explained"]
    assert "150 rows of data.csv" in said and (rows == "4" or f"{len(positions)} of the 150" in said), said
    if len(positions) <= 12 and rows != "4":
        assert ", ".join(map(str, positions)) in said, said


def test_rows_by_id_column_in_the_html(files, tmp_path):
    _, df, _, _ = files
    proc, target = _report(files, tmp_path, "--id-column", "patient", "--ids", "p120,p003", "--ids", "p042",
                           out="r.html")
    assert proc.returncode == 0, proc.stderr
    html = target.read_text()
    for pid in ("p120", "p003", "p042"):
        assert f'data-row-id="{pid}"' in html
    assert 'data-row-id="0"' not in html and 'data-row-id="p000"' not in html
    assert "chosen by patient: p120, p003, p042 (positions 120, 3, 42)" in html
    proc, target = _report(files, tmp_path, "--id-column", "patient", "--ids", "p120,p003,p042")
    e, _ = _explained(target)
    np.testing.assert_allclose(np.asarray(e.data, float), df[FEATURES].to_numpy()[[120, 3, 42]])


def test_default_background_is_a_seeded_sample_and_said(files, tmp_path):
    tmp, df, model, _ = files
    proc, target = _report(files, tmp_path, "--id-column", "patient", "--rows", "3", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    e, prov = _explained(target)
    said = prov["background"]
    assert said.startswith("100 rows sampled without replacement from the 150 rows of data.csv") and "seed 4" in said
    assert prov["parameters"]["background"] == 100 and prov["rows_explained"].startswith("the first 3 of 150 rows")
    # the base value is the mean margin over the background: not over the whole file, and seeded
    full_mean = model.decision_function(df[FEATURES]).mean()
    assert abs(float(np.ravel(e.base_values)[0]) - full_mean) > 1e-6
    again, _ = _report(files, tmp_path, "--id-column", "patient", "--rows", "3", "--seed", "4", out="s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == json.loads(target.read_text())


@pytest.mark.parametrize("bg_file", ["bg.csv", "bg_reordered.csv"])
def test_background_file(files, tmp_path, bg_file):
    import hashlib

    tmp, df, model, bg = files
    proc, target = _report(files, tmp_path, "--id-column", "patient", "--rows", "0:5", "--background",
                           str(tmp / bg_file))
    assert proc.returncode == 0, proc.stderr
    e, prov = _explained(target)
    # interventional SHAP of a linear margin: base = mean margin over the background, values = beta (x - mean bg)
    np.testing.assert_allclose(np.ravel(e.base_values), model.decision_function(bg[FEATURES]).mean(), atol=1e-9)
    expected = model.coef_[0] * (df[FEATURES].to_numpy()[:5] - bg[FEATURES].to_numpy().mean(axis=0))
    np.testing.assert_allclose(e.values, expected, atol=1e-9)
    assert prov["background"] == f"all 30 rows of {bg_file}, the --background file (--background-size 100)"
    assert prov["background_sha256"] == hashlib.sha256((tmp / bg_file).read_bytes()).hexdigest()


def test_background_file_sampled(files, tmp_path):
    tmp = files[0]
    proc, target = _report(files, tmp_path, "--id-column", "patient", "--rows", "2", "--background",
                           str(tmp / "bg.csv"), "--background-size", "10", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    _, prov = _explained(target)
    assert prov["background"] == ("10 rows sampled without replacement from the 30 rows of bg.csv, the --background "
                                  "file, with seed 3 (--background-size 10)")


@pytest.mark.parametrize("args,message", [
    (["--rows", "3:x"], "--rows 3:x: give a count (50), a slice"),
    (["--rows", "::0"], "a slice's step cannot be 0"),
    (["--rows", "0"], "--rows 0 selects no rows"),
    (["--rows", "200:"], "--rows 200: selects no rows of"),
    (["--rows", "3,150"], "position 150 is out of range;"),
    (["--rows", "3,3"], "row position 3 is chosen twice"),
    (["--ids", "p001"], "--ids needs --id-column"),
    (["--id-column", "patient", "--ids", "p999"], "no row of"),
    (["--id-column", "patient", "--ids", "p001", "--rows", "3"], "either --rows (positions) or --ids"),
    (["--id-column", "nope", "--rows", "3"], "--id-column 'nope' is not in"),
    (["--id-column", "patient", "--background", "BG_WRONG"], "does not have the data's columns: missing ['c']; "
                                                             "extra ['d']"),
    (["--id-column", "patient", "--background", "nowhere.csv"], "background file not found: nowhere.csv"),
    (["--id-column", "patient", "--background-size", "0"], "--background-size 0: give at least 1 row"),
])
def test_selection_errors_are_one_line(files, tmp_path, args, message):
    tmp = files[0]
    args = [str(tmp / "bg_wrong.csv") if a == "BG_WRONG" else a for a in args]
    proc, target = _report(files, tmp_path, *args, out="e.html")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not target.exists()


def test_id_column_that_repeats_a_value_is_refused(files, tmp_path):
    tmp, df, _, _ = files
    dup = df.assign(patient=["same"] * 2 + list(df["patient"][2:]))
    dup.to_csv(tmp_path / "dup.csv", index=False)
    proc = run("report", "--model", f"m={tmp / 'model.skops'}", "--data", str(tmp_path / "dup.csv"), "--target",
               "label", "--id-column", "patient", "--ids", "same", "--metrics", "none", "--out",
               str(tmp_path / "d.html"), "--quiet")
    assert proc.returncode == 2 and "names 2 rows" in proc.stderr, proc.stderr
    proc = run("report", "--model", f"m={tmp / 'model.skops'}", "--data", str(tmp_path / "dup.csv"), "--target",
               "label", "--id-column", "patient", "--rows", "0:4", "--metrics", "none", "--out",
               str(tmp_path / "d.html"), "--quiet")
    assert proc.returncode == 2 and "'same' names more than one of the chosen rows" in proc.stderr, proc.stderr


def test_diff_takes_the_same_selection(files, tmp_path):
    tmp = files[0]
    proc = run("diff", "--old-model", str(tmp / "model.skops"), "--new-model", str(tmp / "model.skops"), "--data",
               str(tmp / "data.csv"), "--target", "label", "--id-column", "patient", "--rows", "10:13",
               "--background", str(tmp / "bg.csv"), "--out", str(tmp_path / "d.json"), "--quiet",
               "--no-timestamp")
    assert proc.returncode == 0, proc.stderr
    proc = run("diff", "--old-model", str(tmp / "model.skops"), "--new-model", str(tmp / "model.skops"), "--data",
               str(tmp / "data.csv"), "--target", "label", "--rows", "1:x", "--out", str(tmp_path / "e.json"))
    assert proc.returncode == 2 and "--rows 1:x" in proc.stderr
