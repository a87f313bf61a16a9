"""Faithfulness: do the attributions track what the model does when features change?

Deletion and insertion curves (Petsiuk et al. 2018), faithfulness correlation
(Bhatt et al. 2020) and infidelity (Yeh et al. 2019, captum's definition).
"Removing" a feature sets it to the background mean, for images the mean
background image. Each metric makes all its perturbed rows first and sends
them through the model in batches.
"""

from __future__ import annotations

import numpy as np

from .base import MetricContext, explained_output, repeat_targets

__all__ = ["deletion", "insertion", "faithfulness_correlation", "infidelity", "infidelity_from_perturbations"]


def _curve(e, ctx: MetricContext, insert: bool) -> np.ndarray:
    X, A = e.codes, e.flat_values
    n, d = X.shape
    order = np.argsort(-A, axis=1, kind="stable")          # most positive first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(d)[None, :].repeat(n, 0), axis=1)
    steps = np.arange(d + 1)
    # step k: the k top-ranked features are removed (deletion) or present (insertion)
    touched = ranks[:, None, :] < steps[None, :, None]     # (n, d+1, d)
    base = ctx.baseline[None, None, :]
    Z = np.where(touched, X[:, None, :], base) if insert else np.where(touched, base, X[:, None, :])
    curve = explained_output(ctx, Z.reshape(-1, d), repeat_targets(e, d + 1)).reshape(n, d + 1)
    return np.trapezoid(curve, dx=1.0 / d, axis=1)


def deletion(e, ctx: MetricContext) -> np.ndarray:
    """Area under the deletion curve, per row (lower is better)."""
    return _curve(e, ctx, insert=False)


def insertion(e, ctx: MetricContext) -> np.ndarray:
    """Area under the insertion curve, per row (higher is better)."""
    return _curve(e, ctx, insert=True)


def _random_subsets(ctx, n, d, n_subsets, size, salt):
    rng = ctx.rng(salt)
    keys = rng.random((n, n_subsets, d))
    kth = np.argpartition(keys, size - 1, axis=2)[:, :, :size]
    mask = np.zeros((n, n_subsets, d), dtype=bool)
    np.put_along_axis(mask, kth, True, axis=2)
    return mask


def faithfulness_correlation(e, ctx: MetricContext) -> np.ndarray:
    """Pearson correlation over random subsets S of sum_{S} a and f(x) - f(x_S at baseline), per row."""
    X, A = e.codes, e.flat_values
    n, d = X.shape
    n_subsets = int(ctx.options.get("n_subsets", 100))
    size = int(ctx.options.get("subset_size", max(1, d // 4)))
    mask = _random_subsets(ctx, n, d, n_subsets, size, salt=1)
    Z = np.where(mask, ctx.baseline[None, None, :], X[:, None, :])
    f_x, f_z = _with_originals(e, ctx, X, Z.reshape(-1, d), n_subsets)
    drop = f_x[:, None] - f_z.reshape(n, -1)
    summed = (mask * A[:, None, :]).sum(axis=2)
    return np.array([_pearson(summed[i], drop[i]) for i in range(n)])


def _with_originals(e, ctx, X, Z, copies):
    """f(X) and f(Z) (Z holding ``copies`` perturbed rows per row of X) from one batched model call."""
    targets = None if e.target is None else np.concatenate([np.asarray(e.target), repeat_targets(e, copies)])
    out = explained_output(ctx, np.vstack([X, Z]), targets)
    return out[: len(X)], out[len(X):]


def _pearson(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def infidelity_perturbations(e, ctx: MetricContext):
    """Perturbations I (n, s, d): a random half of the features moved to a random background row's values."""
    X = e.codes
    n, d = X.shape
    s = int(ctx.options.get("n_perturb_samples", 10))
    rng = ctx.rng(2)
    mask = rng.random((n, s, d)) < 0.5
    rows = ctx.background[rng.integers(0, ctx.background.shape[0], size=(n, s))]
    return mask * (X[:, None, :] - rows)


def infidelity_from_perturbations(e, ctx: MetricContext, I: np.ndarray, normalize: bool = True) -> np.ndarray:
    """E_I[(I . a - (f(x) - f(x - I)))^2] per row; with ``normalize``, a is rescaled by captum's beta."""
    X, A = e.codes, e.flat_values
    n, s, d = I.shape
    f_x, f_p = _with_originals(e, ctx, X, (X[:, None, :] - I).reshape(-1, d), s)
    f_p = f_p.reshape(n, s)
    dot = (I * A[:, None, :]).sum(axis=2)
    delta = f_x[:, None] - f_p
    if normalize:
        num, den = (dot * delta).mean(axis=1), (dot * dot).mean(axis=1)
        beta = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
        dot = beta[:, None] * dot
    return ((dot - delta) ** 2).mean(axis=1)


def infidelity(e, ctx: MetricContext) -> np.ndarray:
    """Infidelity (normalize=True) under random-subset-to-background-row perturbations, per row."""
    return infidelity_from_perturbations(e, ctx, infidelity_perturbations(e, ctx), normalize=True)
