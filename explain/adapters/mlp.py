"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` as neural networks: an exact torch twin.

The fitted ``coefs_`` and ``intercepts_`` become a float64 ``torch.nn.Sequential``
(``Linear`` layers with the hidden activation between them: identity, logistic,
tanh or relu), whose output is the network's pre-activation output ``z``. The
explained spaces follow from ``out_activation_``:

- regression (identity output): ``raw = z``; with ``loss="poisson"`` (exp
  output) ``margin = z``, the log of the mean, and ``raw = exp(z)``;
- binary classification (one logistic unit): ``margin`` has the columns
  ``(-z, z)`` (``z`` is the log-odds of the positive class) and
  ``probability = (1 - sigmoid(z), sigmoid(z))``, as ``predict_proba``;
- multiclass (softmax): ``margin = z``, the softmax inputs (logits, defined up
  to a constant shared by the classes), and ``probability = softmax(z)``.

The twin computes what scikit-learn computes, operation by operation, so
``predict_proba`` agrees to float64 round-off. It is a :class:`TorchAdapter`
underneath, so every gradient method (integrated gradients, saliency,
DeepLift, DeepLift SHAP, Gradient SHAP) applies, and so do the model-agnostic
Shapley paths (exact enumeration, KernelSHAP). Scalers in front of the MLP in
a Pipeline (``StandardScaler``, ``MinMaxScaler`` without clipping,
``MaxAbsScaler``, ``RobustScaler``) are affine per column and become the first
layer of the twin, so gradients are taken in the user's columns. Any other
preprocessing (encoders, imputers, a ``ColumnTransformer``) runs in
scikit-learn before the twin: the model is then explained through its
predictions by the model-agnostic methods (a category code has no gradient).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, UnsupportedModelError
from .base import Adapter, class_paths
from .torch import TorchAdapter, auto_batch_size

__all__ = ["MLPAdapter", "mlp_twin"]

_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
_SCALERS = {"sklearn.StandardScaler", "sklearn.MinMaxScaler", "sklearn.MaxAbsScaler", "sklearn.RobustScaler"}


def _activation(name: str):
    import torch

    if name not in _ACTIVATIONS:
        raise UnsupportedModelError(f"MLP activation {name!r} is not one of {list(_ACTIVATIONS)}.")
    return {"identity": torch.nn.Identity, "logistic": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
            "relu": torch.nn.ReLU}[name]()


def _scaler_ops(step) -> list[tuple[str, np.ndarray]] | None:
    """The elementwise operations a fitted scaler applies, in scikit-learn's order, or None if not affine."""
    kind = next((p for p in class_paths(step) if p in _SCALERS), None)
    if kind == "sklearn.StandardScaler":
        ops = [("sub", step.mean_)] if step.with_mean else []
        return ops + ([("div", step.scale_)] if step.with_std else [])
    if kind == "sklearn.MinMaxScaler":
        return None if step.clip else [("mul", step.scale_), ("add", step.min_)]
    if kind == "sklearn.MaxAbsScaler":
        return [("div", step.scale_)]
    if kind == "sklearn.RobustScaler":
        ops = [("sub", step.center_)] if step.with_centering else []
        return ops + ([("div", step.scale_)] if step.with_scaling else [])
    return None


def _affine_preprocessing(preprocess) -> list | None:
    """Every step's operations when the preprocessing is a chain of scalers ([] for none), else None."""
    if preprocess is None:
        return []
    ops = []
    for _, step in preprocess.steps:
        if step in ("passthrough", None):
            continue
        step_ops = _scaler_ops(step)
        if step_ops is None:
            return None
        ops += step_ops
    return ops


def _elementwise(ops):
    import torch

    class _Elementwise(torch.nn.Module):
        """Per-column scaler operations, in scikit-learn's order (so results match it bit for bit)."""

        def __init__(self):
            super().__init__()
            self.ops = [op for op, _ in ops]
            for i, (_, value) in enumerate(ops):
                self.register_buffer(f"v{i}", torch.as_tensor(np.asarray(value, dtype=np.float64)))

        def forward(self, x):
            for i, op in enumerate(self.ops):
                v = getattr(self, f"v{i}")
                x = x - v if op == "sub" else x / v if op == "div" else x * v if op == "mul" else x + v
            return x

        def __reduce__(self):  # rebuilt by this module's function: the class itself (defined here) never pickles
            return _elementwise, ([(op, getattr(self, f"v{i}").numpy()) for i, op in enumerate(self.ops)],)

    return _Elementwise()


def mlp_twin(estimator, scaler_ops=()):
    """A float64 ``torch.nn.Sequential`` computing a fitted MLP's pre-activation output ``z`` (n, n_outputs).

    Parameters
    ----------
    estimator : fitted MLPClassifier or MLPRegressor
    scaler_ops : sequence of (op, values), optional
        Per-column scaler operations to run first (see ``_affine_preprocessing``).
    """
    import torch

    layers = [_elementwise(list(scaler_ops))] if len(scaler_ops) else []
    n_layers = len(estimator.coefs_)
    for i, (W, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_)):
        linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(np.asarray(W, dtype=np.float64).T))
            linear.bias.copy_(torch.as_tensor(np.asarray(b, dtype=np.float64)))
        layers.append(linear)
        if i < n_layers - 1:
            layers.append(_activation(estimator.activation))
    net = torch.nn.Sequential(*layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)  # the twin is never trained; input gradients still flow
    return net


def _output_module(network, output: str, head: str):
    import torch

    class _Output(torch.nn.Module):
        """The twin's ``z`` in the explained space (see the module docstring)."""

        def __init__(self):
            super().__init__()
            self.inner = network

        def forward(self, x):
            z = self.inner(x)
            if head == "logistic":  # one unit: the positive class's log-odds
                if output == "probability":
                    p = torch.sigmoid(z)
                    return torch.cat([1.0 - p, p], dim=1)
                return torch.cat([-z, z], dim=1)
            if head == "softmax" and output == "probability":
                return torch.softmax(z, dim=1)
            if head == "exp" and output == "raw":  # Poisson loss: z is the log of the mean
                return torch.exp(z)
            return z

    return _Output()


class MLPAdapter(TorchAdapter):
    """A fitted scikit-learn ``MLPClassifier`` / ``MLPRegressor`` (alone or ending a Pipeline).

    Parameters
    ----------
    model : MLPClassifier, MLPRegressor or Pipeline ending in one
    batch_size : int or "auto", default="auto"
        Rows per forward pass of the twin.
    name : str, optional

    Notes
    -----
    Multi-output regression and multilabel classification are refused: explain
    explains one output per row (a class of a classifier, or the regression).
    """

    family = "mlp"
    model_types = ("sklearn.MLPClassifier", "sklearn.MLPRegressor")

    def __init__(self, model, *, estimator=None, preprocess=None, name=None, batch_size="auto"):
        super().__init__(model, estimator=estimator, preprocess=preprocess, name=name, batch_size=batch_size)
        self.network = None  # built in setup
        self._differentiable = False

    check_fitted = Adapter.check_fitted
    n_features_in = Adapter.n_features_in
    feature_names_in = Adapter.feature_names_in

    @property
    def supports_gradients(self) -> bool:
        """True when the twin reads the user's columns: no preprocessing, or only scalers, and no category codes."""
        codes = self.codec is not None and any(c.kind == "categorical" for c in self.codec.columns)
        return self._differentiable and not codes

    @property
    def default_methods(self) -> tuple[str, ...]:
        return TorchAdapter.default_methods if self.supports_gradients else Adapter.default_methods

    def setup(self) -> None:
        est = self.estimator
        n_out = int(est.n_outputs_)
        if est.out_activation_ not in ("identity", "exp", "logistic", "softmax"):
            raise UnsupportedModelError(f"{self.name} has output activation {est.out_activation_!r}, which explain "
                                        "does not know (identity, exp, logistic, softmax).")
        if "sklearn.MLPRegressor" in class_paths(est):
            if n_out != 1:
                raise UnsupportedModelError(
                    f"{self.name} was fitted on {n_out} targets; explain explains one output. Fit one "
                    "MLPRegressor per target, or explain one output: "
                    "CallableAdapter(lambda X: model.predict(X)[:, j], task='regression').")
            self.task, self.classes = "regression", None
            # a Poisson-loss MLP predicts exp(z): z is its margin (log mean), like a log-link GLM
            self.outputs, self.natural_output = (("margin", "raw"), "margin") if est.out_activation_ == "exp" \
                else (("raw",), "raw")
        else:
            if est.out_activation_ == "logistic" and n_out > 1:
                raise UnsupportedModelError(
                    f"{self.name} is a multilabel classifier ({n_out} independent logistic outputs); explain "
                    "explains one class per row of a single-label classifier. Explain one label: "
                    "CallableAdapter(lambda X: model.predict_proba(X)[:, j], task='regression').")
            self.task, self.classes = "classification", np.asarray(est.classes_)
            self.outputs, self.natural_output = ("margin", "probability"), "margin"
        ops = _affine_preprocessing(self.preprocess)
        self._differentiable = ops is not None
        self.network = mlp_twin(est, ops or ())
        if self._batch_size == "auto":
            self.batch_size = auto_batch_size(max(max(W.shape) for W in est.coefs_), self.network)

    def _bind(self, X: np.ndarray, image_shape) -> None:
        """Tabular rows only: the twin takes flat rows (nothing to learn from a forward pass)."""
        if image_shape is not None:
            raise DataError(f"{self.name} is a scikit-learn MLP on tabular rows; it does not take images "
                            f"(image_shape={tuple(image_shape)}). Pass X as (n_samples, n_features).")
        self.input_shape = None

    def output_module(self, output: str):
        """An ``nn.Module`` of the outputs in ``output`` space, reading the user's columns (for captum)."""
        return _output_module(self.network, self.check_output(output), self.estimator.out_activation_)

    def _predict(self, X, output):
        if not self._differentiable:  # encoders, imputers: scikit-learn's preprocessing, then the twin
            X = self.transform(X)
        return super()._predict(X, output)

    def _scramble(self, estimator, rng):
        """Re-initialise every layer as scikit-learn does before fitting (Glorot uniform), seeded from ``rng``."""
        factor = 2.0 if estimator.activation == "logistic" else 6.0
        for i, W in enumerate(estimator.coefs_):
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            estimator.coefs_[i] = rng.uniform(-bound, bound, W.shape)
            estimator.intercepts_[i] = rng.uniform(-bound, bound, W.shape[1])
        return True

    def describe(self):
        d = super().describe()
        d.update(activation=self.estimator.activation, out_activation=self.estimator.out_activation_,
                 hidden_layer_sizes=[int(W.shape[1]) for W in self.estimator.coefs_[:-1]],
                 gradients_in_user_columns=self.supports_gradients)
        return d
