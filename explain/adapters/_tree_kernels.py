"""Compiled traversal of a :class:`TreeEnsemble`: the library's own split rule, leaf sums, root-to-leaf paths.

Owned by the adapters (a tree adapter predicts with them to check that it reads
the trees exactly as the library does); the exact Shapley kernels in
:mod:`explain.methods.tree_shapley` build on ``go_left``, ``path_mask`` and
``leaf_paths_of``. Compiled with numba on first use and cached on disk.
"""

from __future__ import annotations

import numba  # ships with shap; this module is imported only when trees are explained
import numpy as np

__all__ = ["go_left", "popcount", "path_mask", "leaf_players", "pattern_counts", "predict_leaves", "leaf_paths_of",
           "split_arrays"]


@numba.njit(cache=True)
def split_rule(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
               cat_dir):  # pragma: no cover - compiled
    """Whether x goes left at internal node nd, by the library's full rule (missing values, categories)."""
    if np.isnan(x):
        if nan_as_zero[nd]:
            x = 0.0
        else:
            return missing_left[nd]
    k = kind[nd]
    if k == 2:
        if x < 0 or x >= cat_len[nd]:
            d = cat_unknown[nd]
        else:
            d = cat_dir[cat_start[nd] + np.int64(x)]
        if d == 2:
            return missing_left[nd]
        return d == 1
    if zero_missing[nd] and x > -1e-35 and x <= 1e-35:
        return missing_left[nd]
    if k == 0:
        return x <= thr[nd]
    return x < thr[nd]


@numba.njit(cache=True)
def go_left(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
            cat_dir, thr_le, simple):  # pragma: no cover - compiled
    """``split_rule``, with the common numeric split (``simple[nd]``, x not NaN) as one comparison.

    Hot loops write that comparison in line (``simple[nd] and x <= thr_le[nd]``) and call this or
    ``split_rule`` only otherwise: a compiled call taking the node arrays costs ~100 ns (their reference
    counts), inlined or not.
    """
    if simple[nd] and not np.isnan(x):
        return x <= thr_le[nd]
    return split_rule(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
                      cat_dir)


@numba.njit(inline="always", cache=True)
def popcount(mask):  # pragma: no cover - compiled
    """Number of bits set."""
    count = 0
    while mask:
        mask &= mask - 1
        count += 1
    return count


@numba.njit(inline="always", cache=True)
def path_mask(rows, i, s, h, full, node_local, path_node, path_dir, feature, thr, kind, missing_left,
              zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple):  # pragma: no cover
    """Bit j set when row i passes every test of local player j on the path (the x_ok / z_ok pattern)."""
    mask = full
    for q in range(h):
        nd = path_node[s + q]
        x = rows[i, feature[nd]]
        if simple[nd] and not np.isnan(x):
            left = x <= thr_le[nd]
        else:
            left = split_rule(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
                              cat_unknown, cat_dir)
        if left != path_dir[s + q]:
            mask &= ~(np.int64(1) << node_local[q])
    return mask


@numba.njit(inline="always", cache=True)
def leaf_players(s, h, path_node, feature, player, local, node_local):  # pragma: no cover - compiled
    """The distinct players on one leaf's path: writes them to ``local`` and each node's local index to
    ``node_local``; returns how many there are."""
    k = 0
    for q in range(h):
        pl = player[feature[path_node[s + q]]]
        found = -1
        for r in range(k):
            if local[r] == pl:
                found = r
                break
        if found < 0:
            local[k] = pl
            found = k
            k += 1
        node_local[q] = found
    return k


@numba.njit(inline="always", cache=True)
def pattern_counts(B, s, h, full, node_local, path_node, path_dir, feature, thr, kind, missing_left, zero_missing,
                   nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple,
                   bmask):  # pragma: no cover - compiled
    """Background rows by their pass/fail pattern on one leaf's path: (patterns, counts, how many)."""
    m = B.shape[0]
    for bi in range(m):
        bmask[bi] = path_mask(B, bi, s, h, full, node_local, path_node, path_dir, feature, thr, kind, missing_left,
                              zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple)
    srt = np.sort(bmask)
    pats = np.empty(m, np.int64)
    cnts = np.empty(m, np.float64)
    npat = 0
    for bi in range(m):
        if npat > 0 and srt[bi] == pats[npat - 1]:
            cnts[npat - 1] += 1.0
        else:
            pats[npat] = srt[bi]
            cnts[npat] = 1.0
            npat += 1
    return pats, cnts, npat


@numba.njit(parallel=True, cache=True)
def predict(X, feature, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
            cat_dir, thr_le, simple, left, right, value, roots):  # pragma: no cover - compiled
    n = X.shape[0]
    out = np.zeros((n, value.shape[1]))
    for i in numba.prange(n):
        for r in range(roots.shape[0]):
            nd = roots[r]
            while left[nd] >= 0:
                if go_left(X[i, feature[nd]], nd, thr, kind, missing_left, zero_missing, nan_as_zero,
                           cat_start, cat_len, cat_unknown, cat_dir, thr_le, simple):
                    nd = left[nd]
                else:
                    nd = right[nd]
            out[i] += value[nd]
    return out


@numba.njit(cache=True)
def leaf_paths(left, parent, went_left):  # pragma: no cover - compiled
    """Every leaf with its path from the root: flat (node, went left) in root-to-leaf order."""
    n_nodes = left.shape[0]
    n_leaves = 0
    total = 0
    for nd in range(n_nodes):
        if left[nd] < 0:
            n_leaves += 1
            p = parent[nd]
            while p >= 0:
                total += 1
                p = parent[p]
    leaves = np.empty(n_leaves, np.int64)
    starts = np.empty(n_leaves, np.int64)
    lengths = np.empty(n_leaves, np.int64)
    path_node = np.empty(total, np.int64)
    path_dir = np.empty(total, np.bool_)
    li = 0
    pos = 0
    for nd in range(n_nodes):
        if left[nd] >= 0:
            continue
        depth = 0
        p = parent[nd]
        while p >= 0:
            depth += 1
            p = parent[p]
        leaves[li] = nd
        starts[li] = pos
        lengths[li] = depth
        child = nd
        q = pos + depth - 1
        p = parent[nd]
        while p >= 0:
            path_node[q] = p
            path_dir[q] = went_left[child]
            q -= 1
            child = p
            p = parent[p]
        pos += depth
        li += 1
    return leaves, starts, lengths, path_node, path_dir


def split_arrays(ens):
    """The node arrays every kernel routes with, ending with ``thr_le`` and ``simple`` (computed once):
    a plain numeric split ``x < t`` is ``x <= nextafter(t, -inf)`` exactly, so all plain splits are one
    comparison."""
    fast = getattr(ens, "_fast_split", None)
    if fast is None:
        with np.errstate(invalid="ignore"):
            thr_le = np.where(ens.kind == 1, np.nextafter(ens.threshold, -np.inf), ens.threshold)
            simple = (ens.kind != 2) & ~ens.zero_missing & (ens.threshold > -np.inf)  # NaN x: split_rule
        fast = ens._fast_split = (np.ascontiguousarray(thr_le, dtype=np.float64), np.ascontiguousarray(simple))
    return (ens.threshold, ens.kind, ens.missing_left, ens.zero_missing, ens.nan_as_zero, ens.cat_start,
            ens.cat_len, ens.cat_unknown, ens.cat_dir, *fast)


def predict_leaves(ens, X: np.ndarray) -> np.ndarray:
    """Sum of the reached leaves' values for rows X (already prepared), (n, n_outputs)."""
    return predict(np.ascontiguousarray(X, dtype=np.float64), ens.feature, *split_arrays(ens), ens.left,
                        ens.right, ens.value, ens.roots)


def leaf_paths_of(ens):
    cached = getattr(ens, "_paths_cache", None)
    if cached is not None:
        return cached
    n = ens.left.shape[0]
    parent = np.full(n, -1, np.int64)
    went_left = np.zeros(n, np.bool_)
    internal = np.flatnonzero(ens.left >= 0)
    parent[ens.left[internal]] = internal
    parent[ens.right[internal]] = internal
    went_left[ens.left[internal]] = True
    paths = leaf_paths(ens.left, parent, went_left)
    ens._paths_cache = paths  # the leaves' paths depend only on the trees: read once per ensemble
    return paths
