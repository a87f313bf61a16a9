"""The study's discount for sampling noise (issue 24, item 7): agreement and stability measures of sampled
attributions are corrected for attenuation; exact ones are left as they are.

The reference is a simulation with a known truth: two noisy copies of the same attributions
(independent errors of known standard deviation) should, after the discount, agree about as
well as the truth agrees with itself, and measurably better than before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explain.metrics.agreement import rank_correlation
from explain.study._noise import disattenuate, noise_share, reliability
from explain.study._run import refit_stability


def _noisy_copies(sd, rows=400, d=20, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.5, 3.0, size=(rows, d)) * rng.choice([-1, 1], size=(rows, d))
    a, b = truth + rng.normal(0, sd, truth.shape), truth + rng.normal(0, sd, truth.shape)
    return truth, a, b, np.full(truth.shape, sd)


def test_reliability_is_the_noise_free_share_of_variance():
    truth, a, _, se = _noisy_copies(0.3)
    expected = np.abs(truth).var(axis=1, ddof=1).mean() / np.abs(a).var(axis=1, ddof=1).mean()
    assert reliability(a, se).mean() == pytest.approx(expected, abs=0.03)
    assert noise_share(a, None) == 0.0 and np.all(reliability(a, None) == 1.0)


@pytest.mark.parametrize("sd", [0.2, 0.4])
def test_discount_recovers_the_agreement_of_the_truth(sd):
    truth, a, b, se = _noisy_copies(sd)
    raw = rank_correlation(a, b).mean()
    fixed = disattenuate(rank_correlation(a, b), reliability(a, se), reliability(b, se)).mean()
    assert raw < 0.95  # the noise costs agreement ...
    assert fixed == pytest.approx(rank_correlation(truth, truth).mean(), abs=0.04)  # ... and the discount returns it
    assert fixed > raw


def test_exact_attributions_are_not_discounted():
    _, a, b, _ = _noisy_copies(0.3)  # two different but exact (no stderr) attributions
    r = rank_correlation(a, b)
    np.testing.assert_array_equal(disattenuate(r, reliability(a, None), reliability(b, None)), r)


def test_mostly_noise_is_not_inflated_without_bound():
    truth, a, b, se = _noisy_copies(5.0)
    fixed = disattenuate(rank_correlation(a, b), reliability(a, se), reliability(b, se))
    assert np.all(np.abs(fixed) <= 1.0)
    assert fixed.mean() <= 2 * max(rank_correlation(a, b).mean(), 0.05)  # bounded by MIN_RELIABILITY


def test_refit_stability_keeps_raw_and_discounted_records_per_disjoint_pair():
    truth, _, _, se = _noisy_copies(0.3, rows=50)
    rng = np.random.default_rng(1)
    copies = [(truth, truth + rng.normal(0, 0.3, truth.shape), None, se) for _ in range(4)]  # refits: same truth
    by_seed = {s: (c[1], c[3]) for s, c in enumerate(copies)}
    recs = pd.DataFrame(refit_stability("d", "mlp", "p", by_seed))
    assert sorted(recs.seed.unique()) == [0, 2]  # pairs (0, 1) and (2, 3)
    wide = recs.pivot(index="seed", columns="measure", values="value")
    assert (wide.refit_stability >= wide.refit_stability_raw).all()
    exact = pd.DataFrame(refit_stability("d", "glm", "p", {s: (c[1], None) for s, c in enumerate(copies)}))
    wide = exact.pivot(index="seed", columns="measure", values="value")
    np.testing.assert_array_equal(wide.refit_stability, wide.refit_stability_raw)


def test_the_threats_name_the_pairs_whose_attributions_are_mostly_noise():
    from explain.study._verdict import noise_threat

    rows = [dict(dataset="d", family=f, protocol=p, measure="sampling_noise", seed=s, value=v if p == "shapley_sample"
                 else 0.0) for f, v in (("mlp", 0.7), ("glm", 0.0)) for p in ("shapley_sample", "occlusion_mean")
            for s in range(4)]
    text = noise_threat(pd.DataFrame(rows))
    assert len(text) == 1 and "d / mlp 0.70" in text[0] and "1 of 2" in text[0] and "glm" not in text[0]
    assert noise_threat(pd.DataFrame(rows).assign(value=0.1)) == []
