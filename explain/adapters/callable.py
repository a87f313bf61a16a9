"""Any predict function, ``f(X) -> predictions``: the adapter of last resort and a test double."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._utils.validation import Instance, Integer, Options, Satisfies, validate_params
from ..errors import DataError
from .base import Adapter

CALLABLE_PARAMS = {
    "fn": [Satisfies(callable, "a callable f(X) -> predictions")],
    "task": [Options("regression", "classification")],
    "output": [None, Options("raw", "probability", "margin")],
    "n_features": [None, Integer(1)],
    "name": [None, Instance(str)],
    "allow_nan": [Options(True, False)],
}

__all__ = ["CallableAdapter"]


class CallableAdapter(Adapter):
    """Explain a plain function.

    Parameters
    ----------
    fn : callable
        ``fn(X)`` with X a float array of shape (n_samples, n_features),
        returning shape (n_samples,) or (n_samples, n_outputs). Called on
        blocks of rows, never row by row.
    task : {"regression", "classification"}
        What ``fn`` predicts.
    output : {"raw", "probability", "margin"}, optional
        The space ``fn``'s values live in. Defaults to "raw" for regression and
        "probability" for classification.
    classes : sequence, optional
        Class labels, for classification (default: 0..k-1 from the output width).
    n_features : int, optional
        Expected number of columns, checked against X.
    feature_names : sequence of str, optional
        Expected column names.
    name : str, optional
        Display name (default: the function's name).
    allow_nan : bool, default=False
        Whether ``fn`` takes missing values (it imputes them itself): then NaN
        in X and the background reach ``fn``, and LIME fills them with the
        column mean for its sampling only. By default X with NaN is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from explain import CallableAdapter, explain
    >>> f = CallableAdapter(lambda X: X @ np.array([1.0, -2.0]), task="regression")
    >>> result = explain(f, np.eye(2), methods=["shap"], background=np.zeros((1, 2)))
    >>> result["shap"].values
    array([[ 1.,  0.],
           [ 0., -2.]])
    """

    family = "callable"

    def __init__(self, fn: Callable, *, task: str = "regression", output: str | None = None,
                 classes: Sequence | None = None, n_features: int | None = None,
                 feature_names: Sequence[str] | None = None, name: str | None = None, allow_nan: bool = False):
        validate_params("CallableAdapter", CALLABLE_PARAMS, {"fn": fn, "task": task, "output": output,
                                                             "n_features": n_features, "name": name,
                                                             "allow_nan": allow_nan})
        super().__init__(fn, name=name or getattr(fn, "__name__", "callable"))
        self.fn = fn
        self.task = task
        default = "probability" if task == "classification" else "raw"
        self.natural_output = output or default
        self.outputs = (self.natural_output,)
        self.classes = None if classes is None else np.asarray(classes)
        self._n_features = n_features
        self._names = None if feature_names is None else [str(n) for n in feature_names]
        self.allows_missing = bool(allow_nan)

    def check_fitted(self) -> None:
        return None

    @property
    def n_features_in(self):
        return self._n_features if self._names is None else len(self._names)

    @property
    def feature_names_in(self):
        return self._names

    def _bind(self, X, image_shape) -> None:
        """On the copy ``bind`` made: classes 0..k-1 from the output width, when none were given."""
        if self.task == "classification" and self.classes is None and len(X):
            width = np.asarray(self._predict(X[:1], self.natural_output)).reshape(1, -1).shape[1]
            self.classes = np.arange(max(width, 2))

    def resolve_target(self, target, X, output, predicted=None):
        if self.task == "classification" and self.classes is None:  # unbound: learn the classes on a copy
            return self.bind(X).resolve_target(target, X, output, predicted)
        return super().resolve_target(target, X, output, predicted)

    @property
    def accepts_categories(self) -> bool:
        """A function may take anything: with a mixed-type table it receives the decoded DataFrame."""
        return True

    def _predict(self, X, output):
        out = np.asarray(self.fn(self.as_model_input(X) if self.codec is not None else X), dtype=float)
        if out.shape[0] != X.shape[0]:
            raise DataError(f"{self.name} returned {out.shape[0]} predictions for {X.shape[0]} rows; "
                            "the function must return one prediction per row.")
        return out
