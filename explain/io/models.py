"""Model files in, safely: ``.skops`` through skops' trusted-types check, pickle/joblib and TorchScript only
when trusted (loading them runs code)."""

from __future__ import annotations

import os

from ..errors import ExplainError

__all__ = ["load_model", "skops_allowed_types", "SKOPS_ALLOWED_TYPES", "ModelFileError"]


class ModelFileError(ExplainError):
    """A model file that is missing, unreadable, or unsafe to load without ``trust_pickle``."""


# Types that skops does not trust by default but that the models explain supports need, by exact name
# (never a prefix: "builtins." would let a file call builtins.exec). Measured with
# skops.io.get_untrusted_types on every supported estimator saved with skops.
SKOPS_ALLOWED_TYPES = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor",
    "xgboost.sklearn.XGBRFClassifier", "xgboost.sklearn.XGBRFRegressor",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
    "collections.OrderedDict",
    "numpy.dtype",
    # Callables and helpers scikit-learn's own estimators store in their fitted state (issue 26, item 11):
    # HistGradientBoosting* with categorical features keeps partial(check_array, ...) in its preprocessor;
    # a ColumnTransformer keeps the make_column_selector it was given; MLPs keep their solver's optimizer;
    # a GaussianProcessClassifier keeps one binary Laplace model per class (its kernels: _sklearn_classes).
    # functools.partial only binds arguments: the function it wraps is a node of its own, checked by name.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
})


def _sklearn_classes(module, base) -> frozenset:
    """The concrete subclasses of ``base`` defined in ``module``, by exact name, read from sklearn itself."""
    import inspect

    return frozenset(f"{module.__name__}.{name}" for name, cls in inspect.getmembers(module, inspect.isclass)
                     if issubclass(cls, base) and cls.__module__ == module.__name__ and not inspect.isabstract(cls))


def skops_allowed_types() -> frozenset:
    """Every type name a .skops model file may contain beyond skops' own defaults.

    scikit-learn's loss classes (GLMs and boosting store one) and Gaussian-process kernels are read from
    scikit-learn itself, so a version that adds one needs no edit here.
    """
    from sklearn._loss import loss
    from sklearn.gaussian_process import kernels

    return SKOPS_ALLOWED_TYPES | _sklearn_classes(loss, loss.BaseLoss) | _sklearn_classes(kernels, kernels.Kernel)


def load_model(path: str, *, trust_pickle: bool = False):
    """Load a fitted model by file type, refusing unsafe formats unless trusted."""
    if not os.path.exists(path):
        raise ModelFileError(f"model file not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".skops":
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # not a zip, no schema, ...
            raise ModelFileError(f"{path} is not a readable .skops file: {exc}") from exc
        unsafe = sorted(t for t in untrusted if t not in skops_allowed_types())
        if unsafe and not trust_pickle:
            raise ModelFileError(f"{path} holds types that explain does not load from a file: {unsafe}. A model "
                           "file needs only estimator classes and array types; these may run code. Inspect "
                           "them with skops.io.get_untrusted_types, and if you trust the file load it in "
                           "Python (skops.io.load(path, trusted=[...])) and call explain() on the model, or "
                           "pass --trust-pickle to accept them.")
        return sio.load(path, trusted=untrusted)
    if suffix in (".pkl", ".pickle", ".joblib"):
        if not trust_pickle:
            raise ModelFileError(f"{path} is a pickle: loading it runs arbitrary code. Save the model with skops "
                           "(.skops), or pass --trust-pickle if you trust this file.")
        import joblib

        return joblib.load(path)
    if suffix in (".pt", ".pth", ".torchscript"):
        # A TorchScript archive carries code that torch.jit.load compiles and runs; there is no
        # weights-only path for a whole model, so it is treated like a pickle.
        if not trust_pickle:
            raise ModelFileError(f"{path} is a TorchScript file: loading it runs the code it carries. Pass "
                           "--trust-pickle if you trust this file, or load the model in Python.")
        import torch

        return torch.jit.load(path, map_location="cpu").eval()
    raise ModelFileError(f"unknown model file type {suffix!r} for {path}: use .skops, .pkl/.joblib "
                   "(with --trust-pickle) or a TorchScript .pt file.")
