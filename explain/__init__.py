"""explain: measure how explainable a model is.

One ``explain()`` call wraps a GLM, a Naive Bayes model, a tree ensemble, a
kernel model or any predict function, runs several attribution methods on it,
and returns immutable :class:`Explanation` objects in the same units, so that
models and methods can be laid side by side.
"""

from . import datasets
from .engine.api import explain
from .comparison import Comparison, compare
from .adapters.base import Adapter
from .adapters.callable import CallableAdapter
from .errors import (AdditivityError, ApproximationWarning, BackgroundError, DataError, ExplainError, MethodNotApplicableError,
                     NotFittedError, OutputError, ParameterError, TargetError, UnknownMethodError, UnknownMetricError,
                     UnsupportedModelError)
from .explanation import Explanation, ExplanationSet
from .interactions import Interactions, interactions
from .inspection import (AccumulatedLocalEffects, Importance, PartialDependence, accumulated_local_effects, importance,
                         partial_dependence)
from .io.parquet import ExplanationReader, read_explanations, to_parquet
from .methods.base import method_names
from .report.build import Report, build_report
from .report.display import AttributionDisplay, BeeswarmDisplay, ImageDisplay, WaterfallDisplay
from .report.bundle import load_report
from .review import ReportDiff, diff
from .report.render import load_report_json

__version__ = "0.1.0"

__all__ = [
    "explain",
    "compare",
    "interactions",
    "Interactions",
    "partial_dependence",
    "PartialDependence",
    "accumulated_local_effects",
    "AccumulatedLocalEffects",
    "importance",
    "Importance",
    "to_parquet",
    "read_explanations",
    "ExplanationReader",
    "Comparison",
    "Explanation",
    "ExplanationSet",
    "Adapter",
    "CallableAdapter",
    "method_names",
    "Report",
    "build_report",
    "load_report_json",
    "load_report",
    "diff",
    "ReportDiff",
    "AttributionDisplay",
    "BeeswarmDisplay",
    "WaterfallDisplay",
    "ImageDisplay",
    "datasets",
    "ExplainError",
    "ParameterError",
    "NotFittedError",
    "UnsupportedModelError",
    "DataError",
    "BackgroundError",
    "TargetError",
    "OutputError",
    "UnknownMethodError",
    "UnknownMetricError",
    "MethodNotApplicableError",
    "AdditivityError",
    "ApproximationWarning",
]
