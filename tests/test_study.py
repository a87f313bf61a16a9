"""The study (issue 12, version 1 reports): intervals, a verdict generated from numbers, the committed full run.

Version 2 (issue 24) is tested in tests/study/: the contract, p-values recomputed, the quick run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain.study import MEASURES, QUICK
from explain.study._verdict import HEADLINE, summarise, verdict

# the families of version 1 (the committed report)
TABULAR_FAMILIES = ("glm", "naive_bayes", "decision_tree", "random_forest", "gradient_boosting", "svm", "mlp")
IMAGE_FAMILIES = ("glm", "naive_bayes", "random_forest", "gradient_boosting", "svm", "mlp", "cnn")

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
    path = ROOT / "reports" / "study.json"
    record = json.loads(path.read_text())
    study = record["study"]
    summary = pd.DataFrame(study["summary"])
    config = study["config"]
    assert len(config["seeds"]) >= 5 and set(config["datasets"]) >= {"breast_cancer", "wine", "fair", "digits"}
    for dataset in config["datasets"]:
        families = IMAGE_FAMILIES if dataset == "digits" else TABULAR_FAMILIES
        ds = summary[summary.dataset == dataset]
        assert set(ds.family) == set(families), dataset
        for family in families:
            got = ds[ds.family == family].set_index("measure")
            for measure in ("accuracy",) + HEADLINE:
                assert np.isfinite(got.loc[measure, "mean"]), (dataset, family, measure)
            assert got.loc["accuracy", "mean"] > 0.6  # no badly fitted model in the comparison
            assert got.loc["accuracy", "n"] == len(config["seeds"])
    assert study["verdict"]["sentences"][-1].startswith("Overall:")
    assert set(study["measures"]) <= set(MEASURES)
    assert (ROOT / "reports" / "study.md").exists() and (ROOT / "reports" / "study.html").exists()


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
    assert set(flat) == {p.name for p in PROTOCOLS} and flat["occlusion_zero"].shape == (2, 625)
    for p in PROTOCOLS:
        mine = got[got.protocol == p.name].set_index("measure")["value"]
        assert np.isfinite(mine["deletion_vs_random"]) and 0 <= mine["interaction_strength"] <= 1


# ---- issue 24: the verdict of stated hypotheses on the committed records ----------------------------------------

@pytest.fixture(scope="module")
def committed():
    from explain.study import load_study

    return load_study(ROOT / "reports" / "study.json")


def test_committed_records_get_the_tested_verdict(committed):
    """Version 1 records (5 seeds) load; every comparison is flagged as unable to reject after Holm."""
    comps = committed.comparisons
    assert set(comps.hypothesis) == {"H1", "H2"} and set(comps.decision) <= {"inconclusive", "invalid"}
    assert not comps["can_reject"].any() and comps["note"].str.contains("too few seeds to reject").all()
    # 3.13 "share of variance" for Naive Bayes: outside [0, 1], so not compared
    invalid = comps[comps.decision == "invalid"]
    assert set(invalid.measure) == {"interaction_strength"} and set(invalid.family_b) == {"naive_bayes"}
    assert not {"seconds_per_row", "exact", "additivity_gap", "deletion_normalised"} & set(comps.measure)
    answers = {h["id"]: h["answer"] for h in committed.verdict["hypotheses"]}
    assert answers == {"H1": "inconclusive", "H2": "inconclusive", "H3": "not tested"}
    assert not any(g["failed"] for g in committed.verdict["additivity"])  # every gap is round-off


def test_committed_refit_pairs_become_disjoint(committed):
    """Version 1 kept 10 overlapping seed pairs; only (0, 1) and (2, 3) remain, labelled by their first seed."""
    refit = committed.records[committed.records.measure == "refit_stability"]
    assert set(refit.groupby(["dataset", "family"]).size()) == {2} and set(refit.seed) == {0, 2}
    raw = pd.DataFrame(json.loads((ROOT / "reports" / "study.json").read_text())["study"]["records"])
    old = raw[(raw.measure == "refit_stability") & (raw.dataset == "wine") & (raw.family == "glm")]
    kept = refit[(refit.dataset == "wine") & (refit.family == "glm")].set_index("seed")["value"]
    # pairs were numbered (0,1), (0,2), (0,3), (0,4), (1,2), (1,3), (1,4), (2,3), ...: (2, 3) is number 7
    # (values kept at 6 significant digits, as the version 2 files keep them)
    assert kept[0] == pytest.approx(old[old.seed == 0]["value"].item(), rel=1e-6)
    assert kept[2] == pytest.approx(old[old.seed == 7]["value"].item(), rel=1e-6)


def test_committed_p_values_recompute_from_records(committed):
    """Every p-value recomputes from the records by enumerating sign flips; every Holm p by hand."""
    import itertools

    recs = committed.records
    comps = committed.comparisons
    for _, c in comps.sample(12, random_state=0).iterrows():
        sub = recs[(recs.dataset == c.dataset) & (recs.measure == c.measure)]
        a = sub[sub.family == c.family_a].set_index("seed")["value"]
        b = sub[sub.family == c.family_b].set_index("seed")["value"]
        d = (a - b).dropna().to_numpy()
        flips = [abs(np.mean(np.array(s) * d)) >= abs(d.mean()) - 1e-12
                 for s in itertools.product((1, -1), repeat=len(d))]
        assert c.p_value == pytest.approx(np.mean(flips)) and c.effect == pytest.approx(d.mean())
    for _, h in comps.groupby("hypothesis"):
        p = np.sort(h.p_value.to_numpy())
        m = len(p)
        by_hand = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p))
        np.testing.assert_allclose(np.sort(h.p_adjusted.to_numpy()), by_hand)


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
    out = refit_stability("d", "glm", "p", values)
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
