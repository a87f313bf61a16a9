"""Interventional Shapley values by full enumeration of coalitions.

v(S) = mean over background b of f(x_S, b_notS); phi = W v with the Shapley
weights. Cost: 2^d x |background| model evaluations per row, batched into
blocks of at most ``max_batch`` rows per model call. Exact; meant for d <= 12.
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
    step = max(1, max_batch // m)  # coalitions per chunk
    pairs = [(i, s) for i in range(n) for s in range(0, n_coal, step)]
    # Group (row, coalition-chunk) pairs so that each model call holds ~max_batch rows.
    batch, batch_rows = [], 0
    for i, s0 in pairs + [(None, None)]:
        if i is not None:
            s1 = min(s0 + step, n_coal)
            batch.append((i, s0, s1))
            batch_rows += (s1 - s0) * m
        if batch and (i is None or batch_rows >= max_batch):
            Z = np.concatenate([np.where(masks[s0:s1, None, :], X[i][None, None, :], background[None, :, :])
                                .reshape(-1, d) for i, s0, s1 in batch])
            out = np.asarray(f(Z), dtype=float)
            pos = 0
            for i, s0, s1 in batch:
                k = (s1 - s0) * m
                v[i, s0:s1] = out[pos:pos + k].reshape(s1 - s0, m).mean(axis=1)
                pos += k
            batch, batch_rows = [], 0
    return v @ W.T, v[:, 0].copy()
