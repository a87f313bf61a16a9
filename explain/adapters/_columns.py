"""Helpers the Adapter contract rests on: counting model rows, and finding which input column each
column behind a pipeline's preprocessing reads (so players stay the user's columns)."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["CountingFunction", "probe_column_origin", "sum_by_origin"]


class CountingFunction:
    """Wrap ``f(X) -> (n,)`` and count the rows sent through it."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        self._fn = fn
        self.n_evals = 0

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        self.n_evals += X.shape[0]
        return self._fn(X)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality where two NaNs count as equal."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def probe_column_origin(transform, Z: np.ndarray) -> np.ndarray | None:
    """The input column each transformed column reads (-1: constant on Z), or None if some read two.

    Each input column in turn is rolled by one row (its values move to other
    rows, all of them values that occur in the data) and the transformed
    columns that change are the ones it feeds. A transformed column fed by two
    inputs means the preprocessing mixes columns: then there is no grouping and
    exact methods step aside. One transform of Z per input column, batched.
    """
    if Z.shape[0] < 2:
        return None
    try:
        base = np.asarray(transform(Z), dtype=float)
    except Exception:  # the data path will report it with the model's own message
        return None
    owner = np.full(base.shape[1], -1)
    for j in range(Z.shape[1]):
        moved = Z.copy()
        moved[:, j] = np.roll(Z[:, j], 1)
        changed = np.flatnonzero(np.any(~_same(np.asarray(transform(moved), dtype=float), base), axis=0))
        if np.any(owner[changed] >= 0):
            return None  # a transformed column reads two inputs
        owner[changed] = j
    return owner


def sum_by_origin(T: np.ndarray, origin: np.ndarray, d_in: int) -> np.ndarray:
    """Per-transformed-column terms (n, d_out) summed into their input columns (n, d_in)."""
    out = np.zeros((T.shape[0], d_in))
    keep = origin >= 0
    np.add.at(out.T, origin[keep], T[:, keep].T)
    return out
