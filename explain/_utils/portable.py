"""What an Explanation needs to be written out and read back exactly: class labels and the codec.

Labels keep their type (int, float, bool, str) through JSON and Parquet; the
codec of a mixed-type table is described as plain JSON (each column's name,
kind, categories with their own types, dtype and order), so a reader turns
the stored codes back into the original values: ``island = Biscoe``, not 0.0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DataError
from .codec import Codec, ColumnSpec
from .frozen import _frozen_array as frozen_array

__all__ = ["label_array", "target_arrays", "stderr_matrix", "json_labels", "codec_to_json", "codec_from_json"]

_DTYPE_TEXT = re.compile(r"^[A-Za-z0-9_\[\], ]{1,40}$")


def label_array(labels) -> np.ndarray:
    """Class labels as one array whose type survives JSON and Parquet: numbers stay numbers, strings
    become Python ``str`` in an object array (never numpy's fixed-width unicode), booleans stay booleans."""
    arr = labels if isinstance(labels, np.ndarray) else np.array(labels, dtype=object)
    if arr.dtype.kind in "US":
        return arr.astype(object)
    if arr.dtype.kind != "O":
        return arr
    items = [v.item() if isinstance(v, np.generic) else v for v in arr.reshape(-1)]
    for kind, test in ((bool, lambda v: isinstance(v, bool)),
                       (np.int64, lambda v: isinstance(v, int) and not isinstance(v, bool)),
                       (float, lambda v: isinstance(v, float))):
        if items and all(test(v) for v in items):
            try:
                return np.array(items, dtype=kind).reshape(arr.shape)
            except OverflowError:  # an int beyond int64: keep the Python object
                break
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = items
    return out


def _json_scalar(v):
    """A label or category as a JSON scalar of its own type (text for anything JSON has no type for)."""
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v if isinstance(v, (str, bool, int, float)) else str(v)


def json_labels(labels) -> list:
    """Labels (or categories) as a JSON list that :func:`label_array` reads back to the same values."""
    return [_json_scalar(v) for v in np.asarray(labels, dtype=object).reshape(-1)]


def codec_to_json(codec) -> list | None:
    """The codec as JSON: one ``{name, kind, categories, dtype, ordered}`` per column; None without one."""
    if codec is None:
        return None
    out = []
    for c in codec.columns:
        categorical_dtype = isinstance(c.dtype, pd.CategoricalDtype)
        out.append({"name": c.name, "kind": c.kind, "categories": json_labels(c.categories),
                    "dtype": "category" if categorical_dtype else str(c.dtype),
                    "ordered": bool(categorical_dtype and c.dtype.ordered)})
    return out


def _dtype(text, kind: str, categories: tuple, ordered: bool):
    """The dtype a described column is decoded to; an unknown or odd one falls back to object/float."""
    if text == "category":
        try:
            return pd.CategoricalDtype(list(categories), ordered=ordered)
        except (TypeError, ValueError):
            return np.dtype(object)
    fallback = np.dtype(object) if kind == "categorical" else np.dtype(float)
    if not (isinstance(text, str) and _DTYPE_TEXT.match(text)):
        return fallback
    try:
        dtype = pd.api.types.pandas_dtype(text)
    except (TypeError, ValueError):
        return fallback
    if kind == "categorical" and not (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
                                      or pd.api.types.is_string_dtype(dtype)):
        return fallback
    if kind == "numeric" and not pd.api.types.is_numeric_dtype(dtype):
        return fallback
    return dtype


def codec_from_json(spec, *, where: str) -> Codec | None:
    """The codec described by :func:`codec_to_json`; ``DataError`` naming ``where`` if it is malformed."""
    from ..errors import DataError

    if spec is None:
        return None
    scalars = (str, bool, int, float)
    ok = isinstance(spec, list) and all(
        isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("kind") in ("numeric", "categorical")
        and isinstance(c.get("categories", []), list) and all(isinstance(v, scalars) for v in c.get("categories", []))
        and isinstance(c.get("ordered", False), bool) for c in spec)
    if not ok:
        raise DataError(f"{where}: the column description (codec) is malformed; expected a list of "
                        "{name, kind, categories, dtype, ordered}")
    columns = []
    for c in spec:
        cats = tuple(label_array(c.get("categories", [])).tolist()) if c["kind"] == "categorical" else ()
        columns.append(ColumnSpec(c["name"], c["kind"], cats,
                                  _dtype(c.get("dtype"), c["kind"], cats, c.get("ordered", False))))
    return Codec(columns)


def target_arrays(target, target_index, n: int):
    """(labels, indices) of the explained classes, each (n,) and read-only, or (None, None)."""
    if target is None:
        if target_index is not None:
            raise DataError("target_index needs target (the class labels) too")
        return None, None
    labels = label_array(target)
    if labels.ndim == 0:
        labels = np.broadcast_to(labels, (n,)).copy()
    if labels.shape != (n,):
        raise DataError(f"target must have shape ({n},), got {labels.shape}")
    if target_index is None:
        if labels.dtype.kind not in "iu":
            raise DataError("target holds labels that are not class indices: pass target_index too "
                             "(each row's position in the model's classes)")
        target_index = labels
    index = np.asarray(target_index)
    if index.ndim == 0:
        index = np.broadcast_to(index, (n,))
    if index.shape != (n,) or (index.size and index.dtype.kind not in "iu"):
        raise DataError(f"target_index must hold ({n},) integers, got {index.dtype} of shape {index.shape}")
    return frozen_array(labels), frozen_array(index, dtype=int)


def stderr_matrix(stderr, shape: tuple) -> np.ndarray:
    """``stderr`` as a float (n, d) matrix of non-negative numbers (NaN allowed), or DataError."""
    a = np.asarray(stderr, dtype=float)
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape != shape:
        raise DataError(f"stderr must have the shape of values {shape}, got {a.shape}")
    if np.any(a < 0):
        raise DataError("stderr must be non-negative")
    return a
