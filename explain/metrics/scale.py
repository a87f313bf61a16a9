"""One output for every model of a comparison, and the unit of every score.

Deletion and insertion areas, infidelity and additivity gaps are numbers in the
explained output: a log-odds area beside a probability area compares units, not
explanations. ``compare()`` therefore picks the output once, for all models
(:func:`resolve_outputs`), with these rules:

- ``output="auto"`` with one model: the model's natural output (its additive or
  exactly explainable space: log-odds for a GLM, probability for a random forest).
- ``output="auto"`` with several models, the common output:

  * regressors: ``"raw"``, the prediction;
  * classifiers: the **margin** only when every model's natural output is a
    margin *and* that margin is, checked on the first rows of X, exactly the
    log-odds of the model's own probability (binary logistic GLMs, binary
    Naive Bayes, binary gradient boosting): then one unit, log-odds, in which
    those models stay additive or exactly tree-explained. A margin that is not
    the log-odds (an SVM's decision function, a multiclass model's per-class
    logits, defined only up to a constant) has a scale of its own, so otherwise
    the **probability** of the explained class;
  * no common output exists (a classifier without ``predict_proba`` beside
    models without its margin, or classifiers beside regressors): each model in
    its natural output, with an :class:`OutputScaleWarning`.

- ``output="natural"``: each model in its natural output; with several models
  whose outputs differ, an :class:`OutputScaleWarning` says that
  output-dependent scores are then not comparable across models.
- ``"probability"``, ``"margin"``, ``"raw"``: that output for every model.

Units (:func:`score_unit`): probability, log-odds, prediction, or
``margin of <model>`` for a margin that is not the log-odds (its own unit: two
SVMs' decision functions do not share a scale).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._utils.images import split_images
from ..errors import ExplainError, OutputError

__all__ = ["OutputChoice", "OutputScaleWarning", "resolve_outputs", "score_unit", "scorecard_units", "shared_unit",
           "output_unit", "OUTPUT_DEPENDENT", "OUTPUT_CHOICES"]

OUTPUT_CHOICES = ("auto", "natural", "probability", "margin", "raw")
#: The metric units that are the explained output itself (or its square): these carry the model's unit.
OUTPUT_DEPENDENT = {"output": "{}", "output squared": "squared {}"}
_CHECK_ROWS = 20


class OutputScaleWarning(UserWarning):
    """The models of a comparison are scored in different outputs: output-dependent scores do not compare."""


@dataclass(frozen=True)
class OutputChoice:
    """The output each model is explained in, its unit, and why.

    Attributes
    ----------
    outputs : dict of str -> str
        Model name -> output space passed to ``explain()``.
    units : dict of str -> str
        Model name -> the unit of that output ("probability", "log-odds", "prediction", "margin of svm").
    common : bool
        Whether every model's output has one unit.
    reason : str
        One sentence for the report's first screen.
    """

    outputs: dict
    units: dict
    common: bool
    reason: str

    def describe(self) -> dict:
        """Plain data for ``Comparison.params`` and reports."""
        return {"outputs": dict(self.outputs), "units": dict(self.units), "common": self.common,
                "reason": self.reason}


def score_unit(metric_unit: str, output_unit: str) -> str:
    """A score's unit: the metric's own, or the explained output's where the metric is in that output."""
    template = OUTPUT_DEPENDENT.get(metric_unit)
    return metric_unit if template is None else template.format(output_unit)


def resolve_outputs(models: dict, X, output: str = "auto") -> OutputChoice:
    """The output of every model of a comparison (see the module docstring for the rules).

    Parameters
    ----------
    models : dict of str -> model
        Fitted models (anything ``explain()`` accepts).
    X : array-like, DataFrame or images
        The rows to explain; the first rows check whether margins are log-odds.
    output : {"auto", "natural", "probability", "margin", "raw"}

    Returns
    -------
    OutputChoice
    """
    if not isinstance(output, str) or output not in OUTPUT_CHOICES:
        from .._utils.validation import suggest

        raise OutputError(f"output must be one of {', '.join(map(repr, OUTPUT_CHOICES))}, got {output!r}."
                          f"{suggest(str(output), list(OUTPUT_CHOICES))}")
    adapters = {}
    for name, model in models.items():
        try:
            adapters[name] = _read_adapter(model, X, name)
        except ExplainError as exc:
            raise type(exc)(f"model {name!r}: {exc}") from exc
    rows = {name: _check_rows(X, a) for name, a in adapters.items()}  # in each model's column order
    natural = {name: a.natural_output for name, a in adapters.items()}
    if output in ("probability", "margin", "raw"):
        outputs = dict.fromkeys(adapters, output)
        reason = f"every model is explained in output={output!r}, as asked"
    elif output == "natural" or len(adapters) == 1:
        outputs = natural
        reason = ("the model is explained in its natural output" if len(adapters) == 1 else
                  "each model is explained in its natural output (output='natural'), as asked")
    else:
        outputs, reason = _common(adapters, rows)
    units = {name: _output_unit(adapters[name], out, rows[name]) for name, out in outputs.items()}
    common = len(set(units.values())) == 1
    if not common:
        warnings.warn(
            f"the models are scored in different outputs ({_listing(units)}): deletion, insertion and "
            "infidelity do not compare across models and are shown per model with their unit. "
            + ("Pass output='probability' (or leave output='auto') for one common scale."
               if output == "natural" else reason[0].upper() + reason[1:] + "."),
            OutputScaleWarning, stacklevel=3)
    return OutputChoice(outputs, units, common, reason)


def _common(adapters: dict, rows) -> tuple[dict, str]:
    tasks = {a.task for a in adapters.values()}
    natural = {name: a.natural_output for name, a in adapters.items()}
    if tasks == {"regression"}:
        return (dict.fromkeys(adapters, "raw"),
                "several regressors: every model is explained in its prediction (output='raw'), one common scale")
    if tasks != {"classification"}:
        return natural, ("classifiers and regressors have no common output, so each model is explained in its "
                         "natural output")
    if all(natural[n] == "margin" and _margin_is_log_odds(a, rows[n]) for n, a in adapters.items()):
        return (dict.fromkeys(adapters, "margin"),
                "several classifiers whose natural margin is the log-odds of their probability: every model is "
                "explained in the log-odds of the explained class (output='margin'), where they stay additive or "
                "exactly explainable")
    lacking = [n for n, a in adapters.items() if "probability" not in a.outputs]
    if lacking:
        return natural, (f"{', '.join(map(repr, lacking))} {'offers' if len(lacking) == 1 else 'offer'} no probability (give it predict_proba, e.g. "
                         "CalibratedClassifierCV), so each model is explained in its natural output")
    return (dict.fromkeys(adapters, "probability"),
            "several classifiers with different natural outputs: every model is explained in the probability of "
            "the explained class (output='probability'), the one scale they share")


def _read_adapter(model, X, name):
    """An adapter for reading the model's task and outputs (bound to one row where the family needs it)."""
    from ..adapters import get_adapter

    adapter = get_adapter(model, name=name)
    try:
        flat, shape = split_images(X)
        one = np.asarray(adapter.adapt_input(flat[:1]), dtype=float)
    except (ExplainError, TypeError, ValueError):  # mixed-type tables: the families that need a row take numbers
        return adapter
    try:
        return get_adapter(model, name=name, X=one, image_shape=shape)
    except ExplainError:  # the input does not fit: explain() reports that with the whole context
        return adapter


def _check_rows(X, adapter):
    """The first rows of X as floats in the model's column order (a DataFrame is matched by name), or None."""
    names = adapter.feature_names_in
    if names is not None and hasattr(X, "columns") and set(names) <= set(X.columns):
        X = X[list(names)]
    try:
        flat, _ = split_images(X)
        return np.asarray(flat[:_CHECK_ROWS], dtype=float)
    except (ExplainError, TypeError, ValueError):
        return None


def _margin_is_log_odds(adapter, rows) -> bool:
    """Whether a binary classifier's margin columns are (-logit p, logit p) on the given rows."""
    if rows is None or adapter.classes is None or len(adapter.classes) != 2 \
            or not {"margin", "probability"} <= set(adapter.outputs):
        return False
    try:
        margin = adapter.predict(rows, "margin")
        p = adapter.predict(rows, "probability")[:, 1]
    except Exception:  # noqa: BLE001 - rows that do not fit the model: not verified; explain() reports why
        return False
    usable = (p > 1e-9) & (p < 1 - 1e-9)
    if not usable.any():
        return False
    logit = np.log(p[usable]) - np.log1p(-p[usable])
    return bool(np.allclose(margin[usable], np.column_stack([-logit, logit]), rtol=1e-6, atol=1e-6))


def _output_unit(adapter, output: str, rows) -> str:
    if output == "probability":
        return "probability"
    if output == "raw":
        return "prediction" if adapter.task == "regression" else "model output"
    return "log-odds" if _margin_is_log_odds(adapter, rows) else f"margin of {adapter.name}"


def _listing(units: dict) -> str:
    return ", ".join(f"{name}: {unit}" for name, unit in units.items())


def scorecard_units(scores, models, method: str = "shap") -> dict:
    """Metric -> {model: unit} for the cells of ``Comparison.scorecard(method)`` (its extra columns included)."""
    out: dict = {}
    card = scores[scores["method"].isin([method, "(model)"])]
    for model, metric, unit in zip(card["model"], card["metric"], card["unit"]):
        out.setdefault(metric, {})[model] = unit
    control = scores[(scores["method"] == "random") & (scores["metric"] == "deletion")]
    if len(control):
        out["random_deletion"] = dict(zip(control["model"], control["unit"]))
    out["method_agreement"] = dict.fromkeys(models, "correlation")
    return out


def shared_unit(units: dict) -> str | None:
    """The one unit of a scorecard row, or None when its models' units differ (the row does not compare)."""
    values = set(units.values())
    return values.pop() if len(values) == 1 else None


def output_unit(output: str) -> str:
    """The unit of an output space when no comparison measured it (a margin's meaning depends on the model)."""
    return {"raw": "model output"}.get(output, output)
