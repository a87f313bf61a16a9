"""Memory follows the block, not the rows: compare() under an address-space limit in a child process.

Each case runs ``compare()`` in a fresh interpreter whose address space is capped with
``resource.setrlimit(RLIMIT_AS)``; the child prints its peak resident memory. Before the fix, one
(d (d - 1) / 2, n) float64 array of pairwise rank comparisons (6.25 GiB for 100 rows of 4096
features) was built by every compare() call, whatever metrics were asked for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from explain.metrics import agreement as agr

resource = pytest.importorskip("resource")  # POSIX only

GiB = 1 << 30


def _run_capped(body: str, limit_bytes: int, timeout: float = 900) -> dict:
    """Run ``body`` (which must set ``result``, a dict) in a child with RLIMIT_AS = limit; its peak RSS."""
    script = textwrap.dedent("""
        import json, resource
        def _peak_rss():
            # VmHWM is this process's own peak: ru_maxrss keeps the peak of the process that forked it (an
            # xdist worker of a GiB or more) across exec on Linux
            try:
                with open("/proc/self/status") as f:
                    return int(next(ln for ln in f if ln.startswith("VmHWM:")).split()[1]) * 1024
            except (OSError, StopIteration):
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        {setup}
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        {body}
        result["maxrss_bytes"] = _peak_rss()
        print("RESULT " + json.dumps(result))
    """).format(limit=int(limit_bytes), setup="import numpy, sklearn, explain", body=textwrap.dedent(body))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_deletion_on_4096_features_needs_no_pairwise_array():
    """100 rows x 4096 features: the old pairwise array alone (6.25 GiB) cannot fit under 3 GiB."""
    out = _run_capped("""
        import numpy as np
        from sklearn.linear_model import LinearRegression
        from explain import compare
        rng = np.random.default_rng(0)
        X = rng.random((100, 4096))
        model = LinearRegression().fit(X, X[:, :10].sum(axis=1))
        c = compare({"lin": model}, X, methods="shap", metrics=["deletion"], background=X[:20])
        result = {"deletion": float(c.scores.loc[c.scores.method == "shap", "value"].iloc[0]),
                  "random": float(c.scores.loc[c.scores.method == "random", "value"].iloc[0])}
    """, 3 * GiB)
    assert out["deletion"] < out["random"]  # attributions of the true model beat random order
    assert out["maxrss_bytes"] < 1 * GiB


@pytest.mark.slow
def test_compare_deletion_on_100_cnn_images_stays_under_2gb():
    """The issue's case: 100 images of 1x64x64, background 20, default methods, under a 6 GB limit."""
    out = _run_capped("""
        import numpy as np, torch, torch.nn as nn
        from explain import compare
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                            nn.AvgPool2d(16), nn.Flatten(), nn.Linear(256, 32), nn.ReLU(), nn.Linear(32, 3)).eval()
        rng = np.random.default_rng(0)
        images = rng.random((100, 1, 64, 64)).astype(np.float32)
        background = rng.random((20, 1, 64, 64)).astype(np.float32)
        c = compare({"cnn": net}, images, metrics=["deletion"], background=background)
        result = {"methods": sorted(c.scores.method), "finite": bool(np.isfinite(c.scores.value).all())}
    """, 6 * 10**9)
    assert "shap" in out["methods"] and out["finite"]
    assert out["maxrss_bytes"] < 2 * 10**9


@pytest.mark.parametrize("block", [1, 7, 50, 1 << 22])
def test_pairwise_rank_agreement_in_blocks_matches_all_pairs_at_once(block, monkeypatch):
    """The blocked count equals the d (d - 1) / 2 comparison built at once (ties included)."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(3)
    A = rng.integers(-3, 4, (9, 23)).astype(float)  # many ties
    B = rng.normal(size=(9, 23))
    B[:, ::4] = 0.0
    j, l = np.triu_indices(23, 1)
    ra, rb = rankdata(-np.abs(A), axis=1), rankdata(-np.abs(B), axis=1)
    reference = ((ra[:, j] < ra[:, l]) == (rb[:, j] < rb[:, l])).mean(axis=1)
    monkeypatch.setattr(agr, "PAIR_BLOCK", block)
    assert np.allclose(agr.pairwise_rank_agreement(A, B), reference)


def test_agreement_matrices_not_asked_for_are_computed_on_first_use():
    from sklearn.linear_model import LinearRegression

    from explain import compare

    rng = np.random.default_rng(0)
    X = rng.random((30, 6))
    model = LinearRegression().fit(X, X @ np.arange(6.0))
    c = compare({"lin": model}, X, methods="shap", metrics=["deletion"], background=X[:10])
    assert c._agreements["lin"] == {}
    matrix = c.agreement("lin", "pairwise_rank_agreement")
    direct = agr.agreement_matrix(dict(c.explanations["lin"].items()), "pairwise_rank_agreement", 5)
    assert np.allclose(matrix.to_numpy(), direct.to_numpy())
    assert "method_agreement" in c.scorecard().columns


def test_curve_metrics_are_the_same_in_blocks_of_one_row(monkeypatch):
    """Deletion, normalised insertion (with removal "sample": many removal rows per row), faithfulness
    correlation and infidelity give the same values whatever the block size."""
    from sklearn.linear_model import LogisticRegression

    from explain import explain
    from explain.metrics import faithfulness as fm
    from explain.metrics.base import MetricContext

    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 7))
    model = LogisticRegression().fit(X, X[:, 0] + X[:, 1] * X[:, 2] > 0)
    result = explain(model, X[:12], methods="shap", background=X[20:], output="probability", progress=False)
    e, v = result["shap"], result.validated

    def scores():
        out = []
        for removal in ("mean", "sample"):
            ctx = MetricContext(v.adapter, v.output, v.background, 0, {}, removal=removal)
            out += [fn(e, ctx) for fn in (fm.deletion, fm.insertion_normalised, fm.faithfulness_correlation,
                                          fm.infidelity)]
        return out

    whole = scores()
    monkeypatch.setattr(fm, "CURVE_BLOCK", 1)
    for a, b in zip(whole, scores()):
        assert np.allclose(a, b, equal_nan=True, rtol=1e-12, atol=1e-12)
