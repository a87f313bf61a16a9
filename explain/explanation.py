"""The one immutable result type, and the set of them for one model.

Every attribution method returns an :class:`Explanation`: values, base values,
the explained rows and their feature names travel together and slice together,
the way ``shap.Explanation`` does, so ``e[:5, "mean radius"]`` keeps them aligned.
An :class:`ExplanationSet` holds the explanations one ``explain()`` call made for
one model, keyed by method name.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from ._utils.frozen import _freeze, _frozen_array
from ._utils.portable import stderr_matrix, target_arrays

__all__ = ["Explanation", "ExplanationSet", "Validated"]

_OUTPUTS = ("margin", "probability", "raw")


class Explanation:
    """Attributions of one method for one model on a block of rows.

    Parameters
    ----------
    values : array-like of shape (n_samples, n_features)
        The attribution of each feature in each row, in ``output`` units.
    base_values : array-like of shape (n_samples,) or scalar
        The reference output; for additive methods ``base + values.sum(1)``
        equals the model output.
    data : array-like of shape (n_samples, n_features)
        The explained rows, in the user's columns.
    feature_names : sequence of str
        One name per column.
    output : {"margin", "probability", "raw"}
        The space the values are expressed in.
    method : str
        Name of the method that produced the values.
    model_name : str
        Name of the explained model.
    target : array-like of shape (n_samples,) or scalar, optional
        Explained class per row, as the model's class LABEL (``classes_[i]``:
        an int, a string, ...); ``None`` for regression. Passing it back,
        ``explain(model, X, target=e.target)``, explains the same classes.
    target_index : array-like of shape (n_samples,) or scalar, optional
        The position of each row's class in the model's classes (what the
        model's output columns are indexed by). Defaults to ``target`` when
        the labels are integers (a hand-built Explanation whose labels are
        the indices 0..k-1); must be given for other labels.
    seconds : float
        Wall time the method took.
    n_model_evals : int
        Number of rows the method sent through the model.
    params : mapping, optional
        Method parameters and diagnostics (sample counts, additivity gap, ...).
    image_shape : tuple of int, optional
        Shape of one input image when the features are pixels.
    codec : Codec, optional
        For mixed-type tables: ``data`` holds float codes (what the methods
        saw) and the codec turns them back into the original values.
    stderr : array-like of shape like ``values``, optional
        The standard error of each sampled value, estimated by the sampling
        method itself (None for exact results; 0 where a row was exact).

    Notes
    -----
    Instances are immutable: attributes cannot be reassigned and the arrays are
    read-only. Slicing returns a new Explanation.
    """

    __slots__ = (
        "_values", "_base_values", "_data", "_feature_names", "_output", "_target", "_target_index",
        "_method", "_model_name", "_seconds", "_n_model_evals", "_params", "_image_shape", "_codec",
        "_stderr",
    )

    def __init__(self, values, base_values, data, feature_names, *, output, method,
                 model_name, target=None, target_index=None, seconds=0.0, n_model_evals=0, params=None,
                 image_shape=None, codec=None, stderr=None):
        values = np.asarray(values, dtype=float)
        if image_shape is not None and values.ndim > 2:  # image-shaped input: store flat
            values = values.reshape(values.shape[0], -1)
            data = np.asarray(data).reshape(values.shape[0], -1)
        if values.ndim != 2:
            raise ValueError(f"values must be 2-D (n_samples, n_features), got shape {values.shape}")
        n, d = values.shape
        base = np.asarray(base_values, dtype=float)
        if base.ndim == 0:
            base = np.full(n, float(base))
        if base.shape != (n,):
            raise ValueError(f"base_values must have shape ({n},), got {base.shape}")
        data = np.asarray(data)
        if data.shape != (n, d):
            raise ValueError(f"data must have shape {(n, d)}, got {data.shape}")
        names = tuple(str(f) for f in feature_names)
        if len(names) != d:
            raise ValueError(f"{d} feature names expected, got {len(names)}")
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
        target, target_index = target_arrays(target, target_index, n)
        set_ = object.__setattr__
        set_(self, "_values", _frozen_array(values))
        set_(self, "_base_values", _frozen_array(base))
        set_(self, "_data", _frozen_array(data))
        set_(self, "_feature_names", names)
        set_(self, "_output", output)
        set_(self, "_target", target)
        set_(self, "_target_index", target_index)
        set_(self, "_method", str(method))
        set_(self, "_model_name", str(model_name))
        set_(self, "_seconds", float(seconds))
        set_(self, "_n_model_evals", int(n_model_evals))
        set_(self, "_params", _freeze(dict(params or {})))
        image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        if image_shape is not None and int(np.prod(image_shape)) != d:
            raise ValueError(f"image_shape {image_shape} does not hold {d} features")
        set_(self, "_image_shape", image_shape)
        set_(self, "_codec", codec)
        set_(self, "_stderr", None if stderr is None else _frozen_array(stderr_matrix(stderr, (n, d))))

    def __setattr__(self, name, value):
        raise AttributeError(f"Explanation is immutable; cannot set {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"Explanation is immutable; cannot delete {name!r}")

    # -- read-only attributes -------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """ndarray (n_samples, n_features), or (n_samples, *image_shape) for images; read-only."""
        return self._values if self._image_shape is None else \
            self._values.reshape((self._values.shape[0],) + self._image_shape)

    @property
    def stderr(self) -> np.ndarray | None:
        """Standard error of each value, shaped like ``values``, for sampled results; None for exact ones."""
        if self._stderr is None or self._image_shape is None:
            return self._stderr
        return self._stderr.reshape((self._stderr.shape[0],) + self._image_shape)

    @property
    def data(self) -> np.ndarray:
        """The explained rows, shaped like ``values``; read-only.

        For a mixed-type table the original values (strings, categories) in an
        object array; ``codes`` holds the float codes the methods worked on.
        """
        if self._codec is not None and self._codec.has_categorical:
            out = self._codec.decode(self._data).to_numpy(dtype=object)
            out.flags.writeable = False
            return out
        return self._data if self._image_shape is None else \
            self._data.reshape((self._data.shape[0],) + self._image_shape)

    @property
    def codes(self) -> np.ndarray:
        """The explained rows as the float matrix (n_samples, n_features) the methods and metrics used."""
        return self._data

    @property
    def codec(self):
        """The codec of a mixed-type table (original values and categories), or None."""
        return self._codec

    @property
    def flat_values(self) -> np.ndarray:
        """Values as (n_samples, n_features) whatever the input shape (what metrics use)."""
        return self._values

    base_values = property(lambda self: self._base_values, doc="ndarray (n_samples,), read-only.")
    output = property(lambda self: self._output, doc='"margin", "probability" or "raw".')
    target = property(lambda self: self._target,
                      doc="Explained class label per row (the model's own labels), or None; read-only.")
    target_index = property(lambda self: self._target_index,
                            doc="Position of each row's class in the model's classes, or None; read-only.")
    method = property(lambda self: self._method, doc="Name of the method.")
    model_name = property(lambda self: self._model_name, doc="Name of the model.")
    seconds = property(lambda self: self._seconds, doc="Wall time of the method.")
    n_model_evals = property(lambda self: self._n_model_evals, doc="Rows sent through the model.")
    params = property(lambda self: self._params, doc="Read-only mapping of parameters and diagnostics.")
    image_shape = property(lambda self: self._image_shape, doc="Image shape, or None for tabular data.")

    @property
    def feature_names(self) -> list[str]:
        """list of str: one name per feature (a fresh list on each access)."""
        return list(self._feature_names)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_samples, n_features), the flat shape."""
        return self._values.shape

    def __len__(self) -> int:
        return self._values.shape[0]

    # -- slicing ----------------------------------------------------------------
    def _col_index(self, key):
        names = self._feature_names
        if isinstance(key, str):
            if key not in names:
                raise KeyError(f"no feature named {key!r}; features are {list(names)[:10]}"
                               + (" ..." if len(names) > 10 else ""))
            return [names.index(key)]
        if isinstance(key, numbers.Integral):
            return [int(key)]
        if isinstance(key, slice):
            return list(range(len(names)))[key]
        key = list(key)
        if key and all(isinstance(k, (bool, np.bool_)) for k in key):
            return [i for i, k in enumerate(key) if k]
        return [self._col_index(k)[0] for k in key]

    def __getitem__(self, key) -> "Explanation":
        """Slice rows, or rows and features, keeping everything aligned.

        ``e[3]`` keeps a 2-D, one-row Explanation (unlike numpy) so that every
        Explanation has the same shape contract; ``e[:, "age"]`` selects by name.
        """
        if isinstance(key, tuple):
            if len(key) != 2:
                raise IndexError("index with e[rows] or e[rows, features]")
            rows, cols = key
        else:
            rows, cols = key, slice(None)
        if isinstance(rows, numbers.Integral):
            n = len(self)
            r = int(rows) + (n if rows < 0 else 0)
            if not 0 <= r < n:
                raise IndexError(f"row {rows} out of range for {n} rows")
            rows = slice(r, r + 1)
        row_idx = np.arange(len(self))[rows]
        col_idx = self._col_index(cols)
        image_shape = self._image_shape if len(col_idx) == self.shape[1] and col_idx == sorted(col_idx) else None
        return Explanation(
            self._values[np.ix_(row_idx, col_idx)],
            self._base_values[row_idx],
            self._data[np.ix_(row_idx, col_idx)],
            [self._feature_names[i] for i in col_idx],
            output=self._output, method=self._method, model_name=self._model_name,
            target=None if self._target is None else self._target[row_idx],
            target_index=None if self._target_index is None else self._target_index[row_idx],
            seconds=self._seconds, n_model_evals=self._n_model_evals,
            params=dict(self._params), image_shape=image_shape,
            codec=None if self._codec is None else self._codec.subset(col_idx),
            stderr=None if self._stderr is None else self._stderr[np.ix_(row_idx, col_idx)],
        )

    # -- conversions ------------------------------------------------------------
    def global_importance(self) -> pd.Series:
        """Mean absolute attribution per feature, largest first."""
        imp = np.abs(self._values).mean(axis=0)  # flat, one entry per feature
        return pd.Series(imp, index=self.feature_names, name="mean_abs_attribution").sort_values(
            ascending=False, kind="stable")

    def to_frame(self) -> pd.DataFrame:
        """Tidy DataFrame: one row per (explained row, feature); ``stderr`` is NaN for exact results."""
        n, d = self.shape
        return pd.DataFrame({
            "model": self._model_name,
            "method": self._method,
            "output": self._output,
            "row": np.repeat(np.arange(n), d),
            "target": np.repeat(self._target, d) if self._target is not None else None,
            "feature": np.tile(np.array(self._feature_names, dtype=object), n),
            "feature_value": (self.data if self._codec is not None and self._codec.has_categorical
                              else self._data).reshape(-1),
            "attribution": self._values.reshape(-1),
            "base_value": np.repeat(self._base_values, d),
            "stderr": np.full(n * d, np.nan) if self._stderr is None else self._stderr.reshape(-1),
        })

    def to_shap(self):
        """The same values as a ``shap.Explanation``, for shap's plots (``stderr`` as its ``error_std``)."""
        import shap

        return shap.Explanation(
            values=np.array(self.values),
            base_values=np.array(self._base_values),
            data=np.array(self.data),
            feature_names=self.feature_names if self._image_shape is None else None,
            error_std=None if self._stderr is None else np.array(self.stderr),
        )

    def _repr_html_(self) -> str:
        from .report.notebook import explanation_html

        return explanation_html(self)

    def __repr__(self) -> str:
        n, d = self.shape
        shape = f", image_shape={self._image_shape}" if self._image_shape else ""
        return (f"Explanation(method={self._method!r}, model={self._model_name!r}, "
                f"output={self._output!r}, n_samples={n}, n_features={d}{shape})")


@dataclass(frozen=True)
class Validated:
    """What ``explain()`` validated once, carried to everything downstream (metrics, reports).

    ``X`` and ``background`` are float arrays in the model's column order (a
    DataFrame's columns were matched by name and reordered), so no later step
    re-validates or rebuilds them, and none can pick up the caller's order.
    """

    adapter: object
    X: np.ndarray
    background: np.ndarray
    output: str
    image_shape: tuple | None
    groups: np.ndarray | None
    feature_names: tuple
    config: object = None  # the ExplainConfig explain() ran with (re-explanations replace() it)

    def __post_init__(self):
        for name in ("X", "background"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), dtype=float))


class ExplanationSet:
    """The explanations one ``explain()`` call made for one model.

    ``result["shap"]`` returns one :class:`Explanation`; iterating yields the
    Explanations in the order the methods ran; ``result.methods`` lists names.
    ``result.background`` is the background the methods used, in the model's
    column order.
    """

    __slots__ = ("_items", "_model_name", "_validated")

    def __init__(self, explanations: Sequence[Explanation], *, model_name: str, validated: Validated | None = None):
        items = {}
        for e in explanations:
            if not isinstance(e, Explanation):
                raise TypeError(f"ExplanationSet holds Explanations, got {type(e).__name__}")
            if e.method in items:
                raise ValueError(f"two explanations by method {e.method!r}: an ExplanationSet holds one per "
                                 "method; put the other in its own set (e.g. one explain() call per setting).")
            items[e.method] = e
        object.__setattr__(self, "_items", MappingProxyType(items))
        object.__setattr__(self, "_model_name", str(model_name))
        object.__setattr__(self, "_validated", validated)

    @property
    def validated(self) -> Validated | None:
        """The validated data, background and adapter ``explain()`` used (None if built by hand)."""
        return self._validated

    @property
    def background(self) -> np.ndarray | None:
        """The background rows the methods used, flat, in the model's column order; read-only."""
        return None if self._validated is None else self._validated.background

    def __setattr__(self, name, value):
        raise AttributeError(f"ExplanationSet is immutable; cannot set {name!r}")

    @property
    def methods(self) -> list[str]:
        """Names of the methods that ran, in order."""
        return list(self._items)

    @property
    def model_name(self) -> str:
        return self._model_name

    def __getitem__(self, method: str) -> Explanation:
        try:
            return self._items[method]
        except KeyError:
            raise KeyError(f"no explanation by method {method!r}; this set has {self.methods}") from None

    def __contains__(self, method) -> bool:
        return method in self._items

    def __iter__(self) -> Iterator[Explanation]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def items(self):
        return self._items.items()

    def to_frame(self) -> pd.DataFrame:
        """All explanations stacked into one tidy DataFrame."""
        return pd.concat([e.to_frame() for e in self], ignore_index=True)

    def _repr_html_(self) -> str:
        from .report.notebook import explanation_set_html

        return explanation_set_html(self)

    def __repr__(self) -> str:
        return f"ExplanationSet(model={self._model_name!r}, methods={self.methods})"
