"""Ground truth: error against an independent exact reference, never against the method itself.

The reference is exact enumeration of the interventional game on a few rows when
there are at most GROUND_TRUTH_MAX_FEATURES features, else an exact explanation by
a different algorithm; otherwise the cell stays empty and a note says why.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_values", "ground_truth_error", "GROUND_TRUTH_MAX_FEATURES", "GROUND_TRUTH_ROWS"]


GROUND_TRUTH_MAX_FEATURES = 10  # exact enumeration as the independent reference up to this many features
GROUND_TRUTH_ROWS = 5  # rows on which it is computed (2^d x background model rows each)


def reference_values(result, ctx):
    """The independent reference: exact enumeration of the interventional game on a few rows, or None."""
    from ..methods._enumeration import enumerate_shapley

    v = result.validated
    d = v.X.shape[1]
    if d > GROUND_TRUTH_MAX_FEATURES or v.groups is not None:
        return None
    first = next(iter(result))
    n = min(len(first), int(ctx.options.get("ground_truth_rows", GROUND_TRUTH_ROWS)))
    targets = None if first.target_index is None else np.asarray(first.target_index)[:n]
    values = np.empty((n, d))
    for t in ([None] if targets is None else np.unique(targets)):
        rows = np.arange(n) if t is None else np.flatnonzero(targets == t)
        fn = v.adapter.output_function(v.output, None if t is None else int(t))

        def f(Z, fn=fn):
            ctx.n_evals += len(Z)
            return fn(Z)
        values[rows] = enumerate_shapley(f, v.X[rows], v.background)[0]
    return values


def _relative_error(values, ref):
    return np.abs(values[:len(ref)] - ref).mean(axis=1) / max(np.abs(ref).mean(), 1e-300)


def ground_truth_error(e, sc):
    """Per-row error of e against an independent reference, or NaN (and a note in ``sc.notes``) without one.

    The reference is computed once per model (timed as method "(reference)").
    """
    name, result = sc.model_name, sc.result
    reference = sc.shared("reference", "(reference)", "ground_truth_error", lambda: reference_values(result, sc.ctx))
    algorithm = str(e.params.get("algorithm", ""))
    if reference is not None:
        if algorithm.startswith("exact enumeration"):
            sc.notes.append(f"{name}/{e.method}: ground_truth_error left empty: the method ran the reference "
                            "algorithm (exact enumeration) itself, so the comparison would be with itself.")
            return np.nan
        return _relative_error(e.flat_values, reference)
    others = [r for r in result if r.method != e.method and r.params.get("exact")
              and str(r.params.get("algorithm", "")) != algorithm]
    if not others:
        sc.notes.append(f"{name}/{e.method}: ground_truth_error left empty: more than {GROUND_TRUTH_MAX_FEATURES} "
                        "features (no enumeration) and no exact explanation by a different algorithm.")
        return np.nan
    sc.notes.append(f"{name}/{e.method}: ground_truth_error against {others[0].method!r} "
                    f"({others[0].params.get('algorithm')}).")
    return _relative_error(e.flat_values, others[0].flat_values)
