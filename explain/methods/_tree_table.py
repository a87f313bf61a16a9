"""Exact interventional TreeSHAP leaf by leaf, for shallow trees (see ``tree_shapley``).

For one leaf with k players on its path, the background enters only through its
pass/fail patterns P (counted once per leaf, in a direct-address table of 2^k slots)
and an explained row only through the players it fails, U. The row's values on
the leaf depend on U alone, so they are computed once per distinct U among the rows
(``leaf_values``) and added to every row with that U: the cost per leaf is
O((n + m) h) for the patterns plus O(distinct U x patterns x k), far below
rows x background. The patterns are computed column by column (rows transposed,
one vectorised comparison per path node and row, ``path_fails``): 4x faster
than the same tests row by row, the leaf-pattern loop every leaf method needs. Trees are cut into a fixed number of groups (from their
structure only), each group summed in leaf order into its own accumulator, the
groups in a fixed order: the values do not depend on threads or chunks.
"""

from __future__ import annotations

import numba
import numpy as np

from ..adapters._tree_kernels import leaf_paths_of, leaf_players, split_arrays, split_rule

__all__ = ["by_table", "tree_depths", "table_trees", "leaf_values", "SLOT_BITS"]

SLOT_BITS = 12  # players on a path the direct-address tables hold (2^12 slots)
TABLE_ROWS = 16  # notional distinct row patterns per leaf in the choice between superset sums and a pattern loop
TREE_GROUPS = 8  # table trees are cut into this many groups of leaves (a fixed number: the same sums everywhere)
#: A tree deeper than SLOT_BITS goes to the leaf table when every leaf's path tests at most SLOT_BITS distinct
#: players, no path is longer than PATH_SLOTS nodes and its paths hold at most TABLE_PATH_NODES nodes (LightGBM's
#: 31-leaf trees a few hundred; a default-depth forest's trees tens of thousands, where the walk is faster and the
#: players on their paths are not even counted).
PATH_SLOTS = 64
TABLE_PATH_NODES = 1 << SLOT_BITS


@numba.njit(nogil=True, cache=True)
def leaf_values(t, U, k, full, pats, cnts, psize, npat, wA, wB, scale):  # pragma: no cover - compiled
    """Shapley values on one leaf of a row failing players U: ``t[j]`` for local player j; False if all 0.

    A background pattern P is compatible when it passes every player in U (P contains U); then A = not P
    (the row brings the leaf) and B = U (the background row does).
    """
    u = 0
    for j in range(k):
        t[j] = 0.0
        if U & (np.int64(1) << j):
            u += 1
    sb = 0.0
    hit = False
    for p in range(npat):
        P = pats[p]
        if (P & U) != U:
            continue
        a = k - psize[p]
        if a + u == 0:
            continue
        hit = True
        c = cnts[p]
        if u > 0:
            sb += c * wB[a, u]
        if a > 0:
            w = c * wA[a, u]
            A = full & ~P
            for j in range(k):
                if A & (np.int64(1) << j):
                    t[j] += w
    for j in range(k):
        t[j] = scale * (-sb if U & (np.int64(1) << j) else t[j])
    return hit


@numba.njit(nogil=True, cache=True)
def superset_sums(G, k, pats, cnts, psize, npat):  # pragma: no cover - compiled
    """G[U, s] = count of background patterns P containing U with |P| = s (all 2^k sets U)."""
    size = np.int64(1) << k
    G[:size, :k + 1] = 0.0
    for p in range(npat):
        G[pats[p], psize[p]] += cnts[p]
    for bit in range(k):
        one = np.int64(1) << bit
        for U in range(size):
            if not (U & one):
                for sz in range(k + 1):
                    G[U, sz] += G[U | one, sz]


@numba.njit(nogil=True, cache=True)
def values_from_sums(t, U, k, G, wA, wB, scale):  # pragma: no cover - compiled
    """As ``leaf_values``, from the superset sums G: O(k^2) for one U."""
    u = 0
    for j in range(k):
        if U & (np.int64(1) << j):
            u += 1
    sb = 0.0
    if u > 0:
        for sz in range(u, k + 1):
            sb += G[U, sz] * wB[k - sz, u]
    hit = sb != 0.0
    for j in range(k):
        one = np.int64(1) << j
        if U & one:
            t[j] = -scale * sb
        else:
            sa = 0.0
            for sz in range(u, k):
                sa += (G[U, sz] - G[U | one, sz]) * wA[k - sz, u]
            t[j] = scale * sa
            hit = hit or sa != 0.0
    return hit


@numba.njit(nogil=True, cache=True)
def path_fails(F, MT, nan_col, s, h, p_bit, path_node, path_dir, feature, thr, kind, missing_left, zero_missing,
               nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple):  # pragma: no cover - compiled
    """F[r] = the local players row r fails on one leaf's path (bit ``p_bit[q]`` for path node q).

    Column by column (``MT`` is features x rows): a plain numeric split on a column without NaN is one
    comparison per row in a loop the compiler vectorises; other splits go through ``split_rule``.
    """
    n = MT.shape[1]
    for r in range(n):
        F[r] = 0
    for q in range(h):
        nd = path_node[s + q]
        f = feature[nd]
        col = MT[f]
        d = path_dir[s + q]
        bit = p_bit[q]
        if simple[nd] and not nan_col[f]:
            t = thr_le[nd]
            for r in range(n):
                if (col[r] <= t) != d:
                    F[r] |= bit
        else:
            for r in range(n):
                if split_rule(col[r], nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
                              cat_unknown, cat_dir) != d:
                    F[r] |= bit


@numba.njit(nogil=True, cache=True)
def table_shapley(XT, BT, nan_x, nan_b, feature, player, thr, kind, missing_left, zero_missing, nan_as_zero,
                  cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple, lo, hi, leaf_value, starts, lengths,
                  path_node, path_dir, n_players, wA, wB):  # pragma: no cover - compiled
    """Shapley values (n_players, n) of the leaves lo..hi, each leaf's values computed once per distinct U.

    ``XT`` / ``BT`` are the explained and background rows transposed (features x rows), ``nan_x`` / ``nan_b``
    whether each of their columns holds a NaN. Each leaf's pass/fail patterns come from ``path_fails``.
    """
    n = XT.shape[1]
    m = BT.shape[1]
    out = np.zeros((n_players, n))  # players x rows: each player's sums are one contiguous sweep
    size = np.int64(1) << SLOT_BITS
    slot = np.full(size, -1, np.int64)
    which = np.empty(n, np.int64)
    local = np.empty(PATH_SLOTS, np.int64)
    node_local = np.empty(PATH_SLOTS, np.int64)
    p_bit = np.empty(PATH_SLOTS, np.int64)
    pats = np.empty(m, np.int64)
    cnts = np.empty(m, np.float64)
    psize = np.empty(m, np.int64)
    uniq = np.empty(max(n, m), np.int64)
    fails_b = np.empty(m, np.int64)
    fails_x = np.empty(n, np.int64)
    tab = np.empty((n, SLOT_BITS))
    G = np.empty((size, SLOT_BITS + 1))
    inv_m = 1.0 / m
    for li in range(lo, hi):
        v = leaf_value[li]
        if v == 0.0:
            continue
        s = starts[li]
        h = lengths[li]
        k = leaf_players(s, h, path_node, feature, player, local, node_local)
        full = (np.int64(1) << k) - 1
        for q in range(h):
            p_bit[q] = np.int64(1) << node_local[q]
        # the background's pass patterns P, counted
        path_fails(fails_b, BT, nan_b, s, h, p_bit, path_node, path_dir, feature, thr, kind, missing_left,
                   zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple)
        npat = 0
        for r in range(m):
            mask = full & ~fails_b[r]
            qp = slot[mask]
            if qp < 0:
                slot[mask] = npat
                pats[npat] = mask
                cnts[npat] = 1.0
                c = 0
                P = mask
                while P:
                    P &= P - 1
                    c += 1
                psize[npat] = c
                npat += 1
            else:
                cnts[qp] += 1.0
        for p in range(npat):
            slot[pats[p]] = -1
        # superset sums when they cost less than a pass over the patterns for a notional TABLE_ROWS
        # distinct row patterns (the choice must not depend on the rows of this call: rounding)
        sums = (np.int64(1) << k) * (k + 1) < TABLE_ROWS * npat
        if sums:
            superset_sums(G, k, pats, cnts, psize, npat)
        # each explained row's failed players U: values once per distinct U
        path_fails(fails_x, XT, nan_x, s, h, p_bit, path_node, path_dir, feature, thr, kind, missing_left,
                   zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple)
        nu = 0
        any_hit = False
        for r in range(n):
            U = fails_x[r]
            qu = slot[U]
            if qu < 0:
                qu = nu
                slot[U] = qu
                uniq[qu] = U
                nu += 1
                if sums:
                    any_hit |= values_from_sums(tab[qu], U, k, G, wA, wB, v * inv_m)
                else:
                    any_hit |= leaf_values(tab[qu], U, k, full, pats, cnts, psize, npat, wA, wB, v * inv_m)
            which[r] = qu
        for q in range(nu):
            slot[uniq[q]] = -1
        if any_hit:  # a row whose values are all zero adds zeros: the sums are the same as skipping it
            for j in range(k):
                acc = out[local[j]]
                for r in range(n):
                    acc[r] += tab[which[r], j]
    return out


@numba.njit(cache=True)
def most_players(tree_of, n_trees, starts, lengths, path_node, feature, player):  # pragma: no cover - compiled
    """The most distinct players on one leaf's path, per tree (leaves of trees marked -1 are skipped)."""
    out = np.zeros(n_trees, np.int64)
    local = np.empty(PATH_SLOTS, np.int64)
    node_local = np.empty(PATH_SLOTS, np.int64)
    for li in range(starts.shape[0]):
        t = tree_of[li]
        if t >= 0:
            out[t] = max(out[t], leaf_players(starts[li], lengths[li], path_node, feature, player, local,
                                              node_local))
    return out


def table_trees(ens, players, depth_limit=SLOT_BITS, players_limit=SLOT_BITS) -> np.ndarray:
    """Which trees the leaf table explains (from their structure and the players only).

    Trees at most ``depth_limit`` deep always; deeper ones (LightGBM's leaf-wise trees, 31 leaves up to ~18
    deep) when each leaf's path tests at most ``players_limit`` distinct players, no path is longer than
    ``PATH_SLOTS`` and the tree's paths hold at most ``TABLE_PATH_NODES`` nodes: there the table costs what a
    shallow tree costs, while the walk's cost grows with the background.
    """
    players = np.ascontiguousarray(players, dtype=np.int64)
    key = (players.tobytes(), depth_limit, players_limit)
    cache = ens.__dict__.setdefault("_table_trees_cache", {})  # depends on the trees and players only
    if key not in cache:
        cache.clear()
        cache[key] = _table_trees(ens, players, depth_limit, players_limit)
    return cache[key]


def _table_trees(ens, players, depth_limit, players_limit):
    node_depth = _node_depths(ens)
    depths = _per_tree(ens, node_depth, np.maximum)
    table = depths <= min(depth_limit, players_limit)
    deep = ~table & (depths <= PATH_SLOTS)
    if not deep.any():
        return table
    path_nodes = _per_tree(ens, np.where(ens.left < 0, node_depth, 0), np.add)  # the leaves' path lengths, summed
    keep = deep & (path_nodes <= TABLE_PATH_NODES)
    if not keep.any():  # e.g. a default-depth forest: its paths are not read at all
        return table
    leaves, starts, lengths, path_node, _ = leaf_paths_of(ens)
    tree_of = np.searchsorted(ens.roots, leaves, side="right") - 1
    wanted = np.where(keep[tree_of], tree_of, -1)
    most = most_players(wanted, len(depths), starts, lengths, path_node, ens.feature, players)
    return table | (keep & (most <= players_limit))


def _node_depths(ens) -> np.ndarray:
    """Depth of every node (root 0), level by level without compiling anything; read once per ensemble."""
    cached = ens.__dict__.get("_node_depths_cache")
    if cached is not None:
        return cached
    depth = np.zeros(ens.left.shape[0], np.int64)
    frontier = ens.roots[ens.left[ens.roots] >= 0]
    d = 0
    while frontier.size:
        d += 1
        children = np.concatenate([ens.left[frontier], ens.right[frontier]])
        depth[children] = d
        frontier = children[ens.left[children] >= 0]
    depth.flags.writeable = False
    ens._node_depths_cache = depth
    return depth


def _per_tree(ens, per_node: np.ndarray, ufunc) -> np.ndarray:
    """``ufunc.reduceat`` of a per-node array over each tree's nodes (a tree's nodes follow its root)."""
    return ufunc.reduceat(per_node, ens.roots) if len(ens.roots) else np.zeros(0, np.int64)


def tree_depths(ens) -> np.ndarray:
    """Depth (longest root-to-leaf path, in edges) of every tree."""
    return _per_tree(ens, _node_depths(ens), np.maximum)


def by_table(ens, Xp, Bp, players, n_players, leaves, starts, lengths, leaf_value, path_node, path_dir, wA, wB, pool,
             rows_per_chunk):
    """Shapley values of the given leaves (whole trees, in tree order; see ``table_trees``) for rows Xp.

    The leaves are cut into ``TREE_GROUPS`` groups by count (from the structure only); groups run on ``pool``
    and are summed in order.
    """
    n = Xp.shape[0]
    out = np.zeros((n, n_players))
    if len(leaves) == 0:
        return out
    cuts = np.unique(np.linspace(0, len(leaves), min(TREE_GROUPS, len(leaves)) + 1).astype(np.int64))
    leaf_value = np.ascontiguousarray(leaf_value, dtype=np.float64)
    BT = np.ascontiguousarray(Bp.T)  # columns contiguous: each path node sweeps one column
    nan_b = np.isnan(BT).any(axis=1)
    step = max(1, int(rows_per_chunk))
    for start in range(0, n, step):
        XT = np.ascontiguousarray(Xp[start:start + step].T)
        nan_x = np.isnan(XT).any(axis=1)

        def run(g, XT=XT, nan_x=nan_x):
            return table_shapley(XT, BT, nan_x, nan_b, ens.feature, players, *split_arrays(ens), cuts[g],
                                 cuts[g + 1], leaf_value, starts, lengths, path_node, path_dir, n_players, wA, wB)

        for part in pool.map(run, range(len(cuts) - 1)):
            out[start:start + step] += part.T
    return out
