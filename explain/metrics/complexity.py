"""Complexity: how concentrated are the attributions? Entropy (Bhatt et al. 2020) and Gini sparseness
(Chalasani et al. 2020), per row; a row of zeros has no defined value (NaN)."""

from __future__ import annotations

import numpy as np

__all__ = ["entropy", "sparseness", "features_for_90"]


def entropy(e, ctx=None) -> np.ndarray:
    """-sum p log p with p = |a| / sum |a| (0 log 0 = 0)."""
    a = np.abs(e.flat_values)
    total = a.sum(axis=1, keepdims=True)
    p = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return np.where(total[:, 0] > 0, h, np.nan)


def sparseness(e, ctx=None) -> np.ndarray:
    """Gini index of |a| sorted ascending: sum (2i - d - 1) x_i / (d sum x)."""
    a = np.sort(np.abs(e.flat_values), axis=1)
    d = a.shape[1]
    total = a.sum(axis=1)
    i = np.arange(1, d + 1)
    g = ((2 * i - d - 1) * a).sum(axis=1)
    return np.divide(g, d * total, out=np.full_like(total, np.nan), where=total > 0)


def features_for_90(e, ctx=None, share: float = 0.9) -> np.ndarray:
    """How many features (largest |a| first) carry ``share`` of sum |a|, per row; NaN for a zero row."""
    a = -np.sort(-np.abs(e.flat_values), axis=1)
    total = a.sum(axis=1, keepdims=True)
    cum = np.divide(np.cumsum(a, axis=1), total, out=np.zeros_like(a), where=total > 0)
    k = (cum < share - 1e-12).sum(axis=1) + 1.0
    return np.where(total[:, 0] > 0, k, np.nan)
