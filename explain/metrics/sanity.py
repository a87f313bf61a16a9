"""Sanity checks (Adebayo et al. 2018): does the explanation change when the model does?

Model randomisation scrambles the fitted parameters (each adapter knows how:
permuted coefficients, shuffled leaf values or dual coefficients, re-initialised
layers); data randomisation refits a clone on permuted labels. The score is the
Spearman similarity between the original and the new explanation of the same
rows: a method that barely changes fails the check. The similarity is |rho|:
an explanation whose ranking flips sign on the randomised model has not
become independent of the model, so anti-correlation must not score better
than no correlation ("lower is better" then means "changed more").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

__all__ = ["spearman_rows", "randomisation_similarity", "sanity_scores"]


def spearman_rows(A, B, absolute):
    """Spearman correlation per row (of |a| when ``absolute``); NaN for a constant row (signed)."""
    A, B = (np.abs(A), np.abs(B)) if absolute else (A, B)
    out = []
    for a, b in zip(A, B):
        ra, rb = rankdata(a) - (len(a) + 1) / 2, rankdata(b) - (len(b) + 1) / 2
        denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
        out.append(float((ra * rb).sum() / denom) if denom > 0 else np.nan)
    return np.array(out)


def randomisation_similarity(A, B) -> np.ndarray:
    """|Spearman rho| per row: 1 = unchanged ranking (or exactly reversed), 0 = unrelated."""
    return np.abs(spearman_rows(A, B, False))


def sanity_scores(name, model, adapter, e, ctx, wanted, X, y, rerun, row_fn):
    """Score rows for the sanity metrics in ``wanted``, and the re-explanations they needed."""
    rows, runs = [], []
    X_flat = e.codes
    if {"model_randomisation", "model_randomisation_abs"} & set(wanted):
        randomized = adapter.randomized_model(ctx.rng(4))
        if randomized is not None:
            runs.append(rerun(X_flat, other_model=randomized))
            other = runs[-1].flat_values
            if "model_randomisation" in wanted:
                rows.append(row_fn(name, e.method, "model_randomisation",
                                   randomisation_similarity(e.flat_values, other)))
            if "model_randomisation_abs" in wanted:
                rows.append(row_fn(name, e.method, "model_randomisation_abs",
                                 spearman_rows(e.flat_values, other, True)))
    if "data_randomisation" in wanted and y is not None and hasattr(model, "get_params"):
        from sklearn.base import clone

        y = np.asarray(y)
        if len(y) == len(X_flat) and len(np.unique(y)) > 1:
            # refit in the model's column order: the re-explanation passes rows in that order
            named = isinstance(X, pd.DataFrame) and set(e.feature_names) <= set(map(str, X.columns))
            fit_X = X_flat if e.image_shape else (X[list(e.feature_names)] if named else X_flat)
            refit = clone(model).fit(fit_X, ctx.rng(5).permutation(y))
            same_classes = np.array_equal(np.asarray(getattr(refit, "classes_", [])),
                                          np.asarray(getattr(model, "classes_", [])))
            if same_classes:  # a refit on too few rows may lose a class; then the check is not defined
                runs.append(rerun(X_flat, other_model=refit))
                other = runs[-1].flat_values
                rows.append(row_fn(name, e.method, "data_randomisation",
                                   randomisation_similarity(e.flat_values, other)))
    return rows, runs
