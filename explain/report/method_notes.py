"""Method notes for a model-risk reviewer: what game each method solves, its assumptions, whether it is exact,
whether it reads the model's internals, and what it measured on this model (local-accuracy gap, seed spread, cost).

The facts are the methods' own class attributes (``game``, ``assumptions``, ``reads_internals``; see
:class:`explain.methods.base.Method`), so a new method brings its notes with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..methods.base import METHODS, method_class

__all__ = ["method_notes_table"]


def _facts(method: str) -> tuple[str, str, str]:
    if method not in METHODS:  # an Explanation built by hand, not by a registered method
        return "-", "-", "-"
    cls = method_class(method)
    return cls.game or "-", cls.assumptions or "-", "yes" if cls.reads_internals else "no"


def method_notes_table(result, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per method of an ExplanationSet: game, assumptions, exact, internals, measured gap, seed spread, cost."""
    rows = []
    for e in result:
        game, assumptions, internals = _facts(e.method)
        spread = np.nan
        if scores is not None and len(scores):
            hit = scores[(scores.model == result.model_name) & (scores.method == e.method) &
                         (scores.metric == "seed_cv")]
            spread = float(hit.value.iloc[0]) if len(hit) else np.nan
        rows.append({"method": e.method, "game": game, "assumptions": assumptions,
                     "exact": "yes" if e.params.get("exact") else "no", "reads internals": internals,
                     "local-accuracy gap": e.params.get("additivity_gap", np.nan),
                     "seed spread (cv)": spread if e.params.get("stochastic") else "deterministic",
                     "cost (evals/row)": e.n_model_evals / max(len(e), 1)})
    return pd.DataFrame(rows)
