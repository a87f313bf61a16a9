"""ALE of a categorical feature (Apley & Zhu 2020, section 5.2; the ALEPlot approach): order, then accumulate.

Categories have no order, and ALE accumulates differences between *adjacent* values, so an order is chosen
first, from the data alone (never from the model): two categories are close when the rows holding them look
alike on every other feature.

- **Distance** between categories a and b: the sum over the other features of the distance between their
  distributions in the rows with ``x_j = a`` and the rows with ``x_j = b``: the Kolmogorov-Smirnov statistic
  (largest gap between the two empirical CDFs) for a numeric feature, the total-variation distance (half the
  L1 distance between the category frequencies) for a categorical one; missing values are left out of each
  distribution. This is ALEPlot's distance.
- **Order**: the categories sorted by their coordinate in a one-dimensional classical multidimensional scaling
  of that distance matrix (the leading eigenvector of the double-centred squared distances, as ALEPlot's
  ``cmdscale(k = 1)``); ties keep the categories' own order. The direction is fixed so that, of the two ends,
  the category that comes first in the column's own categories comes first. Reversing the order changes no
  value of the centred curve (each step is the same difference, walked the other way).
- **Effects**: for adjacent categories ``c_k, c_{k+1}`` in that order, the rows holding ``c_k`` are moved up
  (``f(x with c_{k+1}) - f(x)``) and the rows holding ``c_{k+1}`` are moved down (``f(x) - f(x with c_k)``);
  the step is the mean of both groups' differences. The uncentred curve is 0 at the first category and the
  cumulative sum of the steps after it; it is then centred by the count-weighted mean over the categories.

For a model additive in the explained space with a term ``g(c)`` for the feature, every difference is
``g(c_{k+1}) - g(c_k)`` exactly, so the curve's steps are the term's differences (a one-hot GLM in its link
space: the coefficient differences).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ._common import predict_batched

__all__ = ["category_distances", "category_order", "categorical_effects"]


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic of two samples (0 when either is empty)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def _tv(a: np.ndarray, b: np.ndarray, n_levels: int) -> float:
    """Total-variation distance of two samples of category codes (0 when either is empty)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    pa = np.bincount(a.astype(np.int64), minlength=n_levels) / a.size
    pb = np.bincount(b.astype(np.int64), minlength=n_levels) / b.size
    return float(0.5 * np.abs(pa - pb).sum())


def category_distances(X: np.ndarray, j: int, levels: np.ndarray, categorical: np.ndarray,
                       n_levels: np.ndarray) -> np.ndarray:
    """(K, K) distances between the categories ``levels`` of column j, from the other columns of ``X``.

    ``categorical`` marks the categorical columns and ``n_levels`` gives their number of categories.
    """
    K = len(levels)
    D = np.zeros((K, K))
    groups = [X[X[:, j] == c] for c in levels]
    for k in range(X.shape[1]):
        if k == j:
            continue
        cols = [g[:, k][~np.isnan(g[:, k])] for g in groups]
        for a in range(K):
            for b in range(a + 1, K):
                d = _tv(cols[a], cols[b], int(n_levels[k])) if categorical[k] else _ks(cols[a], cols[b])
                D[a, b] += d
                D[b, a] += d
    return D


def category_order(D: np.ndarray) -> np.ndarray:
    """Positions 0..K-1 sorted by the one-dimensional classical MDS coordinate of the distances ``D``."""
    K = D.shape[0]
    if K <= 2:
        return np.arange(K)
    J = np.eye(K) - 1.0 / K
    B = -0.5 * J @ (D ** 2) @ J
    w, v = np.linalg.eigh(B)
    coord = v[:, -1] * np.sqrt(max(w[-1], 0.0))
    coord = np.round(coord, 12)  # equal distances give equal coordinates, not rounding noise
    order = np.argsort(coord, kind="stable")
    if order[-1] < order[0]:  # of the two ends, the one first among the column's categories comes first
        order = np.argsort(-coord, kind="stable")
    return order


def categorical_effects(f, X: np.ndarray, j: int, codes: np.ndarray, name: str):
    """Steps, centred values and counts of the categories ``codes`` (already ordered) of column j."""
    x = X[:, j]
    counts = np.array([np.sum(x == c) for c in codes], dtype=np.int64)
    pos = np.searchsorted(codes, x, sorter=np.argsort(codes))
    pos = np.argsort(codes)[pos]  # each row's position in the order
    up, down = pos < len(codes) - 1, pos > 0
    high, low = X[up].copy(), X[down].copy()
    high[:, j] = codes[pos[up] + 1]
    low[:, j] = codes[pos[down] - 1]
    out = predict_batched(f, np.vstack([X, high, low]))
    fx, fh, fl = out[:len(x)], out[len(x):len(x) + up.sum()], out[len(x) + up.sum():]
    K = len(codes)
    sums = np.bincount(pos[up], weights=fh - fx[up], minlength=K)[:K - 1] \
        + np.bincount(pos[down] - 1, weights=fx[down] - fl, minlength=K)[:K - 1]
    effects = sums / (counts[:-1] + counts[1:])
    curve = np.concatenate([[0.0], np.cumsum(effects)])
    if counts.sum() == 0:
        raise DataError(f"accumulated_local_effects(): {name!r} has no rows.")
    values = curve - float(np.sum(curve * counts) / counts.sum())
    return effects, values, counts
