"""``Interactions``: an immutable result holding a pairwise interaction matrix per explained row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._utils.frozen import _freeze, _frozen_array
from ..metrics.interaction import interaction_share

__all__ = ["Interactions"]


class Interactions:
    """Pairwise interaction indices of the interventional game, one symmetric (d, d) matrix per row.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_features, n_features)
        Off-diagonal ``[k, i, j]``: the pairwise index (``index``) of features i and j on row k. Diagonal: the
        index's order-1 values (SII: Shapley values; STII: ``v({i}) - v({})``).
    stderr : ndarray of the same shape, or None
        Standard errors of sampled entries (None when every row is exact).
    base_values : ndarray of shape (n_samples,)
        ``E f`` over the background, the value of the empty coalition.
    prediction : ndarray of shape (n_samples,)
        f(x) in ``output``.
    first_order : ndarray of shape (n_samples, n_features)
        ``v({i}) - v({})``, the additive part used by :meth:`strength`.
    data : ndarray of shape (n_samples, n_features)
        The explained rows (category codes for string columns).
    feature_names : list of str
    index : {"SII", "STII"}
    output : str
    target : ndarray or None
        Explained class label per row (None for regression); ``target_index`` holds the class index.
    exact : ndarray of bool, shape (n_samples,)
        Whether each row's matrix is exact (closed form or enumeration) rather than sampled.
    params : mapping
        Algorithm per row block, background size, seeds.
    """

    def __init__(self, values, *, base_values, prediction, first_order, data, feature_names, index, output,
                 target=None, target_index=None, exact, stderr=None, params=None, model_name=""):
        values = np.asarray(values, dtype=float)
        n, d = values.shape[0], values.shape[1]
        if values.shape != (n, d, d):
            raise ValueError(f"values must have shape (n, d, d), got {values.shape}")
        object.__setattr__(self, "_values", _frozen_array(values))
        object.__setattr__(self, "_stderr", None if stderr is None else _frozen_array(stderr, float))
        object.__setattr__(self, "_base", _frozen_array(np.broadcast_to(base_values, (n,)), float))
        object.__setattr__(self, "_prediction", _frozen_array(np.broadcast_to(prediction, (n,)), float))
        object.__setattr__(self, "_first", _frozen_array(first_order, float))
        object.__setattr__(self, "_data", _frozen_array(data))
        object.__setattr__(self, "_names", tuple(str(f) for f in feature_names))
        object.__setattr__(self, "_exact", _frozen_array(np.broadcast_to(exact, (n,)), bool))
        object.__setattr__(self, "_target", None if target is None else _frozen_array(target))
        object.__setattr__(self, "_target_index", None if target_index is None else _frozen_array(target_index))
        object.__setattr__(self, "index", str(index))
        object.__setattr__(self, "output", str(output))
        object.__setattr__(self, "model_name", str(model_name))
        object.__setattr__(self, "params", _freeze(dict(params or {})))

    def __setattr__(self, name, value):
        raise AttributeError("Interactions are immutable")

    def __delattr__(self, name):
        raise AttributeError("Interactions are immutable")

    values = property(lambda self: self._values)
    stderr = property(lambda self: self._stderr)
    base_values = property(lambda self: self._base)
    prediction = property(lambda self: self._prediction)
    first_order = property(lambda self: self._first)
    data = property(lambda self: self._data)
    exact = property(lambda self: self._exact)
    target = property(lambda self: self._target)
    target_index = property(lambda self: self._target_index)
    feature_names = property(lambda self: list(self._names))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._values.shape

    def __len__(self) -> int:
        return self._values.shape[0]

    @property
    def main(self) -> np.ndarray:
        """The diagonal, (n, d): Shapley values (SII) or ``v({i}) - v({})`` (STII)."""
        d = self._values.shape[1]
        return self._values[:, np.arange(d), np.arange(d)].copy()

    @property
    def pairs(self) -> np.ndarray:
        """The matrices with a zero diagonal, (n, d, d): interactions only."""
        out = self._values.copy()
        d = out.shape[1]
        out[:, np.arange(d), np.arange(d)] = 0.0
        return out

    def _col(self, key) -> int:
        if isinstance(key, str):
            if key not in self._names:
                raise KeyError(f"no feature {key!r}; features: {list(self._names)[:10]}")
            return self._names.index(key)
        return int(key)

    def __getitem__(self, key) -> "Interactions | float | np.ndarray":
        """Rows (``inter[:5]``, a boolean mask) give an Interactions; ``inter[:, "a", "b"]`` the pair's values."""
        if isinstance(key, tuple):
            rows, *cols = key
            if len(cols) != 2:
                raise KeyError("index as inter[rows, feature_i, feature_j]")
            return self._values[rows, self._col(cols[0]), self._col(cols[1])]
        rows = np.arange(len(self))[key]
        rows = np.atleast_1d(rows)
        take = lambda a: None if a is None else a[rows]
        return Interactions(self._values[rows], base_values=self._base[rows], prediction=self._prediction[rows],
                            first_order=self._first[rows], data=self._data[rows], feature_names=self._names,
                            index=self.index, output=self.output, target=take(self._target),
                            target_index=take(self._target_index), exact=self._exact[rows],
                            stderr=take(self._stderr), params=dict(self.params), model_name=self.model_name)

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (explained row, pair i < j) with ``value`` (and ``stderr`` where sampled)."""
        n, d, _ = self._values.shape
        i, j = np.triu_indices(d, 1)
        frame = pd.DataFrame({
            "row": np.repeat(np.arange(n), len(i)),
            "feature_i": np.tile(np.asarray(self._names, dtype=object)[i], n),
            "feature_j": np.tile(np.asarray(self._names, dtype=object)[j], n),
            "value": self._values[:, i, j].ravel(),
        })
        if self._stderr is not None:
            frame["stderr"] = self._stderr[:, i, j].ravel()
        if self._target is not None:
            frame.insert(1, "target", np.repeat(self._target, len(i)))
        return frame

    def to_shap(self) -> np.ndarray:
        """shap's interaction-value layout (n, d, d), e.g. for ``shap.summary_plot(inter.to_shap(), X)``.

        Off-diagonal entries are half the pairwise index (shap splits a pair's interaction between its two
        cells); each diagonal entry is set so that every row sums to ``f(x) - E f``: for SII the Shapley value
        minus the row's off-diagonal sum, for STII the order-1 value ``v({i}) - v({})`` (Shapley-Taylor is
        efficient at order 2 only when the model has no higher-order interactions: check ``strength``).
        """
        out = self._values / 2.0
        d = out.shape[1]
        diag = np.arange(d)
        off = self.pairs.sum(axis=2) / 2.0
        out[:, diag, diag] = self.main - off if self.index == "SII" else self.main
        return out

    def strength(self) -> float:
        """Share of the explained rows' squared deviation from E f that the additive part does not carry.

        With ``a_k = sum_i (v_k({i}) - v_k({}))`` (the first-order, additive part of row k) and
        ``r_k = f(x_k) - E f - a_k`` (everything the additive part misses: pairs and higher orders),

            strength = sum_k r_k^2 / (sum_k a_k^2 + sum_k r_k^2),

        0 for a model additive in the explained space, 1 when the first-order part is zero on every row
        (e.g. a pure XOR). NaN when every row equals E f.
        """
        a = self._first.sum(axis=1)
        return interaction_share(a, self._prediction - self._base - a)

    def global_pairs(self) -> pd.DataFrame:
        """Mean |index| per pair over rows, largest first: columns feature_i, feature_j, mean_abs, mean."""
        frame = self.to_frame()
        out = frame.groupby(["feature_i", "feature_j"], sort=False)["value"].agg(
            mean_abs=lambda v: float(np.abs(v).mean()), mean="mean").reset_index()
        return out.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)

    def __repr__(self) -> str:
        n, d, _ = self.shape
        exact = "exact" if self._exact.all() else f"{int(self._exact.sum())}/{n} rows exact"
        return (f"Interactions(model={self.model_name!r}, index={self.index!r}, output={self.output!r}, "
                f"rows={n}, features={d}, {exact})")
