"""``compare()``: explain several models with several methods and score every explanation.

Scores are tidy rows (model, method, metric, value, spread): the value is the
mean over explained rows (or seeds), the spread their standard deviation. Every
control method (a Method whose class says ``control = True``: the registered
"random") is always included. See ``explain.metrics.base.METRICS`` for every
metric's definition and direction and ``explain.metrics.registry`` for how each
is scored (one protocol, ``Metric.score(e, ScoringContext)``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .engine.api import ExplainConfig, explain_with
from ._utils.progress import progress_bar
from ._utils.validation import Instance, Integer, Options, check_keywords, suggest, validate_params
from .errors import DataError, ExplainError
from .methods.base import control_methods, is_control, method_class, method_names
from .metrics import agreement as agr
from .metrics.base import FAMILIES, METRICS, MetricContext
from .metrics.registry import get_metric, metric_entries
from .metrics.scoring import ScoringContext
from .metrics.scale import resolve_outputs, score_unit

__all__ = ["compare", "Comparison"]


class Comparison:
    """The explanations and scores of ``compare()``.

    Attributes
    ----------
    scores : DataFrame
        Columns model, method, metric, value, spread.
    explanations : dict of str -> ExplanationSet
    directions : dict of str -> str
        "higher" or "lower" is better, per metric.
    timings : DataFrame
        Columns model, method, metric, seconds, model_evals: what each metric cost.
    """

    def __init__(self, scores: pd.DataFrame, explanations: dict, agreements: dict, params: dict,
                 timings: pd.DataFrame | None = None):
        self.scores = scores
        self.timings = timings if timings is not None else pd.DataFrame(
            columns=["model", "method", "metric", "seconds", "model_evals"])
        self.explanations = explanations
        self._agreements = agreements
        self.params = params
        self.directions = {m: METRICS[m].direction for m in scores["metric"].unique()} if len(scores) else {}

    @property
    def models(self) -> list[str]:
        return list(self.explanations)

    def agreement(self, model: str, metric: str = "rank_correlation") -> pd.DataFrame:
        """Method x method matrix of one agreement metric (mean over rows) for one model."""
        if model not in self._agreements:
            raise KeyError(f"no model {model!r}; models are {self.models}")
        if metric not in agr.AGREEMENT_METRICS:
            raise KeyError(f"unknown agreement metric {metric!r}; choose from {list(agr.AGREEMENT_METRICS)}")
        return self._matrix(model, metric).copy()

    def _matrix(self, model: str, metric: str) -> pd.DataFrame:
        """One agreement matrix, computed on first use when compare() was not asked for that metric."""
        known = self._agreements[model]
        if metric not in known:
            result = self.explanations[model]
            k = self.params.get("k") or min(5, next(iter(result)).shape[1])
            known.update(agr.agreement_matrices(result, k, [metric]))
        return known[metric]

    def model_agreement(self, method: str = "shap", metric: str = "rank_correlation") -> pd.DataFrame:
        """Model x model matrix of one agreement metric for the same method on the same rows.

        Models may explain different output spaces (log-odds, probability); the
        agreement measures compare rankings and signs, which that does not affect.
        """
        if metric not in agr.AGREEMENT_METRICS:
            raise KeyError(f"unknown agreement metric {metric!r}; choose from {list(agr.AGREEMENT_METRICS)}")
        names = [m for m in self.models if method in self.explanations[m]]
        if not names:
            raise KeyError(f"no model has a {method!r} explanation")
        k = self.params.get("k") or min(5, self.explanations[names[0]][method].shape[1])
        return agr.agreement_matrix({m: self.explanations[m][method] for m in names}, metric, k)

    def scorecard(self, method: str = "shap") -> pd.DataFrame:
        """Models x metrics, the headline table.

        Each cell is the metric for the model's ``method`` explanation (the
        common yardstick); "method_agreement" is the mean rank correlation
        between the model's non-control methods, "random_deletion" the control's
        deletion area for reading the deletion column.
        """
        s = self.scores
        rows = s[s["method"].isin([method, "(model)"])].pivot_table(index="model", columns="metric", values="value",
                                                                    sort=False)
        extra = {}
        for model in self.models:
            matrix = self._matrix(model, "rank_correlation")
            names = [m for m in matrix.index if not is_control(m)]
            sub = matrix.loc[names, names].to_numpy()
            off = sub[~np.eye(len(names), dtype=bool)]
            control = s[(s.model == model) & s.method.map(is_control) & (s.metric == "deletion")]["value"]
            extra[model] = {"method_agreement": float(off.mean()) if off.size else np.nan,
                            "random_deletion": float(control.iloc[0]) if len(control) else np.nan}
        out = rows.reindex(self.models).join(pd.DataFrame(extra).T)
        order = [m for m in METRICS if m in out.columns] + [c for c in ("method_agreement", "random_deletion")
                                                             if c in out.columns]
        return out[order]

    def _repr_html_(self) -> str:
        from .report.notebook import comparison_html

        return comparison_html(self)

    def __repr__(self) -> str:
        return (f"Comparison(models={self.models}, methods="
                f"{sorted(set(self.scores['method'])) if len(self.scores) else []}, "
                f"metrics={len(self.directions)})")


def _resolve_metrics(metrics) -> list[str]:
    if metrics in (None, "all"):
        return list(METRICS)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    out = []
    for name in names:
        if name in METRICS:
            out.append(name)
        elif name in FAMILIES:
            out += [m for m, spec in METRICS.items() if spec.family == name]
        else:
            raise _unknown_metric(name)
    for name in list(out):  # a derived score needs the score it is computed from
        source = get_metric(name).source
        if source is not None and source not in out:
            out.insert(out.index(name), source)
    return list(dict.fromkeys(out))


def _unknown_metric(name):
    from .errors import UnknownMetricError

    choices = list(METRICS) + FAMILIES
    return UnknownMetricError(f"unknown metric {name!r}.{suggest(str(name), choices)} Valid metrics: "
                              f"{', '.join(METRICS)}; or a family: {', '.join(FAMILIES)}.")


def _named_models(models) -> dict:
    if isinstance(models, Mapping):
        named = dict(models)
    elif isinstance(models, Sequence) and not isinstance(models, str):
        named = {}
        for m in models:
            base = getattr(getattr(m, "model", None), "__class__", type(m)).__name__ \
                if hasattr(m, "params") and hasattr(m, "model") else type(m).__name__
            name, i = base, 2
            while name in named:
                name, i = f"{base}_{i}", i + 1
            named[name] = m
    else:
        raise DataError("models must be a dict {name: model} or a list of models, got "
                        f"{type(models).__name__}.")
    if not named:
        raise DataError("compare() needs at least one model; got an empty collection.")
    return named


def compare(models, X, *, methods="auto", metrics="all", background=None, y=None, random_state=0, n_seeds=3,
            method_params=None, robustness_rows=10, options=None, progress="auto", output="auto",
            removal="mean", feature_groups=None, parallel=None) -> Comparison:
    """Explain every model with every method on the same rows and score each explanation.

    Parameters
    ----------
    models : dict of str -> model, or list of models
        Fitted models (anything ``explain()`` accepts); a list is named by class.
    X : array-like, DataFrame or images
        The rows to explain, the same for every model.
    methods : "auto", str or list of str
        As in ``explain()``; "random" is always added as the control.
    metrics : "all", a metric or family name, or a list of them
        See ``explain.metrics.base.METRICS``.
    background : array-like, optional
        Reference rows, shared by every model (default: a seeded sample of X).
    y : array-like of shape (n_samples,), optional
        Labels of X, for the data-randomisation sanity check (refits a clone).
    random_state : int
    n_seeds : int, default=3
        Seeds per stochastic method for seed stability.
    method_params : dict, optional
        Per-method keyword arguments, as in ``explain()``.
    robustness_rows : int, default=10
        Rows on which max-sensitivity re-explains perturbed inputs.
    options : dict, optional
        Metric options: n_subsets, subset_size, n_perturb_samples, radius, k, removal_samples.
    progress : "auto" or bool, default="auto"
        One tqdm bar over models x methods (explained and scored); "auto"
        shows it in terminals and notebooks after two seconds, never under
        pytest (see ``explain._utils.progress``).
    output : {"auto", "natural", "probability", "margin", "raw"}, default="auto"
        The space every model is explained and scored in. "auto": one model in its natural space; several
        models in one common output: the prediction for regressors, for classifiers the probability of the
        explained class (the log-odds only when every model's natural margin is the log-odds). "natural":
        each model in its own space, with an ``OutputScaleWarning`` when those differ (output-dependent
        scores such as deletion then do not compare across models). See ``explain.metrics.scale``.
    removal : {"mean", "zero", "sample"} or array, default="mean"
        What a "removed" feature becomes in every perturbation metric: the background mean (a category's
        mode), zero, the average over background rows ("sample", the game Shapley values use), or a row.
    feature_groups : as in ``explain()``
    parallel : dict, optional
        ``n_jobs``, ``batch_size`` and ``backend`` passed to every ``explain()`` call.
        Attribute groups of pixels jointly (e.g. "patches:2"), for every model.

    Returns
    -------
    Comparison
    """
    validate_params("compare", COMPARE_PARAMS, {"n_seeds": n_seeds, "robustness_rows": robustness_rows,
                                                 "options": options, "parallel": parallel, "progress": progress})
    check_keywords("compare", parallel or {}, ("n_jobs", "batch_size", "backend"))
    named = _named_models(models)
    wanted = _resolve_metrics(metrics)
    options = dict(options or {})
    method_list = ["auto"] if methods in (None, "auto") else ([methods] if isinstance(methods, str) else
                                                              list(methods))
    method_list = method_list + [c for c in control_methods() if c not in method_list]
    _check_removal(removal)
    scale = resolve_outputs(named, X, output)  # one output for every model, decided once
    # one validated config for every model and every re-explanation (compare draws the only progress bar)
    config = ExplainConfig.build("compare", methods=method_list, random_state=random_state,
                                 method_params=method_params, output="auto", feature_groups=feature_groups,
                                 progress=False, **(parallel or {}))
    method_params = config.method_params
    explanations, rows, agreements, timing_rows, notes = {}, [], {}, [], []
    with progress_bar(progress, total=len(named) * len(method_list), desc="compare", unit="model x method") as bar:
        for name, model in named.items():
            try:
                result = explain_with(model, X, dataclasses.replace(config, name=name, output=scale.outputs[name]),
                                      background=background)
            except ExplainError as exc:
                raise type(exc)(f"model {name!r}: {exc}") from exc
            explanations[name] = result
            if bar is not None:  # "auto" resolves to a number of methods only now
                bar.total += len(result) - len(method_list)
                bar.refresh()
        _check_same_rows(explanations)
        for name, model in named.items():
            result = explanations[name]
            # Score on exactly what explain() validated: the data and background in the model's column
            # order, and the same adapter (never a second one built from the caller's objects).
            v = result.validated
            ctx = MetricContext(v.adapter, v.output, np.asarray(v.background), random_state, options,
                                removal=removal)
            k = int(options.get("k", min(5, v.X.shape[1])))
            agreements[name] = agr.agreement_matrices(result, k, wanted)  # others on first use
            sc = ScoringContext(
                model_name=name, model=model, result=result, ctx=ctx, k=k, X=X, y=y, random_state=random_state,
                n_seeds=n_seeds, robustness_rows=robustness_rows, clock=_Clock(ctx), notes=notes,
                agreements=agreements[name], metrics=tuple(wanted),
                rerun_factory=lambda e, model=model, v=v: _rerun(model, e, v))
            rows += _score_model(sc, metric_entries(wanted))
            timing_rows += sc.clock.rows
            if bar is not None:
                bar.update(len(result))
    scores = pd.DataFrame(rows, columns=["model", "method", "metric", "value", "spread"])
    outputs = {name: next(iter(r)).output for name, r in explanations.items()}
    scores["unit"] = [_unit(metric, scale.units[model]) for model, metric in zip(scores["model"], scores["metric"])]
    timings = pd.DataFrame(timing_rows, columns=["model", "method", "metric", "seconds", "model_evals"])
    return Comparison(scores, explanations, agreements,
                      {"metrics": wanted, "methods": method_list, "random_state": random_state,
                       "n_seeds": n_seeds, "k": options.get("k"), "robustness_rows": robustness_rows,
                       "notes": notes, "output": output, "removal": removal if isinstance(removal, str) else "array",
                       "outputs": outputs, "scale": scale.describe()}, timings)


COMPARE_PARAMS = {  # compare()'s own options; explain()'s are checked by ExplainConfig
    "n_seeds": [Integer(1)],
    "robustness_rows": [Integer(0)],
    "options": [None, Instance(dict)],
    "parallel": [None, Instance(dict, name="a dict with n_jobs, batch_size and/or backend")],
    "progress": [Options("auto", True, False)],
}


def _check_removal(removal):
    if isinstance(removal, str) and removal not in ("mean", "zero", "sample"):
        raise DataError(f"removal must be 'mean', 'zero', 'sample' or an array (one value per feature), "
                        f"got {removal!r}.{suggest(removal, ['mean', 'zero', 'sample'])}")


def _unit(metric: str, output_unit: str) -> str:
    return score_unit(METRICS[metric].unit if metric in METRICS else "-", output_unit)


def _check_same_rows(explanations):
    shapes = {name: next(iter(r)).shape for name, r in explanations.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"the models explain different feature sets {shapes}; compare() needs models fitted "
                        "on the same columns.")


def _row(model, method, metric, values):
    """A score row: the mean and standard deviation of the finite values (one number: spread NaN)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return [model, method, metric, float(values), np.nan]
    finite = values[np.isfinite(values)]
    value = float(finite.mean()) if finite.size else np.nan
    spread = float(finite.std()) if finite.size > 1 else np.nan
    return [model, method, metric, value, spread]


class _Clock:
    """Times each metric and counts the model rows it needed (its own calls and its re-explanations).

    Measures nest: work shared by several metrics (``ScoringContext.shared``) is recorded as its own row and
    not counted again in the metric that triggered it.
    """

    def __init__(self, ctx):
        self.ctx, self.rows, self._inner = ctx, [], []

    def measure(self, model, method, metric, fn):
        """Run ``fn() -> value``; record its time and model rows (nested measures excluded); return value."""
        evals0, start = self.ctx.n_evals, time.perf_counter()
        self._inner.append([0.0, 0])
        try:
            value = fn()
        finally:
            inner_seconds, inner_evals = self._inner.pop()
        seconds, evals = time.perf_counter() - start, self.ctx.n_evals - evals0
        if self._inner:
            self._inner[-1][0] += seconds
            self._inner[-1][1] += evals
        self.rows.append([model, method, metric, seconds - inner_seconds, evals - inner_evals])
        return value


def _score_model(sc: ScoringContext, metrics) -> list:
    """One loop over one protocol: every wanted metric scores every explanation (a model metric the first
    only), phase by phase; the only place score rows are built."""
    rows = []
    for phase in sorted({m.phase for m in metrics}):
        batch = [m for m in metrics if m.phase == phase]
        for i, e in enumerate(sc.result):
            for metric in batch:
                if metric.once and i > 0:
                    continue
                method = "(model)" if metric.once else e.method
                value = sc.clock.measure(sc.model_name, method, metric.name,
                                         lambda metric=metric, e=e: metric.score(e, sc))
                if value is not None:
                    rows.append(_row(sc.model_name, method, metric.name, value))
                    sc.values[(method, metric.name)] = rows[-1][3]
    return rows


def _rerun(model, e, validated):
    """Re-explain other rows (or the same rows with another model or seed) with e's method and target.

    Every re-explanation is ``dataclasses.replace`` of the config the first explanation ran with, so its
    feature groups, output, method parameters and parallel options carry over; only the method, target,
    seed and feature names change, and with ``stderr=False`` (a metric that reads values only) the method's
    ``stderr_option`` is set to False (LIME then skips its bootstrap; the values are the same).
    """
    codec = e.codec
    background = validated.background
    bg = background if codec is None else codec.decode(background)  # mixed tables go back as the user's frames
    config = dataclasses.replace(validated.config, methods=(e.method,), output=e.output, progress=False,
                                 image_shape=None, feature_names=None if e.image_shape else tuple(e.feature_names))

    option = method_class(e.method).stderr_option if e.method in method_names() else None
    values_only = config if option is None else dataclasses.replace(config, method_params={
        **config.method_params, e.method: {**config.method_params.get(e.method, {}), option: False}})

    def run(Z, *, random_state=None, other_model=None, targets=None, stderr=True):
        images = Z.reshape((len(Z),) + e.image_shape) if e.image_shape else Z
        if codec is not None:
            images = codec.decode(Z)
        seed = e.params.get("random_state") if random_state is None else random_state
        variant = dataclasses.replace(config if stderr else values_only,
                                      target=e.target if targets is None else targets, random_state=seed)
        return explain_with(model if other_model is None else other_model, images, variant, background=bg)[e.method]
    return run
