"""Faithfulness: do the attributions track what the model does when features change?

Deletion and insertion curves (Petsiuk et al. 2018), faithfulness correlation
(Bhatt et al. 2020) and infidelity (Yeh et al. 2019, captum's definition).
"Removing" a feature sets it to the background mean, for images the mean
background image. Each metric makes all its perturbed rows first and sends
them through the model in batches.
"""

from __future__ import annotations

import numpy as np

from .base import MetricContext, explained_output

__all__ = ["deletion", "insertion", "deletion_normalised", "insertion_normalised", "faithfulness_correlation",
           "infidelity", "infidelity_from_perturbations", "curves", "removal_counts"]

CURVE_BLOCK = 1 << 21  # perturbed values (rows x steps x removal rows x features) built at once


DEFAULT_STEPS = 100  # curve points past the start; features go in blocks when there are more of them


def removal_counts(d: int, n_steps: int) -> np.ndarray:
    """Features removed at each point of a curve: 0, k, 2k, ..., d with k = ceil(d / n_steps).

    With d <= n_steps that is every count 0..d (the exact per-feature curve).
    """
    k = max(1, -(-d // max(1, int(n_steps))))
    return np.unique(np.minimum(np.arange(0, d + k, k), d))


def curves(e, ctx: MetricContext, insert: bool, direction: np.ndarray | None = None) -> np.ndarray:
    """The explained output along the deletion (or insertion) path, (n, points).

    Point ``p`` has the ``removal_counts(d, n_steps)[p]`` top-ranked features removed (deletion) or
    present (insertion): every count for d <= n_steps (``ctx.options["n_steps"]``, default 100), else
    blocks of ceil(d / n_steps) features in attribution order, so the cost is O(n x steps x d), built in
    blocks of rows so memory stays bounded. A removed feature takes the removal value (``ctx.removal``);
    for "sample" the output is averaged over background rows. ``direction`` (+1/-1 per row) flips the
    order: most negative first."""
    X, A = e.codes, e.flat_values
    n, d = X.shape
    if direction is not None:
        A = A * direction[:, None]
    order = np.argsort(-A, axis=1, kind="stable")          # most positive first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(d)[None, :].repeat(n, 0), axis=1)
    steps = removal_counts(d, _n_steps(ctx))
    p = len(steps)
    fill = ctx.removal_rows()                               # (r, d)
    r = fill.shape[0]
    out = np.empty((n, p))
    block = max(1, CURVE_BLOCK // max(1, p * r * d))
    targets = None if e.target_index is None else np.asarray(e.target_index)
    for s0 in range(0, n, block):
        rows = slice(s0, s0 + block)
        touched = ranks[rows, None, :] < steps[None, :, None]  # (b, p, d)
        keep = touched if insert else ~touched
        Z = np.where(keep[:, :, None, :], X[rows, None, None, :], fill[None, None, :, :])  # (b, p, r, d)
        b = Z.shape[0]
        t = None if targets is None else np.repeat(targets[rows], p * r)
        out[rows] = explained_output(ctx, Z.reshape(-1, d), t).reshape(b, p, r).mean(axis=2)
    return out


def _n_steps(ctx: MetricContext) -> int:
    return int(ctx.options.get("n_steps", DEFAULT_STEPS))


def _area(curve: np.ndarray, d: int, ctx: MetricContext) -> np.ndarray:
    """Area under curves over the fraction of features removed (0..1)."""
    if curve.shape[1] == d + 1:  # one point per feature: uniform spacing (the exact per-feature curve)
        return np.trapezoid(curve, dx=1.0 / d, axis=1)
    return np.trapezoid(curve, x=removal_counts(d, _n_steps(ctx)) / d, axis=1)


def deletion(e, ctx: MetricContext) -> np.ndarray:
    """Area under the deletion curve, per row (lower is better)."""
    return _area(curves(e, ctx, insert=False), e.codes.shape[1], ctx)


def insertion(e, ctx: MetricContext) -> np.ndarray:
    """Area under the insertion curve, per row (higher is better)."""
    return _area(curves(e, ctx, insert=True), e.codes.shape[1], ctx)


MIN_SPAN = 0.25  # rows whose |f(x) - f(all removed)| is below this share of std f(background) are left out


def _endpoints(e, ctx: MetricContext):
    """f(x) and f(all removed) per row (the curves' ends, whatever the order)."""
    X = e.codes
    fill = ctx.removal_rows()
    n, d = X.shape
    targets = None if e.target_index is None else np.asarray(e.target_index)
    full = explained_output(ctx, X, targets)
    removed = np.empty(n)
    for rows in _row_blocks(n, fill.size):  # every row's removal rows, a block of rows at a time
        b = rows.stop - rows.start
        Z = np.broadcast_to(fill[None, :, :], (b,) + fill.shape).reshape(-1, d)
        t = None if targets is None else np.repeat(targets[rows], fill.shape[0])
        removed[rows] = explained_output(ctx, Z, t).reshape(b, -1).mean(axis=1)
    return full, removed


def _normalised_area(e, ctx: MetricContext, insert: bool) -> np.ndarray:
    """Area of the curve rescaled per row by f(x) - f(all removed) (deletion 1 -> 0, insertion 0 -> 1).

    Features are taken in the order that moves the output from f(x) towards f(all removed) fastest: most
    positive attribution first where f(x) > f(all removed), most negative first where it is below. Rows
    whose |f(x) - f(all removed)| is under MIN_SPAN x the standard deviation of f over the background
    (little to explain: the rescaling would blow the curve's wiggles up) give NaN and are left out.
    """
    full, removed = _endpoints(e, ctx)
    span = full - removed
    c = curves(e, ctx, insert=insert, direction=np.where(span < 0, -1.0, 1.0))
    targets = None if e.target_index is None else np.asarray(e.target_index)
    spread = _background_spread(ctx, targets)
    ok = np.abs(span) > np.maximum(MIN_SPAN * spread, 1e-12)
    out = np.full(len(span), np.nan)
    # clipped to [0, 1]: a curve that overshoots f(all removed) (features of opposite sign still present)
    # counts as having arrived, so areas are bounded and their ratio to the random control is defined
    out[ok] = _area(np.clip((c[ok] - removed[ok, None]) / span[ok, None], 0.0, 1.0), e.codes.shape[1], ctx)
    return out


def _background_spread(ctx: MetricContext, targets) -> np.ndarray:
    """std of the explained output over the background, for each row's class."""
    m = ctx.background.shape[0]
    if targets is None:
        return np.full(1, float(np.std(explained_output(ctx, ctx.background, None))))
    out = np.empty(len(targets))
    for t in np.unique(targets):
        out[targets == t] = float(np.std(explained_output(ctx, ctx.background, np.full(m, t))))
    return out


def deletion_normalised(e, ctx: MetricContext) -> np.ndarray:
    """Area of the deletion curve rescaled to run from 1 (nothing removed) to 0 (all removed), per row."""
    return _normalised_area(e, ctx, insert=False)


def insertion_normalised(e, ctx: MetricContext) -> np.ndarray:
    """Area of the insertion curve rescaled to run from 0 (all removed) to 1 (all present), per row."""
    return _normalised_area(e, ctx, insert=True)


def _row_blocks(n: int, per_row: int):
    """Slices of rows whose perturbed copies (``per_row`` values each) fit in CURVE_BLOCK."""
    block = max(1, CURVE_BLOCK // max(1, per_row))
    return [slice(s0, min(n, s0 + block)) for s0 in range(0, n, block)]


def faithfulness_correlation(e, ctx: MetricContext) -> np.ndarray:
    """Pearson correlation over random subsets S of sum_{S} a and f(x) - f(x_S at baseline), per row.

    Rows go in blocks (bounded memory); the subsets are drawn block after block from one generator,
    so they are the same as drawn at once."""
    X, A = e.codes, e.flat_values
    n, d = X.shape
    n_subsets = int(ctx.options.get("n_subsets", 100))
    size = int(ctx.options.get("subset_size", max(1, d // 4)))
    rng = ctx.rng(1)
    out = np.empty(n)
    for rows in _row_blocks(n, n_subsets * d):
        b = rows.stop - rows.start
        keys = rng.random((b, n_subsets, d))
        kth = np.argpartition(keys, size - 1, axis=2)[:, :, :size]
        mask = np.zeros((b, n_subsets, d), dtype=bool)
        np.put_along_axis(mask, kth, True, axis=2)
        Z = np.where(mask, ctx.baseline[None, None, :], X[rows, None, :])  # "sample" uses the mean row here
        f_x, f_z = _with_originals(_rows(e.target_index, rows), ctx, X[rows], Z.reshape(-1, d), n_subsets)
        drop = f_x[:, None] - f_z.reshape(b, -1)
        summed = (mask * A[rows, None, :]).sum(axis=2)
        out[rows] = [_pearson(summed[i], drop[i]) for i in range(b)]
    return out


def _with_originals(target, ctx, X, Z, copies):
    """f(X) and f(Z) (Z holding ``copies`` perturbed rows per row of X) from one batched model call;
    ``target`` is the class of each row of X (or None)."""
    targets = None if target is None else np.concatenate([np.asarray(target), np.repeat(target, copies)])
    out = explained_output(ctx, np.vstack([X, Z]), targets)
    return out[: len(X)], out[len(X):]


def _pearson(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _infidelity_draws(e, ctx: MetricContext):
    """(mask (n, s, d) bool, background row index (n, s)): which features move, and to which row's values."""
    n, d = e.codes.shape
    s = int(ctx.options.get("n_perturb_samples", 10))
    rng = ctx.rng(2)
    mask = np.concatenate([rng.random((r.stop - r.start, s, d)) < 0.5 for r in _row_blocks(n, s * d)])
    return mask, rng.integers(0, ctx.background.shape[0], size=(n, s))


def infidelity_perturbations(e, ctx: MetricContext):
    """Perturbations I (n, s, d): a random half of the features moved to a random background row's values."""
    mask, idx = _infidelity_draws(e, ctx)
    return mask * (e.codes[:, None, :] - ctx.background[idx])


def infidelity_from_perturbations(e, ctx: MetricContext, I: np.ndarray, normalize: bool = True) -> np.ndarray:
    """E_I[(I . a - (f(x) - f(x - I)))^2] per row; with ``normalize``, a is rescaled by captum's beta."""
    return _infidelity(e.codes, e.flat_values, e.target_index, ctx, I, normalize)


def _rows(target, rows):
    return None if target is None else np.asarray(target)[rows]


def _infidelity(X, A, target, ctx, I, normalize=True) -> np.ndarray:
    n, s, d = I.shape
    f_x, f_p = _with_originals(target, ctx, X, (X[:, None, :] - I).reshape(-1, d), s)
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
    mask, idx = _infidelity_draws(e, ctx)
    X = e.codes
    out = np.empty(len(X))
    for rows in _row_blocks(len(X), mask.shape[1] * X.shape[1]):  # the float perturbations one block at a time
        I = mask[rows] * (X[rows, None, :] - ctx.background[idx[rows]])
        out[rows] = _infidelity(X[rows], e.flat_values[rows], _rows(e.target_index, rows), ctx, I)
    return out
