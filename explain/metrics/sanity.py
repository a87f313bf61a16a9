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

__all__ = ["spearman_rows", "randomisation_similarity", "model_randomisation", "model_randomisation_abs",
           "data_randomisation"]


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


def _randomised_values(e, sc):
    """e's method on the same rows of a model with randomised parameters, once per method; None when the
    adapter cannot randomise its model."""
    def run():
        randomized = sc.adapter.randomized_model(sc.ctx.rng(4))
        if randomized is None:
            return None
        return sc.rerun(e, e.codes, other_model=randomized, stderr=False).flat_values
    return sc.shared(("randomised", e.method), e.method, "sanity", run)


def model_randomisation(e, sc):
    """|Spearman rho| per row to the randomised model's explanation (None when the model cannot be randomised)."""
    other = _randomised_values(e, sc)
    return None if other is None else randomisation_similarity(e.flat_values, other)


def model_randomisation_abs(e, sc):
    """Spearman rho per row of |a| to the randomised model's |a| (None when the model cannot be randomised)."""
    other = _randomised_values(e, sc)
    return None if other is None else spearman_rows(e.flat_values, other, True)


def data_randomisation(e, sc):
    """|Spearman rho| per row to the explanation of a clone refitted on permuted labels; None without labels,
    for a model that cannot be cloned, or when the refit loses a class."""
    model, X, y, X_flat = sc.model, sc.X, sc.y, e.codes
    if y is None or not hasattr(model, "get_params"):
        return None
    from sklearn.base import clone

    y = np.asarray(y)
    if len(y) != len(X_flat) or len(np.unique(y)) < 2:
        return None
    # refit in the model's column order: the re-explanation passes rows in that order
    named = isinstance(X, pd.DataFrame) and set(e.feature_names) <= set(map(str, X.columns))
    fit_X = X_flat if e.image_shape else (X[list(e.feature_names)] if named else X_flat)
    refit = clone(model).fit(fit_X, sc.ctx.rng(5).permutation(y))
    same_classes = np.array_equal(np.asarray(getattr(refit, "classes_", [])),
                                  np.asarray(getattr(model, "classes_", [])))
    if not same_classes:  # a refit on too few rows may lose a class; then the check is not defined
        return None
    other = sc.rerun(e, X_flat, other_model=refit, stderr=False).flat_values
    return randomisation_similarity(e.flat_values, other)
