"""The report's "Interactions" section: how much of each model is not additive, and which pairs carry it.

From :func:`explain.interactions` (pairwise Shapley interaction index, SII, of the interventional game that
explain's Shapley values use), only where it is exact and cheap: a model additive in the explained output
(every pair 0, no model call), tree ensembles in their natural output, RBF/Laplacian kernel models in their
margin (closed forms), or at most ``MAX_ENUMERATION_PLAYERS`` features (every coalition enumerated, on few
rows and background rows). Any other model is left out with a one-line note saying why: sampled interactions
would cost far more than the rest of the report.

Every model is in the output its explanations are in (one output for every model of a comparison); when they
share its unit, the heat maps share one colour scale.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import ExplainError, MethodNotApplicableError
from . import global_figures
from ._global_models import global_models, shared_unit_of
from .tables import Section, _cell

__all__ = ["interactions_section", "MAX_ROWS", "MAX_BACKGROUND", "TOP_FEATURES"]

MAX_ROWS = 10  # explained rows averaged in the heat map
MAX_BACKGROUND = 20  # background rows of the game
TOP_FEATURES = 6
TOP_PAIRS = 5
INDEX = "SII"


def _mean_abs(inter) -> pd.DataFrame:
    """Mean |pair value| over rows, diagonal NaN, restricted to the features with the strongest pairs."""
    m = np.abs(np.asarray(inter.values, float)).mean(axis=0)
    np.fill_diagonal(m, np.nan)
    strength = np.nansum(m, axis=1)
    keep = np.sort(np.argsort(-strength, kind="stable")[:TOP_FEATURES])
    names = [inter.feature_names[k] for k in keep]
    return pd.DataFrame(m[np.ix_(keep, keep)], index=names, columns=names)


def _pairs(name: str, inter, unit: str) -> list:
    m = np.abs(np.asarray(inter.values, float)).mean(axis=0)
    i, j = np.triu_indices(m.shape[0], 1)
    top = np.argsort(-m[i, j], kind="stable")[:TOP_PAIRS]
    return [[name, f"{inter.feature_names[i[k]]} × {inter.feature_names[j[k]]}", _cell(float(m[i[k], j[k]])),
             unit] for k in top]


def interactions_section(results: dict, comparison=None) -> Section | None:
    """The "Interactions" section, or None when no tabular model carries what ``explain()`` validated."""
    from ..interactions import interactions

    models = global_models(results, comparison, max_rows=MAX_ROWS, max_background=MAX_BACKGROUND)
    if not models:
        return None
    done, matrices, rows, notes = {}, {}, [], []
    for name, m in models.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a skipped model gets its note below; nothing is sampled
                inter = interactions(m.adapter, m.rows, background=m.background, index=INDEX, output=m.output,
                                     target=m.target, algorithm="exact", name=name)
        except MethodNotApplicableError as exc:
            notes.append(f"{name}: left out: no exact, cheap interactions in output={m.output!r} "
                         f"({str(exc).split(':', 1)[-1].split('.')[0].strip()})")
            continue
        except ExplainError as exc:
            notes.append(f"{name}: left out ({exc})")
            continue
        done[name] = (m, inter)
        matrices[name] = _mean_abs(inter)
        if np.any(np.asarray(inter.pairs) != 0):
            rows += _pairs(name, inter, m.unit)
        else:
            rows.append([name, "every pair", "0 (additive in this output)", m.unit])
    unit = shared_unit_of({n: m for n, (m, _) in done.items()}, comparison)
    paragraphs = [f"Pairwise {INDEX} (Shapley interaction index, Grabisch & Roubens) of the interventional game "
                  "v(S) = mean over background rows of f(x_S, b_rest), the game of the Shapley values above: "
                  f"mean |{INDEX}| over the first explained rows (at most {MAX_ROWS}; {MAX_BACKGROUND} background "
                  "rows), for the features with the strongest pairs. 0 everywhere means the model is additive in "
                  "this output.",
                  "Computed only where exact and cheap: models additive in the output, tree ensembles in their "
                  "natural output, RBF/Laplacian kernels in their margin, or at most 12 features."]
    strengths = [f"{n}: {inter.params['algorithm']}; output={m.output} ({m.unit}); interaction strength "
                 f"(share of the output's variance over these rows that the additive part does not carry) "
                 f"{inter.strength():.3f}" for n, (m, inter) in done.items()]
    children = []
    if rows:
        children.append(Section("table", f"Strongest pairs: mean |{INDEX}|", {
            "table": {"columns": ["model", "pair", f"mean |{INDEX}|", "unit"], "rows": rows}, "note": ""}))
    if matrices and unit is not None:
        label = f"mean |{INDEX}| ({unit})"
        children.append(Section("figure", f"Interaction heat maps: mean |{INDEX}| in {unit}, one colour scale",
                                {"svg": global_figures.interaction_heatmaps(matrices, label)}))
    else:
        for name, matrix in matrices.items():
            label = f"mean |{INDEX}| ({done[name][0].unit})"
            children.append(Section("figure", f"{name}: interaction heat map, mean |{INDEX}| in "
                                    f"{done[name][0].unit}", {"svg": global_figures.interaction_heatmaps(
                                        {name: matrix}, label)}))
    return Section("text", "Interactions", {"level": 2, "paragraphs": paragraphs,
                                            "bullets": strengths + [f"⚠ {n}" for n in notes]}, children)
