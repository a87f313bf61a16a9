"""The metric registry: every metric is a name -> ``"module:function"`` entry with its kind, like adapters and methods.

Registration uses the shared :class:`~explain._utils.registry.Registry` (same shape as
``register_adapter`` and ``register_method``) and fails at import for a name
without a ``MetricSpec`` (``explain.metrics.base``), an unknown kind, a malformed
path, a path to a missing function, or a second registration; a spec without a
registration fails at import too.

``compare()`` scores through one protocol: ``get_metric(name).score(e, sc)``
returns the values of one explanation ``e`` (per row, one number, or None for
"no score here"), with ``sc`` the model's :class:`~explain.metrics.scoring.ScoringContext`.
The kind says how the registered function is called and when:

Kinds
-----
row        f(e, ctx) -> one value per explained row, ctx the MetricContext (faithfulness, complexity)
cost       f(e, sc) -> one number: the method's own time and model rows
reference  f(e, sc) -> per-row error against an independent exact reference (NaN and a note without one)
rerun      f(e, sc) -> per-row values from re-explanations of perturbed rows (``sc.rerun``)
seeds      f(e, sc) -> per-row values over re-explanations with other seeds (None for deterministic methods)
sanity     f(e, sc) -> per-row similarity to a randomised or refitted model's explanation (None where undefined)
pair       f(A, B, k) -> per-row agreement of two explanations; e is scored against each of the model's other
           non-control methods (mean over rows per method, then mean and spread over methods)
model      f(e, sc) -> one number for the model, scored once on its first explanation (method "(model)")
derived    f(value, control) -> one number from e's score of ``source`` and the control method's

Adding a per-row metric is one function ``f(explanation, ctx) -> values per row``,
one ``MetricSpec`` in ``base._SPECS`` and one ``register_metric`` line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._utils.registry import Registry
from ..methods.base import is_control
from .base import METRICS, MetricSpec

__all__ = ["Metric", "REGISTRY", "register_metric", "get_metric", "metric_entries", "KINDS"]

# kind -> phase: compare() scores every explanation in phase 0, then 1, ...; "derived" reads earlier scores
KINDS = {"row": 0, "cost": 0, "reference": 0, "rerun": 0, "seeds": 0, "sanity": 0, "pair": 1, "model": 2,
         "derived": 3}

REGISTRY = Registry("metric", resolve=True)


@dataclass(frozen=True)
class Metric:
    """A registered metric: its spec, kind and function, called through :meth:`score`."""

    spec: MetricSpec
    kind: str
    fn: Callable
    source: str | None = None  # for "derived": the score it is computed from

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def phase(self) -> int:
        return KINDS[self.kind]

    @property
    def once(self) -> bool:
        """Scored once per model (method "(model)") rather than once per explanation."""
        return self.kind == "model"

    def score(self, e, sc):
        """The values of explanation e for this metric (per row, one number, or None for no score)."""
        if self.kind == "row":
            return self.fn(e, sc.ctx)
        if self.kind == "pair":
            others = [m for m in sc.result.methods if m != e.method and not is_control(m)]
            if not others:
                return np.nan
            matrix = sc.agreements.get(self.name)
            if matrix is not None:
                return matrix.loc[e.method, others].to_numpy(float)
            return np.array([np.mean(self.fn(e.flat_values, sc.result[m].flat_values, sc.k)) for m in others])
        if self.kind == "derived":
            value = sc.values.get((e.method, self.source))
            return None if is_control(e.method) or value is None else self.fn(value, sc.control_value(self.source))
        return self.fn(e, sc)


def register_metric(name: str, path: str, *, kind: str, source: str | None = None) -> None:
    """Register a metric's function by ``"module:function"``; raises ValueError for a bad registration.

    Parameters
    ----------
    name : str
        A metric with a ``MetricSpec`` in ``explain.metrics.base.METRICS``.
    path : str
        ``"package.module:function"``, imported and checked now.
    kind : str
        One of ``KINDS`` (see the module notes for each kind's call).
    source : str, optional
        For kind "derived": the metric it is computed from.
    """
    if name not in METRICS:
        raise ValueError(f"metric {name!r} has no MetricSpec in explain.metrics.base (add one first)")
    if kind not in KINDS:
        raise ValueError(f"metric {name!r}: unknown kind {kind!r}; kinds are {tuple(KINDS)}")
    if (kind == "derived") != (source is not None):
        raise ValueError(f"metric {name!r}: a 'derived' metric needs its source, and only it takes one")
    if source is not None and source not in METRICS:
        raise ValueError(f"metric {name!r}: unknown source metric {source!r}")
    REGISTRY.register(name, path, kind=kind, source=source)


def get_metric(name: str) -> Metric:
    """The registered metric ``name``, its function loaded."""
    facts = REGISTRY.facts(name)
    return Metric(METRICS[name], facts["kind"], REGISTRY.load(name), facts["source"])


def metric_entries(wanted) -> list[Metric]:
    """The wanted metrics, in registry order."""
    return [get_metric(name) for name in REGISTRY if name in wanted]


_M = "explain.metrics."
for _name in ("deletion", "insertion", "deletion_normalised", "insertion_normalised", "faithfulness_correlation",
              "infidelity"):
    register_metric(_name, f"{_M}faithfulness:{_name}", kind="row")
for _name in ("entropy", "sparseness", "features_for_90"):
    register_metric(_name, f"{_M}complexity:{_name}", kind="row")
register_metric("seconds_per_row", f"{_M}cost:seconds_per_row", kind="cost")
register_metric("evals_per_row", f"{_M}cost:evals_per_row", kind="cost")
register_metric("ground_truth_error", f"{_M}ground_truth:ground_truth_error", kind="reference")
register_metric("max_sensitivity", f"{_M}robustness:sensitivity_of", kind="rerun")
register_metric("seed_cv", f"{_M}robustness:seed_cv", kind="seeds")
register_metric("seed_topk_agreement", f"{_M}robustness:seed_topk_agreement", kind="seeds")
register_metric("seed_within_error", f"{_M}robustness:seed_within_error", kind="seeds")
register_metric("agreement_within_error", f"{_M}agreement:agreement_within_error", kind="seeds")
for _name in ("model_randomisation", "model_randomisation_abs", "data_randomisation"):
    register_metric(_name, f"{_M}sanity:{_name}", kind="sanity")
for _name in ("feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement", "rank_correlation",
              "pairwise_rank_agreement"):
    register_metric(_name, f"{_M}agreement:{_name}", kind="pair")
register_metric("interaction_strength", f"{_M}interaction:interaction_of", kind="model")
register_metric("deletion_vs_random", f"{_M}base:ratio_to_control", kind="derived", source="deletion_normalised")
register_metric("insertion_vs_random", f"{_M}base:ratio_to_control", kind="derived", source="insertion_normalised")

_missing = sorted(set(METRICS) - set(REGISTRY))
if _missing:  # pragma: no cover - a bad registration fails at import
    raise ImportError(f"metrics without a registration: {_missing}")
