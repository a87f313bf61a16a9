"""Side-by-side summaries of explanations: a models x methods table and a JSON dump.

This is the report as data, before any renderer: plain Python structures that
the HTML/Markdown renderers (and the demo's terminal table) read.
"""

from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

from ..explanation import Explanation, ExplanationSet

__all__ = ["side_by_side", "explanation_record", "results_record", "write_json"]


def _top(e: Explanation, k: int) -> str:
    imp = e.global_importance().head(k)
    return "; ".join(f"{name} {val:.3g}" for name, val in imp.items())


def side_by_side(results: Mapping[str, ExplanationSet], *, k: int = 3) -> pd.DataFrame:
    """Models x methods table; each cell lists the top ``k`` features by mean |attribution|."""
    methods = list(dict.fromkeys(m for r in results.values() for m in r.methods))
    table = pd.DataFrame(index=list(results), columns=methods, dtype=object)
    for model, result in results.items():
        for e in result:
            table.loc[model, e.method] = _top(e, k)
    return table.fillna("-")


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


def results_record(results: Mapping[str, ExplanationSet], **provenance) -> dict:
    """All explanations of several models, plus provenance fields, as JSON-ready data."""
    return {"provenance": _plain(provenance),
            "summary": side_by_side(results).to_dict(orient="index"),
            "models": {name: [explanation_record(e) for e in r] for name, r in results.items()}}


def write_json(record: dict, path) -> None:
    """Write atomically: a temporary file beside the target, then rename."""
    import os
    import tempfile

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, allow_nan=False, default=_plain)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
