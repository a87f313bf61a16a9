"""From a mixed-type table to the float matrix every method works on, and back for the model.

Attribution methods and metrics work on one float array per block of rows.
Real tables have string, ``category``, boolean and nullable columns, so each
original column becomes one float column: numbers as they are (a missing
value is NaN), and categorical columns as the index of their value in a
fixed list of categories (NaN when missing). Players are therefore always the
user's original columns. Before the model is called the codes are decoded
into a DataFrame with the original dtypes (a ``category`` column keeps its
exact CategoricalDtype, which boosters check), so pipelines and native
categorical boosters see what they were fitted on.

A code that is not a whole number in range (a method averaged or added noise
to a categorical column) is refused with a message naming the column, never
passed on as a made-up category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Codec", "ColumnSpec", "needs_codec", "reference_row", "categorical_mask"]


@dataclass(frozen=True)
class ColumnSpec:
    """One original column: its name, kind ("numeric" or "categorical"), categories and dtype."""

    name: str
    kind: str
    categories: tuple = ()
    dtype: object = None


def _is_categorical(series: pd.Series) -> bool:
    dt = series.dtype
    return (isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dt)
            or pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt))


def needs_codec(frame) -> bool:
    """Whether a DataFrame has columns that are not plain float/int (strings, categories, booleans, nullable)."""
    if not isinstance(frame, pd.DataFrame):
        return False
    # by position: with duplicated names frame[c] is a DataFrame (validation refuses them, naming them)
    return any(_is_categorical(frame.iloc[:, j]) or isinstance(frame.dtypes.iloc[j], pd.api.extensions.ExtensionDtype)
               for j in range(frame.shape[1]))


def _values_of(series: pd.Series) -> list:
    return [v for v in pd.unique(series.dropna())]


class Codec:
    """Encodes the user's columns as floats (categories as codes) and decodes them for the model.

    Parameters
    ----------
    columns : sequence of ColumnSpec
    """

    def __init__(self, columns):
        self.columns = tuple(columns)

    @classmethod
    def from_frames(cls, *frames: pd.DataFrame) -> "Codec":
        """Build from the explained rows and the background (same columns): categories are their values.

        A ``category`` column keeps its declared categories (and order); a
        string/object column gets its sorted distinct values; booleans are
        (False, True).
        """
        first = frames[0]
        specs = []
        for name in first.columns:
            series = [f[name] for f in frames if f is not None]
            s0 = series[0]
            if isinstance(s0.dtype, pd.CategoricalDtype):
                cats = tuple(s0.dtype.categories)
                specs.append(ColumnSpec(str(name), "categorical", cats, s0.dtype))
            elif pd.api.types.is_bool_dtype(s0.dtype):
                specs.append(ColumnSpec(str(name), "categorical", (False, True), s0.dtype))
            elif _is_categorical(s0):
                values = set()
                for s in series:
                    values.update(_values_of(s))
                try:
                    cats = tuple(sorted(values))
                except TypeError:  # mixed types: sort by their text
                    cats = tuple(sorted(values, key=str))
                specs.append(ColumnSpec(str(name), "categorical", cats, s0.dtype))
            else:
                specs.append(ColumnSpec(str(name), "numeric", (), s0.dtype))
        return cls(specs)

    # -- facts ------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def categorical(self) -> np.ndarray:
        """Boolean mask of the categorical columns."""
        return np.array([c.kind == "categorical" for c in self.columns])

    @property
    def has_categorical(self) -> bool:
        return bool(self.categorical.any())

    def label(self, j: int, code) -> str:
        """The original value behind a code, as text (for reports: "occupation = professional")."""
        c = self.columns[j]
        if c.kind != "categorical":
            return f"{code:.4g}" if isinstance(code, float) and np.isfinite(code) else str(code)
        if code is None or not np.isfinite(code):
            return "missing"
        return str(c.categories[int(code)])

    # -- encode / decode ------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, *, what: str = "X") -> np.ndarray:
        """Float codes of a DataFrame with these columns (in this order)."""
        from ..errors import DataError

        out = np.empty((len(frame), len(self.columns)))
        for j, c in enumerate(self.columns):
            s = frame[c.name]
            if c.kind == "numeric":
                try:
                    out[:, j] = pd.to_numeric(s, errors="raise").astype("float64").to_numpy(na_value=np.nan) \
                        if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) else s.to_numpy(dtype=float)
                except (TypeError, ValueError) as exc:
                    raise DataError(f"{what} column {c.name!r} should hold numbers: {exc}") from exc
                continue
            cat = pd.Categorical(s.astype(object).where(s.notna(), None) if not isinstance(
                s.dtype, pd.CategoricalDtype) else s.astype(object), categories=list(c.categories))
            codes = cat.codes.astype(float)
            unknown = (codes < 0) & s.notna().to_numpy()
            if unknown.any():
                v = s.to_numpy(dtype=object)[np.flatnonzero(unknown)[0]]
                raise DataError(f"{what} column {c.name!r} has the value {v!r}, which is not one of its "
                                f"categories {list(c.categories)[:10]}. Pass the same categories as the "
                                "model was fitted with.")
            codes[codes < 0] = np.nan
            out[:, j] = codes
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        """A DataFrame with the original columns and dtypes for float codes (rows from any method)."""
        from ..errors import DataError

        codes = np.asarray(codes, dtype=float).reshape(-1, len(self.columns))
        data = {}
        for j, c in enumerate(self.columns):
            col = codes[:, j]
            if c.kind == "numeric":
                data[c.name] = _numeric(col, c.dtype)
                continue
            finite = np.isfinite(col)
            k = len(c.categories)
            ok = ~finite | ((col == np.round(col)) & (col >= 0) & (col < k))
            if not ok.all():
                bad = col[~ok][0]
                raise DataError(f"column {c.name!r} is categorical, but a method or metric produced the value "
                                f"{bad:.4g}, which is not one of its {k} categories (it averaged or added noise "
                                "to a category). Use methods that replace a column by background values (shap, "
                                "shap.kernel, shap.permutation, lime) for models with categorical inputs.")
            idx = np.where(finite, col, 0).astype(int)
            if isinstance(c.dtype, pd.CategoricalDtype):
                data[c.name] = pd.Categorical.from_codes(np.where(finite, idx, -1), dtype=c.dtype)
            else:
                values = np.array(list(c.categories) + [None], dtype=object)[np.where(finite, idx, k)]
                if pd.api.types.is_bool_dtype(c.dtype) and finite.all():
                    data[c.name] = values.astype(bool)
                elif pd.api.types.is_string_dtype(c.dtype) and not pd.api.types.is_object_dtype(c.dtype):
                    data[c.name] = pd.array(np.where(finite, values, None), dtype=c.dtype)
                else:
                    # a Series keeps object dtype (a DataFrame built from an object array would infer "str")
                    data[c.name] = pd.Series(np.where(finite, values, np.nan), dtype=object)
        return pd.DataFrame(data)

    def subset(self, columns) -> "Codec":
        return Codec([self.columns[j] for j in columns])

    def describe(self) -> dict:
        return {c.name: list(map(str, c.categories)) for c in self.columns if c.kind == "categorical"}


def _numeric(col: np.ndarray, dtype):
    """Numbers back in the user's dtype where it survives the trip (nullable ints stay nullable)."""
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        try:
            if pd.api.types.is_integer_dtype(dtype) and np.all(~np.isfinite(col) | (col == np.round(col))):
                return pd.array(np.where(np.isfinite(col), col, np.nan), dtype="Float64").astype(dtype)
            return pd.array(col, dtype="Float64") if pd.api.types.is_float_dtype(dtype) else col
        except (TypeError, ValueError):
            return col
    if np.issubdtype(np.dtype(dtype), np.integer) and np.all(np.isfinite(col)) and np.all(col == np.round(col)):
        return col.astype(dtype)
    return col


def categorical_mask(codec, d: int) -> np.ndarray:
    """Which of d columns are categorical (none without a codec)."""
    return np.zeros(d, dtype=bool) if codec is None else codec.categorical


def reference_row(background: np.ndarray, codec=None) -> np.ndarray:
    """What a "removed" column is set to: the background mean, or the most frequent category.

    Averaging category codes would make a category that does not exist, so a
    categorical column takes its mode instead (missing values ignored in both).
    """
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)  # all-NaN
            row = np.nanmean(background, axis=0)
    for j in np.flatnonzero(categorical_mask(codec, background.shape[1])):
        col = background[:, j]
        col = col[np.isfinite(col)]
        row[j] = np.bincount(col.astype(int)).argmax() if col.size else np.nan
    return row
