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


# -- a complete command line: version, help on every option, exit codes, --out checked first --------------------

COMMANDS = ("demo", "report", "study", "diff", "check")


def test_version():
    from explain import __version__

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"explain {__version__}"


def test_every_option_has_help_and_every_help_gives_the_exit_codes():
    import argparse

    from explain._cli_parser import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(subs) == set(COMMANDS)
    for name, sub in subs.items():
        assert issubclass(sub.formatter_class, argparse.ArgumentDefaultsHelpFormatter)
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
        text = run(name, "--help")
        assert text.returncode == 0
        assert "exit status:" in text.stdout and "  2  a usage or input error" in text.stdout, name
        assert "  1  check only" in text.stdout
    report_help = run("report", "--help").stdout
    assert "(default: 50)" in report_help and "(default: None)" not in report_help  # defaults shown, not noise
    assert "exit status:" in run("--help").stdout


@pytest.mark.parametrize("out,message", [
    ("x.pdf", "unknown format '.pdf'"),
    ("FILE/inside.html", "is a file, so no folder can be made under it"),
    ("DIR.html", "is a folder"),
])
def test_out_is_checked_before_any_work(files, tmp_path, out, message):
    (tmp_path / "FILE").write_text("not a folder")
    (tmp_path / "DIR.html").mkdir()
    target = tmp_path / out
    # the model file does not exist: an error about --out proves nothing was loaded or explained first
    proc = run("report", "--model", "m=nowhere.skops", "--data", str(files / "data.csv"), "--target", "label",
               "--out", str(target), "--quiet")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DIR.html", "FILE"]


@pytest.mark.parametrize("where", ["LOCKED/r.html", "/proc/h12-explain/r.html"])
def test_out_where_nothing_can_be_written(files, tmp_path, where):
    import os

    locked = tmp_path / "LOCKED"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if where.startswith("LOCKED") and os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root): /proc is the case that applies")
        out = str(tmp_path / where) if where.startswith("LOCKED") else where
        proc = run("report", "--model", "m=nowhere.skops", "--data", str(files / "data.csv"),
                   "--target", "label", "--out", out, "--quiet")
        assert proc.returncode == 2 and "cannot write in" in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1
    finally:
        locked.chmod(0o700)


def test_data_sha256_is_the_files_sha256sum(files, tmp_path):
    import json
    import subprocess

    out = tmp_path / "r.json"
    proc = run("report", "--model", f"m={files / 'model.skops'}", "--data", str(files / "data.csv"), "--target",
               "label", "--metrics", "none", "--rows", "3", "--out", str(out), "--quiet", "--no-timestamp")
    assert proc.returncode == 0, proc.stderr
    expected = subprocess.run(["sha256sum", str(files / "data.csv")], capture_output=True, text=True,
                              check=True).stdout.split()[0]
    prov = json.loads(out.read_text())["provenance"]
    assert prov["data_sha256"] == expected
    assert prov["rows_explained"].startswith("the first 3 of 60 rows")


def test_forgotten_target_names_the_flag(files):
    proc = run("report", "--model", f"m={files / 'model.skops'}", "--data", str(files / "data.csv"),
               "--out", str(files / "t.html"), "--quiet")
    assert proc.returncode == 2 and "pass --target label" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and not (files / "t.html").exists()


def test_report_rows_carry_the_data_index(files, tmp_path):
    out = tmp_path / "r.html"
    proc = run("report", "--model", f"m={files / 'model.skops'}", "--data", str(files / "data.csv"), "--target",
               "label", "--metrics", "none", "--rows", "4", "--out", str(out), "--quiet", "--no-timestamp")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert all(html.count(f'data-row-id="{i}"') == 2 for i in range(4)) and 'data-row-id="4"' not in html
