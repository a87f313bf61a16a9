"""Read-only containers for results: locked arrays, frozen params whose DataFrames are copied on access."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["_frozen_array", "_freeze", "_FrozenParams"]


def _frozen_array(a, dtype=None) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


class _FrozenParams(Mapping):
    """Read-only params: arrays are locked; a DataFrame (e.g. an inference table) is copied on every access,
    so editing what you read never changes the Explanation."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        object.__setattr__(self, "_data", data)

    def __setattr__(self, name, value):
        raise AttributeError("params are read-only")

    def __getitem__(self, key):
        value = self._data[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        return f"params({dict(self)!r})"


def _freeze(value):
    """A read-only copy of a params value: arrays locked, dicts frozen, lists tupled, frames copied on access."""
    if isinstance(value, np.ndarray):
        return _frozen_array(value)
    if isinstance(value, pd.DataFrame):
        return value.copy()
    if isinstance(value, Mapping):
        return _FrozenParams({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
