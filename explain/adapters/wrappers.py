"""scikit-learn meta-estimators: CalibratedClassifierCV, TransformedTargetRegressor, OneVsRestClassifier.

They change the output of the models they wrap (calibration squashes a margin
into a probability, a target transform bends the prediction, one-vs-rest
stacks binary scores), so their explained function is no longer additive in
any of their members' natural spaces. They are explained as models: their own
``predict_proba`` / ``predict`` / ``decision_function``, by the model-agnostic
methods (exact enumeration up to 12 columns, KernelSHAP beyond, LIME, ...).
"""

from __future__ import annotations

import numpy as np

from .base import Adapter, class_paths

__all__ = ["WrapperAdapter"]

_CALIBRATED = "sklearn.CalibratedClassifierCV"
_TRANSFORMED = "sklearn.TransformedTargetRegressor"
_OVR = "sklearn.OneVsRestClassifier"


class WrapperAdapter(Adapter):
    """A calibrated classifier (the average of its calibrated members), a transformed-target regressor,
    or a one-vs-rest classifier, explained through its own predictions."""

    family = "wrapper"
    model_types = (_CALIBRATED, _TRANSFORMED, _OVR)

    def setup(self) -> None:
        paths = set(class_paths(self.estimator))
        self.kind = next(p for p in self.model_types if p in paths).split(".")[1]
        if self.kind == "TransformedTargetRegressor":
            self.outputs, self.natural_output = ("raw",), "raw"
            return
        self.task, self.classes = "classification", np.asarray(self.estimator.classes_)
        has_margin = self.kind == "OneVsRestClassifier" and hasattr(self.estimator, "decision_function")
        self.outputs = ("probability", "margin") if has_margin else ("probability",)
        self.natural_output = "probability"

    def _predict(self, X, output):
        Xm = self.as_model_input(X)
        if output == "probability":
            return self.model.predict_proba(Xm)
        if output == "margin":
            return np.asarray(self.model.decision_function(Xm))
        return self.model.predict(Xm)

    def describe(self):
        d = super().describe()
        d["wraps"] = type(getattr(self.estimator, "estimator", None) or
                          getattr(self.estimator, "regressor", None)).__name__
        return d
