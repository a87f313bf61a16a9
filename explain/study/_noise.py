"""Sampling noise of sampled attributions, and the agreement/stability measures discounted for it.

A sampled explanation (KernelSHAP, permutation sampling) carries a standard error per
value. Two noisy rankings correlate less than the exact values would, so a family
explained by sampling (every family on images; the MLP and the NAM on wide tables) would
look less agreeing and less stable than one with a closed form for a reason that is not
the model. The study removes that part with Spearman's correction for attenuation:

    r_corrected = r / sqrt(rel_a * rel_b),   rel = 1 - mean(se^2) / var(|values|)

per row, where ``rel`` (reliability) is the share of the across-feature variance of the
explained row's |attribution| that is not sampling noise (1 for an exact method). The
correction is first-order for a rank correlation (it is exact for Pearson's correlation
of values with independent errors); it is applied per row and the result clipped to
[-1, 1]. Reliabilities below ``MIN_RELIABILITY`` are raised to it, so a row whose
attribution is mostly noise cannot be inflated without bound. The raw correlations are
kept as ``*_raw`` records (descriptive) and the noise share as ``sampling_noise`` (a
check), so a reader sees how much each comparison moved.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reliability", "disattenuate", "noise_share", "MIN_RELIABILITY"]

MIN_RELIABILITY = 0.25


def reliability(values, stderr) -> np.ndarray:
    """Per row: the share of the across-feature variance of |values| that is not sampling noise, in [0, 1].

    ``stderr`` None (an exact or deterministic method) gives 1 for every row.

    >>> reliability(np.array([[1.0, 2.0, 3.0]]), None)
    array([1.])
    >>> reliability(np.array([[1.0, 2.0, 3.0]]), np.full((1, 3), 0.5))  # var 1, noise 0.25
    array([0.75])
    """
    a = np.abs(np.asarray(values, dtype=float))
    if stderr is None:
        return np.ones(len(a))
    se = np.asarray(stderr, dtype=float).reshape(a.shape)
    var = a.var(axis=1, ddof=1) if a.shape[1] > 1 else np.zeros(len(a))
    noise = np.nanmean(se * se, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(var > 0, 1.0 - noise / var, 1.0)
    return np.clip(np.nan_to_num(rel, nan=1.0), 0.0, 1.0)


def noise_share(values, stderr) -> float:
    """Mean over rows of 1 - reliability: 0 for exact values."""
    return float(np.mean(1.0 - reliability(values, stderr)))


def disattenuate(r, rel_a, rel_b) -> np.ndarray:
    """Spearman's correction for attenuation, per row, clipped to [-1, 1].

    >>> disattenuate(np.array([0.5]), np.array([1.0]), np.array([0.25]))
    array([1.])
    >>> disattenuate(np.array([0.4]), np.array([1.0]), np.array([1.0]))
    array([0.4])
    """
    rel = np.maximum(np.asarray(rel_a, float) * np.asarray(rel_b, float), MIN_RELIABILITY)
    return np.clip(np.asarray(r, float) / np.sqrt(rel), -1.0, 1.0)
