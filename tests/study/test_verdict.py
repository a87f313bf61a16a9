"""The study's statistical engine (issue 24): exact sign flips, Holm, TOST, decisions, answers, sensitivity.

Every expected number comes from an independent computation: brute-force
enumeration with itertools, scipy's tests, or Holm by hand on a fixed list.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from explain.errors import DataError, ParameterError
from explain.study._answer import answer, answers_by_protocol, hypothesis_verdicts, protocol_sensitivity
from explain.study._compare import additivity_check, compare_hypotheses, excluded_measures
from explain.study._hypotheses import HYPOTHESES, MEASURE_SPECS, Hypothesis
from explain.study._stats import effect, holm, paired_p, seeds_needed, sign_flip_p, smallest_p, tost_p

H1_ONLY = (Hypothesis("H1", "mlp is harder to explain than glm.", ("mlp",), ("glm",), "harder"),)


def _brute_force(d, alternative="two-sided"):
    """Sign-flip p by enumerating every pattern with itertools, one mean at a time."""
    d = list(map(float, d))
    obs = sum(d) / len(d)
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        m = sum(s * x for s, x in zip(signs, d)) / len(d)
        total += 1
        if alternative == "two-sided":
            hits += abs(m) >= abs(obs) - 1e-12
        elif alternative == "greater":
            hits += m >= obs - 1e-12
        else:
            hits += m <= obs + 1e-12
    return hits / total


def _records(values: dict, dataset="d", protocol=None) -> pd.DataFrame:
    rows = []
    for (family, measure), seeds in values.items():
        rows += [dict(dataset=dataset, family=family, seed=s, measure=measure, value=v) for s, v in enumerate(seeds)]
    out = pd.DataFrame(rows)
    return out if protocol is None else out.assign(protocol=protocol)


# ---- the tests themselves -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_sign_flip_equals_brute_force(seed, alternative):
    d = np.random.default_rng(seed).normal(0.3, 1.0, size=7 + seed)
    assert sign_flip_p(d, alternative=alternative) == pytest.approx(_brute_force(d, alternative), abs=1e-15)


def test_sign_flip_floor_and_ties():
    d = np.arange(1.0, 9.0)  # all positive: only the identity and the all-negative pattern reach |mean|
    assert sign_flip_p(d) == 2 / 256 == smallest_p(8)
    assert sign_flip_p(d, alternative="greater") == 1 / 256
    assert sign_flip_p(np.zeros(6)) == 1.0  # every pattern ties with a zero mean
    assert smallest_p(5) == 1 / 16 > 0.05  # five seeds can never reject, even uncorrected


def test_monte_carlo_beyond_sixteen_seeds_is_seeded_and_close_to_t():
    d = np.random.default_rng(0).normal(0.5, 1.0, size=30)
    p1, p2 = sign_flip_p(d, random_state=1), sign_flip_p(d, random_state=1)
    assert p1 == p2 and p1 >= 1 / 20_001
    assert p1 == pytest.approx(stats.ttest_1samp(d, 0).pvalue, abs=0.01)


def test_other_tests_are_scipys():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, 0.1, 0.35, -0.05])
    assert paired_p(d, test="paired_t") == pytest.approx(stats.ttest_rel(d + 1.0, np.ones(8)).pvalue)
    assert paired_p(d, test="wilcoxon") == pytest.approx(stats.wilcoxon(d).pvalue)
    with pytest.raises(ParameterError, match="test must be one of"):
        paired_p(d, test="welch")
    with pytest.raises(ParameterError, match="finite"):
        paired_p([0.1, np.nan])


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> monotone 0.06)
    expected = [0.03, 0.06, 0.06, 0.02, np.nan]
    np.testing.assert_allclose(holm(p), expected, equal_nan=True)
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1


def test_effect_is_the_t_interval_and_d_z():
    d = np.array([0.2, 0.4, 0.3, 0.5, 0.1, 0.3, 0.2, 0.4])
    e = effect(d)
    lo, hi = stats.t.interval(0.95, 7, loc=d.mean(), scale=stats.sem(d))
    assert (e["effect"], e["ci_low"], e["ci_high"]) == pytest.approx((d.mean(), lo, hi))
    assert e["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))


def test_tost_declares_equivalence_only_inside_the_margin():
    rng = np.random.default_rng(3)
    small = 0.01 + rng.normal(0, 0.005, size=10)
    assert tost_p(small, 0.05) == pytest.approx(1 / 1024)  # every |d| < margin: the smallest one-sided p
    assert tost_p(small, 0.005) > 0.05  # the mean itself is outside +-0.005
    big = 0.2 + rng.normal(0, 0.005, size=10)
    assert tost_p(big, 0.05) == 1.0
    d = np.array([0.01, 0.03, -0.02, 0.04, 0.0, 0.02, 0.01, 0.03])
    expected = max(_brute_force(d + 0.05, "greater"), _brute_force(d - 0.05, "less"))
    assert tost_p(d, 0.05) == pytest.approx(expected)
    # with the t-test, TOST at alpha is the 90% interval inside the margin
    lo, hi = stats.t.interval(0.90, 7, loc=d.mean(), scale=stats.sem(d))
    for margin in (0.9 * hi, 1.1 * max(abs(lo), hi)):
        assert (tost_p(d, margin, test="paired_t") < 0.05) == (-margin < lo and hi < margin)
    with pytest.raises(ParameterError, match="margin"):
        tost_p(d, 0.0)


def test_seeds_needed():
    assert seeds_needed(1) == 6  # 2/2**6 = 0.031 <= 0.05; 2/2**5 = 0.0625 is not
    assert seeds_needed(6) == 8 and seeds_needed(7) == 9  # 1/128 <= 0.05/6 but > 0.05/7
    assert seeds_needed(200, test="paired_t") == 2
    # beyond 16 seeds the Monte Carlo floor 1 / (1 + n_resamples) binds: 2000 comparisons need p <= 2.5e-5
    assert seeds_needed(2000) is None  # 1 / 20,001 > 2.5e-5 whatever the seeds
    assert seeds_needed(2000, n_resamples=100_000) == 17  # 2 / 2**17 = 1.5e-5 and 1 / 100,001 = 1e-5
    assert seeds_needed(1600) == 16  # exact: 2 / 2**16 = 3.05e-5 <= 3.125e-5
    assert smallest_p(30, n_resamples=999) == 1 / 1000


# ---- comparisons and decisions --------------------------------------------------------------------------------

def test_strong_effect_over_eight_seeds_rejects_null_does_not():
    rng = np.random.default_rng(0)
    glm = 0.90 + rng.normal(0, 0.01, 8)
    recs = _records({("glm", "faithfulness_correlation"): glm,
                     ("mlp", "faithfulness_correlation"): glm - 0.3 + rng.normal(0, 0.01, 8),  # lower: harder
                     ("glm", "method_agreement"): glm,
                     ("mlp", "method_agreement"): glm + rng.normal(0, 0.05, 8)})             # null
    c = compare_hypotheses(recs, hypotheses=H1_ONLY).set_index("measure")
    strong, null = c.loc["faithfulness_correlation"], c.loc["method_agreement"]
    assert strong["p_value"] == 1 / 128 and strong["p_adjusted"] == 2 / 128 and strong["m"] == 2
    assert strong["decision"] == "harder" and strong["can_reject"]
    assert strong["ci_high"] < 0 and strong["effect"] == pytest.approx(np.mean(recs.value[8:16].to_numpy() - glm))
    assert null["decision"] in ("inconclusive", "equivalent") and null["p_adjusted"] > 0.05


def test_direction_decides_harder_or_easier():
    recs = _records({("glm", "features_for_90"): [6.0, 6.2, 5.8, 6.1, 5.9, 6.0, 6.3, 5.7],
                     ("mlp", "features_for_90"): [2.0, 2.1, 1.9, 2.0, 2.0, 2.2, 1.8, 2.0]})  # fewer: easier
    c = compare_hypotheses(recs, hypotheses=H1_ONLY)
    assert c["decision"].tolist() == ["easier"] and c["effect"].iloc[0] < 0


def test_five_seeds_are_flagged_as_unable_to_reject():
    recs = _records({("glm", "faithfulness_correlation"): [0.9] * 5,
                     ("mlp", "faithfulness_correlation"): [0.3, 0.31, 0.29, 0.3, 0.32]})
    row = compare_hypotheses(recs, hypotheses=H1_ONLY).iloc[0]
    assert row["p_value"] == 1 / 16 and not row["can_reject"] and row["decision"] == "inconclusive"
    assert "too few seeds to reject" in row["note"] and "at least 6 seeds" in row["note"]
    text = hypothesis_verdicts(compare_hypotheses(recs, hypotheses=H1_ONLY), hypotheses=H1_ONLY)[0]["text"]
    assert "cannot reject whatever the data" in text


def test_equivalence_and_invalid_ranges_in_comparisons():
    rng = np.random.default_rng(1)
    glm = 0.5 + rng.normal(0, 0.1, 10)
    recs = _records({("glm", "refit_stability"): glm, ("nam", "refit_stability"): glm + rng.normal(0, 0.002, 10),
                     ("glm", "interaction_strength"): [0.2] * 10, ("nam", "interaction_strength"): [3.1] * 10})
    c = compare_hypotheses(recs, hypotheses=HYPOTHESES).set_index("measure")
    assert c.loc["refit_stability", "decision"] == "equivalent"
    assert c.loc["interaction_strength", "decision"] == "invalid"  # a "share of variance" of 3.1
    h3 = hypothesis_verdicts(compare_hypotheses(recs), hypotheses=HYPOTHESES)[2]
    assert h3["answer"] == "supported" and h3["by_measure"]["interaction_strength"] == "inconclusive"
    assert "invalid" in h3["text"]


def test_only_explainability_measures_enter_the_verdict():
    recs = _records({(f, m): [0.5 + 0.1 * (f == "mlp") + 1e-16 * s for s in range(8)]
                     for f in ("glm", "mlp") for m in ("additivity_gap", "seconds_per_row", "exact",
                                                       "deletion_normalised", "accuracy", "deletion_vs_random")})
    c = compare_hypotheses(recs, hypotheses=H1_ONLY)
    assert c["measure"].tolist() == ["deletion_vs_random"]
    roles = {e["measure"]: e["role"] for e in excluded_measures(recs)}
    assert roles == {"additivity_gap": "check", "seconds_per_row": "cost", "exact": "check",
                     "deletion_normalised": "duplicate", "accuracy": "context"}
    gaps = _records({("glm", "additivity_gap"): [5.86e-16, 2e-16], ("mlp", "additivity_gap"): [1e-3, 0.0]})
    check = additivity_check(gaps).set_index("family")
    assert not check.loc["glm", "failed"] and check.loc["mlp", "failed"]


def test_pairs_by_seed_and_rejects_bad_records():
    a = _records({("glm", "method_agreement"): [0.9, 0.8, 0.7], ("mlp", "method_agreement"): [0.5, 0.4, 0.3]})
    shuffled = a.sample(frac=1.0, random_state=0)
    shuffled = pd.concat([shuffled, pd.DataFrame([dict(dataset="d", family="mlp", seed=9,
                                                        measure="method_agreement", value=0.1)])])
    row = compare_hypotheses(shuffled, hypotheses=H1_ONLY).iloc[0]
    assert row["n"] == 3 and row["seeds"] == [0, 1, 2] and row["effect"] == pytest.approx(-0.4)
    with pytest.raises(DataError, match="missing"):
        compare_hypotheses(a.drop(columns="seed"))


def test_holm_runs_within_each_hypothesis():
    rng = np.random.default_rng(2)
    base = 0.9 + rng.normal(0, 0.01, 8)
    recs = _records({("glm", "faithfulness_correlation"): base, ("mlp", "faithfulness_correlation"): base - 0.3,
                     ("random_forest", "faithfulness_correlation"): base - 0.1})
    c = compare_hypotheses(recs)
    h1, h2 = c[c.hypothesis == "H1"], c[c.hypothesis == "H2"]
    assert h1["m"].unique().tolist() == [1] and h2["m"].unique().tolist() == [1]
    np.testing.assert_allclose(h1["p_adjusted"], holm(h1["p_value"]))


# ---- answers and protocol sensitivity -------------------------------------------------------------------------

def test_answer_rule():
    assert answer(["harder", "inconclusive"], "harder") == "supported"
    assert answer(["harder", "easier"], "harder") == "mixed"
    assert answer(["equivalent"], "not_easier") == "supported"
    assert answer(["equivalent", "harder"], "equivalent") == "mixed"
    assert answer(["inconclusive", "invalid"], "harder") == "inconclusive"


def test_verdict_text_names_test_correction_effects_and_changes():
    rng = np.random.default_rng(0)
    glm = 0.9 + rng.normal(0, 0.01, 8)
    recs = _records({("glm", "faithfulness_correlation"): glm, ("mlp", "faithfulness_correlation"): glm - 0.3})
    v = hypothesis_verdicts(compare_hypotheses(recs, hypotheses=H1_ONLY), hypotheses=H1_ONLY)[0]
    assert v["answer"] == "supported"
    for phrase in ("exact sign-flip permutation test", "Holm correction over the 1 comparisons", "d_z",
                   "[-0.3", "What would change it:", "weakest decision"):
        assert phrase in v["text"], phrase


def _two_protocols(flip: bool):
    rng = np.random.default_rng(4)
    glm = 0.5 + rng.normal(0, 0.01, 8)
    p1 = _records({("glm", "deletion_vs_random"): glm, ("mlp", "deletion_vs_random"): glm + 0.3}, protocol="sample")
    shift = rng.normal(0, 0.2, 8) if flip else 0.3
    p2 = _records({("glm", "deletion_vs_random"): glm, ("mlp", "deletion_vs_random"): glm + shift}, protocol="zero")
    return compare_hypotheses(pd.concat([p1, p2]), hypotheses=H1_ONLY)


def test_protocol_sensitivity_says_when_the_answer_flips():
    robust = protocol_sensitivity(_two_protocols(False))
    assert len(robust) == 1 and robust[0]["robust"] and robust[0]["decisions"] == {"sample": "harder",
                                                                                  "zero": "harder"}
    comps = _two_protocols(True)
    flipped = protocol_sensitivity(comps)[0]
    assert not flipped["robust"] and flipped["decisions"]["sample"] == "harder"
    assert flipped["decisions"]["zero"] != "harder" and "harder under sample" in flipped["flip"]
    by_protocol = answers_by_protocol(comps, hypotheses=H1_ONLY)[0]
    assert by_protocol["answers"]["sample"] == "supported" and not by_protocol["robust"]
    text = hypothesis_verdicts(comps, hypotheses=H1_ONLY, sensitivity=protocol_sensitivity(comps))[0]["text"]
    assert "depends on the protocol" in text and "change their decision with the protocol" in text


def test_margins_are_stated_for_every_verdict_measure():
    for name, spec in MEASURE_SPECS.items():
        if spec.role == "explainability":
            assert spec.margin and spec.margin > 0 and spec.direction in ("higher", "lower"), name
        else:
            assert spec.reason, name


def test_answer_over_measures_equals_the_answer_over_all_their_decisions():
    """A measure whose comparisons go both ways ("mixed") holds evidence against the claim: the overall answer is
    that of all decisions pooled (H2 came out "supported" with 12 comparisons deciding "easier" before)."""
    from explain.study._answer import _overall

    labels = ["harder", "easier", "equivalent", "inconclusive", "invalid"]
    rng = np.random.default_rng(0)
    for claim in ("harder", "not_easier", "equivalent"):
        for _ in range(200):
            by_measure = {f"m{i}": list(rng.choice(labels, size=rng.integers(1, 4))) for i in range(3)}
            pooled = [d for ds in by_measure.values() for d in ds]
            assert _overall({m: answer(ds, claim) for m, ds in by_measure.items()}) == answer(pooled, claim)
    assert _overall({"a": "supported", "b": "mixed"}) == "mixed"
