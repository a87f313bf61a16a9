"""How long a request will take, estimated before it runs: model rows to evaluate x seconds per model row.

A request with a large background or many samples can run for minutes with no
sign (a 2000 x 200 KernelSHAP request, a whole table as background): before
any method runs, ``explain()`` counts the model rows each method will evaluate
(its cost model below), and when that count is large enough to matter, times
one batched call of the model on :data:`TIMING_ROWS` rows. If the estimate
exceeds :data:`COST_WARNING_SECONDS` it warns once, with the estimate and the
knob to turn.

Cost models (n explained rows, m background rows, d features or groups):

================================  ==========================================
exact TreeSHAP, closed forms,     cheap: not estimated
gradients, kernel expansions
enumeration (``shap`` for d <=    2^d x m x n
12 without internals, shap.exact)
KernelSHAP (``shap``, shap.kernel) nsamples x m x n (nsamples: 2d + 2048)
PermutationSHAP                   max_evals x m x n (max_evals: 10 (2d + 1))
LIME                              num_samples x n (num_samples: 5000)
================================  ==========================================
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["COST_WARNING_SECONDS", "TIMING_ROWS", "model_rows", "estimate_seconds", "cost_warning"]

#: Warn when a request is estimated to take longer than this many seconds (``None`` or ``inf``: never).
COST_WARNING_SECONDS = 60.0
#: Rows of the one timed model call.
TIMING_ROWS = 256
#: Below this many model rows no request is timed (60 s would take 60 µs per row: a slow model on a big batch).
_UNTIMED_ROWS = 1_000_000


def model_rows(method, adapter, output: str, n: int, d: int, m: int, options: dict) -> tuple[int, str] | None:
    """(model rows the method evaluates on n rows, the knob to turn), or None when it is cheap or unknown.

    A method class may declare its own cost as ``cost(adapter, output, n, d, m, options)`` returning the same.
    """
    own = getattr(method, "cost", None)
    if callable(own):
        return own(adapter, output, n, d, m, options)
    name = method.name
    background = f"the background size (background=, now {m} rows)"
    rows = f"the rows explained (now {n})"
    if name == "shap":
        from ..methods.shap_ import MAX_EXACT_FEATURES, exact_path

        if exact_path(adapter, output) is not None:
            return None  # closed form, DeepLift SHAP, TreeSHAP or a kernel expansion (a fallback is not foreseen)
        if d <= MAX_EXACT_FEATURES:
            return 2 ** d * m * n, f"{background} or {rows}"
        nsamples = _samples(options.get("nsamples"), 2 * d + 2048)  # the first round (target_stderr may add)
        return nsamples * m * n, f"method_params={{'shap': {{'nsamples': ...}}}} (now {nsamples}), {background} or {rows}"
    if name == "shap.exact":
        return 2 ** d * m * n, f"{background} or {rows}"
    if name == "shap.kernel":
        nsamples = _samples(options.get("nsamples"), 2 * d + 2048)
        return nsamples * m * n, f"method_params={{'shap.kernel': {{'nsamples': ...}}}} (now {nsamples}), {background} or {rows}"
    if name == "shap.permutation":
        evals = int(options.get("max_evals", 10 * (2 * d + 1)))
        return evals * m * n, f"method_params={{'shap.permutation': {{'max_evals': ...}}}} (now {evals}), {background} or {rows}"
    if name == "lime":
        samples = int(options.get("num_samples", 5000))
        return samples * n, f"method_params={{'lime': {{'num_samples': ...}}}} (now {samples}) or {rows}"
    return None


def _samples(value, default: int) -> int:
    return default if value in (None, "auto") else int(value)


def seconds_per_row(adapter, output: str, background: np.ndarray) -> float:
    """Seconds per model row, from one call on :data:`TIMING_ROWS` rows (background rows, repeated)."""
    Z = np.resize(background, (TIMING_ROWS, background.shape[1])) if len(background) else background
    start = time.perf_counter()
    adapter.predict(Z, output)
    return (time.perf_counter() - start) / max(1, len(Z))


def estimate_seconds(plan, n: int) -> list[tuple[str, float, str]]:
    """(method, estimated seconds, knob) of every method of ``plan`` on n rows that is worth estimating."""
    d = plan.X.shape[1] if plan.groups is None else int(plan.groups.max()) + 1
    m = plan.background.shape[0]
    costs = []
    for method in plan.methods:
        found = model_rows(method, plan.adapter, plan.output, n, d, m, plan.method_params.get(method.name, {}))
        if found is not None:
            costs.append((method.name,) + tuple(found))
    if not costs or sum(c[1] for c in costs) < _UNTIMED_ROWS:
        return []
    per_row = seconds_per_row(plan.adapter, plan.output, plan.background)
    workers = max(1, plan.parallel.workers)
    return [(name, rows * per_row / workers, knob) for name, rows, knob in costs]


def cost_warning(plan, n: int, threshold: float | None = None) -> str | None:
    """The warning text when ``plan`` on n rows is estimated to exceed the threshold, else None."""
    threshold = COST_WARNING_SECONDS if threshold is None else threshold
    if threshold is None or not np.isfinite(threshold):
        return None
    estimates = estimate_seconds(plan, n)
    total = sum(s for _, s, _ in estimates)
    if total <= threshold:
        return None
    parts = "; ".join(f"{name}: about {_duration(s)} (turn down {knob})" for name, s, knob in estimates
                      if s > 0.05 * total)
    return (f"this request is estimated to take about {_duration(total)} on {plan.adapter.name} "
            f"({n} rows; model evaluations x {TIMING_ROWS}-row timing of the model): {parts}. "
            f"Set explain.engine.cost.COST_WARNING_SECONDS to change when this warning appears.")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
