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

Numerics: each factor pair is divided by m_j = max(a_j, c_j), computed in log
space, so the scaled factors lie in [min(t, 1 - t), 1] (no underflow); the
leave-one-out products come from prefix and suffix products (no division);
the scales come back as exp(sum_j log m_j), which underflows only where the
kernel itself does. The inner loop is compiled with numba (parallel over
background rows); work is chunked over support vectors and background rows so
peak memory stays bounded (chunks of CHUNK_ELEMENTS log-factors).
"""

from __future__ import annotations

import numba  # ships with shap; this module is imported only when kernel models are explained
import numpy as np

from ..errors import MethodNotApplicableError
from .base import Attribution, Method, Task, capability_reason

__all__ = ["KernelExact", "product_kernel_shapley", "player_log_factors"]

CHUNK_ELEMENTS = 1 << 22  # (background x support x features) log-factors held at once: 32 MB


def _log_factors(P: np.ndarray, S: np.ndarray, weights: np.ndarray, power: int) -> np.ndarray:
    """log k_j(p_j, s_ij) for every row of P and support vector: shape (len(P), len(S), d)."""
    diff = np.abs(P[:, None, :] - S[None, :, :])
    return -weights * (diff ** 2 if power == 2 else diff)


@numba.njit(parallel=True, cache=True)
def accumulate(log_a, log_c, coef, t, w):  # pragma: no cover - compiled
    """The per-row accumulation over background rows (parallel) and support vectors, in scaled log form."""
    n_bg, m, d = log_c.shape
    out = np.zeros((n_bg, d))
    for b in numba.prange(n_bg):
        D = np.empty(d)
        C = np.empty(d)
        F = np.empty(d)
        pre = np.empty(d + 1)
        integral = np.empty(d)
        for i in range(m):
            log_scale = 0.0
            for k in range(d):
                lm = max(log_a[i, k], log_c[b, i, k])
                a = np.exp(log_a[i, k] - lm)
                c = np.exp(log_c[b, i, k] - lm)
                D[k] = a - c
                C[k] = c
                log_scale += lm
            scale = np.exp(log_scale) * coef[i]
            if scale == 0.0:
                continue
            integral[:] = 0.0
            for q in range(t.shape[0]):
                pre[0] = 1.0
                for k in range(d):  # scaled factors lie in [min(t, 1 - t), 1]
                    F[k] = C[k] + t[q] * D[k]
                    pre[k + 1] = pre[k] * F[k]
                suffix = 1.0
                for k in range(d - 1, -1, -1):  # leave-one-out product without division
                    integral[k] += w[q] * pre[k] * suffix
                    suffix *= F[k]
            for k in range(d):
                out[b, k] += D[k] * integral[k] * scale
    return out


_ACCUMULATE = accumulate  # compiled on first use, cached on disk by numba


def player_log_factors(expansion, groups=None):
    """``log_factors(P, S) -> (len(P), len(S), players)``: log k_j(p_j, s_ij), one factor per player.

    The kernel is a product over columns, so a group of columns (``groups``: player of each column, -1 for a
    column constant on the data) is still one factor: the sum of its columns' log-factors.
    """
    if groups is None:
        return lambda P, Ss: _log_factors(P, Ss, expansion.weights, expansion.power)
    groups = np.asarray(groups)
    G = np.zeros((len(groups), int(groups.max()) + 1))
    G[np.flatnonzero(groups >= 0), groups[groups >= 0]] = 1.0
    # a column constant on the data scales every support vector's product by the same factor for x and
    # background alike: fold it into player 0's factor (scaling a_0 and c_0 together scales the game)
    G[np.flatnonzero(groups < 0), 0] = 1.0
    members = [np.flatnonzero(G[:, g]) for g in range(G.shape[1])]
    # per-group sums over a fixed axis (not a matmul, whose rounding can vary with the number of rows)
    return lambda P, Ss: np.stack(
        [_log_factors(P, Ss, expansion.weights, expansion.power)[..., cols].sum(axis=-1) for cols in members],
        axis=-1)


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
    nodes, wts = np.polynomial.legendre.leggauss(max(1, (d + 1) // 2))
    t, w = (nodes + 1.0) / 2.0, wts / 2.0
    B = background.shape[0]
    values = np.zeros((n, d))
    sv_step = max(1, min(S.shape[0], CHUNK_ELEMENTS // max(1, B * d)))
    bg_step = B if sv_step > 1 or B * d <= CHUNK_ELEMENTS else max(1, CHUNK_ELEMENTS // d)
    for s0 in range(0, S.shape[0], sv_step):
        Ss, cs = S[s0:s0 + sv_step], coef[s0:s0 + sv_step]
        log_a_all = log_factors(X, Ss)               # (n, m, d)
        for b0 in range(0, B, bg_step):
            log_c = log_factors(background[b0:b0 + bg_step], Ss)
            for i in range(n):
                values[i] += _ACCUMULATE(log_a_all[i], log_c, cs, t, w).sum(axis=0) / B
    rows = max(1, CHUNK_ELEMENTS // max(1, S.shape[0] * d))
    f_bg = np.concatenate([
        np.exp(_log_factors(background[r:r + rows], S, expansion.weights, expansion.power).sum(axis=-1)) @ coef
        for r in range(0, B, rows)])
    return values, np.full(n, float(f_bg.mean() + expansion.intercept))


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
