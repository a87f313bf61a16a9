"""Shared test helpers: small float32-representable data and a textbook Shapley reference."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
from dataclasses import dataclass
from math import factorial

import numpy as np


def f32(a):
    """Round to float32 and back: scikit-learn trees split on float32 values."""
    return np.asarray(a, dtype=np.float32).astype(float)


def make_data(n=160, d=5, task="binary", seed=0):
    """Tie-free continuous data with a non-linear signal."""
    rng = np.random.default_rng(seed)
    X = f32(rng.normal(size=(n, d)) * (1 + np.arange(d)) + np.arange(d))
    z = X[:, 0] - 0.5 * X[:, 1] ** 2 / (1 + d) + 0.8 * X[:, 2] * (X[:, 3] > 3) + rng.normal(scale=0.5, size=n)
    if task == "regression":
        return X, z
    if task == "multiclass":
        return X, np.digitize(z, np.quantile(z, [1 / 3, 2 / 3]))
    if task == "count":
        return X, rng.poisson(np.exp(0.3 * np.tanh(z)))
    return X, (z > np.median(z)).astype(int)


def shapley_of_game(v, d):
    """Shapley values of a game v(S) over d players by the textbook formula (S a sorted tuple)."""
    cache = {}

    def value(S):
        key = tuple(sorted(S))
        if key not in cache:
            cache[key] = v(key)
        return cache[key]

    phi = np.zeros(d)
    for j in range(d):
        others = [k for k in range(d) if k != j]
        for r in range(d):
            for S in itertools.combinations(others, r):
                w = factorial(r) * factorial(d - r - 1) / factorial(d)
                phi[j] += w * (value(S + (j,)) - value(S))
    return phi, value(())


def naive_shapley(f, x, background):
    """Interventional Shapley values by the textbook formula, one coalition at a time.

    Written independently of explain's vectorised enumeration, as the ground truth.
    """
    def v(S):
        Z = background.copy()
        Z[:, list(S)] = x[list(S)]
        return float(np.mean(f(Z)))

    return shapley_of_game(v, len(x))


def seeded_cnn(n_classes: int = 3, n_images: int = 12, n_background: int = 20, seed: int = 2):
    """The zoo's CNN architecture with seeded weights, and uniform 8x8 images and background (float32)."""
    import torch

    from explain.datasets._cnn import make_cnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = make_cnn(n_classes).eval()
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n_images, 1, 8, 8)).astype(np.float32)
    background = rng.uniform(size=(n_background, 1, 8, 8)).astype(np.float32)
    return model, images, background


def penguins_onehot(estimator):
    """Palmer penguins (species, 0..2) fitted by ``estimator`` behind one-hot categories and scaled numbers."""
    import warnings

    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from explain.datasets import load_tabular

    X, y = load_tabular("penguins")
    cats = ["island", "sex"]
    pre = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), cats),
                             ("n", make_pipeline(SimpleImputer(), StandardScaler()),
                              [c for c in X.columns if c not in cats])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(pre, estimator).fit(X, y), X


@dataclass
class CLIResult:
    """What a ``python -m explain`` run returned, in the shape of ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args, env=None) -> CLIResult:
    """Run ``explain.cli.main(args)`` in this process: its exit status and what it printed.

    argparse's usage errors (``SystemExit``) become the return code, as ``python -m explain`` would exit;
    ``env`` sets environment variables for the call only. Tests of the process entry point itself use a
    subprocess instead.
    """
    from explain.cli import main

    saved = {k: os.environ.get(k) for k in env or {}}
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return CLIResult(code, out.getvalue(), err.getvalue())


def save_screenshot(html_path, name: str, tmp_path) -> str:
    """A screenshot of the page's first screen (1280 x 900), kept as an artefact.

    It goes to ``$EXPLAIN_ARTEFACTS/<name>`` when that variable is set (a folder kept after the run, for CI
    to upload or a person to look at), else to ``tmp_path``; the path is printed (``pytest -s`` shows it).
    Returns the path; the page's console errors and requests must be none but the file itself.
    """
    import sys
    from pathlib import Path

    here = str(Path(__file__).resolve().parent / "report")
    if here not in sys.path:
        sys.path.insert(0, here)
    from report_helpers import open_page

    folder = Path(os.environ.get("EXPLAIN_ARTEFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    page = open_page(html_path, screenshot=shot)
    assert page["errors"] == [] and page["requests"] == [f"file://{os.path.abspath(html_path)}"], page
    print(f"screenshot: {shot}")
    return str(shot)
