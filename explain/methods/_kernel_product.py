"""Compiled kernels of the exact product-kernel Shapley values (:mod:`explain.methods.kernel_shapley`).

Layout. Factors are packed (rows, blocks, players, lanes): support vectors in blocks of ``lanes``
(a multiple of 4, the last block padded with factor 1 and coefficient 0), so a block of one row holds a
(players x lanes) matrix read along the lanes. Every inner loop of :func:`_block` runs over the lanes
with no dependency between them, which is the loop shape numba's compiler turns into vector
instructions (it does not vectorise straight-line code), and works on one block at a time so its arrays
stay in cache.

Leave-one-out products. At a Gauss-Legendre node t the value of player j needs prod_{k != j} F_k(t),
F_k = c_k + t (a_k - c_k). Dividing the full product by F_j needs one division per (player, node,
support vector), the slowest vector instruction: measured on the digits SVC (847 support vectors, 64
pixels), that loop took 2.1x the time of the one below even without a guard for underflow. Dividing the
coefficient polynomial by the linear factor c_j + t D_j (synthetic division) multiplies rounding errors
by |D_j / c_j| per degree, which is huge when the background row is far from a support vector where the
row is near it. Instead the products before j (prefix) are stored in one forward pass and those after j
(suffix) carried back in a second pass: only products of the factors, no division and no cancellation.
Two nodes share each step (each load of c and a - c serves both), which took the digits row from 47.5
to 38 ms of one core's time.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["packed_factors", "accumulate", "lanes_for"]

_FAST = {"contract", "reassoc"}  # fused multiply-adds and vector reductions; no reciprocal or NaN shortcuts


def lanes_for(m: int, target: int = 128) -> int:
    """Support vectors per block: about ``target``, a multiple of 4, with little padding in the last block."""
    blocks = max(1, -(-m // target))
    per_block = -(-m // blocks)
    return max(4, -(-per_block // 4) * 4)


def packed_factors(P, S, weights, power, player, n_players, lanes):
    """Kernel factors exp(sum over the player's columns of -w_c |p_c - s_c|^power), shape
    (len(P), blocks, n_players, lanes), and the logs of the whole kernel k(p, s), (len(P), blocks, lanes).

    ``player`` maps each column to its player; padding lanes hold factor 1 (log 0). The logs come from
    the compiled loop, the exponentials from numpy's vectorised exp.
    """
    m = S.shape[0]
    blocks = -(-m // lanes)
    ST = np.zeros((S.shape[1], blocks * lanes))
    ST[:, :m] = S.T
    logs = _packed_logs(P, ST, weights, power, player, n_players, lanes)
    logs[:, -1, :, m - (blocks - 1) * lanes:] = 0.0  # padding: factor 1 (its coefficient is 0)
    total = logs.sum(axis=2)
    return np.exp(logs, out=logs), total


@numba.njit(cache=True)
def _subtract_terms(o, s, x, w, power):  # pragma: no cover - compiled
    """o -= w |x - s|^power, one vector loop."""
    if power == 2:
        for lane in range(o.shape[0]):
            diff = x - s[lane]
            o[lane] -= w * (diff * diff)
    else:
        for lane in range(o.shape[0]):
            o[lane] -= w * abs(x - s[lane])


@numba.njit(cache=True)  # a few milliseconds: a parallel region would cost more on a busy machine
def _packed_logs(P, ST, weights, power, player, n_players, lanes):  # pragma: no cover - compiled
    n, cols = P.shape
    blocks = ST.shape[1] // lanes
    out = np.zeros((n, blocks, n_players, lanes))
    for i in range(n):
        for blk in range(blocks):
            for c in range(cols):
                _subtract_terms(out[i, blk, player[c]], ST[c, blk * lanes:(blk + 1) * lanes], P[i, c],
                                weights[c], power)
    return out


@numba.njit(fastmath=_FAST, cache=True)
def _block(Cm, Dm, cd, const, pre, P, S, tot, T, W, r, rp, lanes):  # pragma: no cover - compiled
    """Add sum_l cd_jl integral_0^1 prod_{k != j} F_kl(t) dt to tot[j] for the r players of one block.

    Cm, Dm, cd : (rp, lanes) background factor c, a - c and coef (a - c) of the active players (an odd
    r is padded with one player of F = 1 and cd = 0); const : (lanes,) product of the inactive players'
    factors; pre (rp, 2, lanes), P and S (2, lanes): work arrays. Two nodes at a time (a missing second
    node has weight 0) and two players per step: each load of c and a - c serves both nodes, and the
    running products stay in registers.
    """
    nq = (r + 1) // 2
    for q in range(0, nq, 2):
        t0, w0 = T[r, q], W[r, q]
        t1, w1 = (T[r, q + 1], W[r, q + 1]) if q + 1 < nq else (0.0, 0.0)
        for lane in range(lanes):
            P[0, lane] = w0 * const[lane]
            P[1, lane] = w1 * const[lane]
        for j in range(0, rp, 2):  # prefix products: pre[j] = w prod_{k < j} F_k
            for lane in range(lanes):
                p0 = P[0, lane]
                p1 = P[1, lane]
                c = Cm[j, lane]
                d = Dm[j, lane]
                pre[j, 0, lane] = p0
                pre[j, 1, lane] = p1
                p0 *= c + t0 * d
                p1 *= c + t1 * d
                c = Cm[j + 1, lane]
                d = Dm[j + 1, lane]
                pre[j + 1, 0, lane] = p0
                pre[j + 1, 1, lane] = p1
                P[0, lane] = p0 * (c + t0 * d)
                P[1, lane] = p1 * (c + t1 * d)
        for lane in range(lanes):
            S[0, lane] = 1.0
            S[1, lane] = 1.0
        for j in range(rp - 2, -1, -2):  # suffix products carried back: prod_{k > j} F_k
            a0 = 0.0
            a1 = 0.0
            for lane in range(lanes):
                s0 = S[0, lane]
                s1 = S[1, lane]
                c = Cm[j + 1, lane]
                d = Dm[j + 1, lane]
                a1 += cd[j + 1, lane] * (pre[j + 1, 0, lane] * s0 + pre[j + 1, 1, lane] * s1)
                s0 *= c + t0 * d
                s1 *= c + t1 * d
                c = Cm[j, lane]
                d = Dm[j, lane]
                a0 += cd[j, lane] * (pre[j, 0, lane] * s0 + pre[j, 1, lane] * s1)
                S[0, lane] = s0 * (c + t0 * d)
                S[1, lane] = s1 * (c + t1 * d)
            tot[j] += a0
            tot[j + 1] += a1


def accumulate(A, C, coef, T, W):
    """sum_s coef_s (a_sk - c_sk) integral_0^1 prod_{l != k} F_sl(t) dt for every (row, background row).

    A : (n, blocks, d, lanes) packed factors of the rows; C : (B, blocks, d, lanes) of the background;
    coef : (blocks, lanes), 0 on padding. T, W : (d + 1, ceil(d / 2)) Gauss-Legendre nodes and weights on
    [0, 1], row r for r players. Returns (n, B, d); the caller sums over background rows in a fixed order.
    The (row, background row) pairs are split into contiguous ranges run by numba's thread count of
    Python threads, each in a compiled loop that releases the GIL: a ``prange`` loop did the same but
    took about 2 s to compile on a fresh install (issue 27, first call). Each pair writes its own slot of
    ``out``, so the result does not depend on the number of threads.
    """
    n, d = A.shape[0], A.shape[2]
    B = C.shape[0]
    out = np.zeros((n, B, d))
    pairs = n * B
    threads = max(1, min(numba.get_num_threads(), pairs))
    if threads == 1:
        _pairs(A, C, coef, T, W, out, 0, pairs)
        return out
    from concurrent.futures import ThreadPoolExecutor

    edges = np.linspace(0, pairs, 4 * threads + 1).astype(np.int64)  # a few ranges per thread: even finish
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: _pairs(A, C, coef, T, W, out, edges[i], edges[i + 1]), range(len(edges) - 1)))
    return out


@numba.njit(nogil=True, cache=True)
def _pairs(A, C, coef, T, W, out, start, stop):  # pragma: no cover - compiled
    """The pairs start..stop-1 (pair p: row p // B, background row p % B) into ``out``, without the GIL."""
    B = C.shape[0]
    for p in range(start, stop):
        _pair(A[p // B], C[p % B], coef, T, W, out[p // B, p % B])


@numba.njit(cache=True)
def _pair(a, c, coef, T, W, out):  # pragma: no cover - compiled
    """One (row, background row) pair: a, c (blocks, d, lanes); adds each player's value to out (d,).

    A player whose factors are equal for the row and the background row (the same value, e.g. a blank
    pixel in both) has a_k = c_k for every support vector: its factor is a constant of the pair's game and
    its value 0, so only the other r players enter the integral, of degree r - 1.
    """
    blocks, d, lanes = a.shape
    active = np.empty(d, dtype=np.int64)
    r = 0
    for k in range(d):
        for blk in range(blocks):
            same = True
            for lane in range(lanes):
                same &= a[blk, k, lane] == c[blk, k, lane]
            if not same:
                active[r] = k
                r += 1
                break
    if r == 0:
        return
    rp = r + r % 2
    Cm = np.ones((rp, lanes))
    Dm = np.zeros((rp, lanes))
    cd = np.zeros((rp, lanes))
    pre = np.empty((rp, 2, lanes))
    P = np.empty((2, lanes))
    S = np.empty((2, lanes))
    const = np.empty(lanes)
    tot = np.zeros(rp)
    for blk in range(blocks):
        const[:] = 1.0
        j = 0
        for k in range(d):
            if j < r and active[j] == k:
                for lane in range(lanes):
                    ck = c[blk, k, lane]
                    Cm[j, lane] = ck
                    Dm[j, lane] = a[blk, k, lane] - ck
                    cd[j, lane] = coef[blk, lane] * Dm[j, lane]
                j += 1
            else:
                for lane in range(lanes):
                    const[lane] *= c[blk, k, lane]
        _block(Cm, Dm, cd, const, pre, P, S, tot, T, W, r, rp, lanes)
    for j in range(r):
        out[active[j]] = tot[j]
