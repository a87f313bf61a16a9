"""Our one progress bar: on when asked, silent when told or without a terminal; the libraries' bars stay off."""

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from explain import compare, explain
from explain._utils.progress import show_progress


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), X


def test_auto_is_silent_in_the_suite_and_false_is_silent(model_and_data, capsys):
    model, X = model_and_data
    assert show_progress("auto") is False and show_progress(False) is False and show_progress(True) is True
    explain(model, X[:5], background=X[50:], methods=["shap", "lime", "shap.kernel"],
            method_params={"lime": {"num_samples": 100}, "shap.kernel": {"nsamples": 50}})
    err = capsys.readouterr().err
    assert err == ""  # neither our bar nor shap's, LIME's or captum's


def test_forced_bar_counts_rows_times_methods(model_and_data, capsys):
    model, X = model_and_data
    explain(model, X[:9], background=X[50:], methods=["coefficients", "shap"], progress=True, batch_size=4)
    err = capsys.readouterr().err
    assert "/18 " in err and "row/s" in err  # one bar over 9 rows x 2 methods
    compare({"a": model, "b": model}, X[:4], background=X[50:], methods=["shap"], metrics=["deletion"],
            progress=True)
    err = capsys.readouterr().err
    assert "/4 " in err and "model x method" in err  # two models x (shap + the random control)


class _Terminal:
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def test_auto_follows_the_terminal_and_the_environment_switch(monkeypatch):
    monkeypatch.delenv("EXPLAIN_PROGRESS", raising=False)  # conftest sets the documented switch for the suite
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert show_progress("auto") is True
    for off in ("0", "false", "no"):
        monkeypatch.setenv("EXPLAIN_PROGRESS", off)
        assert show_progress("auto") is False
    monkeypatch.delenv("EXPLAIN_PROGRESS")
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a log file or a captured stream: no bar
    assert show_progress("auto") is False


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script for a pseudo-terminal")
def test_the_bar_is_drawn_in_a_pseudo_terminal_without_a_size(tmp_path):
    """Under `script -qec` the pty reports 0 x 0; tqdm used to hide the bar there (newcomer item 12)."""
    code = ("import time\nfrom explain._utils.progress import progress_bar\n"
            "with progress_bar('auto', total=4, desc='rows') as bar:\n"
            "    for _ in range(4):\n        time.sleep(0.8)\n        bar.update(1)\n")
    script_file, log = tmp_path / "bar.py", tmp_path / "typescript"
    script_file.write_text(code)
    env = {k: v for k, v in os.environ.items() if k not in ("EXPLAIN_PROGRESS", "COLUMNS", "LINES")}
    subprocess.run(["script", "-qec", f"{sys.executable} {script_file}", str(log)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    text = log.read_text(errors="replace")
    assert "rows:" in text and "/4" in text
