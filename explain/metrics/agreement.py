"""Agreement between two explanations of the same rows (Krishna et al. 2022, "The Disagreement Problem").

Top-k sets and rankings are by absolute attribution, ties broken by feature
order; signs compare np.sign (so two zeros agree). Rank correlation and
pairwise rank agreement compare the importance orderings (|a|) over all
features; two identical explanations score 1 on every measure.

Ties in pairwise rank agreement follow Krishna et al.'s reference code: for
each pair j < l the boolean "rank_j < rank_l" (rank 1 = largest |a|, tied
features share an average rank) is compared between the two explanations. A
pair tied in one explanation is False there, so it agrees with a pair ordered
l-before-j in the other and disagrees with j-before-l. Zero pixels tie often;
a three-way comparison (tie as its own outcome) would score such pairs lower.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement", "rank_correlation",
           "pairwise_rank_agreement", "AGREEMENT_METRICS", "agreement", "agreement_matrix", "agreement_matrices",
           "flat_stderr", "within_error_share", "agreement_within_error"]


def _top(A: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-np.abs(A), axis=1, kind="stable")[:, :k]


def feature_agreement(A, B, k):
    """|top_k(A) & top_k(B)| / k per row."""
    ta, tb = _top(A, k), _top(B, k)
    return np.array([len(set(a) & set(b)) / k for a, b in zip(ta, tb)])


def rank_agreement(A, B, k):
    """Share of the k positions holding the same feature."""
    return (_top(A, k) == _top(B, k)).mean(axis=1)


def sign_agreement(A, B, k):
    """Share of k: features in both top-k sets with the same sign in both."""
    ta, tb = _top(A, k), _top(B, k)
    out = []
    for i, (a, b) in enumerate(zip(ta, tb)):
        common = set(a) & set(b)
        out.append(sum(np.sign(A[i, j]) == np.sign(B[i, j]) for j in common) / k)
    return np.array(out)


def signed_rank_agreement(A, B, k):
    """Share of the k positions with the same feature and the same sign."""
    ta, tb = _top(A, k), _top(B, k)
    same = ta == tb
    sa = np.sign(np.take_along_axis(A, ta, axis=1))
    sb = np.sign(np.take_along_axis(B, ta, axis=1))
    return (same & (sa == sb)).mean(axis=1)


def rank_correlation(A, B, k=None):
    """Spearman correlation of |A| and |B| over all features, per row (1 when the rankings are identical)."""
    out = []
    for a, b in zip(np.abs(A), np.abs(B)):
        ra, rb = rankdata(a), rankdata(b)
        if np.array_equal(ra, rb):
            out.append(1.0)
            continue
        ra, rb = ra - ra.mean(), rb - rb.mean()
        denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
        out.append(float((ra * rb).sum() / denom) if denom > 0 else 0.0)
    return np.array(out)


PAIR_BLOCK = 1 << 22  # feature-pair comparisons built at once (rows x pairs), so memory does not grow with d^2


def pairwise_rank_agreement(A, B, k=None):
    """Share of feature pairs (j < l) with the same boolean ``rank_j < rank_l`` in both (see module notes).

    The d (d - 1) / 2 pairs are compared in blocks of rows and of j (at most PAIR_BLOCK at once)."""
    n, d = A.shape
    if d < 2:
        return np.full(n, np.nan)
    ra, rb = rankdata(-np.abs(A), axis=1), rankdata(-np.abs(B), axis=1)
    same = np.zeros(n)
    rows_step = max(1, PAIR_BLOCK // d)
    for r0 in range(0, n, rows_step):
        rows = slice(r0, r0 + rows_step)
        a, b = ra[rows], rb[rows]
        step = max(1, PAIR_BLOCK // (a.shape[0] * d))
        for j0 in range(0, d - 1, step):
            j1 = min(d - 1, j0 + step)
            later = np.arange(j0 + 1, d)[None, :] > np.arange(j0, j1)[:, None]  # l > j
            agree = (a[:, j0:j1, None] < a[:, None, j0 + 1:]) == (b[:, j0:j1, None] < b[:, None, j0 + 1:])
            same[rows] += (agree & later).sum(axis=(1, 2))
    return same / (d * (d - 1) / 2)


AGREEMENT_METRICS = {
    "feature_agreement": feature_agreement, "rank_agreement": rank_agreement,
    "sign_agreement": sign_agreement, "signed_rank_agreement": signed_rank_agreement,
    "rank_correlation": rank_correlation, "pairwise_rank_agreement": pairwise_rank_agreement,
}


def agreement(a, b, metric: str = "rank_correlation", k: int | None = None) -> np.ndarray:
    """Per-row agreement between two Explanations (or arrays) of the same rows."""
    A = getattr(a, "flat_values", a)
    B = getattr(b, "flat_values", b)
    A, B = np.asarray(A, float).reshape(len(A), -1), np.asarray(B, float).reshape(len(B), -1)
    if A.shape != B.shape:
        raise ValueError(f"explanations have different shapes {A.shape} and {B.shape}")
    k = min(5, A.shape[1]) if k is None else int(k)
    return AGREEMENT_METRICS[metric](A, B, k)


def agreement_matrix(items, metric: str = "rank_correlation", k: int | None = None):
    """Name x name matrix of one agreement metric (mean over rows) between explanations of the same rows."""
    import pandas as pd

    names = list(items)
    out = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i:]:
            out.loc[a, b] = out.loc[b, a] = float(np.mean(agreement(items[a], items[b], metric, k)))
    return out


def agreement_matrices(result, k: int | None, metrics=None) -> dict:
    """Agreement metrics' method x method matrices for one ExplanationSet (``metrics``: which; default all)."""
    items = dict(result.items())
    return {metric: agreement_matrix(items, metric, k) for metric in AGREEMENT_METRICS
            if metrics is None or metric in metrics}



def flat_stderr(e) -> np.ndarray | None:
    """An Explanation's standard errors as (rows, features), or None for an exact result (or a plain array)."""
    se = getattr(e, "stderr", None)
    return None if se is None else np.asarray(se, float).reshape(len(se), -1)


def within_error_share(A, B, se_a=None, se_b=None, z: float = 1.96) -> np.ndarray:
    """Per row: the share of features whose difference is within sampling error,
    |a - b| <= z sqrt(se_a^2 + se_b^2) (a missing stderr counts as 0: an exact value has no error).

    Two draws of the same sampled estimator should have about 95% of their features within error;
    a share well below that means the disagreement is more than sampling noise.
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    var = sum(np.square(np.asarray(se, float)) for se in (se_a, se_b) if se is not None)
    return (np.abs(A - B) <= z * np.sqrt(var)).mean(axis=1)


def agreement_within_error(e, sc):
    """Mean share per other method of (row, feature) differences within sampling error (None when neither
    e nor any other method of the model sampled: with no stderr every difference is signal)."""
    from ..methods.base import is_control

    others = [m for m in sc.result.methods if m != e.method and not is_control(m)]
    se = flat_stderr(e)
    sampled = [m for m in others if se is not None or flat_stderr(sc.result[m]) is not None]
    if not sampled:
        return None
    return np.array([np.mean(within_error_share(e.flat_values, sc.result[m].flat_values, se,
                                                flat_stderr(sc.result[m]))) for m in sampled])
