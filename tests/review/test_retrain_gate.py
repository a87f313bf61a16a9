"""Retraining noise as the null (issue 22): a plain retrain passes the default gate, a tripled effect fails.

Data are built here from a known linear signal (conftest.make_rows); the "tripled" model is fitted on labels in
which feature b's weight is three times larger. Both run through the CLI in-process with model files, training
rows and the default policy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from review_data import make_rows, save_model, write_rows
from explain import diff, explain

CASES = {
    "forest": (True, lambda seed: RandomForestClassifier(n_estimators=30, min_samples_leaf=3, random_state=seed)),
    "boosting": (False, lambda seed: GradientBoostingRegressor(n_estimators=60, subsample=0.7, max_depth=3,
                                                               random_state=seed)),
    "glm": (True, lambda seed: LogisticRegression(C=1.0, random_state=seed)),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Per case: old.skops (seed 0), retrain.skops (seed 11, same rows), tripled.skops; train.csv, rows.csv."""
    out = {}
    for name, (classify, make) in CASES.items():
        tmp = tmp_path_factory.mktemp(name)
        X, y = make_rows(0, 300, classify=classify)
        X3, y3 = make_rows(0, 300, factor=3.0, classify=classify)
        rows, ry = make_rows(1, 120, classify=classify)
        out[name] = {"old": save_model(make(0).fit(X, y), tmp / "old.skops"),
                     "retrain": save_model(make(11).fit(X, y), tmp / "retrain.skops"),
                     "tripled": save_model(make(0).fit(X3, y3), tmp / "tripled.skops"),
                     "train": write_rows(X, y, tmp / "train.csv"), "rows": write_rows(rows, ry, tmp / "rows.csv")}
    return out


def _check(cli, f, new, *extra):
    return cli("check", "--old-model", f["old"], "--new-model", f[new], "--data", f["rows"], "--target", "y",
               "--train", f["train"], "--rows", 40, *extra)


@pytest.mark.parametrize("case", list(CASES))
def test_a_retrain_passes_and_a_tripled_effect_fails_under_the_default_policy(cli, files, case):
    f = files[case]
    same = _check(cli, f, "retrain")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "retrain noise band" in same.stdout and "beyond the retrain band <= 0" in same.stdout
    tripled = _check(cli, f, "tripled")
    assert tripled.returncode == 1, tripled.stdout + tripled.stderr
    flagged = [line for line in tripled.stdout.splitlines() if line.startswith("- b: importance rose")]
    assert flagged, tripled.stdout  # the feature whose effect was tripled is named, with old and new values
    assert "95% interval of the change" in flagged[0] and "noise band ±" in flagged[0]


def test_the_report_says_how_the_refits_were_made(cli, files):
    forest = _check(cli, files["forest"], "retrain")
    assert "refitted with other random seeds" in forest.stdout
    glm = _check(cli, files["glm"], "retrain")  # lbfgs ignores random_state: refits on bootstrap resamples
    assert "bootstrap resamples of the training rows" in glm.stdout


def test_the_band_is_the_stated_t_bound_on_the_refits_spread():
    """refits given as explanations: the band is t(1 - 0.05/(2p), K-1) sqrt(2) sd of the refit importances."""
    X, y = make_rows(0, 300)
    rows, bg = X.iloc[:30], X.iloc[100:160]
    make = CASES["forest"][1]
    old = explain(make(0).fit(X, y), rows, methods="shap", background=bg, output="probability")
    new = explain(make(1).fit(X, y), rows, methods="shap", background=bg, output="probability")
    runs = [explain(make(s).fit(X, y), rows, methods="shap", background=bg, output="probability")["shap"]
            for s in (2, 3, 4)]
    d = diff(old, new, refits=runs)
    imps = np.array([np.abs(r.values).mean(axis=0) for r in runs])
    expected = student_t.ppf(1 - 0.05 / (2 * 5), 2) * np.sqrt(2) * imps.std(axis=0, ddof=1)
    np.testing.assert_allclose(d.features.loc[list("abcde"), "band"], expected, rtol=1e-12)
    assert d.meta["band"] == "retrain" and d.meta["refits"] == 3
    assert len(d.metrics["refit_ndcg_at_k"]) == 3


def test_python_api_refits_an_estimator():
    X, y = make_rows(0, 200)
    X3, y3 = make_rows(0, 200, factor=3.0)
    rows, bg = X.iloc[:30], X.iloc[100:150]
    old_model = LogisticRegression().fit(X, y)
    kw = dict(methods="shap", background=bg, output="probability")
    old = explain(old_model, rows, **kw)
    same = diff(old, explain(LogisticRegression(random_state=3).fit(X, y), rows, **kw), refits=3,
                old_model=old_model, train=(X, y))
    assert same.flagged == [] and same.meta["refit_how"] == "bootstrap"
    changed = diff(old, explain(LogisticRegression().fit(X3, y3), rows, **kw), refits=3, old_model=old_model,
                   train=(X, y))
    assert changed.flagged[0] == "b"  # ranked by effect size: the tripled feature first
    with pytest.raises(ValueError, match="needs the old estimator"):
        diff(old, old, refits=3)


def test_min_effect_hides_small_moves():
    """Identical rows, b's contributions scaled by 1.05: far outside a zero band, but below 10% of the top."""
    X, y = make_rows(0, 200)
    model = LogisticRegression().fit(X, y)
    e = explain(model, X.iloc[:30], methods="shap", background=X.iloc[100:])["shap"]
    from explain.explanation import Explanation

    vals = e.values.copy()
    vals[:, 1] *= 1.05
    moved = Explanation(vals, e.base_values, e.data, e.feature_names, output=e.output, method=e.method,
                        model_name=e.model_name)
    assert diff(e, moved).flagged == []
    assert diff(e, moved, min_effect=0.0).flagged == ["b"]
