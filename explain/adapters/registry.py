"""The registry of model families and ``get_adapter``, the one entry point from a model to its Adapter.

Models are recognised by class-path strings (``"sklearn.RandomForestClassifier"``),
so optional libraries are never imported just to check a type. A new family is
one module with an Adapter subclass plus one ``register_adapter`` line below.
"""

from __future__ import annotations

import numpy as np

from .._utils.registry import Registry
from ..errors import NotFittedError, UnsupportedModelError
from .base import Adapter, class_paths

__all__ = ["ADAPTERS", "register_adapter", "get_adapter", "supported_models"]

ADAPTERS = Registry("adapter")  # models are tried in registration order


def register_adapter(name: str, path: str) -> None:
    """Register an Adapter subclass by ``"module:Class"`` (imported when a model is first matched)."""
    ADAPTERS.register(name, path)


register_adapter("linear_model", "explain.adapters.glm:LinearModelAdapter")
register_adapter("statsmodels", "explain.adapters.glm:StatsmodelsAdapter")
register_adapter("naive_bayes", "explain.adapters.naive_bayes:NaiveBayesAdapter")
register_adapter("trees", "explain.adapters.trees:TreeAdapter")
register_adapter("kernels", "explain.adapters.kernels:KernelAdapter")
register_adapter("mlp", "explain.adapters.mlp:MLPAdapter")
register_adapter("torch", "explain.adapters.torch:TorchAdapter")
register_adapter("wrappers", "explain.adapters.wrappers:WrapperAdapter")


def _adapter_classes():
    for name in ADAPTERS:
        yield ADAPTERS.load(name)


def supported_models() -> list[str]:
    """Class paths every registered adapter accepts."""
    return [t for cls in _adapter_classes() for t in cls.model_types]


def get_adapter(model, *, name: str | None = None, X=None, image_shape=None) -> Adapter:
    """Return a ready adapter for ``model`` (an Adapter passes through): the one entry point.

    It checks the model is fitted and reads its facts; given ``X`` (flat rows,
    float) it returns a new adapter bound to that input form (``Adapter.bind``:
    a torch model learns its input shape and classes from one forward pass), so
    ``predict`` works straight away. An Adapter passed in is never changed.

    Parameters
    ----------
    model : fitted estimator, statsmodels results, Pipeline, torch module or Adapter
    name : str, optional
        Display name (an Adapter passed in is renamed on a copy, never in place).
    X : ndarray of shape (n_samples, n_features), optional
        Rows in flat form, to bind the adapter to.
    image_shape : tuple of int, optional
        Shape of one image when the columns of ``X`` are pixels.

    Raises
    ------
    UnsupportedModelError
        If no registered family recognises the model.
    NotFittedError
        If the model is not fitted.
    """
    adapter = _find_adapter(model, name)
    if X is not None:
        adapter = adapter.bind(np.asarray(X, dtype=float).reshape(len(X), -1), image_shape=image_shape)
    return adapter


def _find_adapter(model, name):
    if isinstance(model, Adapter):
        model.check_fitted()
        if name and name != model.name:  # never rename the user's object: a renamed shallow copy
            import copy

            model = copy.copy(model)
            model.name = name
        return model
    paths = class_paths(model)
    estimator, preprocess = model, None
    if "sklearn.Pipeline" in paths:
        if not model.steps:
            raise UnsupportedModelError("The Pipeline has no steps.")
        estimator = model.steps[-1][1]
        preprocess = model[:-1] if len(model.steps) > 1 else None
    for cls in _adapter_classes():
        if cls.matches(estimator):
            adapter = cls(model, estimator=estimator, preprocess=preprocess, name=name)
            adapter.check_fitted()
            adapter.setup()
            return adapter
    if "statsmodels.Model" in paths or "statsmodels.LikelihoodModel" in paths:
        raise NotFittedError(
            f"Got an unfitted statsmodels {type(model).__name__} model. Pass the fitted "
            "results instead: res = model.fit(); explain(res, X).")
    if callable(model) and not hasattr(model, "predict"):
        raise UnsupportedModelError(
            f"Got a plain callable {getattr(model, '__name__', type(model).__name__)!r}. Wrap it: "
            "explain(CallableAdapter(fn, task='regression'), X).")
    raise UnsupportedModelError(
        f"explain does not know models of type {type(model).__module__}.{type(model).__name__}. "
        f"Supported: {', '.join(sorted(set(t.split('.')[-1] for t in supported_models())))}, "
        "scikit-learn Pipelines ending in one of them, and statsmodels GLM/Logit/Probit/OLS results. "
        "For anything else wrap its predict function: explain(CallableAdapter(model.predict), X).")
