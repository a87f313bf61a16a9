"""What every global explanation starts from: the engine's validation, one explained scalar, batched calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..engine.config import ExplainConfig
from ..engine.plan import prepare
from ..errors import ParameterError, TargetError

__all__ = ["Bound", "bind", "feature_index", "predict_batched", "PREDICT_ROWS"]

PREDICT_ROWS = 65_536  # rows per model call (bounded memory)


@dataclass(frozen=True)
class Bound:
    """The validated model and data: bound adapter, float X (category codes), background, one output scalar."""

    adapter: object
    X: np.ndarray
    background: np.ndarray
    names: tuple
    output: str
    target: int | None
    label: object
    f: Callable[[np.ndarray], np.ndarray]
    random_state: int | None


def bind(caller: str, model, X, *, output="auto", target=None, background=None, random_state=0,
         one_target: bool = True) -> Bound:
    """Validate ``model``/``X``/``background`` exactly as ``explain()`` does and fix one explained scalar.

    A binary classifier explains its positive class unless ``target`` says otherwise; a multiclass one
    needs ``target`` (a global curve has no "predicted class"). ``one_target=False`` fixes no class
    (``target`` and ``f`` are then None): the caller reads every class from ``adapter.predict``.
    """
    config = ExplainConfig.build(caller, methods="random", target=target, output=output,
                                 random_state=random_state, progress=False)
    plan = prepare(model, X, config, background=background)
    a = plan.adapter
    t = None
    if a.task == "classification" and one_target:
        if target is None and len(a.classes) > 2:
            raise TargetError(f"{caller}() of a {len(a.classes)}-class model needs target=<class label or "
                              f"index>: classes are {list(np.asarray(a.classes).tolist())}.")
        if target is not None and np.ndim(target) != 0:
            raise TargetError(f"{caller}() explains one class for all rows; pass one label, got {target!r}.")
        t = int(a.resolve_target(target, plan.X[:1], plan.output)[0])
    label = None
    if t is not None:
        label = a.classes[t]
        label = label.item() if isinstance(label, np.generic) else label
    return Bound(adapter=a, X=plan.X, background=plan.background, names=plan.names, output=plan.output,
                 target=t, label=label, f=a.output_function(plan.output, t) if one_target or a.task != "classification" else None,
                 random_state=config.random_state)


def feature_index(feature, names, caller: str = "partial_dependence") -> int:
    """A column index from a name or an index, or ParameterError saying which exist."""
    if isinstance(feature, (str, np.str_)):
        if str(feature) not in names:
            raise ParameterError(f"{caller}(): no feature named {feature!r}; features are {list(names)[:20]}.")
        return list(names).index(str(feature))
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
        if not -len(names) <= int(feature) < len(names):
            raise ParameterError(f"{caller}(): feature index {feature} out of range for {len(names)} features.")
        return int(feature) % len(names)
    raise ParameterError(f"{caller}(): a feature is a column name or index, got {type(feature).__name__} "
                         f"{feature!r}.")


def predict_batched(f, Z: np.ndarray) -> np.ndarray:
    """``f`` over the rows of ``Z`` in blocks of at most PREDICT_ROWS rows."""
    if Z.shape[0] <= PREDICT_ROWS:
        return np.asarray(f(Z), dtype=float)
    return np.concatenate([np.asarray(f(Z[s:s + PREDICT_ROWS]), dtype=float)
                           for s in range(0, Z.shape[0], PREDICT_ROWS)])
