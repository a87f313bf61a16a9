"""KernelSHAP with an explicit generator: the fallback of ``"shap"`` when no exact algorithm applies.

shap's KernelExplainer draws its coalitions from numpy's global generator, so
``"shap"`` uses this estimator instead (shap's own stays available as
``"shap.kernel"``, run in an isolated worker). It is the constrained weighted
least-squares form of KernelSHAP (Lundberg & Lee 2017) in the sampling
formulation of Covert & Lee (2021): coalitions are drawn from the Shapley
kernel's distribution over sizes 1..d-1, each with its complement (paired
sampling), and

    phi = A^-1 (b - 1 (1' A^-1 b - (v(all) - v(empty))) / (1' A^-1 1)),

with A = mean z z' and b = mean z (v(z) - v(empty)), so the values sum to
f(x) - E f(background) exactly. v(S) is the mean over the background of f with
the features outside S taken from the background row (interventional).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kernel_shap_row"]

MAX_BATCH = 1 << 18  # model rows per call


def _coalitions(d: int, nsamples: int, rng: np.random.Generator) -> np.ndarray:
    sizes = np.arange(1, d)
    p = (d - 1) / (sizes * (d - sizes))
    half = max(1, nsamples // 2)
    size = rng.choice(sizes, size=half, p=p / p.sum())
    order = np.argsort(rng.random((half, d)), axis=1)  # a uniform random order of the features per draw
    masks = np.zeros((half, d), dtype=bool)
    np.put_along_axis(masks, order, np.arange(d)[None, :] < size[:, None], axis=1)
    return np.concatenate([masks, ~masks])


def _values(f, x: np.ndarray, background: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """v(S) for each mask: the mean of f over the background with x's values where the mask is on."""
    m = background.shape[0]
    step = max(1, MAX_BATCH // m)
    out = []
    for s in range(0, len(masks), step):
        block = masks[s:s + step]
        Z = np.where(block[:, None, :], x[None, None, :], background[None, :, :]).reshape(-1, x.shape[0])
        out.append(np.asarray(f(Z), dtype=float).reshape(len(block), m).mean(axis=1))
    return np.concatenate(out)


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
        Coalitions drawn (half of them, each with its complement).
    rng : numpy.random.Generator
        The row's own stream.

    Returns
    -------
    ndarray of shape (d,), summing to ``v_full - v_empty``.
    """
    d = x.shape[0]
    if d == 1:
        return np.array([v_full - v_empty])
    masks = _coalitions(d, nsamples, rng)
    Z = masks.astype(float)
    A = Z.T @ Z / len(Z)
    b = Z.T @ (_values(f, x, background, masks) - v_empty) / len(Z)
    A_inv = np.linalg.pinv(A)
    A_inv_b, A_inv_1 = A_inv @ b, A_inv.sum(axis=1)
    return A_inv_b - A_inv_1 * (A_inv_b.sum() - (v_full - v_empty)) / A_inv_1.sum()
