"""Exact interventional TreeSHAP, our own: every tree library, its own split rules, grouped players.

The game is the toolkit's usual one: v(S) = mean over background rows z of
f(x_S, z_notS). A tree's output is a sum over leaves, so its Shapley values
are too. For one leaf L with the players F tested on its path, and one pair
(x, z): x_ok(j) / z_ok(j) says whether x / z passes every test of player j on
the path (with the library's own comparison, missing-value and category
rules, see ``explain.adapters._tree_structure``). If some j has neither, no
mix of x and z reaches L. Otherwise with A = {x_ok, not z_ok} and
B = {z_ok, not x_ok} the leaf adds value_L 1[A in S, B out of S] to v(S),
whose Shapley values are

    value_L (|A|-1)! |B|! / (|A|+|B|)!   for j in A,
   -value_L |A|! (|B|-1)! / (|A|+|B|)!   for j in B              (Lundberg et al. 2020)

With at most 63 players (the usual case) each tree goes to one of two kernels,
chosen from the tree alone (so a row's values never depend on the other rows):
trees at most ``TABLE_DEPTH`` (12) deep, and deeper ones whose every path
tests at most ``TABLE_PLAYERS`` (12) distinct players (``table_trees``), are
explained leaf by leaf (``_tree_table``: background patterns counted once per
leaf, each leaf's values computed once per distinct pattern of the explained
rows); the other trees are walked. In the walk each explained row goes through every
tree once (``shapley_dfs``), carrying Fx (players x failed on the path so
far, a 64-bit mask) and the set C of background rows still compatible with
it (bit sets of 64 rows per word, from ``background_left``, computed once per
call): a pair (x, z) reaches a leaf only if Fx and Fz are disjoint, so a
subtree where C is empty is skipped, and at a leaf only the rows of C are
visited (A = Fz, B = Fx). Deep default-depth forests, where a row pairs with
each background row on few of the many leaves, cost what is reachable, not
leaves x background patterns. The sums per row are over trees in order, so
the values do not depend on threads or chunks.

With more players, the leaf-pattern loop below runs. Background rows enter
only through their z_ok pattern P (a bit per path
player), so each leaf counts the background once per pattern (cost O(m h)
per leaf) instead of pairing every explained row with every background row.
Given x's pattern X the admissible P are the supersets of U = not X, and then
|B| = |U| and |A| = k - |P|: with G[U][s] = sum of counts of patterns P
containing U with |P| = s (a superset-sum transform, O(k^2 2^k) per leaf) an
explained row costs O(k^2) per leaf, independent of the background size. For
paths with many distinct players (k > 12) or few explained rows, the distinct
patterns are looped over directly. Work is split over leaves across threads
(each thread its own accumulator) and chunked over explained rows, so memory
stays bounded; compiled with numba (cached on disk).
"""

from __future__ import annotations

import numba  # ships with shap; this module is imported only when trees are explained
import numpy as np

from ..adapters._tree_kernels import leaf_paths_of, leaf_players, path_mask, pattern_counts, popcount, split_arrays
from ._tree_table import SLOT_BITS, by_table, superset_sums, table_trees, tree_depths, values_from_sums
from ._tree_walk import MAX_MASK_PLAYERS, by_walk

__all__ = ["tree_shapley", "tree_game", "ROWS_PER_CHUNK"]

ROWS_PER_CHUNK = 4096  # explained rows per kernel call: accumulators are threads x rows x players
MAX_PATH_PLAYERS = 62  # players on one path must fit a 64-bit mask
TABLE_MAX_PLAYERS = 12
TABLE_DEPTH = SLOT_BITS  # trees at most this deep are explained leaf by leaf (_tree_table); see table_trees
TABLE_PLAYERS = SLOT_BITS  # ... and deeper ones whose paths test at most this many distinct players
TABLE_ROWS = 256  # the superset table pays off when a leaf's patterns x this many rows exceed its size
LEAF_CHUNKS = 16  # leaves are split into this many interleaved chunks, summed in a fixed order


@numba.njit(parallel=True, cache=True)
def shapley(X, B, feature, player, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
            cat_unknown, cat_dir, thr_le, simple, leaves, leaf_value, starts, lengths, path_node, path_dir, n_players,
            wA, wB, n_chunks, table_max):  # pragma: no cover - compiled
    n = X.shape[0]
    m = B.shape[0]
    n_leaves = leaves.shape[0]
    out = np.zeros((n_chunks, n, n_players))
    for c in numba.prange(n_chunks):
        local = np.empty(64, np.int64)
        bmask = np.empty(m, np.int64)
        t = np.empty(64)
        for li in range(c, n_leaves, n_chunks):
            v = leaf_value[li]
            if v == 0.0:
                continue
            s = starts[li]
            h = lengths[li]
            node_local = np.empty(h, np.int64)
            k = leaf_players(s, h, path_node, feature, player, local, node_local)
            full = (np.int64(1) << k) - 1
            pats, cnts, npat = pattern_counts(B, s, h, full, node_local, path_node, path_dir, feature, thr, kind,
                                              missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
                                              cat_unknown, cat_dir, thr_le, simple, bmask)
            scale = v / m
            size = np.int64(1) << k if k <= table_max else np.int64(0)
            # the choice must not depend on the rows in this call (it changes rounding): a fixed notional count
            use_table = k <= table_max and size * (k + 1) * k < TABLE_ROWS * npat
            if use_table:
                psize = np.empty(npat, np.int64)
                for p in range(npat):
                    psize[p] = popcount(pats[p])
                G = np.empty((size, k + 1))
                superset_sums(G, k, pats, cnts, psize, npat)
            for xi in range(n):
                xm = path_mask(X, xi, s, h, full, node_local, path_node, path_dir, feature, thr, kind, missing_left,
                               zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple)
                if use_table:
                    if values_from_sums(t, full & ~xm, k, G, wA, wB, scale):
                        for j in range(k):
                            out[c, xi, local[j]] += t[j]
                else:
                    for p in range(npat):
                        P = pats[p]
                        if (xm | P) != full:
                            continue
                        A = xm & ~P
                        Bm = P & ~xm
                        a = popcount(A)
                        b = popcount(Bm)
                        if a + b == 0:
                            continue
                        if a > 0:
                            w = scale * cnts[p] * wA[a, b]
                            for j in range(k):
                                if A & (np.int64(1) << j):
                                    out[c, xi, local[j]] += w
                        if b > 0:
                            w = scale * cnts[p] * wB[a, b]
                            for j in range(k):
                                if Bm & (np.int64(1) << j):
                                    out[c, xi, local[j]] -= w
    return out.sum(axis=0)


def _weights(max_players: int):
    """wA[a, b] = (a-1)! b! / (a+b)!, wB[a, b] = a! (b-1)! / (a+b)! (Shapley weights of the leaf games)."""
    from scipy.special import gammaln

    a = np.arange(max_players + 1)[:, None].astype(float)
    b = np.arange(max_players + 1)[None, :].astype(float)
    with np.errstate(invalid="ignore"):
        wA = np.where(a >= 1, np.exp(gammaln(np.maximum(a, 1)) + gammaln(b + 1) - gammaln(a + b + 1)), 0.0)
        wB = np.where(b >= 1, np.exp(gammaln(a + 1) + gammaln(np.maximum(b, 1)) - gammaln(a + b + 1)), 0.0)
    return np.ascontiguousarray(wA), np.ascontiguousarray(wB)


def tree_shapley(ens, X: np.ndarray, background: np.ndarray, output: int, *, players: np.ndarray | None = None,
                 n_players: int | None = None, sign: float = 1.0, rows_per_chunk: int = ROWS_PER_CHUNK
                 ) -> np.ndarray:
    """Exact interventional Shapley values of one output of a tree ensemble.

    Parameters
    ----------
    ens : TreeEnsemble
    X : ndarray of shape (n, n_features)
        Rows to explain, in the estimator's input columns (raw; prepared here).
    background : ndarray of shape (m, n_features)
    output : int
        Column of ``ens.value`` explained.
    players : ndarray of shape (n_features,), optional
        Player of each input column (grouped players); default one per column.
    sign : float
        -1 explains the negated output (class 0 of a binary margin).

    Returns
    -------
    ndarray of shape (n, n_players)
    """
    n_features = X.shape[1]
    if players is None:
        players = np.arange(n_features)
        n_players = n_features
    players = np.ascontiguousarray(players, dtype=np.int64)
    n_players = int(players.max()) + 1 if n_players is None else int(n_players)
    if ens.feature_origin is not None:  # the trees route on reordered columns: map them back to players
        players = np.ascontiguousarray(players[ens.feature_origin])
    if n_players <= MAX_MASK_PLAYERS:
        return _by_tree(ens, ens.prepare(X), ens.prepare(background), players, n_players,
                        sign * ens.value[:, output], rows_per_chunk)
    leaves, starts, lengths, path_node, path_dir = leaf_paths_of(ens)
    leaf_value = sign * ens.value[leaves, output]
    keep = leaf_value != 0.0
    leaves, starts, lengths, leaf_value = leaves[keep], starts[keep], lengths[keep], leaf_value[keep]
    max_depth = int(lengths.max()) if len(lengths) else 0
    if max_depth > MAX_PATH_PLAYERS:
        distinct = max(len(set(players[ens.feature[path_node[s:s + h]]])) for s, h in zip(starts, lengths))
        if distinct > MAX_PATH_PLAYERS:
            raise ValueError(f"a tree path tests {distinct} distinct players; at most {MAX_PATH_PLAYERS} supported")
    wA, wB = _weights(min(max_depth, MAX_PATH_PLAYERS) + 1)
    Xp = ens.prepare(X)
    Bp = ens.prepare(background)
    n_chunks = max(1, min(LEAF_CHUNKS, len(leaves)))  # fixed, not the thread count: the same sums everywhere
    out = np.empty((X.shape[0], n_players))
    step = max(1, int(rows_per_chunk))
    for start in range(0, X.shape[0], step):
        out[start:start + step] = shapley(
            np.ascontiguousarray(Xp[start:start + step]), Bp, ens.feature, players, *split_arrays(ens), leaves,
            leaf_value, starts, lengths, path_node, path_dir, n_players, wA, wB, n_chunks, TABLE_MAX_PLAYERS)
    return out


def _by_tree(ens, Xp, Bp, players, n_players, value, rows_per_chunk):
    """Each tree by the kernel that suits it: shallow or narrow trees (``table_trees``) leaf by leaf with
    the values per distinct pattern (``_tree_table``), deeper ones by the walk (``_tree_walk``); the two sums
    are added. The choice depends on the trees only, so a row's values do not depend on the other rows."""
    from concurrent.futures import ThreadPoolExecutor

    depths = tree_depths(ens)
    table = table_trees(ens, players, TABLE_DEPTH, TABLE_PLAYERS)
    wA, wB = _weights(min(int(depths.max(initial=0)), n_players) + 1)
    threads = max(1, int(numba.get_num_threads()))
    with ThreadPoolExecutor(threads) as pool:
        out = by_walk(ens, Xp, Bp, players, n_players, value, int(depths[~table].max(initial=0)), wA, wB,
                      rows_per_chunk, ens.roots[~table], pool)
        if table.any():
            leaves, starts, lengths, path_node, path_dir = leaf_paths_of(ens)
            tree_of = np.searchsorted(ens.roots, leaves, side="right") - 1
            keep = table[tree_of] & (value[leaves] != 0.0)
            out += by_table(ens, Xp, Bp, players, n_players, leaves[keep], starts[keep], lengths[keep],
                            value[leaves[keep]], path_node, path_dir, wA, wB, pool, rows_per_chunk)
    return out


def tree_game(a, target, ens=None):
    """(trees, output column, sign, players, n_players) of the game explained for class ``target``.

    A ColumnTransformer in front routes x or the background row per input column: ``players`` maps the
    trees' columns to input columns, with one dummy player (the last) for columns constant on the data.
    """
    ens = a.tree_ensemble() if ens is None else ens
    if ens.n_outputs == 1:
        column, sign = 0, (-1.0 if a.task == "classification" and target == 0 else 1.0)
    else:
        column, sign = int(target or 0), 1.0
    if a.column_origin is None:
        return ens, column, sign, None, None
    n = a.n_inputs
    return ens, column, sign, np.where(a.column_origin >= 0, a.column_origin, n), n + 1
