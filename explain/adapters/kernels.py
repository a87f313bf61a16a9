"""Kernel models: support vector machines, kernel ridge, Gaussian processes.

An SVM classifier's natural output is its decision function (the margin).
For more than two classes scikit-learn's one-vs-rest decision function is
explained; ``output="probability"`` needs ``SVC(probability=True)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import OutputError
from .base import Adapter, class_paths

__all__ = ["KernelAdapter"]

_CLASSIFIERS = ("sklearn.SVC", "sklearn.NuSVC", "sklearn.GaussianProcessClassifier")
_REGRESSORS = ("sklearn.SVR", "sklearn.NuSVR", "sklearn.KernelRidge", "sklearn.GaussianProcessRegressor")


class KernelAdapter(Adapter):
    """scikit-learn SVC, NuSVC, SVR, NuSVR, KernelRidge and Gaussian processes, any kernel."""

    family = "kernels"
    model_types = _CLASSIFIERS + _REGRESSORS

    def setup(self) -> None:
        est = self.estimator
        paths = set(class_paths(est))
        if paths & set(_CLASSIFIERS):
            self.task, self.classes = "classification", np.asarray(est.classes_)
            has_proba = hasattr(self.model, "predict_proba")  # SVC(probability=False) hides it
            if "sklearn.GaussianProcessClassifier" in paths:
                self.outputs, self.natural_output = ("probability",), "probability"
            else:
                self.outputs = ("margin", "probability") if has_proba else ("margin",)
                self.natural_output = "margin"
        else:
            self.outputs, self.natural_output = ("raw",), "raw"

    @property
    def kernel(self):
        """The kernel: a name ('rbf', 'poly', ...), a callable, or a GP kernel object."""
        return getattr(self.estimator, "kernel_", None) or getattr(self.estimator, "kernel", None)

    def _predict(self, X, output):
        Xm = self.as_model_input(X)
        if output == "probability":
            return self.model.predict_proba(Xm)
        if output == "margin":
            out = np.asarray(self.model.decision_function(Xm))
            k = len(self.classes)
            if k > 2 and out.shape[1] != k:
                raise OutputError(
                    f"{self.name} has decision_function_shape='ovo' ({out.shape[1]} pairwise scores for "
                    f"{k} classes); set decision_function_shape='ovr' or use output='probability'.")
            return out
        return self.model.predict(Xm)

    def describe(self):
        d = super().describe()
        d["kernel"] = self.kernel if isinstance(self.kernel, str) else repr(self.kernel)
        return d
