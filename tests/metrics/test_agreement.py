"""Agreement metrics on hand-worked examples, ties and zeros included."""

from __future__ import annotations

import numpy as np
import pytest

from explain.metrics.agreement import AGREEMENT_METRICS, agreement


def test_identical_explanations_score_one():
    A = np.random.default_rng(0).normal(size=(5, 7))
    for metric in AGREEMENT_METRICS:
        np.testing.assert_allclose(agreement(A, A.copy(), metric, k=3), 1.0)


def test_hand_worked_example():
    # |A| order: f0 > f1 > f2 > f3 ; |B| order: f1 > f0 > f3 > f2, f0 has the opposite sign in B
    A = np.array([[4.0, 3.0, 2.0, 1.0]])
    B = np.array([[-3.0, 4.0, 1.0, 2.0]])
    assert agreement(A, B, "feature_agreement", k=2)[0] == 1.0          # {0,1} both
    assert agreement(A, B, "rank_agreement", k=2)[0] == 0.0             # positions swapped
    assert agreement(A, B, "sign_agreement", k=2)[0] == 0.5             # f1 same sign, f0 not
    assert agreement(A, B, "signed_rank_agreement", k=2)[0] == 0.0
    # Spearman of ranks (4,3,2,1) vs (3,4,1,2): d^2 = 1+1+1+1 = 4 -> 1 - 6*4/(4*15) = 0.6
    assert agreement(A, B, "rank_correlation")[0] == pytest.approx(0.6)
    # 6 pairs, discordant: (0,1) and (2,3) -> 4/6
    assert agreement(A, B, "pairwise_rank_agreement")[0] == pytest.approx(4 / 6)


def test_ties_and_zeros():
    A = np.array([[0.0, 0.0, 1.0, 1.0]])
    B = np.array([[0.0, 0.0, 1.0, -1.0]])
    # ties broken by feature order: top-2 of both is (2, 3)
    assert agreement(A, B, "feature_agreement", k=2)[0] == 1.0
    assert agreement(A, B, "rank_agreement", k=2)[0] == 1.0
    assert agreement(A, B, "sign_agreement", k=2)[0] == 0.5
    # zeros share sign 0: top-3 includes feature 0 in both
    assert agreement(A, B, "sign_agreement", k=3)[0] == pytest.approx(2 / 3)
    # |A| == |B|: identical importance orderings, ties included
    assert agreement(A, B, "rank_correlation")[0] == 1.0
    assert agreement(A, B, "pairwise_rank_agreement")[0] == 1.0
    zeros = np.zeros((1, 4))
    assert agreement(zeros, zeros, "rank_correlation")[0] == 1.0


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match="different shapes"):
        agreement(np.zeros((2, 3)), np.zeros((2, 4)))
