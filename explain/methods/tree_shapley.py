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

With at most 63 players (the usual case) each explained row walks every
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

from ..adapters._tree_kernels import go_left, leaf_paths_of, path_mask, popcount, split_arrays

__all__ = ["tree_shapley", "ROWS_PER_CHUNK"]

ROWS_PER_CHUNK = 4096  # explained rows per kernel call: accumulators are threads x rows x players
MAX_PATH_PLAYERS = 62  # players on one path must fit a 64-bit mask
TABLE_MAX_PLAYERS = 12
TABLE_ROWS = 256  # the superset table pays off when a leaf's patterns x this many rows exceed its size
LEAF_CHUNKS = 16
ROW_BLOCK = 8  # explained rows that walk a tree together (it stays in cache)
MAX_MASK_PLAYERS = 63  # the tree walk keeps each row's failed players in one 64-bit mask
BACKGROUND_BLOCK = 1024  # background rows per walk (bit sets of 16 words); blocks add up  # leaves are split into this many interleaved chunks, summed in a fixed order


@numba.njit(parallel=True, cache=True)
def shapley(X, B, feature, player, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
            cat_unknown, cat_dir, leaves, leaf_value, starts, lengths, path_node, path_dir, n_players, wA, wB,
            n_chunks, table_max):  # pragma: no cover - compiled
    n = X.shape[0]
    m = B.shape[0]
    n_leaves = leaves.shape[0]
    out = np.zeros((n_chunks, n, n_players))
    for c in numba.prange(n_chunks):
        local = np.empty(64, np.int64)
        bmask = np.empty(m, np.int64)
        for li in range(c, n_leaves, n_chunks):
            v = leaf_value[li]
            if v == 0.0:
                continue
            s = starts[li]
            h = lengths[li]
            node_local = np.empty(h, np.int64)
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
            full = (np.int64(1) << k) - 1
            for bi in range(m):
                bmask[bi] = path_mask(B, bi, s, h, full, node_local, path_node, path_dir, feature, thr, kind,
                                      missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown,
                                      cat_dir)
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
            scale = v / m
            size = np.int64(1) << k if k <= table_max else np.int64(0)
            # the choice must not depend on the rows in this call (it changes rounding): a fixed notional count
            use_table = k <= table_max and size * (k + 1) * k < TABLE_ROWS * npat
            if use_table:
                G = np.zeros((size, k + 1))
                for p in range(npat):
                    G[pats[p], popcount(pats[p])] += cnts[p]
                for bit in range(k):
                    one = np.int64(1) << bit
                    for U in range(size):
                        if not (U & one):
                            for sz in range(k + 1):
                                G[U, sz] += G[U | one, sz]
            for xi in range(n):
                xm = path_mask(X, xi, s, h, full, node_local, path_node, path_dir, feature, thr, kind,
                               missing_left, zero_missing, nan_as_zero, cat_start, cat_len, cat_unknown, cat_dir)
                if use_table:
                    U = full & ~xm
                    u = popcount(U)
                    if u > 0:
                        sb = 0.0
                        for sz in range(u, k + 1):
                            sb += G[U, sz] * wB[k - sz, u]
                        if sb != 0.0:
                            for j in range(k):
                                if U & (np.int64(1) << j):
                                    out[c, xi, local[j]] -= scale * sb
                    for j in range(k):
                        one = np.int64(1) << j
                        if xm & one:
                            sa = 0.0
                            for sz in range(u, k):
                                sa += (G[U, sz] - G[U | one, sz]) * wA[k - sz, u]
                            if sa != 0.0:
                                out[c, xi, local[j]] += scale * sa
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


@numba.njit(inline="always", cache=True)
def _bitcount(w):  # pragma: no cover - compiled
    """Bits set in a uint64 word (SWAR, constant time)."""
    w = w - ((w >> np.uint64(1)) & np.uint64(0x5555555555555555))
    w = (w & np.uint64(0x3333333333333333)) + ((w >> np.uint64(2)) & np.uint64(0x3333333333333333))
    w = (w + (w >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((w * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(nogil=True, cache=True)
def background_left(out, lo, hi, B, feature, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start,
                    cat_len, cat_unknown, cat_dir, left):  # pragma: no cover - compiled
    """Bit z of word (node, z // 64) set when background row z goes left at the internal node (nodes lo..hi).

    ``B`` is the background transposed (features x rows), so each node reads one contiguous column.
    """
    m = B.shape[1]
    W = out.shape[1]
    for nd in range(lo, hi):
        if left[nd] < 0:
            continue
        col = B[feature[nd]]
        plain = kind[nd] != 2 and not zero_missing[nd] and not nan_as_zero[nd]
        t, le, nan_left = thr[nd], kind[nd] == 0, missing_left[nd]
        for w in range(W):
            word = np.uint64(0)
            for z in range(w * 64, min(m, w * 64 + 64)):
                x = col[z]
                if plain:  # a numeric split (most nodes): the comparison of go_left, without its branches
                    goes = nan_left if np.isnan(x) else (x <= t if le else x < t)
                else:
                    goes = go_left(x, nd, thr, kind, missing_left, zero_missing, nan_as_zero, cat_start, cat_len,
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
                cat_len, cat_unknown, cat_dir, left, right, leaf_value, roots, max_depth, n_players, wA,
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
                        if kind[nd] == 0 and not zero_missing[nd] and not nan_as_zero[nd] and not np.isnan(xv):
                            x_left[d] = xv <= thr[nd]  # the common numeric split, without go_left's branches
                        else:
                            x_left[d] = go_left(xv, nd, thr, kind, missing_left, zero_missing, nan_as_zero,
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
        max_depth = tree_depth(ens)
        wA, wB = _weights(min(max_depth, n_players) + 1)
        return _by_walk(ens, ens.prepare(X), ens.prepare(background), players, n_players,
                        sign * ens.value[:, output], max_depth, wA, wB, rows_per_chunk)
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


def tree_depth(ens) -> int:
    """Longest root-to-leaf path (edges), level by level without compiling anything."""
    frontier = ens.roots[ens.left[ens.roots] >= 0]
    depth = 0
    while frontier.size:
        depth += 1
        children = np.concatenate([ens.left[frontier], ens.right[frontier]])
        frontier = children[ens.left[children] >= 0]
    return depth


def _by_walk(ens, Xp, Bp, players, n_players, leaf_value, max_depth, wA, wB, rows_per_chunk):
    """Shapley values by walking each tree once per explained row (``shapley_dfs``), background in blocks.

    The compiled walks release the GIL: rows (and the background's bit sets, by node range) are split over
    numba's thread count. Each row's values are its own sums over trees in order, whatever the split.
    """
    from concurrent.futures import ThreadPoolExecutor

    m = Bp.shape[0]
    n = Xp.shape[0]
    leaf_value = np.ascontiguousarray(leaf_value, dtype=np.float64)
    out = np.zeros((n, n_players))
    threads = max(1, int(numba.get_num_threads()))
    n_nodes = ens.left.shape[0]
    with ThreadPoolExecutor(threads) as pool:
        for b0 in range(0, m, BACKGROUND_BLOCK):
            block = np.ascontiguousarray(Bp[b0:b0 + BACKGROUND_BLOCK])
            columns = np.ascontiguousarray(block.T)
            bleft = np.zeros((n_nodes, (block.shape[0] + 63) // 64), np.uint64)
            cuts = np.linspace(0, n_nodes, threads + 1).astype(int)
            list(pool.map(lambda i: background_left(bleft, cuts[i], cuts[i + 1], columns, ens.feature,
                                                    *split_arrays(ens), ens.left), range(threads)))
            share = block.shape[0] / m
            step = max(ROW_BLOCK, min(int(rows_per_chunk), -(-n // threads)))

            def walk(start, block=block, bleft=bleft):
                return start, shapley_dfs(np.ascontiguousarray(Xp[start:start + step]), block.shape[0], bleft,
                                          ens.feature, players, *split_arrays(ens), ens.left, ens.right,
                                          leaf_value, ens.roots, max_depth, n_players, wA, wB)

            for start, part in pool.map(walk, range(0, n, step)):
                out[start:start + step] += part if share == 1.0 else share * part
    return out
