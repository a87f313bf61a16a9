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
itself does. Leave-one-out products come from prefix and suffix products, never from a division (see
:mod:`explain.methods._kernel_product`, which also holds the compiled loops). Each factor is computed
once: a = k(x, s) per (row, support vector), c = k(z, s) per (background row, support vector), shared
by every row, and kept for the next call on the same support vectors and background (explain() calls
once per explained class). The compiled loop runs over (row, background row) pairs in parallel and,
innermost, over blocks of support vectors, one vector operation per step. Work is chunked over support
vectors and rows so peak memory stays bounded (CHUNK_ELEMENTS factors at once).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from ..errors import MethodNotApplicableError
from ._kernel_product import accumulate, lanes_for, packed_factors
from .base import Attribution, Method, Task, capability_reason

__all__ = ["KernelExact", "product_kernel_shapley", "player_log_factors"]

# (background x support x players) factors held at once: 31 MB, below glibc's largest mmap threshold
# (32 MB), above which every array gets fresh pages (their page faults cost as much as computing the factors)
CHUNK_ELEMENTS = 4_000_000


def _log_factors(P: np.ndarray, S: np.ndarray, weights: np.ndarray, power: int) -> np.ndarray:
    """log k_j(p_j, s_ij) for every row of P and support vector: shape (len(P), len(S), d)."""
    diff = np.abs(P[:, None, :] - S[None, :, :])
    return -weights * (diff ** 2 if power == 2 else diff)


@functools.lru_cache(maxsize=16)
def gauss_legendre_table(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, W), each (d + 1, max(1, ceil(d / 2))): row r holds the ceil(r / 2) nodes and weights on [0, 1]
    that integrate polynomials of degree r - 1 exactly, padded with zero weights (read-only, cached)."""
    q = max(1, (d + 1) // 2)
    T, W = np.zeros((d + 1, q)), np.zeros((d + 1, q))
    for r in range(1, d + 1):
        nodes, wts = np.polynomial.legendre.leggauss(max(1, (r + 1) // 2))
        T[r, :len(nodes)], W[r, :len(nodes)] = (nodes + 1.0) / 2.0, wts / 2.0
    T.flags.writeable = W.flags.writeable = False
    return T, W


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
    # C-ordered float64 and int64 whatever came in: one compiled signature of each loop
    X, background = np.ascontiguousarray(X, float), np.ascontiguousarray(background, float)
    weights = np.broadcast_to(np.asarray(expansion.weights, float), (S.shape[1],)).copy()
    n, B = X.shape[0], background.shape[0]
    d = X.shape[1] if groups is None else int(np.max(groups)) + 1
    # a column constant on the data (group -1) scales every support vector's product by the same factor
    # for x and background alike: fold it into player 0's factor (scaling a_0 and c_0 together scales the game)
    player = np.arange(S.shape[1]) if groups is None else np.maximum(np.asarray(groups, np.int64), 0)
    T, W = gauss_legendre_table(d)
    reuse = _reused_factors(S, background, weights, expansion.power, player)
    values = np.zeros((n, d))
    f_bg = np.zeros(B)
    sv_step = max(1, min(S.shape[0], CHUNK_ELEMENTS // max(1, B * d)))
    bg_step = B if sv_step > 1 or B * d <= CHUNK_ELEMENTS else max(1, CHUNK_ELEMENTS // d)
    for s0 in range(0, S.shape[0], sv_step):
        Ss, cs = S[s0:s0 + sv_step], coef[s0:s0 + sv_step]
        lanes = lanes_for(len(Ss))
        cs = np.concatenate([cs, np.zeros(-len(cs) % lanes)]).reshape(-1, lanes)
        row_step = max(1, CHUNK_ELEMENTS // max(1, len(Ss) * d))
        for b0 in range(0, B, bg_step):
            where = (s0, len(Ss), b0, bg_step, lanes)
            C, K = reuse.get(where) or _background_factors(reuse, where, background[b0:b0 + bg_step], Ss, weights,
                                                            expansion.power, player, d, lanes)
            f_bg[b0:b0 + bg_step] += np.einsum("bkl,kl->b", K, cs)
            for r0 in range(0, n, row_step):
                A = packed_factors(X[r0:r0 + row_step], Ss, weights, expansion.power, player, d, lanes)[0]
                values[r0:r0 + row_step] += accumulate(A, C, cs, T, W).sum(axis=1) / B
    return values, np.full(n, float(f_bg.mean() + expansion.intercept))


# The background's factors of the last call, for the next call on the same support vectors and background:
# explain() calls once per explained class (a 10-class SVC ten times), and the rows' own factors are a
# small part of the work next to the background's. Bounded (REUSE_ELEMENTS, 64 MB) and replaced by the next
# support/background pair, so at most one set is held.
REUSE_ELEMENTS = 2 * CHUNK_ELEMENTS
_REUSED: dict = {"key": None, "chunks": {}, "elements": 0}


def forget_reused_factors() -> None:
    """Drop the background factors kept for the next call (their memory, or a cold timing in a benchmark)."""
    global _REUSED
    _REUSED = {"key": None, "chunks": {}, "elements": 0}


def _reused_factors(S, background, weights, power, player) -> dict:
    """The chunks computed for this (support, background, kernel) before, keyed by where they start, their
    sizes and lanes; a fresh store when anything differs (compared by content, not identity)."""
    global _REUSED
    h = hashlib.blake2b(digest_size=20)
    for a in (S, background, weights, player, np.array([power])):
        a = np.ascontiguousarray(a)
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(a.view(np.uint8).reshape(-1))
    key = h.digest()
    store = _REUSED
    if store["key"] != key:
        store = _REUSED = {"key": key, "chunks": {}, "elements": 0}
    return store["chunks"]


def _background_factors(chunks: dict, where, background, Ss, weights, power, player, d, lanes):
    """Packed factors C of the background rows and their kernel values K = k(z, s) (padding 0 coefficient);
    kept in ``chunks`` for the next call while the store stays under REUSE_ELEMENTS."""
    C, log_kernel = packed_factors(background, Ss, weights, power, player, d, lanes)
    K = np.exp(log_kernel)
    C.flags.writeable = K.flags.writeable = False  # always: one compiled signature of the loop, kept or not
    store = _REUSED
    if store["chunks"] is chunks and store["elements"] + C.size <= REUSE_ELEMENTS:
        chunks[where] = (C, K)
        store["elements"] += C.size
    return C, K


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
