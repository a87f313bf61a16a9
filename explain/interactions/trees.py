"""Exact interventional interaction indices of tree ensembles, leaf by leaf.

As for our TreeSHAP (:mod:`explain.methods.tree_shapley`), one leaf L with
value v_L and one pair (x, background row z) define the sets A (players whose
tests x passes and z fails) and B (z passes, x fails); the leaf adds
v_L 1[A in S, B out of S] to v(S) (or nothing, if some player passes neither).
For a pair (i, j) of players in A u B, D_ij(S) of that leaf game is
+-1[A' in S, B' out of S] with A' = A - {i, j}, B' = B - {i, j} (sign + when i
and j are both in A or both in B, - when split), and 0 otherwise. Summing the
index's weights over S (Beta integrals) leaves closed forms that do not depend on
the number of players:

    SII:  |A'|! |B'|! / (|A'| + |B'| + 1)!
    STII: 2 |A']! (|B'| + 1)! / (|A'| + |B'| + 2)!

The first-order effect v({i}) - v({}) (STII's diagonal) is +v_L where A = {i}, and
-v_L for each i in B where A is empty. Background rows enter through their pattern on the leaf's
path, counted once per leaf, so the cost is O(n x leaves x patterns x k^2) with k
the players on a path; no 2^p.
"""

from __future__ import annotations

import numba
import numpy as np

from ..adapters._tree_kernels import leaf_paths_of, leaf_players, path_mask, pattern_counts, split_arrays
from ..errors import MethodNotApplicableError

__all__ = ["tree_interactions", "ROWS_PER_CHUNK"]

ROWS_PER_CHUNK = 256  # explained rows per kernel call: accumulators are chunks x rows x players^2
LEAF_CHUNKS = 16  # leaves split into this many interleaved chunks, summed in a fixed order
MAX_PATH_PLAYERS = 62
SLOT_BITS = 12  # paths with at most this many players: each distinct row pattern of a leaf is evaluated once


@numba.njit(cache=True)
def _leaf_pairs(tp, tf, U, k, full, pats, cnts, npat, W, scale):  # pragma: no cover - compiled
    """Pairs ``tp`` (k x k, upper triangle) and first-order effects ``tf`` (k) on one leaf of a row failing U.

    A background pattern P is compatible when it contains U; then A = not P and B = U.
    """
    tp[:k, :k] = 0.0
    tf[:k] = 0.0
    b = 0
    for j in range(k):
        if U & (np.int64(1) << j):
            b += 1
    hit = False
    for p in range(npat):
        P = pats[p]
        if (P & U) != U:
            continue
        Am = full & ~P
        a = 0
        for j in range(k):
            if Am & (np.int64(1) << j):
                a += 1
        if a + b == 0:
            continue
        hit = True
        wt = scale * cnts[p]
        if a == 1:  # first order v({i}) - v({}): the leaf is reached with x on i alone
            for i in range(k):
                if Am & (np.int64(1) << i):
                    tf[i] += wt
        elif a == 0:  # ... or lost as soon as x enters on any i in B
            for i in range(k):
                if U & (np.int64(1) << i):
                    tf[i] -= wt
        if a + b < 2:
            continue
        both = Am | U
        for i in range(k):
            bit_i = np.int64(1) << i
            if not both & bit_i:
                continue
            in_a_i = (Am & bit_i) != 0
            for j in range(i + 1, k):
                bit_j = np.int64(1) << j
                if not both & bit_j:
                    continue
                na = int(in_a_i) + int((Am & bit_j) != 0)
                val = wt * W[a - na, b - (2 - na)]
                tp[i, j] += -val if na == 1 else val
    return hit


@numba.njit(parallel=True, cache=True)
def _kernel(X, B, feature, player, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
            cat_unknown, cat_dir, thr_le, simple, leaves, leaf_value, starts, lengths, path_node, path_dir,
            n_players, W, n_chunks):  # pragma: no cover - compiled
    n = X.shape[0]
    m = B.shape[0]
    out = np.zeros((n_chunks, n, n_players, n_players))
    first = np.zeros((n_chunks, n, n_players))
    for c in numba.prange(n_chunks):
        local = np.empty(64, np.int64)
        bmask = np.empty(m, np.int64)
        xmask = np.empty(n, np.int64)
        slot = np.full(np.int64(1) << SLOT_BITS, -1, np.int64)
        uniq = np.empty(n, np.int64)
        tp_small = np.empty((n, SLOT_BITS, SLOT_BITS))
        tf_small = np.empty((n, SLOT_BITS))
        tp_big = np.empty((1, 64, 64))
        tf_big = np.empty((1, 64))
        hit = np.empty(n, np.bool_)
        for li in range(c, leaves.shape[0], n_chunks):
            v = leaf_value[li]
            s = starts[li]
            h = lengths[li]
            node_local = np.empty(h, np.int64)
            k = leaf_players(s, h, path_node, feature, player, local, node_local)
            full = (np.int64(1) << k) - 1
            pats, cnts, npat = pattern_counts(B, s, h, full, node_local, path_node, path_dir, feature, thr, kind,
                                              missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
                                              cat_unknown, cat_dir, thr_le, simple, bmask)
            scale = v / m
            for xi in range(n):
                xmask[xi] = path_mask(X, xi, s, h, full, node_local, path_node, path_dir, feature, thr, kind,
                                      missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
                                      cat_dir, thr_le, simple)
            memo = k <= SLOT_BITS  # each distinct U once (a direct-address table); else every row
            tp = tp_small if memo else tp_big
            tf = tf_small if memo else tf_big
            nu = 0
            for xi in range(n):
                U = full & ~xmask[xi]
                if memo:
                    q = slot[U]
                    if q < 0:
                        q = nu
                        slot[U] = q
                        uniq[q] = U
                        nu += 1
                        hit[q] = _leaf_pairs(tp[q], tf[q], U, k, full, pats, cnts, npat, W, scale)
                else:
                    q = 0
                    hit[0] = _leaf_pairs(tp[0], tf[0], U, k, full, pats, cnts, npat, W, scale)
                if not hit[q]:
                    continue
                acc = out[c, xi]
                fo = first[c, xi]
                for i in range(k):
                    pi = local[i]
                    fo[pi] += tf[q, i]
                    for j in range(i + 1, k):
                        pj = local[j]
                        if pi < pj:
                            acc[pi, pj] += tp[q, i, j]
                        else:
                            acc[pj, pi] += tp[q, i, j]
            for q in range(nu):
                slot[uniq[q]] = -1
    return out.sum(axis=0), first.sum(axis=0)


def _pair_weights(max_players: int, index: str) -> np.ndarray:
    """W[a, b]: SII a! b! / (a+b+1)!, STII 2 a! (b+1)! / (a+b+2)!, by log-gamma."""
    from scipy.special import gammaln

    a = np.arange(max_players + 1)[:, None].astype(float)
    b = np.arange(max_players + 1)[None, :].astype(float)
    if index == "SII":
        return np.exp(gammaln(a + 1) + gammaln(b + 1) - gammaln(a + b + 2))
    return 2.0 * np.exp(gammaln(a + 1) + gammaln(b + 2) - gammaln(a + b + 3))


def tree_interactions(ens, X, background, output: int, index: str, *, players=None, n_players=None,
                      sign: float = 1.0, rows_per_chunk: int = ROWS_PER_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Exact (n, p, p) pairwise index of one output of a tree ensemble, and the first-order effects (n, p).

    The matrix's diagonal is zero (the caller puts the index's order-1 values there); the first-order effects
    ``v({i}) - v({})`` are STII's diagonal and the additive part of ``strength``.

    Arguments as for :func:`explain.methods.tree_shapley.tree_shapley`.
    """
    n_features = X.shape[1]
    if players is None:
        players, n_players = np.arange(n_features), n_features
    players = np.ascontiguousarray(players, dtype=np.int64)
    n_players = int(players.max()) + 1 if n_players is None else int(n_players)
    if ens.feature_origin is not None:
        players = np.ascontiguousarray(players[ens.feature_origin])
    leaves, starts, lengths, path_node, path_dir = leaf_paths_of(ens)
    leaf_value = sign * ens.value[leaves, output]
    keep = leaf_value != 0.0
    leaves, starts, lengths, leaf_value = leaves[keep], starts[keep], lengths[keep], leaf_value[keep]
    depth = int(lengths.max()) if len(lengths) else 0
    if depth > MAX_PATH_PLAYERS:
        distinct = max(len(set(players[ens.feature[path_node[s:s + h]]])) for s, h in zip(starts, lengths))
        if distinct > MAX_PATH_PLAYERS:
            raise MethodNotApplicableError(f"a tree path tests {distinct} distinct players; at most "
                                           f"{MAX_PATH_PLAYERS} are supported")
    W = _pair_weights(min(depth, MAX_PATH_PLAYERS) + 1, index)
    Xp, Bp = ens.prepare(X), ens.prepare(background)
    n_chunks = max(1, min(LEAF_CHUNKS, len(leaves)))
    out = np.empty((X.shape[0], n_players, n_players))
    first = np.empty((X.shape[0], n_players))
    step = max(1, int(rows_per_chunk))
    for start in range(0, X.shape[0], step):
        out[start:start + step], first[start:start + step] = _kernel(
            np.ascontiguousarray(Xp[start:start + step]), Bp, ens.feature, players, *split_arrays(ens), leaves,
            leaf_value, starts, lengths, path_node, path_dir, n_players, W, n_chunks)
    upper = np.triu_indices(n_players, 1)
    out[:, upper[1], upper[0]] = out[:, upper[0], upper[1]]
    return out, first
