"""Pairwise indices of the interventional game by enumeration (few players) or by sampling (many).

The game of one explained row x is v(S) = mean_b f(x_S, b_rest) over background
rows b, with players = columns or groups of columns (``col_player``). For a pair
(i, j) and S not containing either, D_ij(S) = v(S+i+j) - v(S+i) - v(S+j) + v(S).

- SII (Grabisch & Roubens): sum_S |S|!(p-|S|-2)!/(p-1)! D_ij(S).
- STII, order 2 (Sundararajan et al.): sum_S 2/(p C(p-1, |S|)) D_ij(S).

Both weights are probability distributions over S (given its size s, every S is
equally likely): P(s) = 1/(p-1) for SII and 2(p-1-s)/(p(p-1)) for STII. So an
index is the mean of D_ij(S) under that distribution, which the sampler estimates
stratified by size, with its standard error.
"""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np

__all__ = ["pair_weights", "enumerate_game", "indices_from_table", "first_order", "sample_indices",
           "MAX_ROWS_PER_CALL"]

MAX_ROWS_PER_CALL = 1 << 18  # hybrid rows per model call (bounded memory)


def pair_weights(p: int, index: str) -> np.ndarray:
    """Weight of D_ij(S) by |S| = 0..p-2."""
    s = np.arange(max(p - 1, 0))
    if index == "SII":
        return np.array([factorial(k) * factorial(p - k - 2) / factorial(p - 1) for k in s], dtype=float)
    return np.array([2.0 / (p * comb(p - 1, int(k))) for k in s], dtype=float)


def _hybrids(x, background, col_in):
    """Rows x on the columns where ``col_in`` is True, each background row elsewhere: (len(col_in) * m, d)."""
    return np.where(col_in[:, None, :], x[None, None, :], background[None, :, :]).reshape(-1, x.shape[0])


def _game_values(f, x, background, col_in) -> np.ndarray:
    """v(S) for the coalitions given as column masks ``col_in`` (k, d): shape (k,)."""
    m = background.shape[0]
    step = max(1, MAX_ROWS_PER_CALL // max(1, m))
    out = np.empty(col_in.shape[0])
    for s in range(0, col_in.shape[0], step):
        block = col_in[s:s + step]
        out[s:s + step] = np.asarray(f(_hybrids(x, background, block)), dtype=float).reshape(len(block), m).mean(1)
    return out


def _player_masks(p: int) -> np.ndarray:
    masks = np.arange(1 << p)
    return ((masks[:, None] >> np.arange(p)) & 1).astype(bool)


def enumerate_game(f, X, background, col_player, p) -> np.ndarray:
    """v(S) for every row and every coalition (bit j of the index = player j): shape (n, 2^p)."""
    in_S = _player_masks(p)
    col_in = in_S[:, col_player]
    return np.stack([_game_values(f, x, background, col_in) for x in X])


def indices_from_table(v: np.ndarray, p: int, index: str) -> np.ndarray:
    """The (n, p, p) matrix from coalition values: pairs off the diagonal, order-1 values on it.

    The diagonal holds the order-1 values of the index: Shapley values for SII,
    v({i}) - v({}) for STII.
    """
    n = v.shape[0]
    masks = np.arange(1 << p)
    size = np.array([bin(int(m)).count("1") for m in masks])
    out = np.zeros((n, p, p))
    w2 = pair_weights(p, index)
    for i in range(p):
        bi = 1 << i
        if index == "SII":
            w1 = np.array([factorial(k) * factorial(p - k - 1) / factorial(p) for k in range(p)])
            S = masks[(masks & bi) == 0]
            out[:, i, i] = (v[:, S | bi] - v[:, S]) @ w1[size[S]]
        else:
            out[:, i, i] = v[:, bi] - v[:, 0]
        for j in range(i + 1, p):
            bj = 1 << j
            S = masks[(masks & (bi | bj)) == 0]
            D = v[:, S | bi | bj] - v[:, S | bi] - v[:, S | bj] + v[:, S]
            out[:, i, j] = out[:, j, i] = D @ w2[size[S]]
    return out


def _singletons(col_player, p) -> np.ndarray:
    """Column masks of the empty coalition and of each single player: (p + 1, d)."""
    col_in = np.zeros((p + 1, len(col_player)), dtype=bool)
    for i in range(p):
        col_in[i + 1] = col_player == i
    return col_in


def first_order(f, X, background, col_player, p) -> np.ndarray:
    """v({i}) - v({}) for every row and player: (n, p), p x |background| model rows per explained row."""
    col_in = _singletons(col_player, p)
    out = np.empty((X.shape[0], p))
    for k, x in enumerate(X):
        v = _game_values(f, x, background, col_in)
        out[k] = v[1:] - v[0]
    return out


def _size_probabilities(p: int, index: str, order: int) -> np.ndarray:
    """P(|S| = s) for s = 0..p-1-order under the index's weights (order 1: Shapley)."""
    if order == 1:
        return np.full(p, 1.0 / p)
    if index == "SII":
        return np.full(p - 1, 1.0 / (p - 1))
    s = np.arange(p - 1)
    return 2.0 * (p - 1 - s) / (p * (p - 1))


def _random_subsets(rng, n_draws, p, exclude, size):
    """``n_draws`` coalitions (bool (n_draws, p)) of ``size`` players, uniform among subsets avoiding ``exclude``."""
    keys = rng.random((n_draws, p))
    keys[:, list(exclude)] = np.inf
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    return rank < size


def _all_subsets(p, exclude, size):
    """Every coalition of ``size`` players avoiding ``exclude``, as bool rows."""
    others = [k for k in range(p) if k not in exclude]
    out = np.zeros((comb(len(others), size), p), dtype=bool)
    for r, S in enumerate(itertools.combinations(others, size)):
        out[r, list(S)] = True
    return out


def _strata(rng, p, exclude, probs, n_samples):
    """Coalitions by size (one stratum per size): (P(size), coalitions, exact?) with proportional allocation.

    A stratum with no more coalitions than its share of draws is enumerated (no variance); the others get
    at least two uniform draws with replacement, so each has a variance estimate.
    """
    out = []
    for size, prob in enumerate(probs):
        if prob == 0.0:
            continue
        count = comb(p - len(exclude), size)
        draws = max(2, int(round(prob * n_samples)))
        if count <= draws:
            out.append((prob, _all_subsets(p, exclude, size), True))
        else:
            out.append((prob, _random_subsets(rng, draws, p, exclude, size), False))
    return out


def sample_indices(f, x, background, col_player, p, index, n_samples, rng) -> tuple[np.ndarray, np.ndarray]:
    """Stratified Monte Carlo estimate of one row's (p, p) matrix and its standard errors.

    For each pair (and each player on the diagonal, for SII's Shapley values) the coalitions are stratified
    by size: stratum s has the index's weight P(s) and about ``P(s) n_samples`` uniform draws (small strata
    are enumerated), so the estimate sum_s P(s) mean_s D is unbiased and its standard error is
    sqrt(sum_s P(s)^2 var_s / n_s). STII's diagonal v({i}) - v({}) is computed exactly.
    """
    values = np.zeros((p, p))
    stderr = np.zeros((p, p))
    jobs = []  # ((i, j), strata with their coalitions as the four (or two) terms of D)
    probs2 = _size_probabilities(p, index, 2)
    for i in range(p):
        for j in range(i + 1, p):
            terms = []
            for prob, S, exact in _strata(rng, p, (i, j), probs2, n_samples):
                Si, Sj, Sij = S.copy(), S.copy(), S.copy()
                Si[:, i] = Sj[:, j] = True
                Sij[:, [i, j]] = True
                terms.append((prob, exact, [Sij, Si, Sj, S], np.array([1.0, -1.0, -1.0, 1.0])))
            jobs.append(((i, j), terms))
    if index == "SII":
        probs1 = _size_probabilities(p, index, 1)
        for i in range(p):
            terms = []
            for prob, S, exact in _strata(rng, p, (i,), probs1, n_samples):
                Si = S.copy()
                Si[:, i] = True
                terms.append((prob, exact, [Si, S], np.array([1.0, -1.0])))
            jobs.append(((i, i), terms))
    masks = np.concatenate([m for _, terms in jobs for _, _, ms, _ in terms for m in ms])
    v = _game_values(f, x, background, masks[:, col_player])
    pos = 0
    for (i, j), terms in jobs:
        est = var = 0.0
        for prob, exact, ms, signs in terms:
            k = ms[0].shape[0]
            D = signs @ v[pos:pos + len(signs) * k].reshape(len(signs), k)
            pos += len(signs) * k
            est += prob * D.mean()
            if not exact:
                var += prob ** 2 * D.var(ddof=1) / k
        values[i, j] = values[j, i] = est
        stderr[i, j] = stderr[j, i] = np.sqrt(var)
    if index == "STII":
        v1 = _game_values(f, x, background, _singletons(col_player, p))
        values[np.arange(p), np.arange(p)] = v1[1:] - v1[0]
    return values, stderr
