"""Paired tests for the study: exact sign flips, paired t, Wilcoxon, Holm, TOST and effect sizes.

Every function takes the per-seed differences ``d = a - b`` of one comparison
(the same split and the same rows for both families, so the seed pairs them)
and knows nothing about models or measures. The tests recompute with scipy
(``ttest_rel``, ``wilcoxon``) or by enumerating sign patterns by hand.

The exact sign-flip test: under the null hypothesis the distribution of each
paired difference is symmetric about 0, so each of the ``2**n`` sign patterns
is equally likely; the two-sided p-value is the share of patterns whose mean
is at least as far from 0 as the observed one (the identity pattern included),
hence never below ``2 / 2**n`` (1/128 with 8 seeds, 1/16 with 5).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import ParameterError

__all__ = ["TESTS", "EXACT_LIMIT", "sign_flip_p", "paired_p", "holm", "tost_p", "effect", "smallest_p",
           "seeds_needed"]

TESTS = ("sign_flip", "paired_t", "wilcoxon")
EXACT_LIMIT = 16  # up to 2**16 = 65,536 sign patterns are enumerated; more seeds use Monte Carlo
_ALTERNATIVES = ("two-sided", "greater", "less")


def _diffs(d) -> np.ndarray:
    d = np.asarray(d, dtype=float).ravel()
    if not np.all(np.isfinite(d)):
        raise ParameterError("paired differences must be finite: drop the seeds where either family has no value "
                             "before testing.")
    return d


def _patterns(n: int, *, n_resamples: int, random_state) -> tuple[np.ndarray, bool]:
    """All 2**n sign patterns (n <= EXACT_LIMIT) or n_resamples random ones; and whether they are exact."""
    if n <= EXACT_LIMIT:
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(random_state)
    return rng.choice([-1.0, 1.0], size=(n_resamples, n)), False


def sign_flip_p(d, *, alternative: str = "two-sided", n_resamples: int = 20_000, random_state=0) -> float:
    """p-value of the sign-flip permutation test of mean(d) = 0.

    Parameters
    ----------
    d : array-like of shape (n,)
        Paired differences (one per seed).
    alternative : {"two-sided", "greater", "less"}
        "greater" tests whether the mean is above 0.
    n_resamples : int
        Random sign patterns when ``n > EXACT_LIMIT`` (then ``p = (1 + hits) / (1 + n_resamples)``).
    random_state : int
        Seed of those random patterns.

    Returns
    -------
    float
    """
    if alternative not in _ALTERNATIVES:
        raise ParameterError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}.")
    d = _diffs(d)
    n = len(d)
    if n == 0:
        return float("nan")
    signs, exact = _patterns(n, n_resamples=n_resamples, random_state=random_state)
    means = signs @ d / n
    observed = float(d.mean())
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))  # sums in another order must still count as ties
    if alternative == "two-sided":
        hits = int(np.sum(np.abs(means) >= abs(observed) - tol))
    elif alternative == "greater":
        hits = int(np.sum(means >= observed - tol))
    else:
        hits = int(np.sum(means <= observed + tol))
    if exact:
        return hits / len(signs)
    return (1 + hits) / (1 + len(signs))


def paired_p(d, *, test: str = "sign_flip", alternative: str = "two-sided", **options) -> float:
    """p-value of ``test`` ("sign_flip", "paired_t" or "wilcoxon") for mean/median(d) = 0."""
    d = _diffs(d)
    if test == "sign_flip":
        return sign_flip_p(d, alternative=alternative, **options)
    if len(d) < 2:
        return float("nan")
    if test == "paired_t":
        if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):  # no spread (up to round-off): t undefined
            return float("nan") if np.all(np.abs(d) <= 1e-12) else 0.0
        return float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)
    if test == "wilcoxon":
        if np.all(d == 0):
            return 1.0
        return float(stats.wilcoxon(d, alternative=alternative).pvalue)
    raise ParameterError(f"test must be one of {TESTS}, got {test!r}.")


def tost_p(d, margin: float, *, test: str = "sign_flip", **options) -> float:
    """Two one-sided tests of equivalence: the larger p of mean(d) > -margin and mean(d) < +margin.

    Small means the mean difference lies inside ``(-margin, margin)``; the margin
    is the measure's, stated before the run.
    """
    if not margin > 0:
        raise ParameterError(f"an equivalence margin must be positive, got {margin!r}.")
    d = _diffs(d)
    if len(d) == 0:
        return float("nan")
    above = paired_p(d + margin, test=test, alternative="greater", **options)
    below = paired_p(d - margin, test=test, alternative="less", **options)
    return float(max(above, below))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order (NaN stays NaN and is not counted).

    ``p_adj[(i)] = max_{j <= i} min(1, (m - j + 1) p[(j)])`` over the sorted p-values.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def effect(d, *, confidence: float = 0.95) -> dict:
    """Mean paired difference with its t-interval, and the standardised effect d_z = mean / sd.

    Returns
    -------
    dict
        ``effect, ci_low, ci_high, sd, d_z, n`` (interval NaN below 2 pairs; d_z NaN when sd is 0).
    """
    d = _diffs(d)
    n = len(d)
    if n == 0:
        return dict(effect=np.nan, ci_low=np.nan, ci_high=np.nan, sd=np.nan, d_z=np.nan, n=0)
    mean = float(d.mean())
    if n < 2:
        return dict(effect=mean, ci_low=np.nan, ci_high=np.nan, sd=np.nan, d_z=np.nan, n=1)
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
    return dict(effect=mean, ci_low=mean - half, ci_high=mean + half, sd=sd,
                d_z=mean / sd if sd > 0 else np.nan, n=n)


def smallest_p(n: int, test: str = "sign_flip", *, n_resamples: int = 20_000) -> float:
    """The smallest two-sided p-value ``test`` can give with ``n`` pairs (0 for the t-test: no floor).

    Beyond ``EXACT_LIMIT`` pairs the Monte Carlo sign-flip p is at least ``1 / (1 + n_resamples)``.
    """
    if n < 1:
        return 1.0
    if test == "sign_flip" and n > EXACT_LIMIT:
        return max(2.0 / 2.0 ** n, 1.0 / (1 + n_resamples))
    if test in ("sign_flip", "wilcoxon"):  # the exact Wilcoxon floor equals the sign-flip one: 2 / 2**n
        return min(1.0, 2.0 / 2.0 ** n)
    return 0.0 if n >= 2 else 1.0


def seeds_needed(m: int, *, alpha: float = 0.05, test: str = "sign_flip", n_resamples: int = 20_000) -> int | None:
    """The fewest pairs with which the first Holm step over ``m`` comparisons can reject (p <= alpha / m).

    None when no number of pairs can (Monte Carlo with too few ``n_resamples``).
    """
    for n in range(1, 64):
        if smallest_p(n, test, n_resamples=n_resamples) <= alpha / max(m, 1):
            return n
    return None
