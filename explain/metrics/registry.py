"""The metric registry: every metric's spec (base.METRICS) with its function and what it needs.

``compare()`` is one loop over this registry: it groups the wanted metrics by
``kind`` and runs each kind's step once. Adding a per-row metric is one function
(``f(explanation, ctx) -> values per row``), one ``MetricSpec`` in ``base._SPECS``
and one ``register`` line here. A spec without a registration, or a registration
without a spec or with an unknown kind, fails at import.

Kinds
-----
row        f(e, ctx) -> one value per explained row (faithfulness, complexity)
cost       f(e) -> one number (the method's own time and model calls)
rerun      f(e, ctx, rerun, n_rows) -> (values, re-explanations): re-explains perturbed rows
seeds      re-explains with other seeds (stochastic methods); f(runs, k) -> (cv, top-k agreement)
sanity     re-explains a randomised or refitted model (Adebayo et al.)
pair       f(A, B, k) -> per-row agreement between two methods of one model
model      f(e, ctx) -> one number for the model (method "(model)")
derived    computed from other scores of the same model (ratios to the random control)
reference  against an independent exact reference (ground truth)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import agreement, complexity, faithfulness, robustness
from .base import METRICS, MetricSpec

__all__ = ["Registered", "REGISTRY", "register", "KINDS", "wanted_by_kind"]

KINDS = ("row", "cost", "rerun", "seeds", "sanity", "pair", "model", "derived", "reference")


@dataclass(frozen=True)
class Registered:
    """A metric's spec, its kind and its function (None where compare() runs the step itself)."""

    spec: MetricSpec
    kind: str
    fn: Callable | None = None
    source: str | None = None  # for "derived": the score it is computed from


REGISTRY: dict[str, Registered] = {}


def register(name: str, kind: str, fn: Callable | None = None, *, source: str | None = None) -> Registered:
    """Register a metric; raises ValueError for an unknown name or kind, or a second registration."""
    if name not in METRICS:
        raise ValueError(f"metric {name!r} has no MetricSpec in explain.metrics.base (add one first)")
    if kind not in KINDS:
        raise ValueError(f"metric {name!r}: unknown kind {kind!r}; kinds are {KINDS}")
    if name in REGISTRY:
        raise ValueError(f"metric {name!r} is registered twice")
    if kind == "row" and fn is None:
        raise ValueError(f"metric {name!r}: a per-row metric needs its function")
    REGISTRY[name] = Registered(METRICS[name], kind, fn, source)
    return REGISTRY[name]


INTERACTION_MAX_FEATURES = 256  # n x d x background model rows: beyond this (large images) it is left out


def _interaction(e, ctx):
    import numpy as np

    from .interaction import interaction_strength

    if e.shape[1] > int(ctx.options.get("interaction_max_features", INTERACTION_MAX_FEATURES)):
        return float("nan")
    return interaction_strength(e.codes, ctx, None if e.target_index is None else np.asarray(e.target_index))


for _name in ("deletion", "insertion", "deletion_normalised", "insertion_normalised", "faithfulness_correlation",
              "infidelity"):
    register(_name, "row", getattr(faithfulness, _name))
for _name in ("entropy", "sparseness", "features_for_90"):
    register(_name, "row", getattr(complexity, _name))
register("seconds_per_row", "cost", lambda e: e.seconds / len(e))
register("evals_per_row", "cost", lambda e: e.n_model_evals / len(e))
register("max_sensitivity", "rerun", robustness.sensitivity_of)
register("seed_cv", "seeds", robustness.seed_stability)
register("seed_topk_agreement", "seeds", robustness.seed_stability)
for _name in ("model_randomisation", "model_randomisation_abs", "data_randomisation"):
    register(_name, "sanity")
for _name, _fn in agreement.AGREEMENT_METRICS.items():
    register(_name, "pair", _fn)
register("interaction_strength", "model", _interaction)
register("deletion_vs_random", "derived", source="deletion_normalised")
register("insertion_vs_random", "derived", source="insertion_normalised")
register("ground_truth_error", "reference")

_missing = sorted(set(METRICS) - set(REGISTRY))
if _missing:  # pragma: no cover - a bad registration fails at import
    raise ImportError(f"metrics without a registration: {_missing}")


def wanted_by_kind(wanted) -> dict[str, list[Registered]]:
    """The wanted metrics grouped by kind, each list in registry order."""
    out: dict[str, list[Registered]] = {k: [] for k in KINDS}
    for name, reg in REGISTRY.items():
        if name in wanted:
            out[reg.kind].append(reg)
    return out
