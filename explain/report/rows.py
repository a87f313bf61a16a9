"""Every explained row, reachable: a table of predictions with links, then one view per row.

A row view is waterfall-style text: E[f(X)], every feature's contribution (each
method's number, with a bar scaled to the row's largest), and f(x) = E[f(X)] plus
their sum. The table of predictions and the views carry ``data-row-id`` so the
page's search box can filter them; without JavaScript they are plain HTML.
"""

from __future__ import annotations

import numpy as np

from ..methods.base import is_control
from .figures import feature_value

__all__ = ["rows_section", "row_ids_for"]

_BAR_PX = 80  # the largest |contribution| of a row, in pixels


def row_ids_for(n: int, row_ids=None) -> list[str]:
    """The ids shown for ``n`` explained rows: the caller's (a DataFrame index or an id column) or 0..n-1."""
    if row_ids is None:
        return [str(i) for i in range(n)]
    ids = [str(v) for v in list(row_ids)]
    if len(ids) != n:
        raise ValueError(f"row_ids has {len(ids)} entries for {n} explained rows: pass one id per row")
    return ids


def _reference(es):
    """The method whose base + sum is shown as f(x): the first additive (exact) one, else the first non-control."""
    methods = [e for e in es if not is_control(e.method)] or list(es)
    for e in methods:
        if e.params.get("exact") or e.method in ("shap", "coefficients"):
            return e, methods
    return methods[0], methods


def _num(v: float) -> str:
    return f"{v:+.4g}" if np.isfinite(v) else "missing"


def rows_section(name: str, es, *, anchor: str, unit: str, row_ids=None, open_rows=(0, 1, 2)):
    """The "rows" section of one tabular model: predictions table, then every row's view.

    Parameters
    ----------
    name : str
        The model's name.
    es : list of Explanation
        The model's explanations (same rows).
    anchor : str
        A prefix for the HTML ids of the row views (unique per model in the page).
    unit : str
        The output the contributions are in.
    row_ids : sequence, optional
        One id per explained row (default: its position).
    open_rows : sequence of int
        Positions whose views start expanded.
    """
    from .tables import Section

    ref, methods = _reference(es)
    n = len(ref)
    ids = row_ids_for(n, row_ids)
    target = ref.target
    fx = ref.base_values + ref.flat_values.sum(axis=1)
    predictions, views = [], []
    for i in range(n):
        label = "–" if target is None else str(target[i])
        rid = f"{anchor}-row-{i}"
        predictions.append({"id": ids[i], "anchor": rid, "fx": f"{fx[i]:.4g}", "base": f"{ref.base_values[i]:.4g}",
                            "label": label})
        v0 = ref.flat_values[i]
        order = np.argsort(-np.abs(v0), kind="stable")
        peak = max(float(np.nanmax(np.abs(e.flat_values[i]))) if e.flat_values.shape[1] else 0.0
                   for e in methods) or 1.0
        lines = []
        for j in order:
            cells = []
            for e in methods:
                v = float(e.flat_values[i, j])
                width = int(round(_BAR_PX * abs(v) / peak)) if np.isfinite(v) else 0
                se = None if e.stderr is None else float(e.stderr.reshape(len(e), -1)[i, j])
                text = _num(v) + (f" ± {se:.2g}" if se is not None and se > 0 else "")  # sampled: its stderr
                cells.append({"text": text, "width": width, "sign": "pos" if v > 0 else "neg"})
            lines.append({"feature": feature_value(ref, i, j), "cells": cells})
        sums = [_num(float(e.flat_values[i].sum())) for e in methods]
        outputs = [f"{float(e.base_values[i] + e.flat_values[i].sum()):.4g}" for e in methods]
        bases = [f"{float(e.base_values[i]):.4g}" for e in methods]
        views.append({"id": ids[i], "anchor": rid, "label": label, "fx": f"{fx[i]:.4g}", "bases": bases,
                      "base": f"{ref.base_values[i]:.4g}", "lines": lines, "sums": sums, "outputs": outputs,
                      "open": i in set(open_rows)})
    return Section("rows", f"Every explained row ({n}): predictions and contributions, in {unit}", {
        "model": name, "unit": unit, "reference": ref.method, "methods": [e.method for e in methods],
        "predictions": predictions, "views": views,
        "note": (f"f(x) = E[f(X)] + the sum of the {ref.method} contributions, in {unit}; "
                 f"explained class: the class each row's explanation is for (not necessarily the predicted one).")})
