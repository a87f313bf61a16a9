"""KernelSHAP with an explicit generator: the fallback of ``"shap"`` when no exact algorithm applies.

shap's KernelExplainer draws its coalitions from numpy's global generator, so ``"shap"`` uses this
estimator instead (shap's own stays available as ``"shap.kernel"``, run in an isolated worker).

Sampling. Coalitions come in pairs (S, complement of S), so only the antisymmetric part of the game,
a(S) = (v(S) - v(N \\ S)) / 2, is observed; it alone determines the Shapley values (the symmetric part's are 0).
The pairs are stratified by the smaller size k = 1..d/2 and drawn within each stratum without replacement;
the budget is spread over the strata by water-filling in proportion to sqrt(kernel mass x leverage) (the
Shapley kernel's mass of the stratum and its number of sizes, the leverage scores of Musco & Witter 2025), so
the strata the budget covers completely are enumerated, as shap's KernelExplainer does, and the others carry
Horvitz-Thompson weights (the kernel weight x population / sample).

Regression. The Shapley kernel's weighted least squares of a on the odd Fourier characters of the coalition
(s_i = +1 if i is in S, -1 if not): the d linear terms, which alone is paired KernelSHAP, plus, when the budget
allows (see ``_use_cubic``), the C(d, 3) products s_i s_j s_k, lightly ridge-penalised. Its fitted surrogate's
Shapley values are exact in closed form (2 c_i + sum over triples T containing i of 2 c_T / 3), and the
efficiency constraint (sum = v(all) - v(empty)) is imposed exactly. The Shapley values of the kernel-weighted
projection equal those of the game when every coalition is seen (the projection onto the linear terms, which
gives the Shapley values, is unchanged by first projecting onto a larger space), so the estimator is
consistent; the cubic terms remove the third-order interactions that dominate paired KernelSHAP's error
(the regression-adjustment idea of Witter et al. 2025, with a surrogate whose Shapley values are closed form).

Standard errors: to first order phi - phi* = L P (t - E t), with P the constrained (ridged) inverse, L the
map from coefficients to Shapley values and t the Horvitz-Thompson totals of u = w f(s) (a - f(s)'c) per pair.
Within each sampled stratum the pairs are a simple random sample without replacement, so
Var(t_k) = N_k^2 (1 - m_k / N_k) s_k^2 / m_k (finite-population correction; enumerated strata add none), with
the residuals divided by (1 - h)^0.9, h the pair's leverage, so that a fit with nearly as many terms as pairs
does not understate them. The power is chosen empirically between HC2 (0.5) and HC3 (1): at d = 14 and 512
coalitions with the cubic terms HC2's intervals covered 60% of the exact values, HC3's 98.5-99.4%, 0.9's
94-97% (benchmarks/bench_sampling.py); the coverage tests hold it at 90-98% on three other models (Covert & Lee 2021 use the same sandwich for paired KernelSHAP). With ``target_stderr``
further pairs are drawn until the largest standard error is below the target or a cap is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

__all__ = ["kernel_shap_row", "kernel_shap_estimate", "RowEstimate"]

MAX_BATCH = 1 << 18  # model rows per call
RIDGE = 0.03  # penalty on the cubic terms, relative to the mean diagonal of the linear block
MAX_CUBIC_TERMS = 1500  # above this the (d + C(d,3))^2 solve per row is too slow
HC_POWER = 0.9  # residuals / (1 - leverage)^power: 0.5 is HC2, 1 is HC3 (see the module docstring)


def _strata(d: int) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Stratum sizes k, their numbers of pairs N_k, each coalition's kernel weight and the allocation score."""
    ks = list(range(1, d // 2 + 1))
    N = np.array([comb(d, k) if 2 * k != d else comb(d - 1, k - 1) for k in ks], dtype=float)
    sizes = np.arange(1, d)
    p = (d - 1) / (sizes * (d - sizes))
    p /= p.sum()
    omega = np.array([p[k - 1] / comb(d, k) for k in ks])
    n_sizes = np.array([1.0 if 2 * k == d else 2.0 for k in ks])
    return ks, N, omega, np.sqrt(omega * 2 * N * n_sizes)


def _allocate(score: np.ndarray, N: np.ndarray, pairs: int) -> np.ndarray:
    """Pairs per stratum: proportional to ``score``, water-filled under the caps ``N``, rounded by remainders."""
    m, free, left = np.zeros(len(score)), np.ones(len(score), dtype=bool), float(min(pairs, N.sum()))
    while free.any():
        share = np.where(free, left * score / score[free].sum(), 0.0)
        over = free & (share >= N)
        if not over.any():
            m[free] = share[free]
            break
        m[over] = N[over]
        left -= N[over].sum()
        free &= ~over
    base = np.floor(m + 1e-9)
    extra = int(round(min(pairs, N.sum()) - base.sum()))
    for i in np.argsort(-(m - base), kind="stable")[:max(0, extra)]:
        base[i] += 1
    return np.minimum(base, N).astype(int)


def _stratum_members(d: int, k: int) -> np.ndarray:
    """Every pair of stratum k, as its size-k member (the one holding feature 0 when k = d / 2)."""
    if 2 * k == d:
        idx = [(0,) + tuple(c) for c in combinations(range(1, d), k - 1)]
    else:
        idx = list(combinations(range(d), k))
    masks = np.zeros((len(idx), d), dtype=bool)
    masks[np.repeat(np.arange(len(idx)), k), np.array(idx).reshape(-1)] = True
    return masks


def _draw(d: int, k: int, n_pop: float, have: np.ndarray, want: int, rng: np.random.Generator) -> np.ndarray:
    """``want`` new pairs of stratum k, none already in ``have``, uniformly without replacement."""
    if n_pop <= 4 * (len(have) + want) or n_pop <= 4096:  # small population: list it and choose
        pop = _stratum_members(d, k)
        if len(have):
            codes = np.packbits(pop, axis=1)
            taken = {bytes(r) for r in np.packbits(have, axis=1)}
            pop = pop[[bytes(r) not in taken for r in codes]]
        return pop[np.sort(rng.choice(len(pop), want, replace=False))]
    seen = {bytes(r) for r in np.packbits(have, axis=1)}
    out = []
    while len(out) < want:  # large population: random subsets, duplicates rejected (rare here)
        order = np.argsort(rng.random((want, d)), axis=1)
        masks = np.zeros((want, d), dtype=bool)
        np.put_along_axis(masks, order, np.arange(d)[None, :] < k, axis=1)
        if 2 * k == d:
            masks[~masks[:, 0]] = ~masks[~masks[:, 0]]
        for m in masks:
            key = bytes(np.packbits(m))
            if key not in seen and len(out) < want:
                seen.add(key)
                out.append(m)
    return np.array(out, dtype=bool).reshape(-1, d)


def _values(f, x: np.ndarray, background: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """v(S) for each mask: the mean of f over the background with x's values where the mask is on."""
    m = background.shape[0]
    step = max(1, MAX_BATCH // m)
    out = []
    for s in range(0, len(masks), step):
        block = masks[s:s + step]
        Z = np.where(block[:, None, :], x[None, None, :], background[None, :, :]).reshape(-1, x.shape[0])
        out.append(np.asarray(f(Z), dtype=float).reshape(len(block), m).mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def _use_cubic(d: int, pairs: int) -> bool:
    """Cubic terms when there are at least half as many pairs as terms and the solve stays small."""
    terms = d + comb(d, 3)
    return d >= 4 and terms <= MAX_CUBIC_TERMS and 2 * pairs >= terms


def _features(S: np.ndarray, cubic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Odd Fourier characters of the pairs (n, p) and the (d, p) map from coefficients to Shapley values."""
    d = S.shape[1]
    triples = np.array(list(combinations(range(d), 3)), dtype=int).reshape(-1, 3) if cubic else \
        np.zeros((0, 3), dtype=int)
    F = np.concatenate([S, S[:, triples[:, 0]] * S[:, triples[:, 1]] * S[:, triples[:, 2]]], axis=1)
    L = np.zeros((d, F.shape[1]))
    L[np.arange(d), np.arange(d)] = 2.0
    for j in range(3):
        L[triples[:, j], d + np.arange(len(triples))] = 2.0 / 3
    return F, L


def _solver(A: np.ndarray):
    """``B -> A^-1 B`` by Cholesky (A is a ridged Gram matrix), by the pseudo-inverse when A is singular."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        factor = cho_factor(A)
        return lambda B: cho_solve(factor, B)
    except LinAlgError:
        A_inv = np.linalg.pinv(A)
        return lambda B: A_inv @ B


@dataclass
class RowEstimate:
    """KernelSHAP values of one row with their standard errors and what the sampling spent."""

    values: np.ndarray
    stderr: np.ndarray
    nsamples: int  # coalitions evaluated (pairs x 2)
    reached: bool | None = None  # target_stderr met (None when no target was set)


def _solve(members: np.ndarray, a: np.ndarray, stratum: np.ndarray, m: np.ndarray, N: np.ndarray,
           omega: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
    """(phi, stderr) from the pairs' size-k members, their antisymmetric values and strata (module docstring)."""
    d = members.shape[1]
    F, L = _features(np.where(members, 1.0, -1.0), _use_cubic(d, len(members)))
    p = F.shape[1]
    w = omega[stratum] * N[stratum] / m[stratum]
    A = (F * w[:, None]).T @ F
    b = (F * w[:, None]).T @ a
    A_pen = A.copy()
    if p > d:
        A_pen[d:, d:] += RIDGE * np.trace(A[:d, :d]) / d * np.eye(p - d)
    solve = _solver(A_pen)
    A_inv_b, A_inv_1 = solve(b), solve(np.ones(p))
    c = A_inv_b - A_inv_1 * (A_inv_b.sum() - total / 2) / A_inv_1.sum()  # a(all) = sum of c = total / 2

    def P(B):  # the constrained inverse applied to the columns of B
        X = solve(B)
        return X - np.outer(A_inv_1, A_inv_1 @ B) / A_inv_1.sum()

    h = np.clip(w * np.einsum("ij,ji->i", F, P(F.T)), 0.0, 0.99)
    u = F * (omega[stratum] * (a - F @ c) / (1.0 - h) ** HC_POWER)[:, None]
    uG = u @ P(L.T)  # each pair's influence on phi = L P u (P is symmetric)
    var = np.zeros(d)
    for k in np.flatnonzero(m < N):
        if m[k] < 2:
            return L @ c, np.full(d, np.nan)
        var += N[k] ** 2 * (1.0 - m[k] / N[k]) * np.var(uG[stratum == k], axis=0, ddof=1) / m[k]
    return L @ c, np.sqrt(var)


def kernel_shap_estimate(f, x: np.ndarray, background: np.ndarray, *, v_empty: float, v_full: float,
                         nsamples: int, rng: np.random.Generator, target_stderr: float | None = None,
                         max_nsamples: int | None = None) -> RowEstimate:
    """KernelSHAP values of one row with standard errors; optionally sampling until they are small enough.

    Parameters
    ----------
    f, x, background, v_empty, v_full, rng
        As :func:`kernel_shap_row`.
    nsamples : int
        Coalitions of the first round (in pairs: a coalition and its complement).
    target_stderr : float, optional
        Draw further pairs until the largest standard error is at most this,
        or ``max_nsamples`` coalitions were evaluated.
    max_nsamples : int, optional
        The cap with ``target_stderr`` (at least ``nsamples``).

    Returns
    -------
    RowEstimate
    """
    d = x.shape[0]
    total = v_full - v_empty
    if d == 1:
        return RowEstimate(np.array([total]), np.zeros(1), 0, None if target_stderr is None else True)
    ks, N, omega, score = _strata(d)
    members = np.zeros((0, d), dtype=bool)
    a, stratum, m = np.zeros(0), np.zeros(0, dtype=int), np.zeros(len(ks), dtype=int)

    def grow(pairs):
        nonlocal members, a, stratum, m
        target = np.maximum(_allocate(score, N, max(pairs, 1)), m)
        new, new_stratum = [], []
        for i, k in enumerate(ks):
            if target[i] > m[i]:
                new.append(_draw(d, k, N[i], members[stratum == i], int(target[i] - m[i]), rng))
                new_stratum.append(np.full(len(new[-1]), i))
        new = np.concatenate(new)
        y = _values(f, x, background, np.concatenate([new, ~new]))
        members = np.concatenate([members, new])
        a = np.concatenate([a, (y[:len(new)] - y[len(new):]) / 2])
        stratum = np.concatenate([stratum, *new_stratum])
        m = target
        return _solve(members, a, stratum, m, N, omega, total)

    phi, se = grow(nsamples // 2)
    if target_stderr is None:
        return RowEstimate(phi, se, 2 * len(members))
    cap = max(int(max_nsamples), 2 * len(members)) // 2
    while not float(np.max(se)) <= target_stderr and len(members) < min(cap, N.sum()):
        # pairs needed if the error falls like 1/sqrt(pairs), 10% spare; at least double, never past the cap
        ratio = float(np.max(se)) / target_stderr if np.all(np.isfinite(se)) else 2.0
        phi, se = grow(min(max(int(np.ceil(len(members) * ratio ** 2 * 1.1)), 2 * len(members)), cap))
    return RowEstimate(phi, se, 2 * len(members), bool(np.max(se) <= target_stderr))


def kernel_shap_row(f, x: np.ndarray, background: np.ndarray, *, v_empty: float, v_full: float,
                    nsamples: int, rng: np.random.Generator) -> np.ndarray:
    """KernelSHAP values of one row.

    Parameters
    ----------
    f : callable
        ``f(Z) -> (m,)``, batched.
    x : ndarray of shape (d,)
    background : ndarray of shape (m, d)
    v_empty, v_full : float
        E f(background) and f(x).
    nsamples : int
        Coalitions evaluated (half of them, each with its complement).
    rng : numpy.random.Generator
        The row's own stream.

    Returns
    -------
    ndarray of shape (d,), summing to ``v_full - v_empty``.
    """
    return kernel_shap_estimate(f, x, background, v_empty=v_empty, v_full=v_full, nsamples=nsamples,
                                rng=rng).values
