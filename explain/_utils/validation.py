"""Checks at the entry: public parameters against their declared constraints, and data into float arrays.

``validate_params`` is the one check of public parameters (in the spirit of
scikit-learn's ``validate_params``): each public function declares a table
``{parameter: [constraint, ...]}`` and every message (which parameter, what was
expected, what came, the closest valid option) is generated from that table.
"""

from __future__ import annotations

import difflib
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import BackgroundError, DataError, ParameterError

__all__ = ["check_data", "suggest", "validate_params", "check_keywords", "Options", "Integer", "Instance",
           "Satisfies"]


def suggest(word: str, choices: Sequence[str]) -> str:
    """' Did you mean 'x'?' for the closest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# -- declarative checks of public parameters ---------------------------------------------------------

class Options:
    """One of a fixed set of values (compared by equality, never by truthiness: True is not 1)."""

    def __init__(self, *values):
        self.values = values

    def is_satisfied_by(self, value) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values) or \
            any(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and isinstance(v, int)
                and not isinstance(v, bool) and value == v for v in self.values)

    def __str__(self) -> str:
        return _or_list([repr(v) for v in self.values])


class Integer:
    """An integer (not a bool) in ``[low, high]`` (either bound may be None)."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def is_satisfied_by(self, value) -> bool:
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an int in [{self.low}, {self.high}]"
        if self.low is not None:
            return "a positive int" if self.low == 1 else f"an int >= {self.low}"
        return "an int" if self.high is None else f"an int <= {self.high}"


class Instance:
    """An instance of one of ``types`` (None is spelt as the constraint ``None``)."""

    def __init__(self, *types, name=None):
        self.types, self.name = types, name

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return self.name or " or ".join(f"a {t.__name__}" for t in self.types)


class Satisfies:
    """A value accepted by ``predicate``, described by ``description``."""

    def __init__(self, predicate, description: str):
        self.predicate, self.description = predicate, description

    def is_satisfied_by(self, value) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # a predicate that cannot judge the value rejects it
            return False

    def __str__(self) -> str:
        return self.description


def _satisfies(constraint, value) -> bool:
    return value is None if constraint is None else constraint.is_satisfied_by(value)


def _or_list(parts) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _describe(constraints) -> str:
    parts = []
    for c in constraints:
        parts += [repr(v) for v in c.values] if isinstance(c, Options) else ["None" if c is None else str(c)]
    return _or_list(parts)


def validate_params(caller: str, table: dict, values: dict) -> None:
    """Check every ``values[name]`` against ``table[name]`` (a list of constraints, one must hold).

    Raises
    ------
    ParameterError
        For the first parameter that no constraint accepts: names the function
        and the parameter, says what was expected and what came, and for a
        misspelt option the closest valid one.
    """
    for name, constraints in table.items():
        if name not in values:
            continue
        value = values[name]
        if any(_satisfies(c, value) for c in constraints):
            continue
        options = [str(v) for c in constraints if isinstance(c, Options) for v in c.values if isinstance(v, str)]
        hint = suggest(value, options) if isinstance(value, str) else ""
        shown = repr(value) if len(repr(value)) <= 80 else f"a {type(value).__name__}"
        raise ParameterError(f"{caller}(): {name} must be {_describe(constraints)}, got {shown}.{hint}")


def check_keywords(caller: str, given, allowed) -> None:
    """Refuse keywords ``caller`` does not take, with the closest one it does."""
    unknown = [k for k in given if k not in allowed]
    if unknown:
        raise ParameterError(f"{caller}() got unexpected keyword(s) {sorted(unknown)}."
                             f"{suggest(str(unknown[0]), list(allowed))} It takes: {', '.join(allowed)}.")


def _check_unique(names: Sequence[str], what: str, error, source: str = "columns") -> None:
    """Refuse repeated names: a column must be found by its name (``X["age"]`` must be one column)."""
    counts = pd.Series(list(names), dtype=object).value_counts(sort=False)
    repeated = [str(n) for n, c in counts.items() if c > 1]
    if repeated:
        fix = (f"Rename or drop the copies, e.g. {what} = {what}.loc[:, ~{what}.columns.duplicated()]."
               if source == "columns" else "Pass one distinct name per column.")
        raise error(f"{what} has duplicated {source} {repeated[:10]} ({len(repeated)} name(s) used more than "
                    f"once, compared as text); every column needs its own name. {fix}")


def _columns_from_frame(X: pd.DataFrame, expected_names, what, error):
    cols = [str(c) for c in X.columns]
    _check_unique(cols, what, error)
    if expected_names is None:
        return X, cols
    expected = [str(c) for c in expected_names]
    missing = [c for c in expected if c not in cols]
    if missing:
        extra = [c for c in cols if c not in expected]
        raise error(
            f"{what} is missing column(s) {missing[:10]} that the model was fitted with"
            + (f"; it has unexpected column(s) {extra[:10]}" if extra else "")
            + f". Pass a DataFrame with the model's {len(expected)} columns {expected[:10]}"
            + ("..." if len(expected) > 10 else "") + "."
        )
    extra = [c for c in cols if c not in expected]
    if extra:
        raise error(
            f"{what} has {len(cols)} columns but the model expects {len(expected)}: "
            f"unexpected column(s) {extra[:10]}. Drop them (e.g. X[{expected[:3]}...])."
        )
    return X[expected], expected


def check_data(X, *, n_features=None, feature_names=None, expected_names=None,
               default_names=None, what="X", allow_empty=False, allow_nan=False, codec=None):
    """Validate a data block and return ``(float64 array, feature names)``.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    n_features : int, optional
        Number of columns the model expects.
    feature_names : sequence of str, optional
        Names given by the user; override the DataFrame's.
    expected_names : sequence of str, optional
        Column names the model was fitted with; a DataFrame is matched (and
        reordered) by these.
    default_names : sequence of str, optional
        Names for an unnamed array (default ``x0, x1, ...``).
    what : str
        How to call the block in messages ("X", "background").
    allow_nan : bool
        Let NaN through (the model routes missing values itself); inf is always refused.
    codec : Codec, optional
        For a mixed-type DataFrame: encodes string, category and boolean columns as codes.
    """
    error = BackgroundError if what == "background" else DataError
    if X is None:
        raise error(f"{what} is None; pass an array or DataFrame of shape (n_samples, n_features).")
    if isinstance(X, pd.Series):
        raise error(f"{what} is a pandas Series (1-D); pass a DataFrame, e.g. {what}.to_frame() "
                    f"for one feature or {what}.to_frame().T for one row.")
    names = None
    if isinstance(X, pd.DataFrame):
        X, names = _columns_from_frame(X, expected_names, what, error)
        bad = [c for c, dt in zip(names, X.dtypes)
               if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
        if codec is not None:
            return _checked(codec.encode(X, what=what), names, n_features, what, error, allow_empty, allow_nan)
        if bad:
            raise error(f"{what} has non-numeric column(s) {bad[:10]} (dtypes "
                        f"{[str(X[c].dtype) for c in bad[:10]]}). Encode them as numbers first "
                        "(e.g. ordinal codes or one-hot columns the model was fitted on).")
        arr = X.to_numpy(dtype=float)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists etc.
            raise error(f"{what} could not be read as an array: {exc}") from exc
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise error(f"{what} has dtype {arr.dtype}, expected numbers. Convert it with "
                        f"np.asarray({what}, dtype=float) or pass a DataFrame with numeric columns.")
        arr = arr.astype(float)
    return _checked(arr, names, n_features, what, error, allow_empty, allow_nan, feature_names, expected_names,
                    default_names)


def frame_in_model_order(X, expected_names, what="X"):
    """A DataFrame's columns matched (and reordered) to the model's, for building a codec; else X as is."""
    if not isinstance(X, pd.DataFrame):
        return X
    error = BackgroundError if what == "background" else DataError
    return _columns_from_frame(X, expected_names, what, error)[0]


def _checked(arr, names, n_features, what, error, allow_empty, allow_nan, feature_names=None,
             expected_names=None, default_names=None):
    if arr.ndim == 1:
        raise error(f"{what} is 1-D with shape {arr.shape}; expected 2-D (n_samples, n_features). "
                    f"Use {what}.reshape(1, -1) for a single row or {what}.reshape(-1, 1) for a single feature.")
    if arr.ndim != 2:
        raise error(f"{what} has {arr.ndim} dimensions (shape {arr.shape}); expected 2-D (n_samples, n_features).")
    if arr.shape[0] == 0 and not allow_empty:
        raise error(f"{what} is empty (0 rows); pass at least one row to explain.")
    if arr.shape[1] == 0:
        raise error(f"{what} has no columns.")
    if n_features is not None and arr.shape[1] != n_features:
        raise error(f"{what} has {arr.shape[1]} columns but the model expects {n_features}. "
                    "Pass the same columns the model was fitted on.")
    if feature_names is not None:
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != arr.shape[1]:
            raise error(f"feature_names has {len(feature_names)} names but {what} has "
                        f"{arr.shape[1]} columns.")
        _check_unique(feature_names, "feature_names", error, "names")
        names = feature_names
    if names is None:
        fallback = expected_names if expected_names is not None else default_names
        names = [str(f) for f in fallback] if fallback is not None and len(fallback) == arr.shape[1] \
            else [f"x{j}" for j in range(arr.shape[1])]
    finite = np.isfinite(arr) | (np.isnan(arr) if allow_nan else False)
    if not finite.all():
        cols = np.flatnonzero(~finite.all(axis=0))
        has_nan, has_inf = np.isnan(arr[:, cols]).any(), np.isinf(arr[:, cols]).any()
        kinds = " and ".join(k for k, present in (("NaN", has_nan), ("inf", has_inf)) if present)
        first_row = int(np.flatnonzero(~finite[:, cols[0]])[0])
        raise error(f"{what} has {kinds} values in column(s) {[names[c] for c in cols[:10]]} "
                    f"(first at row {first_row}, column {names[cols[0]]!r}). Impute or drop "
                    "those rows before explaining; this model does not take missing values"
                    + (" (a function that imputes them itself: CallableAdapter(fn, allow_nan=True))."
                       if has_nan else "."))
    return arr, names
