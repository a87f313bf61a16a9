"""Plain-data conversions shared by the renderers: JSON-ready params and Explanation records."""

from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

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


def explanation_record(e: Explanation) -> dict:
    """Every field of an Explanation as JSON-ready data."""
    return {
        "method": e.method, "model": e.model_name, "output": e.output,
        "feature_names": e.feature_names, "values": e.values.tolist(),
        "base_values": e.base_values.tolist(), "data": e.data.tolist(),
        "target": None if e.target is None else e.target.tolist(),
        "seconds": e.seconds, "n_model_evals": e.n_model_evals,
        "params": _plain(dict(e.params)),
    }
