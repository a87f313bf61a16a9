"""The report's "Global behaviour" section: what each model does overall, side by side on one output scale.

For the features that matter most across the models: importance with intervals, then partial dependence and
accumulated local effects curves, every model in one panel per feature when the models share one output
unit (a comparison's scale, ``explain.metrics.scale``), otherwise one figure per model in its own unit.

- **Importance**: with labels (``build_report(..., y=...)``), permutation importance
  (:func:`explain.importance`: row-bootstrap repeats, percentile interval) of the loss, the same loss for
  every model; without labels, or when a model has no probabilities, the label-free **mean |Shapley value|**
  of the explanations already computed, with a row-bootstrap percentile interval. The section says which.
- **Curves**: :func:`explain.partial_dependence` and :func:`explain.accumulated_local_effects` on the
  explained rows (at most ``MAX_ROWS``), ``GRID`` grid points and ``ALE_BINS`` bins: exact, and cheap (a few
  batched model calls per feature, closed forms where the family has one).
"""

from __future__ import annotations

import numpy as np

from ..errors import ExplainError
from . import global_figures
from ._global_models import global_models, shared_unit_of
from .tables import Section, _cell

__all__ = ["global_sections", "global_behaviour_section", "MAX_ROWS", "TOP_FEATURES"]

MAX_ROWS = 50  # explained rows the global views average over
TOP_FEATURES = 3
GRID = 8
ALE_BINS = 6
REPEATS = 20  # permutation importance: row-bootstrap repeats
BOOTSTRAP = 200  # mean |Shapley value|: row-bootstrap resamples for its interval
CI = 0.95


def _label_free(model) -> dict:
    """feature -> (mean |value|, low, high) with a seeded row-bootstrap percentile interval."""
    e = model.explanation
    a = np.abs(np.asarray(e.flat_values, float)[:model.n_rows])
    rng = np.random.default_rng(0)
    boot = np.stack([a[rng.integers(0, len(a), len(a))].mean(axis=0) for _ in range(BOOTSTRAP)])
    low, high = np.quantile(boot, [(1 - CI) / 2, (1 + CI) / 2], axis=0)
    return {f: (float(m), float(lo), float(hi)) for f, m, lo, hi in zip(e.feature_names, a.mean(axis=0), low, high)}


def _importances(models: dict, y) -> tuple[dict, str, str | None, list]:
    """model -> {feature: (mean, low, high)}, what the numbers are, their unit (None: not shared), notes."""
    notes = []
    if y is not None:
        from ..inspection import importance

        out, losses = {}, set()
        for name, m in models.items():
            try:
                res = importance(m.adapter, m.rows, np.asarray(y)[:m.n_rows], n_repeats=REPEATS, random_state=0,
                                 background=m.background,
                                 ci=CI)
            except ExplainError as exc:
                notes.append(f"{name}: no permutation importance ({exc}); every model is shown with the label-free "
                             "importance instead")
                break
            out[name] = {f: (float(a), float(b), float(c)) for f, a, b, c in
                         zip(res.feature_names, res.mean, res.ci_low, res.ci_high)}
            losses.add(res.loss)
        else:
            loss = losses.pop() if len(losses) == 1 else None
            named = (loss or "each model its own").replace("_", "-")
            what = (f"permutation importance: the increase of the loss ({named}) when a "
                    f"feature's column is shuffled, {REPEATS} row-bootstrap repeats on the "
                    f"{max(m.n_rows for m in models.values())} "
                    f"labelled rows, {CI:.0%} percentile interval")
            unit = {"cross_entropy": "increase of cross-entropy (nats)",
                    "squared_error": "increase of squared error"}.get(loss)
            return out, what, unit, notes
    methods = sorted({m.explanation.method for m in models.values()})
    what = (f"mean |Shapley value| ({', '.join(methods)}): a label-free importance (no labels were given to the "
            f"report), averaged over the explained rows, {CI:.0%} row-bootstrap percentile interval")
    unit = shared_unit_of(models)
    return ({name: _label_free(m) for name, m in models.items()}, what,
            None if unit is None else f"mean |Shapley value| ({unit})", notes)


def _top(imps: dict, k: int) -> list:
    """Features ranked by their importance relative to each model's largest, summed over models."""
    score: dict = {}
    for values in imps.values():
        top = max((v[0] for v in values.values()), default=0.0) or 1.0
        for f, v in values.items():
            score[f] = score.get(f, 0.0) + max(v[0], 0.0) / top
    return sorted(score, key=lambda f: (-score[f], f))[:k]


def _curves(models: dict, features: list, notes: list) -> tuple[dict, dict]:
    """PD and ALE panels: feature -> model -> (x, y, labels)."""
    from ..inspection import accumulated_local_effects, partial_dependence

    pd_panels, ale_panels = {}, {}
    for f in features:
        for name, m in models.items():
            kw = {"output": m.output, "target": m.target, "background": m.background}
            try:
                p = partial_dependence(m.adapter, m.rows, f, grid_resolution=GRID, **kw)
                cat = p.grid_labels[0].dtype == object or not np.issubdtype(p.grid_labels[0].dtype, np.number)
                pd_panels.setdefault(f, {})[name] = (p.grid[0], p.average, list(p.grid_labels[0]) if cat else None)
                a = accumulated_local_effects(m.adapter, m.rows, f, bins=ALE_BINS, **kw)
                ale_panels.setdefault(f, {})[name] = (a.edges, a.values, a.labels)
            except ExplainError as exc:
                notes.append(f"{name} · {f}: no curve ({exc})")
    return pd_panels, ale_panels


def _table(imps: dict, features: list) -> dict:
    rows = [[f] + [(lambda v: "–" if v is None else f"{_cell(v[0])} [{_cell(v[1])}, {_cell(v[2])}]")(
        imps[name].get(f)) for name in imps] for f in features]
    return {"columns": ["feature"] + [f"{name}: estimate [interval]" for name in imps], "rows": rows}


def global_behaviour_section(results: dict, comparison=None, *, y=None) -> Section | None:
    """The "Global behaviour" section, or None when no tabular model carries what ``explain()`` validated."""
    models = global_models(results, comparison, max_rows=MAX_ROWS, max_background=20)
    if not models:
        return None
    imps, what, imp_unit, notes = _importances(models, y)
    features = _top(imps, TOP_FEATURES)
    unit = shared_unit_of(models, comparison)
    units = ", ".join(f"{n}: {m.output} ({m.unit})" for n, m in models.items())
    paragraphs = [f"Importance: {what}.",
                  f"Curves: partial dependence (mean output with the feature set to each grid value) and "
                  f"accumulated local effects (centred; categories ordered by the similarity of the other features) "
                  f"of the {len(features)} most important features, over the first "
                  f"{max(m.n_rows for m in models.values())} explained rows.",
                  (f"Every model is on one output scale: {unit}; curves of all models share each panel's y axis."
                   if unit is not None else f"The models' outputs do not share a unit ({units}), so each model's "
                   "curves are drawn on their own, in their own unit.")]
    children = [Section("table", f"Importance of the top features ({imp_unit or 'each model in its own unit'})",
                        {"table": _table(imps, features), "note": what})]
    entries = {name: {f: v for f, v in values.items() if f in features} for name, values in imps.items()}
    if imp_unit is not None:
        children.append(Section("figure", f"Importance with {CI:.0%} intervals, in {imp_unit}",
                                {"svg": global_figures.importance_interval_figure(entries, features, imp_unit)}))
    else:
        children += [Section("figure", f"{name}: importance with {CI:.0%} intervals",
                             {"svg": global_figures.importance_interval_figure({name: entries[name]}, features,
                                                                                "importance")})
                     for name in entries]
    pd_panels, ale_panels = _curves(models, features, notes)
    for kind, panels in (("PD", pd_panels), ("ALE", ale_panels)):
        title = "Partial dependence" if kind == "PD" else "Accumulated local effects"
        if not panels:
            continue
        if unit is not None:
            children.append(Section("figure", f"{title}, in {unit}",
                                    {"svg": global_figures.curves_figure(panels, unit, kind)}))
            continue
        for name, m in models.items():
            mine = {f: {name: c[name]} for f, c in panels.items() if name in c}
            if mine:
                children.append(Section("figure", f"{name}: {title.lower()}, in {m.unit}",
                                        {"svg": global_figures.curves_figure(mine, m.unit, kind)}))
    facts = [f"{n}: output={m.output} ({m.unit})" + ("" if m.target is None else f", curves of class {m.target!r}")
             for n, m in models.items()]
    return Section("text", "Global behaviour", {"level": 2, "paragraphs": paragraphs,
                                                "bullets": facts + [f"⚠ {n}" for n in notes]}, children)



def global_sections(results: dict, comparison=None, *, y=None) -> list:
    """The report's global views, in page order: "Global behaviour", then "Interactions" (each when it applies)."""
    from .interaction_section import interactions_section

    return [s for s in (global_behaviour_section(results, comparison, y=y),
                        interactions_section(results, comparison)) if s is not None]
