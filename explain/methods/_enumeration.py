"""Interventional Shapley values by full enumeration of coalitions.

v(S) = mean over background b of f(x_S, b_notS); phi = W v with the Shapley
weights. Cost: 2^d x |background| model evaluations per row, batched into
one model call per row of at most ``max_batch`` rows. Exact; meant for d <= 12.
"""

from __future__ import annotations

from math import factorial

import numpy as np

__all__ = ["shapley_matrix", "enumerate_shapley"]


def shapley_matrix(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Coalition masks (2^d, d) and the (d, 2^d) matrix W with phi = W @ v."""
    codes = np.arange(2 ** d)
    masks = ((codes[:, None] >> np.arange(d)) & 1).astype(bool)
    sizes = masks.sum(axis=1)
    w = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)] + [0.0])
    # phi_j = sum_{S contains j} w(|S|-1) v(S) - sum_{S lacks j} w(|S|) v(S)
    W = np.where(masks.T, w[np.maximum(sizes - 1, 0)][None, :], -w[sizes][None, :])
    return masks, W


def enumerate_shapley(f, X: np.ndarray, background: np.ndarray, *, max_batch: int = 1 << 18):
    """Exact interventional Shapley values.

    Parameters
    ----------
    f : callable
        ``f(Z) -> (m,)`` on blocks of rows.
    X : ndarray of shape (n, d)
    background : ndarray of shape (m, d)
    max_batch : int
        Largest number of rows sent to ``f`` in one call.

    Returns
    -------
    values : ndarray (n, d)
    base : ndarray (n,)  (v of the empty coalition, the background mean)
    """
    n, d = X.shape
    m = background.shape[0]
    masks, W = shapley_matrix(d)
    n_coal = masks.shape[0]
    v = np.empty((n, n_coal))
    step = max(1, max_batch // m)  # coalitions per call
    # Each model call holds one row's coalitions (up to max_batch rows): a row's values never depend on
    # which other rows are explained with it, not even in the last bit (BLAS results can vary with shape).
    for i in range(n):
        for s0 in range(0, n_coal, step):
            s1 = min(s0 + step, n_coal)
            Z = np.where(masks[s0:s1, None, :], X[i][None, None, :], background[None, :, :]).reshape(-1, d)
            v[i, s0:s1] = np.asarray(f(Z), dtype=float).reshape(s1 - s0, m).mean(axis=1)
    values = np.empty((n, d))
    for i in range(n):
        values[i] = W @ v[i]
    return values, v[:, 0].copy()
