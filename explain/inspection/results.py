"""Immutable results of the global explanations: partial dependence, accumulated local effects, importance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._utils.frozen import _freeze, _frozen_array

__all__ = ["PartialDependence", "AccumulatedLocalEffects", "Importance"]


class _Frozen:
    """Attributes are set once in ``__init__`` (arrays locked) and never again."""

    def _set(self, **values) -> None:
        for key, value in values.items():
            if isinstance(value, np.ndarray):
                value = _frozen_array(value)
            elif isinstance(value, dict):
                value = _freeze(value)
            object.__setattr__(self, key, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable")


class PartialDependence(_Frozen):
    """Partial dependence (and ICE curves) of one feature or a pair, in one output space.

    Attributes
    ----------
    features : tuple of str
        The feature (or the two features) varied.
    grid : tuple of ndarray
        Grid values per feature, in the model's data space (category codes for categorical columns).
    grid_labels : tuple of ndarray
        The grid as the user sees it (category values for categorical columns, else the numbers).
    average : ndarray of shape (g,) or (g1, g2), or None when ``kind="individual"``
        Mean output over the rows with the feature(s) set to each grid value.
    individual : ndarray of shape (n, g) or (n, g1, g2), or None when ``kind="average"``
        One curve per row (ICE).
    exact : bool
        Whether the numbers are exact (every path here is: closed forms or every model call made).
    method : str
        "additive" (a line in link space), "kernel" (product-kernel factorisation), "trees" (one model call
        per distinct routing of the grid) or "brute". ``params["evaluated_grid_points"]`` counts the grid
        points the model was called on.
    output, target : the explained output space and class label (None for regression).
    """

    def __init__(self, *, features, grid, grid_labels, average, individual, exact, method, output, target,
                 model_name="", params=None):
        self._set(features=tuple(features), grid=tuple(_frozen_array(g) for g in grid),
                  grid_labels=tuple(_frozen_array(g) for g in grid_labels), average=average,
                  individual=individual, exact=bool(exact), method=str(method), output=str(output),
                  target=target, model_name=str(model_name), params=dict(params or {}))

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per grid point (and per row of X for ICE), columns feature(s), ``row``, ``value``."""
        mesh = np.meshgrid(*self.grid_labels, indexing="ij")
        cols = {name: m.ravel() for name, m in zip(self.features, mesh)}
        frames = []
        if self.average is not None:
            frames.append(pd.DataFrame({**cols, "row": -1, "kind": "average", "value": self.average.ravel()}))
        if self.individual is not None:
            n, size = self.individual.shape[0], mesh[0].size
            frames.append(pd.DataFrame({**{k: np.tile(v, n) for k, v in cols.items()},
                                        "row": np.repeat(np.arange(n), size), "kind": "individual",
                                        "value": self.individual.reshape(n, -1).ravel()}))
        return pd.concat(frames, ignore_index=True)

    def __repr__(self) -> str:
        shape = tuple(len(g) for g in self.grid)
        return (f"PartialDependence({' x '.join(self.features)}, grid {shape}, method={self.method!r}, "
                f"output={self.output!r}{'' if self.target is None else f', target={self.target!r}'})")


class AccumulatedLocalEffects(_Frozen):
    """First-order accumulated local effects (Apley & Zhu 2020) of one feature.

    A numeric feature has B bins between B + 1 edges; a categorical one has K categories in the order ALE
    chose (``labels``), with ``edges`` their positions 0..K-1, K ``values`` and ``counts``, K - 1 ``effects``.

    Attributes
    ----------
    feature : str
    labels : tuple or None
        The categories in ALE's order (their values, not codes); None for a numeric feature.
    edges : ndarray of shape (B + 1,)
        Bin edges (quantiles of the feature).
    values : ndarray of shape (B + 1,)
        The centred ALE curve at the edges (its count-weighted mean over the bins is 0).
    counts : ndarray of shape (B,)
        Rows per bin.
    effects : ndarray of shape (B,)
        Mean local difference f(upper edge) - f(lower edge) per bin (the uncentred steps).
    exact : bool
        True: every row's differences are computed with real model calls.
    output, target : the explained output space and class label.
    """

    def __init__(self, *, feature, edges, values, counts, effects, output, target, model_name="", params=None,
                 labels=None):
        self._set(feature=str(feature), labels=None if labels is None else tuple(labels),
                  edges=np.asarray(edges, float), values=np.asarray(values, float),
                  counts=np.asarray(counts, np.int64), effects=np.asarray(effects, float), exact=True,
                  output=str(output), target=target, model_name=str(model_name), params=dict(params or {}))

    def to_frame(self) -> pd.DataFrame:
        """One row per edge: ``edge``, ``value`` and the ``count`` of the bin ending there (0 at the first);
        for a categorical feature one row per category: ``category``, ``value``, ``count``."""
        if self.labels is not None:
            return pd.DataFrame({"category": list(self.labels), "value": self.values, "count": self.counts})
        return pd.DataFrame({"edge": self.edges, "value": self.values,
                             "count": np.concatenate([[0], self.counts])})

    def __repr__(self) -> str:
        return f"AccumulatedLocalEffects({self.feature!r}, {len(self.counts)} bins, output={self.output!r})"


class Importance(_Frozen):
    """Global feature importance with intervals (permutation importance or SAGE).

    Attributes
    ----------
    feature_names : tuple of str
    mean : ndarray of shape (d,)
        The estimate per feature (loss increase for permutation; SAGE value for "sage").
    ci_low, ci_high : ndarray of shape (d,)
        The ``ci`` interval per feature (equal to ``mean`` when the value is exact and nothing is sampled).
    stderr : ndarray of shape (d,)
    exact : bool
        True when ``mean`` is the exact value of the quantity (SAGE by enumeration over the given rows).
    method, loss, ci, output, target
    """

    def __init__(self, *, feature_names, mean, ci_low, ci_high, stderr, exact, method, loss, ci, output, target,
                 model_name="", params=None):
        self._set(feature_names=tuple(str(n) for n in feature_names), mean=np.asarray(mean, float),
                  ci_low=np.asarray(ci_low, float), ci_high=np.asarray(ci_high, float),
                  stderr=np.asarray(stderr, float), exact=bool(exact), method=str(method), loss=str(loss),
                  ci=float(ci), output=str(output), target=target, model_name=str(model_name),
                  params=dict(params or {}))

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, sorted by decreasing ``mean``."""
        frame = pd.DataFrame({"feature": self.feature_names, "mean": self.mean, "stderr": self.stderr,
                              "ci_low": self.ci_low, "ci_high": self.ci_high})
        return frame.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)

    def __repr__(self) -> str:
        return f"Importance(method={self.method!r}, {len(self.mean)} features, loss={self.loss!r})"
