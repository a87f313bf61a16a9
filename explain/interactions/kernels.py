"""Exact interventional interaction indices of product-kernel models, in closed form.

For f(x) = sum_s coef_s prod_k k_k(x_k, s_k) + b and one (support vector s,
background row z), the game is g(S) = prod_{k in S} a_k prod_{k not in S} c_k
with a_k = k_k(x_k, s_k), c_k = k_k(z_k, s_k). Then

    D_ij(S) = (a_i - c_i)(a_j - c_j) prod_{k in S} a_k prod_{k not in S+i+j} c_k,

and since the weights are Beta integrals (|S|!(p-|S|-2)!/(p-1)! = int t^|S| (1-t)^(p-2-|S|) dt;
2/(p C(p-1,|S|)) = 2 int t^|S| (1-t)^(p-1-|S|) dt), summing over S gives

    SII_ij  = (a_i - c_i)(a_j - c_j)  int_0^1         prod_{k != i,j} (c_k + t (a_k - c_k)) dt
    STII_ij = (a_i - c_i)(a_j - c_j)  int_0^1 2 (1-t) prod_{k != i,j} (c_k + t (a_k - c_k)) dt

polynomials of degree p - 2 and p - 1 in t, integrated exactly by Gauss-Legendre
quadrature on ceil(p / 2) nodes. With F_k(t) = c_k + t (a_k - c_k) and
u_k = (a_k - c_k) / F_k, the whole matrix at one node is prod_k F_k * u u^T.
Factors are scaled by max(a_k, c_k) in log space as in the Shapley path
(:mod:`explain.methods.kernel_shapley`), so F_k lies in [min(t, 1-t), 1] and the
division is safe at the interior nodes. The first-order effect v({i}) - v({}) (STII's diagonal) is
(a_i - c_i) prod_{k != i} c_k, from prefix and suffix products.
Cost O(n x n_support x n_background x p^2 x nodes), no sampling.
"""

from __future__ import annotations

import numba
import numpy as np

from ..methods.kernel_shapley import CHUNK_ELEMENTS, player_log_factors, product_kernel_shapley

__all__ = ["product_kernel_interactions"]


@numba.njit(parallel=True, cache=True)
def _pairs(log_a, log_c, coef, t, w, stii):  # pragma: no cover - compiled
    n_bg, m, p = log_c.shape
    out = np.zeros((n_bg, p, p))
    first = np.zeros((n_bg, p))
    for b in numba.prange(n_bg):
        D = np.empty(p)
        C = np.empty(p)
        u = np.empty(p)
        pre = np.empty(p + 1)
        acc = out[b]
        fo = first[b]
        for i in range(m):
            log_scale = 0.0
            for k in range(p):
                lm = max(log_a[i, k], log_c[b, i, k])
                D[k] = np.exp(log_a[i, k] - lm) - np.exp(log_c[b, i, k] - lm)
                C[k] = np.exp(log_c[b, i, k] - lm)
                log_scale += lm
            scale = np.exp(log_scale) * coef[i]
            if scale == 0.0:
                continue
            for q in range(t.shape[0]):
                total = 1.0
                for k in range(p):
                    F = C[k] + t[q] * D[k]
                    u[k] = D[k] / F
                    total *= F
                wq = w[q] * total * scale
                if stii:
                    wq *= 2.0 * (1.0 - t[q])
                for k in range(p):
                    if u[k] == 0.0:
                        continue
                    wk = wq * u[k]
                    for j in range(k + 1, p):
                        acc[k, j] += wk * u[j]
            pre[0] = 1.0  # first order v({k}) - v({}) = (a_k - c_k) prod_{j != k} c_j
            for k in range(p):
                pre[k + 1] = pre[k] * C[k]
            suffix = 1.0
            for k in range(p - 1, -1, -1):
                fo[k] += D[k] * pre[k] * suffix * scale
                suffix *= C[k]
    return out, first


def product_kernel_interactions(X, background, expansion, index: str, groups=None
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact (n, p, p) interaction matrix of a product-kernel expansion (``index`` "SII" or "STII") and the
    first-order effects v({i}) - v({}) (n, p).

    ``X`` and ``background`` are in the expansion's input space; ``groups`` maps columns to players as in
    :func:`explain.methods.kernel_shapley.product_kernel_shapley`, whose Shapley values fill SII's diagonal.
    """
    S, coef = np.asarray(expansion.support, float), np.asarray(expansion.coef, float) * expansion.scale
    log_factors = player_log_factors(expansion, groups)
    n = X.shape[0]
    p = X.shape[1] if groups is None else int(np.max(groups)) + 1
    nodes, wts = np.polynomial.legendre.leggauss(max(1, (p + 1) // 2))
    t, w = (nodes + 1.0) / 2.0, wts / 2.0
    B = background.shape[0]
    out = np.zeros((n, p, p))
    first = np.zeros((n, p))
    sv_step = max(1, min(S.shape[0], CHUNK_ELEMENTS // max(1, B * p)))
    bg_step = B if sv_step > 1 or B * p <= CHUNK_ELEMENTS else max(1, CHUNK_ELEMENTS // p)
    for s0 in range(0, S.shape[0], sv_step):
        Ss, cs = S[s0:s0 + sv_step], coef[s0:s0 + sv_step]
        log_a_all = log_factors(X, Ss)
        for b0 in range(0, B, bg_step):
            log_c = log_factors(background[b0:b0 + bg_step], Ss)
            for r in range(n):
                pairs, single = _pairs(log_a_all[r], log_c, cs, t, w, index == "STII")
                out[r] += pairs.sum(axis=0) / B
                first[r] += single.sum(axis=0) / B
    upper = np.triu_indices(p, 1)
    out[:, upper[1], upper[0]] = out[:, upper[0], upper[1]]
    diagonal = first if index == "STII" else product_kernel_shapley(X, background, expansion, groups=groups)[0]
    out[:, np.arange(p), np.arange(p)] = diagonal
    return out, first
