"""The one object a metric gets when ``compare()`` scores a model: :class:`ScoringContext`.

``compare()`` builds one frozen ScoringContext per model and calls every wanted
metric as ``metric.score(e, sc)`` (see ``explain.metrics.registry``). Work that
several metrics share (a re-explanation of a randomised model, the runs with
other seeds, the exact reference) is computed once through :meth:`ScoringContext.shared`
and timed as its own row; re-explanations go through :meth:`ScoringContext.rerun`,
which counts their model rows as the metric's. Metric functions return values;
only ``compare()`` turns them into score rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..methods.base import is_control
from .base import MetricContext

__all__ = ["ScoringContext"]


@dataclass(frozen=True)
class ScoringContext:
    """What any metric may need to score the explanations of one model in ``compare()``.

    Attributes
    ----------
    model_name : str
    model : object
        The model as the user passed it (refitted clones for data randomisation start from it).
    result : ExplanationSet
        The model's explanations; ``result.validated`` holds the adapter, data and background explain() used.
    ctx : MetricContext
        Adapter, output space, background, options and removal for the perturbation metrics.
    k : int
        Top-k size of the agreement and seed-stability measures.
    X, y : the rows and labels the user passed to ``compare()`` (y may be None)
    random_state : int or None
    n_seeds : int
        Runs per stochastic method for seed stability (the original counts as one).
    robustness_rows : int
        Rows on which max-sensitivity re-explains perturbed inputs.
    rerun_factory : callable
        ``rerun_factory(e)`` returns ``rerun(Z, *, random_state=None, other_model=None, targets=None,
        stderr=True)``, which re-explains rows ``Z`` (flat, the model's columns) with e's method, target and
        settings (``stderr=False``: the caller reads values only, the method may skip its standard errors).
    clock : object
        ``clock.measure(model, method, metric, fn) -> fn()``, recording time and model rows.
    notes : list of str
        Notes for the reader (why a cell is empty, what a reference was).
    agreements : dict of str -> DataFrame
        Every agreement metric's method x method matrix for this model.
    values : dict of (method, metric) -> float
        Scores of this model so far, filled by ``compare()`` (derived metrics read them).
    metrics : tuple of str
        The metrics ``compare()`` scores (a shared computation reads what the others need).
    """

    model_name: str
    model: Any
    result: Any
    ctx: MetricContext
    k: int
    X: Any
    y: Any
    random_state: int | None
    n_seeds: int
    robustness_rows: int
    rerun_factory: Callable
    clock: Any
    notes: list = field(default_factory=list)
    agreements: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    metrics: tuple = ()
    _shared: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def adapter(self):
        """The adapter explain() bound (never a second one built from the user's objects)."""
        return self.result.validated.adapter

    @property
    def controls(self) -> list[str]:
        """The control methods among this model's explanations (``["random"]``)."""
        return [m for m in self.result.methods if is_control(m)]

    def rerun(self, e, Z: np.ndarray, **kwargs):
        """Re-explain rows Z with e's method (keywords as ``rerun_factory``'s); its model rows count here."""
        key = ("rerun", e.method)
        if key not in self._shared:
            self._shared[key] = self.rerun_factory(e)
        again = self._shared[key](Z, **kwargs)
        self.ctx.n_evals += again.n_model_evals
        return again

    def shared(self, key, method: str, label: str, compute: Callable):
        """``compute()`` once per ``key`` for this model, timed as its own row (``method``, ``label``)."""
        if key not in self._shared:
            self._shared[key] = self.clock.measure(self.model_name, method, label, compute)
        return self._shared[key]

    def control_value(self, metric: str) -> float:
        """The first control method's score of ``metric`` (NaN when it has none)."""
        for method in self.controls:
            if (method, metric) in self.values:
                return self.values[(method, metric)]
        return np.nan
