"""Plain-data conversions shared by the renderers: JSON-ready params and Explanation records."""

from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

from .._utils.portable import codec_to_json, json_labels
from ..explanation import Explanation

__all__ = ["explanation_record"]


def _plain(value):
    """A JSON-ready version of a params value."""
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records"))
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _rows(a) -> list:
    """A 2-D array as nested lists with NaN as null (JSON has no NaN)."""
    a = np.asarray(a, dtype=float)
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in a]


def explanation_record(e: Explanation) -> dict:
    """Every field of an Explanation as JSON-ready data, flat (n, d) (``stderr`` None for exact results),
    with what a later diff needs: global importance per feature (mean |a|) and its spread over rows (std |a|)."""
    absval = np.abs(e.flat_values)
    rec = {
        "method": e.method, "model": e.model_name, "output": e.output,
        "feature_names": e.feature_names, "values": _rows(e.flat_values),
        "base_values": e.base_values.tolist(), "data": _rows(e.codes),
        "stderr": None if e.stderr is None else _rows(e.stderr.reshape(len(e), -1)),
        "target": None if e.target is None else json_labels(e.target),
        "target_index": None if e.target_index is None else e.target_index.tolist(),
        "seconds": e.seconds, "n_model_evals": e.n_model_evals,
        "params": _plain(dict(e.params)),
        "global_importance": dict(zip(e.feature_names, absval.mean(axis=0).tolist())),
        "importance_spread": dict(zip(e.feature_names, absval.std(axis=0).tolist())),
    }
    if e.codec is not None and e.codec.has_categorical:
        rec["categories"] = e.codec.describe()
        rec["codec"] = codec_to_json(e.codec)
    return rec
