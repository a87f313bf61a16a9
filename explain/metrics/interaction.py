"""Interaction strength: how much of a model's output is not a sum of one-feature effects?

The first-order (additive) part of row x is a(x) = sum_j (v({j}) - v({})) in the
interventional game v(S) = mean_b f(x_S, b_rest), i.e. sum_j (PD_j(x_j) - E f) with
the partial dependence PD_j(v) = mean over background rows b of f(b with column j
set to v) and E f = mean_b f(b). The rest, r(x) = f(x) - E f - a(x), is what pairs
and higher orders carry. Over the explained rows

    strength = sum r^2 / (sum a^2 + sum r^2)  in [0, 1],

0 exactly when the model is additive in the explained output, 1 when no feature has
an effect alone (a pure XOR). Molnar, Casalicchio & Bischl's (2019) IAS divides
sum r^2 by sum (f - E f)^2 instead, which exceeds 1 when a and r cancel (it reached
3.13 on a Naive Bayes model whose log-odds are exactly additive, in probability
space); the bounded form is also what ``explain.interactions(...).strength()``
reports, from the same first-order part. Cost: n x d x |background| model rows,
built first and sent in large batches.
"""

from __future__ import annotations

import numpy as np

from .base import MetricContext, explained_output

__all__ = ["interaction_strength", "interaction_share", "first_order_part", "interaction_of",
           "INTERACTION_MAX_FEATURES"]

BLOCK = 1 << 20  # rows built at once


def first_order_part(X: np.ndarray, ctx: MetricContext, targets) -> tuple[np.ndarray, np.ndarray, float]:
    """(f(X), f_1(X), E f) in the explained output; targets: class per row (or None)."""
    n, d = X.shape
    B = ctx.background
    m = B.shape[0]
    f_x = explained_output(ctx, X, targets)
    # E f for each row's class
    classes = [None] if targets is None else list(np.unique(targets))
    mean_f = {}
    for t in classes:
        mean_f[t] = float(explained_output(ctx, B, None if t is None else np.full(m, t)).mean())
    ef = np.array([mean_f[None if targets is None else targets[i]] for i in range(n)])
    pd_sum = np.zeros(n)
    rows_per = max(1, BLOCK // max(1, d * m))
    for s0 in range(0, n, rows_per):
        xs = X[s0:s0 + rows_per]
        b = len(xs)
        Z = np.repeat(B[None, None, :, :], b, axis=0).repeat(d, axis=1)  # (b, d, m, d)
        idx = np.arange(d)
        Z[:, idx, :, idx] = xs.T[:, :, None]  # row i, feature j: column j set to x_ij in every background row
        t = None if targets is None else np.repeat(targets[s0:s0 + b], d * m)
        pdv = explained_output(ctx, Z.reshape(-1, d), t).reshape(b, d, m).mean(axis=2)
        pd_sum[s0:s0 + b] = (pdv - ef[s0:s0 + b, None]).sum(axis=1)
    return f_x, ef + pd_sum, ef


def interaction_share(first_order: np.ndarray, rest: np.ndarray) -> float:
    """sum r^2 / (sum a^2 + sum r^2) for additive parts ``a`` and remainders ``r`` per row; NaN if both are 0."""
    a, r = np.asarray(first_order, dtype=float), np.asarray(rest, dtype=float)
    den = float(a @ a + r @ r)
    return float(r @ r) / den if den > 1e-300 else float("nan")


def interaction_strength(X: np.ndarray, ctx: MetricContext, targets=None) -> float:
    """The share of the rows' squared deviation from E f outside the first-order part, in [0, 1]."""
    f_x, f_1, ef = first_order_part(np.asarray(X, dtype=float), ctx, targets)
    return interaction_share(f_1 - ef, f_x - f_1)


INTERACTION_MAX_FEATURES = 256  # n x d x background model rows: beyond this (large images) it is left out


def interaction_of(e, sc) -> float:
    """Interaction strength of the model over e's rows and targets (NaN above ``interaction_max_features``)."""
    if e.shape[1] > int(sc.ctx.options.get("interaction_max_features", INTERACTION_MAX_FEATURES)):
        return float("nan")
    return interaction_strength(e.codes, sc.ctx, None if e.target_index is None else np.asarray(e.target_index))
