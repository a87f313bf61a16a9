"""What the report's global views ("Global behaviour", "Interactions") read from each model's explanations.

The report fits nothing and re-validates nothing: each model's bound adapter, rows and background come from
what ``explain()`` validated (``ExplanationSet.validated``), in the output the explanations are in (one output
for every model of a comparison, see ``explain.metrics.scale``), with the rows decoded back to the user's values
where the model reads categories.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..methods.base import is_control
from ..metrics.scale import output_unit

__all__ = ["GlobalModel", "global_models", "shared_unit_of"]


@dataclass(frozen=True)
class GlobalModel:
    """One tabular model as the global views see it."""

    name: str
    adapter: object
    rows: object  # the explained rows (a DataFrame with the user's values where the model has categories)
    background: object
    n_rows: int
    output: str
    unit: str
    target: object  # one class label for every row (None for a regressor)
    explanation: object  # the first non-control explanation (for label-free importance)


def _decode(adapter, codes):
    codec = getattr(adapter, "codec", None)
    return codes if codec is None else codec.decode(np.asarray(codes))


def _target(adapter, explanation):
    """Binary: the positive class; multiclass: the class the explained rows explain most often."""
    classes = getattr(adapter, "classes", None)
    if getattr(adapter, "task", None) != "classification" or classes is None:
        return None
    if len(classes) == 2:
        label = classes[1]
    else:
        targets = [] if explanation.target is None else list(explanation.target)
        label = Counter(targets).most_common(1)[0][0] if targets else classes[0]
    return label.item() if isinstance(label, np.generic) else label


def global_models(results: dict, comparison=None, *, max_rows: int, max_background: int) -> dict:
    """Name -> GlobalModel for the tabular models explained by ``explain()`` (image models left out)."""
    scale = comparison.params.get("scale") if comparison is not None else None
    out = {}
    for name, result in results.items():
        v = getattr(result, "validated", None)
        es = [e for e in result if not is_control(e.method)] or list(result)
        if v is None or v.image_shape is not None or v.groups is not None or not es:
            continue
        unit = scale["units"][name] if scale and name in scale["units"] else output_unit(v.output)
        n = min(max_rows, v.X.shape[0])
        nb = min(max_background, v.background.shape[0])
        # an even spread of the background rows, no random draw: the same report every time
        pick = np.unique(np.linspace(0, v.background.shape[0] - 1, nb).round().astype(int))
        out[name] = GlobalModel(name=name, adapter=v.adapter, rows=_decode(v.adapter, v.X[:n]),
                                background=_decode(v.adapter, v.background[pick]), n_rows=n, output=v.output,
                                unit=unit, target=_target(v.adapter, es[0]), explanation=es[0])
    return out


def shared_unit_of(models: dict, comparison=None) -> str | None:
    """The one unit every model's output is in, or None (a margin of one model is not another's)."""
    units = {m.unit for m in models.values()}
    if len(units) != 1:
        return None
    unit = units.pop()
    if comparison is None and len(models) > 1 and unit == "margin":  # not measured as log-odds: its own scale
        return None
    return unit
