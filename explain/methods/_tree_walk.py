"""Exact interventional TreeSHAP by walking each tree once per explained row (see ``tree_shapley``).

Each row carries the players it has failed so far as a 64-bit mask and the background rows still
compatible with it as bit sets (64 rows per word, in blocks); a subtree with no compatible background
row is skipped, and at a leaf the closed form of the leaf game is applied to the compatible rows only.
Which background rows go left at each node is computed once per call (``background_left``). The compiled
walks release the GIL and run on a thread pool; each row's sum runs over the trees in a fixed order, so
results do not depend on threads or chunks.
"""

from __future__ import annotations

import numba
import numpy as np

from ..adapters._tree_kernels import split_arrays, split_rule

__all__ = ["by_walk", "MAX_MASK_PLAYERS"]

ROW_BLOCK = 8  # explained rows that walk a tree together (it stays in cache)
MAX_MASK_PLAYERS = 63  # the tree walk keeps each row's failed players in one 64-bit mask
BACKGROUND_BLOCK = 1024  # background rows per walk (bit sets of 16 words); blocks add up


@numba.njit(inline="always", cache=True)
def _bitcount(w):  # pragma: no cover - compiled
    """Bits set in a uint64 word (SWAR, constant time)."""
    w = w - ((w >> np.uint64(1)) & np.uint64(0x5555555555555555))
    w = (w & np.uint64(0x3333333333333333)) + ((w >> np.uint64(2)) & np.uint64(0x3333333333333333))
    w = (w + (w >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((w * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(nogil=True, cache=True)
def background_left(out, lo, hi, B, feature, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start,
                    cat_len, cat_unknown, cat_dir, thr_le, simple, left):  # pragma: no cover - compiled
    """Bit z of word (node, z // 64) set when background row z goes left at the internal node (nodes lo..hi).

    ``B`` is the background transposed (features x rows), so each node reads one contiguous column.
    """
    m = B.shape[1]
    W = out.shape[1]
    for nd in range(lo, hi):
        if left[nd] < 0:
            continue
        col = B[feature[nd]]
        plain = simple[nd]
        t = thr_le[nd]
        for w in range(W):
            word = np.uint64(0)
            for z in range(w * 64, min(m, w * 64 + 64)):
                x = col[z]
                if plain and not np.isnan(x):  # a numeric split (most nodes): one comparison, no call
                    goes = x <= t
                else:
                    goes = split_rule(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
                                      cat_unknown, cat_dir)
                if goes:
                    word |= np.uint64(1) << np.uint64(z - w * 64)
            out[nd, w] = word


@numba.njit(inline="always", cache=True)
def _leaf(acc, xr, v, fxm, C, fz, wA, wB):  # pragma: no cover - compiled
    """Add one leaf's Shapley values for explained row ``xr`` and its compatible background rows C."""
    b = _bitcount(np.uint64(fxm))
    sb = 0.0
    for w in range(C.shape[0]):
        word = C[w]
        while word:
            low = word & (~word + np.uint64(1))
            word ^= low
            zm = fz[w * 64 + _bitcount(low - np.uint64(1))]
            a = _bitcount(np.uint64(zm))
            if b > 0:
                sb += wB[a, b]
            if a > 0:
                wa = v * wA[a, b]
                while zm:
                    lj = zm & -zm
                    zm ^= lj
                    acc[xr, _bitcount(np.uint64(lj - 1))] += wa
    if b > 0:
        sb *= v
        while fxm:
            lj = fxm & -fxm
            fxm ^= lj
            acc[xr, _bitcount(np.uint64(lj - 1))] -= sb


@numba.njit(nogil=True, cache=True, error_model="numpy")
def shapley_dfs(X, m, bleft, feature, player, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start,
                cat_len, cat_unknown, cat_dir, thr_le, simple, left, right, leaf_value, roots, max_depth, n_players, wA,
                wB):  # pragma: no cover - compiled
    """Each explained row walks every tree once, carrying the background rows still compatible with it.

    Along a path, x fails players Fx and background row z fails players Fz; the pair reaches a leaf only
    if Fx and Fz are disjoint, so a subtree where no background row is still compatible is skipped.
    Players are bits of one mask (at most 63 players); background rows are bits of ``W`` words.
    """
    n = X.shape[0]
    W = bleft.shape[1]
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    full_last = ones if m % 64 == 0 else (np.uint64(1) << np.uint64(m % 64)) - np.uint64(1)
    out = np.zeros((n, n_players))
    inv_m = 1.0 / m
    D = max_depth + 2
    n_blocks = (n + ROW_BLOCK - 1) // ROW_BLOCK
    for blk in range(n_blocks):  # a block of rows walks one tree after the other: the tree stays in cache
        acc = out[blk * ROW_BLOCK:min(n, (blk + 1) * ROW_BLOCK)]
        node = np.empty(D, np.int64)
        state = np.zeros(D, np.int64)  # next child to visit: 0 left, 1 right, 2 done
        x_left = np.zeros(D, np.bool_)
        fx = np.zeros(D, np.int64)
        C = np.zeros((D, W), np.uint64)  # background rows still compatible with x at each depth
        saved = np.zeros((D, W), np.uint64)  # zfail of the node's player before it was entered
        newly = np.zeros((D, W), np.uint64)  # compatible rows that first failed the player there
        saved_f = np.full(D, -1, np.int64)
        zfail = np.zeros((n_players, W), np.uint64)  # background rows failing each player on the path
        fz = np.zeros(W * 64, np.int64)  # players failed by each compatible background row
        fail = np.empty(W, np.uint64)
        for r in range(roots.shape[0]):
            for xr in range(acc.shape[0]):
                xi = blk * ROW_BLOCK + xr
                node[0] = roots[r]
                state[0] = 0
                fx[0] = 0
                for w in range(W):
                    C[0, w] = ones
                C[0, W - 1] = full_last
                saved_f[0] = -1
                d = 0
                if left[roots[r]] < 0:
                    continue  # a single leaf: a constant, no credit to anyone
                while d >= 0:
                    nd = node[d]
                    if state[d] == 2:  # leave this node: undo its change to the failing sets
                        f = saved_f[d]
                        if f >= 0:
                            bit = np.int64(1) << f
                            for w in range(W):
                                zfail[f, w] = saved[d, w]
                                word = newly[d, w]
                                while word:
                                    low = word & (~word + np.uint64(1))
                                    word ^= low
                                    fz[w * 64 + _bitcount(low - np.uint64(1))] &= ~bit
                        d -= 1
                        continue
                    go = state[d]
                    state[d] += 1
                    j = player[feature[nd]]
                    if go == 0:
                        xv = X[xi, feature[nd]]
                        if simple[nd] and not np.isnan(xv):
                            x_left[d] = xv <= thr_le[nd]  # the common numeric split, without a call
                        else:
                            x_left[d] = split_rule(xv, nd, thr, kind, missing_left, zero_missing, nan_as_zero,
                                                   cat_start, cat_len, cat_unknown, cat_dir)
                    bit = np.int64(1) << j
                    fxn = fx[d] | bit if x_left[d] != (go == 0) else fx[d]
                    excl = (fxn & bit) != 0
                    any_c = np.uint64(0)
                    for w in range(W):
                        fw = ~bleft[nd, w] if go == 0 else bleft[nd, w]
                        if w == W - 1:
                            fw &= full_last
                        fail[w] = fw
                        c = C[d, w]
                        if excl:
                            c &= ~(fw | zfail[j, w])
                        C[d + 1, w] = c
                        any_c |= c
                    if any_c == 0:
                        continue  # no background row is compatible below: nothing to add
                    child = left[nd] if go == 0 else right[nd]
                    for w in range(W):
                        nw = fail[w] & ~zfail[j, w] & C[d + 1, w]
                        newly[d + 1, w] = nw
                        while nw:
                            low = nw & (~nw + np.uint64(1))
                            nw ^= low
                            fz[w * 64 + _bitcount(low - np.uint64(1))] |= bit
                    if left[child] < 0:  # a leaf: add it here and undo at once
                        v = leaf_value[child]
                        if v != 0.0:
                            _leaf(acc, xr, v * inv_m, fxn, C[d + 1], fz, wA, wB)
                        for w in range(W):
                            word = newly[d + 1, w]
                            while word:
                                low = word & (~word + np.uint64(1))
                                word ^= low
                                fz[w * 64 + _bitcount(low - np.uint64(1))] &= ~bit
                        continue
                    for w in range(W):
                        saved[d + 1, w] = zfail[j, w]
                        zfail[j, w] |= fail[w]
                    saved_f[d + 1] = j
                    fx[d + 1] = fxn
                    node[d + 1] = child
                    state[d + 1] = 0
                    d += 1
    return out


def by_walk(ens, Xp, Bp, players, n_players, leaf_value, max_depth, wA, wB, rows_per_chunk, roots, pool):
    """Shapley values of the trees at ``roots`` by walking each once per explained row (``shapley_dfs``),
    background in blocks.

    The compiled walks release the GIL: rows (and the background's bit sets, by node range) are split over
    ``pool``'s threads. Each row's values are its own sums over trees in order, whatever the split.
    """
    m = Bp.shape[0]
    n = Xp.shape[0]
    leaf_value = np.ascontiguousarray(leaf_value, dtype=np.float64)
    out = np.zeros((n, n_players))
    if len(roots) == 0:
        return out
    roots = np.ascontiguousarray(roots, dtype=np.int64)
    threads = pool._max_workers
    # nodes of the walked trees only (trees are contiguous, each from its root to the next tree's root)
    ends = np.append(ens.roots[1:], ens.left.shape[0])[np.searchsorted(ens.roots, roots)]
    lo_node, hi_node = int(roots[0]), int(ends[-1])
    for b0 in range(0, m, BACKGROUND_BLOCK):
        block = np.ascontiguousarray(Bp[b0:b0 + BACKGROUND_BLOCK])
        columns = np.ascontiguousarray(block.T)
        bleft = np.zeros((ens.left.shape[0], (block.shape[0] + 63) // 64), np.uint64)
        cuts = np.linspace(lo_node, hi_node, threads + 1).astype(int)
        list(pool.map(lambda i: background_left(bleft, cuts[i], cuts[i + 1], columns, ens.feature,
                                                *split_arrays(ens), ens.left), range(threads)))
        share = block.shape[0] / m
        step = max(ROW_BLOCK, min(int(rows_per_chunk), -(-n // threads)))

        def walk(start, block=block, bleft=bleft):
            return start, shapley_dfs(np.ascontiguousarray(Xp[start:start + step]), block.shape[0], bleft,
                                      ens.feature, players, *split_arrays(ens), ens.left, ens.right,
                                      leaf_value, roots, max_depth, n_players, wA, wB)

        for start, part in pool.map(walk, range(0, n, step)):
            out[start:start + step] += part if share == 1.0 else share * part
    return out
