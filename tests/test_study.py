"""The study: intervals, a verdict generated from numbers, version-1 files re-read, the committed full run.

Version 2 (issue 24) is tested in tests/study/: the contract, p-values recomputed, the quick run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain.study import QUICK
from explain.study._verdict import summarise, verdict

ROOT = Path(__file__).resolve().parent.parent


def _records(values: dict) -> pd.DataFrame:
    rows = []
    for (family, measure), seeds in values.items():
        rows += [dict(dataset="d", family=family, seed=s, measure=measure, value=v) for s, v in enumerate(seeds)]
    return pd.DataFrame(rows)


def test_intervals_are_t_intervals_over_seeds_or_ranges_when_bounded():
    from scipy import stats

    s = summarise(_records({("glm", "seconds_per_row"): [0.8, 0.9, 1.0],
                            ("glm", "faithfulness_correlation"): [0.8, 0.9, 1.0]})).set_index("measure")
    half = stats.t.ppf(0.975, 2) * np.std([0.8, 0.9, 1.0], ddof=1) / np.sqrt(3)
    row = s.loc["seconds_per_row"]
    assert row["mean"] == pytest.approx(0.9) and row["hi"] - row["mean"] == pytest.approx(half)
    assert row["interval"] == "t95"
    row = s.loc["faithfulness_correlation"]  # bounded by 1: the range of the seeds, never past the bound
    assert (row["lo"], row["hi"], row["interval"]) == (0.8, 1.0, "range")
    assert row["unit"] == "correlation" and row["direction"] == "higher"


def test_verdict_follows_the_numbers():
    recs = _records({
        ("mlp", "faithfulness_correlation"): [0.30, 0.32, 0.31, 0.29, 0.30],   # clearly lower: harder
        ("glm", "faithfulness_correlation"): [0.90, 0.91, 0.89, 0.90, 0.92],
        ("mlp", "interaction_strength"): [0.20, 0.50, 0.10, 0.40, 0.30],       # overlapping: indistinguishable
        ("glm", "interaction_strength"): [0.25, 0.35, 0.15, 0.45, 0.30],
        ("mlp", "features_for_90"): [2.0, 2.1, 1.9, 2.0, 2.0],                 # fewer features: easier
        ("glm", "features_for_90"): [6.0, 6.2, 5.8, 6.1, 5.9],
    })
    v = verdict(summarise(recs))
    kinds = {c["measure"]: c["kind"] for c in v["comparisons"]}
    assert kinds == {"faithfulness_correlation": "harder", "interaction_strength": "indistinguishable",
                     "features_for_90": "easier"}
    text = {c["measure"]: c["text"] for c in v["comparisons"]}
    assert "lower by 0.6" in text["faithfulness_correlation"]
    assert v["tally"]["d"] == {"harder": 1, "easier": 1, "indistinguishable": 1}
    assert v["sentences"][-1].startswith("Overall: harder in 1, easier in 1, indistinguishable in 1 of 3")


def test_the_committed_full_study():
    """The committed version-2 run: 8+ tables and 2 image sets, 8+ seeds, every family of a data set fitted per
    seed with finite headline measures; the page under 2 MB; the run under 90 minutes; the contract holds."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "study"))
    from test_contract import check_contract

    study = json.loads((ROOT / "reports" / "study.json").read_text())["study"]
    config = study["config"]
    kinds = [d["kind"] for d in config["datasets"]]
    assert kinds.count("tabular") >= 8 and kinds.count("image") >= 2 and len(config["seeds"]) >= 8
    assert all(min(d["image_shape"]) >= 25 for d in config["datasets"] if d["kind"] == "image")
    recs = pd.DataFrame(study["records"])
    acc = recs[recs.measure == "accuracy"]
    for d in config["datasets"]:
        fitted = acc[acc.dataset == d["name"]].groupby("family").seed.nunique()
        assert set(fitted.index) == set(d["families"]) and (fitted == len(config["seeds"])).all(), d["name"]
        mine = recs[(recs.dataset == d["name"]) & (recs.protocol == "shapley_sample")]
        for measure in ("deletion_vs_random", "faithfulness_correlation", "method_agreement", "interaction_strength"):
            values = mine[mine.measure == measure].value.astype(float)
            assert len(values) and np.isfinite(values).all(), (d["name"], measure)
    assert study["seconds"] < 90 * 60
    check_contract(study)
    assert (ROOT / "reports" / "study.html").stat().st_size < 2e6 and (ROOT / "reports" / "study.md").exists()


@pytest.mark.slow
def test_one_unit_of_the_study_on_real_faces():
    """A CNN on the 25x25 faces through every protocol: finite measures, the NAM-free margin strength in [0, 1]."""
    from dataclasses import replace

    from explain.study._families import load_study_data
    from explain.study._run import PROTOCOLS, run_unit

    data = load_study_data("lfw")
    assert data.images and data.X_train.shape[1:] == (1, 25, 25)
    config = replace(QUICK, image_rows=2, background=6, kernel_nsamples=60)
    records, flat = run_unit("cnn", data, 0, config)
    got = pd.DataFrame(records)
    assert got[got.measure == "accuracy"].value.item() > 0.8
    assert set(flat) == {p.name for p in PROTOCOLS} and flat["occlusion_zero"][0].shape == (2, 625)
    for p in PROTOCOLS:
        mine = got[got.protocol == p.name].set_index("measure")["value"]
        assert np.isfinite(mine["deletion_vs_random"]) and 0 <= mine["interaction_strength"] <= 1


# ---- issue 24: the verdict of stated hypotheses on the committed records ----------------------------------------

@pytest.fixture(scope="module")
def committed():
    from explain.study import load_study

    return load_study(ROOT / "reports" / "study.json")


def _version_1_file(tmp_path) -> Path:
    """A version-1 file as the first study wrote it: no version key, 5 seeds, refit stability for all 10
    overlapping seed pairs numbered (0,1), (0,2), (0,3), (0,4), (1,2), (1,3), (1,4), (2,3), ...; read with the
    sign-flip test."""
    rng = np.random.default_rng(0)
    rows = [dict(dataset="wine", family=f, seed=s, measure=m, value=float(rng.uniform(0.2, 0.8)))
            for f in ("glm", "naive_bayes", "mlp") for m in ("accuracy", "faithfulness_correlation")
            for s in range(5)]
    rows += [dict(dataset="wine", family=f, seed=k, measure="refit_stability", value=0.5 + k / 100)
             for f in ("glm", "naive_bayes", "mlp") for k in range(10)]
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in QUICK.__dict__.items()}
    config.update(datasets=["wine"], seeds=list(range(5)))
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({"study": {"config": config, "seconds": 1.0, "records": rows}}))
    return path


def test_version_1_records_get_the_tested_verdict(tmp_path):
    """Version 1 records (5 seeds) load; with the sign-flip test nothing can be rejected after Holm."""
    from explain.study import load_study

    old = load_study(_version_1_file(tmp_path))
    comps = old.comparisons
    assert old.records_version == 1 and old.config.test == "sign_flip"
    assert set(comps.hypothesis) == {"H1"} and set(comps.decision) <= {"inconclusive", "invalid"}
    assert not comps["can_reject"].any() and comps["note"].str.contains("too few seeds to reject").all()


def test_version_1_refit_pairs_become_disjoint(tmp_path):
    """Version 1 kept 10 overlapping seed pairs; only (0, 1) and (2, 3) remain, labelled by their first seed."""
    from explain.study import load_study

    refit = load_study(_version_1_file(tmp_path)).records
    refit = refit[refit.measure == "refit_stability"]
    assert set(refit.groupby(["dataset", "family"]).size()) == {2} and set(refit.seed) == {0, 2}
    kept = refit[refit.family == "glm"].set_index("seed")["value"]
    assert kept[0] == pytest.approx(0.50) and kept[2] == pytest.approx(0.57)  # pairs number 0 and 7


def test_committed_p_values_recompute_from_records(committed):
    """A sample of the committed comparisons: p-values from scipy's paired t-test on the records; every Holm p
    within its hypothesis by hand."""
    from scipy import stats

    recs = committed.records
    comps = committed.comparisons
    assert set(comps.test) == {"paired_t"}
    for _, c in comps[comps.p_value.notna()].sample(12, random_state=0).iterrows():
        sub = recs[(recs.dataset == c.dataset) & (recs.measure == c.measure) & (recs.protocol == c.protocol)]
        a = sub[sub.family == c.family_a].set_index("seed")["value"]
        b = sub[sub.family == c.family_b].set_index("seed")["value"]
        both = pd.concat([a, b], axis=1, join="inner").dropna()
        assert c.p_value == pytest.approx(stats.ttest_rel(both.iloc[:, 0], both.iloc[:, 1]).pvalue, rel=1e-6)
        assert c.effect == pytest.approx((both.iloc[:, 0] - both.iloc[:, 1]).mean())
    for _, h in comps[comps.p_value.notna()].groupby("hypothesis"):
        p = np.sort(h.p_value.to_numpy())
        m = len(p)
        by_hand = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p))
        np.testing.assert_allclose(np.sort(h.p_adjusted.to_numpy()), by_hand, rtol=1e-9)


def test_report_json_carries_the_comparisons_contract(committed):
    extra = committed.report(timestamp=False).extra["study"]
    keys = {"hypothesis", "dataset", "protocol", "measure", "family_a", "family_b", "test", "effect", "ci_low",
            "ci_high", "p_value", "p_adjusted", "decision"}
    assert extra["comparisons"] and keys <= set(extra["comparisons"][0])
    assert {"hypothesis", "dataset", "measure", "decisions", "robust"} <= set(extra["sensitivity"][0])
    assert {"id", "statement", "answer"} <= set(extra["verdict"]["hypotheses"][0])
    json.dumps(extra, allow_nan=False)  # plain JSON, no NaN


def test_load_study_refuses_newer_versions(tmp_path):
    from explain.errors import DataError
    from explain.study import load_study

    record = json.loads((ROOT / "reports" / "study.json").read_text())
    record["study"]["version"] = 3
    (tmp_path / "s.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="version 3"):
        load_study(tmp_path / "s.json")


def test_runner_refit_stability_uses_disjoint_seed_pairs():
    from explain.study._run import refit_stability

    rng = np.random.default_rng(0)
    values = {s: rng.normal(size=(4, 6)) for s in (3, 1, 0, 2, 4)}
    out = [r for r in refit_stability("d", "glm", "p", {s: (v, None) for s, v in values.items()})
           if r["measure"] == "refit_stability"]
    from explain.metrics.agreement import rank_correlation

    assert [r["seed"] for r in out] == [0, 2]  # (0, 1) and (2, 3); seed 4 has no partner
    assert out[1]["value"] == pytest.approx(float(np.mean(rank_correlation(values[2], values[3]))))


def test_a_two_seed_quick_shaped_study_reports_without_running(tmp_path):
    """What `study --quick` builds (2 seeds, one refit pair): the verdict and report work on such records."""
    from explain.study import Study

    rng = np.random.default_rng(0)
    rows = [dict(dataset=ds, family=f, seed=s, measure=m, value=float(rng.uniform(0.2, 0.8)))
            for ds in ("breast_cancer", "digits") for f in ("glm", "naive_bayes", "svm", "mlp")
            for m in ("accuracy", "faithfulness_correlation", "seconds_per_row") for s in (0, 1)]
    rows += [dict(dataset="digits", family=f, seed=0, measure="refit_stability", value=0.5)
             for f in ("glm", "svm", "mlp")]
    study = Study(QUICK, pd.DataFrame(rows), 1.0)
    refit = study.comparisons[study.comparisons.measure == "refit_stability"]
    assert (refit.n == 1).all() and refit.p_value.isna().all() and (refit.decision == "inconclusive").all()
    assert study.verdict["sentences"][0].startswith("H1: ") and "Answer: inconclusive" in study.verdict["sentences"][0]
    path = study.report(timestamp=False).save(str(tmp_path / "q.json"))
    saved = json.loads(Path(path).read_text())["study"]
    assert {c["decision"] for c in saved["comparisons"]} == {"inconclusive"}
