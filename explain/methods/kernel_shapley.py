"""Exact interventional Shapley values for product-kernel models, in polynomial time.

For f(x) = sum_i coef_i k(x, s_i) + b with k(x, s) = prod_j k_j(x_j, s_j), the
interventional value v(S) = mean_{z in B} f(x_S, z_notS) splits into product
games g(S) = prod_{j in S} a_j prod_{j not in S} c_j, one per (support vector,
background row), with a_j = k_j(x_j, s_ij) and c_j = k_j(z_j, s_ij). Shapley
weights are Beta integrals, so

    phi_j = (a_j - c_j) * integral_0^1 prod_{k != j} (t a_k + (1 - t) c_k) dt,

a polynomial of degree d - 1 in t, integrated exactly by Gauss-Legendre
quadrature on ceil(d / 2) nodes. Cost O(n x n_support x n_background x d^2),
no sampling.

Numerics and speed: the factors are kernel values in [0, 1] (log-factors are <= 0), so the
integrand prod_{k != j} F_k(t), F_k = c_k + t (a_k - c_k), lies between the products of min(a, c) and
max(a, c) and its partial products are never smaller than it: it underflows only where the kernel
itself does. Each factor is computed once: a = k(x, s) per (row, support vector), c = k(z, s) per
(background row, support vector), shared by every row. The compiled loop runs over (row, background
row) pairs in parallel and, innermost, over support vectors, so each step is one vector operation over
them; the leave-one-out products come from prefix and suffix products (no division). Work is chunked
over support vectors and rows so peak memory stays bounded (CHUNK_ELEMENTS factors at once).
"""

from __future__ import annotations

import numba  # ships with shap; this module is imported only when kernel models are explained
import numpy as np

from ..errors import MethodNotApplicableError
from .base import Attribution, Method, Task, capability_reason

__all__ = ["KernelExact", "product_kernel_shapley", "player_log_factors"]

CHUNK_ELEMENTS = 1 << 22  # (background x support x features) log-factors held at once: 32 MB
SV_BLOCK = 32  # support vectors per step of the compiled loop (its work arrays stay in cache)


def _log_factors(P: np.ndarray, S: np.ndarray, weights: np.ndarray, power: int) -> np.ndarray:
    """log k_j(p_j, s_ij) for every row of P and support vector: shape (len(P), len(S), d)."""
    diff = np.abs(P[:, None, :] - S[None, :, :])
    return -weights * (diff ** 2 if power == 2 else diff)


@numba.njit(parallel=True, cache=True, fastmath={"contract", "reassoc"})  # FMA and vector sums
def accumulate(A, C, coef, T, W, block):  # pragma: no cover - compiled
    """sum_s coef_s (a_sk - c_sk) integral_0^1 prod_{l != k} F_sl(t) dt for every (row, background row).

    A : (n, d, m) factors k_k(x_k, s_k) of the rows; C : (B, d, m) of the background; coef : (m,).
    T, W : (d + 1, ceil(d / 2)) Gauss-Legendre nodes and weights on [0, 1], row r for r players (zero
    weights pad the rows). A player whose factors are equal for the row and the background row (the same
    value, e.g. a blank pixel in both) has a_k = c_k for every support vector: its factor is a constant
    of the pair's game and its value 0, so only the other r players enter the integral, of degree r - 1.
    Returns (n, B, d); the caller sums over background rows in a fixed order.
    """
    n, d, m = A.shape
    B = C.shape[0]
    out = np.zeros((n, B, d))
    for p in numba.prange(n * B):
        i, b = p // B, p % B
        active = np.empty(d, dtype=np.int64)
        r = 0
        for k in range(d):
            for s in range(m):
                if A[i, k, s] != C[b, k, s]:
                    active[r] = k
                    r += 1
                    break
        if r == 0:
            continue
        D = np.empty((r, block))
        F = np.empty((r, block))
        pre = np.empty((r + 1, block))
        integral = np.empty((r, block))
        const = np.empty(block)
        suffix = np.empty(block)
        totals = np.zeros(r)
        for s0 in range(0, m, block):  # a block of support vectors at a time: the work stays in cache
            e = min(m, s0 + block) - s0
            const[:e] = 1.0
            j = 0
            for k in range(d):
                if j < r and active[j] == k:
                    for s in range(e):
                        D[j, s] = A[i, k, s0 + s] - C[b, k, s0 + s]
                    j += 1
                else:
                    for s in range(e):
                        const[s] *= C[b, k, s0 + s]
            integral[:, :e] = 0.0
            for q in range(T.shape[1]):
                tq, wq = T[r, q], W[r, q]
                if wq == 0.0:
                    break
                for s in range(e):
                    pre[0, s] = wq * const[s]
                    suffix[s] = 1.0
                for j in range(r):
                    k = active[j]
                    for s in range(e):
                        F[j, s] = C[b, k, s0 + s] + tq * D[j, s]
                        pre[j + 1, s] = pre[j, s] * F[j, s]
                for j in range(r - 1, -1, -1):  # leave-one-out product without division
                    for s in range(e):
                        integral[j, s] += pre[j, s] * suffix[s]
                        suffix[s] *= F[j, s]
            for j in range(r):
                total = 0.0
                for s in range(e):
                    total += coef[s0 + s] * D[j, s] * integral[j, s]
                totals[j] += total
        for j in range(r):
            out[i, b, active[j]] = totals[j]
    return out


def gauss_legendre_table(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, W), each (d + 1, max(1, ceil(d / 2))): row r holds the ceil(r / 2) nodes and weights on [0, 1]
    that integrate polynomials of degree r - 1 exactly, padded with zero weights."""
    q = max(1, (d + 1) // 2)
    T, W = np.zeros((d + 1, q)), np.zeros((d + 1, q))
    for r in range(1, d + 1):
        nodes, wts = np.polynomial.legendre.leggauss(max(1, (r + 1) // 2))
        T[r, :len(nodes)], W[r, :len(nodes)] = (nodes + 1.0) / 2.0, wts / 2.0
    return T, W


_ACCUMULATE = accumulate  # compiled on first use, cached on disk by numba


def player_log_factors(expansion, groups=None):
    """``log_factors(P, S) -> (len(P), len(S), players)``: log k_j(p_j, s_ij), one factor per player.

    The kernel is a product over columns, so a group of columns (``groups``: player of each column, -1 for a
    column constant on the data) is still one factor: the sum of its columns' log-factors.
    """
    if groups is None:
        return lambda P, Ss: _log_factors(P, Ss, expansion.weights, expansion.power)
    groups = np.asarray(groups)
    if np.array_equal(groups, np.arange(len(groups))):  # one player per column
        return lambda P, Ss: _log_factors(P, Ss, expansion.weights, expansion.power)
    G = np.zeros((len(groups), int(groups.max()) + 1))
    G[np.flatnonzero(groups >= 0), groups[groups >= 0]] = 1.0
    # a column constant on the data scales every support vector's product by the same factor for x and
    # background alike: fold it into player 0's factor (scaling a_0 and c_0 together scales the game)
    G[np.flatnonzero(groups < 0), 0] = 1.0
    members = [np.flatnonzero(G[:, g]) for g in range(G.shape[1])]

    def grouped(P, Ss):  # per-group sums over a fixed axis (not a matmul, whose rounding can vary with the rows)
        logs = _log_factors(P, Ss, expansion.weights, expansion.power)
        return np.stack([logs[..., cols].sum(axis=-1) for cols in members], axis=-1)
    return grouped


def product_kernel_shapley(X: np.ndarray, background: np.ndarray, expansion, groups=None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Exact interventional Shapley values of a product-kernel expansion.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Rows in the expansion's input space.
    background : ndarray of shape (B, d)
    expansion : KernelExpansion
    groups : ndarray of shape (d,), optional
        Player of each input column (-1: none, the column is constant on the data). The kernel is a
        product over columns, so a group of columns is still one factor: the result is exact for the
        grouped game, one value per player.

    Returns
    -------
    values : ndarray (n, d)
    base : ndarray (n,), mean f(background)
    """
    S, coef = np.asarray(expansion.support, float), np.asarray(expansion.coef, float) * expansion.scale
    log_factors = player_log_factors(expansion, groups)
    n = X.shape[0]
    d = X.shape[1] if groups is None else int(np.max(groups)) + 1
    T, W = gauss_legendre_table(d)
    B = background.shape[0]
    values = np.zeros((n, d))
    sv_step = max(1, min(S.shape[0], CHUNK_ELEMENTS // max(1, B * d)))
    bg_step = B if sv_step > 1 or B * d <= CHUNK_ELEMENTS else max(1, CHUNK_ELEMENTS // d)
    for s0 in range(0, S.shape[0], sv_step):
        Ss, cs = S[s0:s0 + sv_step], coef[s0:s0 + sv_step]
        row_step = max(1, CHUNK_ELEMENTS // max(1, len(Ss) * d))
        for b0 in range(0, B, bg_step):
            C = _factors(log_factors, background[b0:b0 + bg_step], Ss)  # shared by every row
            for r0 in range(0, n, row_step):
                A = _factors(log_factors, X[r0:r0 + row_step], Ss)
                values[r0:r0 + row_step] += _ACCUMULATE(A, C, cs, T, W, SV_BLOCK).sum(axis=1) / B
    rows = max(1, CHUNK_ELEMENTS // max(1, S.shape[0] * d))
    f_bg = np.concatenate([
        np.exp(_log_factors(background[r:r + rows], S, expansion.weights, expansion.power).sum(axis=-1)) @ coef
        for r in range(0, B, rows)])
    return values, np.full(n, float(f_bg.mean() + expansion.intercept))


def _factors(log_factors, P: np.ndarray, Ss: np.ndarray) -> np.ndarray:
    """Kernel factors k_j(p_j, s_j) of rows P and support vectors Ss, laid out (rows, players, support)."""
    return np.ascontiguousarray(np.exp(log_factors(P, Ss)).transpose(0, 2, 1))


class KernelExact(Method):
    """Exact interventional SHAP for RBF/Laplacian SVMs, kernel ridge and GP regression (``shap.kernel_exact``)."""

    name = "shap.kernel_exact"
    additive = True
    exact = True
    reads_internals = True
    game = "interventional Shapley values over the background"
    assumptions = "a product kernel"

    def applies(self, adapter, output, n_features):
        return capability_reason(adapter, "provides_kernel_expansion", "the product-kernel method",
                                 "kernel models")

    def attribute(self, task: Task) -> Attribution:
        expansion = task.adapter.kernel_expansion(task.output, task.target)
        if expansion is None:
            raise MethodNotApplicableError(
                f"{task.adapter.name}'s kernel ({task.adapter.kernel!r}) is not a product of per-feature "
                f"kernels (RBF or Laplacian) in output {task.output!r}; use 'shap' (KernelSHAP fallback)")
        return attribute_expansion(task, expansion)


def attribute_expansion(task: Task, expansion) -> Attribution:
    """Run the exact method on the adapter's transformed inputs; results are in the user's columns."""
    a = task.adapter
    values, base = product_kernel_shapley(a.transform(task.X), a.transform(task.background), expansion,
                                          groups=a.column_origin)
    margin = ""
    if a.task == "classification" and len(a.classes) > 2:
        margin = "; margin = the class's sum of signed one-vs-one decision functions"
    return Attribution(values, base, {
        "algorithm": "exact product-kernel Shapley (Gauss-Legendre, interventional)" + margin,
        "n_support": int(expansion.support.shape[0]), "kernel_power": int(expansion.power)}, exact=True)
