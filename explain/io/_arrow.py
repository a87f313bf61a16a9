"""The Arrow table of a batch of explanations: one row per (explained row, method), and its metadata.

Shared by the Parquet writer (:mod:`explain.io.parquet`) and its Dask writer
(:mod:`explain.io.dask_parquet`); the layout is described in the first.
"""

from __future__ import annotations

import json

import numpy as np

from .._utils.portable import codec_to_json, json_labels, label_array
from ..explanation import Explanation

__all__ = ["FORMAT", "FORMATS", "explain_batch", "metadata", "target_type"]

FORMAT = "explain-explanations-2"  # 2: target holds class labels (their own type), target_index the positions
FORMATS = ("explain-explanations-1", FORMAT)  # version 1 (target = class index, no codec) is still read
OPTIONAL_COLUMNS = ("stderr",)  # added within format 2 (nullable; readers that predate it ignore it)


def _schema(d: int, meta: dict, target=None):
    """The columns of a file with ``d`` features; ``target`` is the Arrow type of the labels (int64 if None)."""
    import pyarrow as pa

    return pa.schema([
        ("row_id", pa.int64()), ("method", pa.string()), ("target", target or pa.int64()),
        ("target_index", pa.int64()), ("base_value", pa.float64()),
        ("prediction", pa.float64()), ("exact", pa.bool_()), ("values", pa.list_(pa.float64(), d)),
        # stderr is a variable-size list: pyarrow before 26 cannot read back a fixed-size list column holding
        # nulls (apache/arrow#35692), and exact rows store a null here
        ("data", pa.list_(pa.float64(), d)), ("stderr", pa.list_(pa.float64())),
    ], metadata={"explain": json.dumps(meta)})


def target_type(classes):
    """The Arrow type of a model's class labels: int64, float64, bool or (strings, mixed) string."""
    import pyarrow as pa

    if classes is None:
        return pa.int64()
    kind = label_array(classes).dtype.kind
    return {"i": pa.int64(), "u": pa.int64(), "f": pa.float64(), "b": pa.bool_()}.get(kind, pa.string())


def _target_column(labels, arrow_type):
    import pyarrow as pa

    if arrow_type == pa.string():
        labels = [v if isinstance(v, str) else str(v) for v in json_labels(labels)]
    return pa.array(labels, arrow_type)


def _json_safe(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, (str, bool, int, float)) or v is None:
            out[k] = v
        elif isinstance(v, np.generic):
            out[k] = v.item()
    return out


def _row_exact(e: Explanation, classes) -> np.ndarray:
    """Each row's exact flag: from its class's block when classes were explained separately."""
    n = len(e)
    blocks = e.params.get("blocks")
    if not blocks or e.target is None or classes is None:
        return np.full(n, bool(e.params.get("exact", False)))
    by_class = {b["class"]: bool(b["exact"]) for b in blocks}
    return np.array([by_class.get(str(lab.item() if isinstance(lab, np.generic) else lab), False)
                     for lab in e.target], dtype=bool)


def _table(explanations, row_ids: np.ndarray, prediction: np.ndarray, schema, classes=None):
    import pyarrow as pa

    cols = {k: [] for k in schema.names}
    d = schema.field("values").type.list_size
    for e in explanations:
        n = len(e)
        cols["row_id"].append(pa.array(row_ids, pa.int64()))
        cols["method"].append(pa.array([e.method] * n, pa.string()))
        target = schema.field("target").type
        cols["target"].append(pa.nulls(n, target) if e.target is None else _target_column(e.target, target))
        cols["target_index"].append(pa.nulls(n, pa.int64()) if e.target_index is None
                                    else pa.array(e.target_index, pa.int64()))
        cols["base_value"].append(pa.array(e.base_values, pa.float64()))
        cols["prediction"].append(pa.array(prediction, pa.float64()))
        cols["exact"].append(pa.array(_row_exact(e, classes), pa.bool_()))
        for name, arr in (("values", e.values), ("data", np.asarray(e.codes, dtype=float)), ("stderr", e.stderr)):
            if arr is None:  # exact result: a null list per row
                cols[name].append(pa.nulls(n, schema.field(name).type))
                continue
            flat = pa.array(np.ascontiguousarray(arr, dtype=float).reshape(-1), pa.float64())
            if name == "stderr":
                cols[name].append(pa.ListArray.from_arrays(pa.array(np.arange(n + 1) * d, pa.int32()), flat))
            else:
                cols[name].append(pa.FixedSizeListArray.from_arrays(flat, d))
    return pa.table({k: pa.concat_arrays(v) for k, v in cols.items()}, schema=schema)


def explain_batch(plan, Xa: np.ndarray, offset: int, *, bar=None):
    """Explain validated rows whose first has index ``offset`` in the whole input; the Explanations and table."""
    targets, prediction = plan.targets_for(Xa)
    explanations = plan.explain_rows(Xa, row_offset=offset, bar=bar, targets=targets, prediction=prediction)
    classes = _classes(plan)
    schema = _schema(Xa.shape[1], metadata(plan, explanations), target_type(classes))
    return explanations, _table(explanations, np.arange(offset, offset + len(Xa)), prediction, schema, classes)


def _classes(plan):
    return plan.adapter.classes if plan.adapter.task == "classification" else None


def metadata(plan, explanations) -> dict:
    """The JSON kept in the schema: enough to rebuild Explanations without the model."""
    return {"format": FORMAT, "model_name": plan.adapter.name, "output": plan.output,
            "feature_names": list(plan.names), "image_shape": None if plan.image_shape is None else
            list(plan.image_shape), "methods": {e.method: _json_safe(dict(e.params)) for e in explanations},
            "random_state": plan.random_state if plan.random_state is None else int(plan.random_state),
            "classes": None if _classes(plan) is None else json_labels(_classes(plan)),
            "codec": codec_to_json(getattr(plan.adapter, "codec", None))}
