"""A report is data first: a tree of sections built from explanations or a comparison.

``build_report`` never fits or explains anything: it reads ExplanationSets (and
a Comparison's scores) and lays them out. Renderers (``render.py``) turn the
same tree into HTML, Markdown or JSON.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pandas as pd

from ..explanation import ExplanationSet
from ..methods.base import is_control
from ..metrics.agreement import agreement_matrix
from ..metrics.base import METRICS
from ..metrics.scale import output_unit
from . import figures
from .global_section import global_sections
from .method_notes import method_notes_table
from .rows import row_ids_for, rows_section
from .tables import Section, _cell, scorecard_table

__all__ = ["Section", "Report", "build_report", "provenance", "scorecard_table"]

# Wall-clock fields vary run to run; they are left out so a report is reproducible byte for byte.
_VOLATILE_METRICS = {"seconds_per_row"}
_PACKAGES = ("explain", "numpy", "pandas", "scikit-learn", "statsmodels", "shap", "lime", "captum", "torch",
             "xgboost", "lightgbm", "matplotlib", "jinja2")


@dataclass
class Report:
    """A report tree plus the explanations and scores it was built from (for JSON)."""

    title: str
    sections: list
    provenance: dict
    explanations: dict
    scores: pd.DataFrame | None = None
    notes: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # more JSON-ready records (a study's summary and verdict)

    def to_html(self) -> str:
        from .render import render_html

        return render_html(self)

    def to_markdown(self, figure_dir=None) -> str:
        from .render import render_markdown

        return render_markdown(self, figure_dir)

    def to_json(self) -> str:
        from .render import render_json

        return render_json(self)

    def save(self, path) -> str:
        """Write .html, .md or .json (by suffix) atomically; returns the path."""
        from .render import save

        return save(self, path)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_model_card(self, figure_dir=None) -> str:
        """The "Explanations" section of a Hugging Face style model card: YAML front matter with the
        headline scores, Markdown with each model's methods and top features, figures as files in
        ``figure_dir`` (referenced relative to it)."""
        from .card import model_card

        return model_card(self, figure_dir)

    def __repr__(self) -> str:  # the content lives in the renderers, not in a 100 KB repr
        kinds = [sec.kind for sec in self.sections]
        return (f"Report(title={self.title!r}, models={list(self.explanations)}, sections={len(kinds)}, "
                f"scores={0 if self.scores is None else len(self.scores)} rows, notes={sum(map(len, self.notes.values()))})")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name if name != "xgboost" else "xgboost-cpu")
        except metadata.PackageNotFoundError:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    return out


def fingerprint_array(X) -> str:
    """SHA-256 of the data: float64 C order for numbers; a mixed-type DataFrame by its column names,
    dtypes and values as text (the same table gives the same fingerprint)."""
    if isinstance(X, pd.DataFrame) and not all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes):
        h = hashlib.sha256()
        for col in X.columns:
            h.update(f"{col}\x00{X[col].dtype}\x00".encode())
            h.update("\x1f".join(map(str, X[col].tolist())).encode())
        return h.hexdigest()
    return hashlib.sha256(np.ascontiguousarray(np.asarray(X, dtype=np.float64)).tobytes()).hexdigest()


def fingerprint_model(model) -> str:
    try:
        import joblib

        if hasattr(model, "state_dict"):
            return joblib.hash([v.detach().cpu().numpy() for v in model.state_dict().values()])
        if hasattr(model, "model") and hasattr(model, "params"):
            return joblib.hash((np.asarray(model.params), model.model.exog))
        return joblib.hash(model)
    except Exception:  # an object joblib cannot hash still gets a report
        return "unavailable"


def provenance(*, X=None, models=None, seed=None, parameters=None, command=None, timestamp=True) -> dict:
    """Versions, data and model fingerprints, seed, parameters, command line and (optionally) the time."""
    out = {}
    if timestamp:  # first, so that a report without it differs by exactly this line in the JSON
        out["created"] = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")
    out["packages"] = _versions()
    if X is not None:
        out["data_sha256"] = fingerprint_array(X)
        out["data_shape"] = list(np.shape(X))
    if models:
        out["models"] = {name: {"type": f"{type(m).__module__}.{type(m).__name__}", "fingerprint":
                                fingerprint_model(m)} for name, m in models.items()}
    out["seed"] = seed
    out["parameters"] = parameters or {}
    out["command"] = command if command is not None else " ".join(sys.argv)
    return out


def _scorecard_section(comparison) -> Section:
    table, mixed = scorecard_table(comparison, drop=_VOLATILE_METRICS)
    meanings = [{"metric": m, "direction": METRICS[m].direction, "meaning": METRICS[m].meaning}
                for m in table["metric"] if m in METRICS]
    meanings += [{"metric": "method_agreement", "direction": "higher",
                  "meaning": "mean rank correlation between the model's methods (random excluded)"},
                 {"metric": "random_deletion", "direction": "-",
                  "meaning": "deletion area of the random control, to read the deletion column against"}]
    for item in meanings:
        if item["metric"] in mixed:
            item["meaning"] += " (in each model's own output here: not comparable across models, not ranked)"
    return Section("scorecard", "Scorecard", {"table": _table(table), "meanings": meanings, "mixed": mixed})


def _scale_section(comparison) -> Section | None:
    """The first screen: which output the scores are in, and why."""
    scale = comparison.params.get("scale")
    if not scale:
        return None
    units = scale["units"]
    if scale["common"]:
        head = (f"Every model is explained and scored in one output: {next(iter(units.values()))}. "
                f"Why: {scale['reason']}.")
    else:
        head = ("The models are explained in different outputs, so deletion, insertion and infidelity do not "
                f"compare across models: the scorecard shows them per model with the unit in each cell and ranks "
                f"none of them. Why: {scale['reason']}.")
    return Section("text", "Output: the scale of every score", {
        "level": 2, "paragraphs": [head, "Scores without an output unit (correlations, shares, ranks, ratios to the random "
                             "control, normalised areas) compare across models either way."],
        "bullets": [f"{name}: explained in output={scale['outputs'][name]!r} ({unit})" for name, unit in units.items()]})


def _table(df: pd.DataFrame, digits: int = 4) -> dict:
    """A DataFrame as {columns, rows} of strings, numbers rounded for display."""
    return {"columns": [str(c) for c in df.columns], "rows": [[_cell(v, digits=digits) for v in row]
                                                              for row in df.itertuples(index=False)]}


def method_notes(result: ExplanationSet) -> list[str]:
    """One line per method that a reviewer must see: approximate results, fallbacks, per-class algorithms."""
    notes = []
    for e in result:
        p = e.params
        if "approximate" in p:
            notes.append(f"{e.method}: approximate: gap {p.get('additivity_gap', float('nan')):.3g} "
                         f"({p['approximate']})")
        if "fallback_reason" in p:
            notes.append(f"{e.method}: fell back ({p['fallback_reason']}); algorithm: {p.get('algorithm', '?')}")
        if p.get("blocks") and len({b["algorithm"] for b in p["blocks"]}) > 1:
            notes.append(f"{e.method}: algorithm per class: " + "; ".join(
                f"class {b['class']}: {b['algorithm']}{'' if b['exact'] else ' (approximate)'}" for b in p["blocks"]))
    return notes


def _model_section(name: str, result: ExplanationSet, rows: list[int], comparison=None, *, anchor: str = "m",
                   row_ids=None) -> Section:
    es = list(result)
    first = es[0]
    scale = comparison.params.get("scale") if comparison is not None else None
    unit = scale["units"][name] if scale and name in scale["units"] else output_unit(first.output)
    facts = {"methods": ", ".join(result.methods), "output": f"{first.output} ({unit})", "rows": len(first),
             "features": first.shape[1]}
    children = []
    if first.image_shape is None:
        children.append(Section("figure", "Global importance", {"svg": figures.importance_figure(es)}))
        children.append(Section("figure", "Summary (beeswarm): each dot a row, colour the feature's value",
                                {"svg": figures.beeswarm_figure(es)}))
        rows = [r for r in rows if r < len(first)]
        if rows:
            ids = row_ids_for(len(first), row_ids)
            children.append(Section("figure", f"Rows {', '.join(ids[r] for r in rows)}: largest contributions, "
                                    f"in {unit}", {"svg": figures.waterfall_figure(es, rows, unit=unit, row_ids=ids)}))
        children.append(rows_section(name, es, anchor=anchor, unit=unit, row_ids=row_ids, open_rows=rows))
    if len(es) > 1:
        matrix = comparison.agreement(name) if comparison is not None else agreement_matrix(dict(result.items()))
        children.append(Section("figure", "Agreement between methods (rank correlation of |attribution|)",
                                {"svg": figures.heatmap_figure(matrix, f"{name}: rank correlation")}))
    if "coefficients" in result and "inference" in result["coefficients"].params:
        e = result["coefficients"]
        table = e.params["inference"]
        if isinstance(table, Mapping):  # a multiclass fit: one table per explained class, stacked
            table = pd.concat([t.assign(**{"class": label}) for label, t in table.items()], ignore_index=True)
            table = table[["class"] + [c for c in table.columns if c != "class"]]
        imp = e.global_importance()
        table = table.assign(mean_abs_contribution=table["input_column"].map(imp).astype(float))
        children.append(Section("table", "Inference table (beside the attributions)",
                                {"table": _table(table), "note": e.params.get("inference_note", "")}))
    scores = comparison.scores if comparison is not None else None
    children.append(Section("table", "Method notes for the reviewer (game, assumptions, exactness, internals, "
                                     "measured gap, seed spread, cost)",
                            {"table": _table(method_notes_table(result, scores)), "note": ""}))
    return Section("model", name, {"facts": facts, "notes": method_notes(result)}, children)


def _images_section(results: dict, n_images: int = 4) -> Section | None:
    image_sets = {name: r for name, r in results.items() if next(iter(r)).image_shape is not None}
    if not image_sets:
        return None
    first = next(iter(next(iter(image_sets.values()))))
    shape = first.image_shape
    n = min(n_images, len(first))
    images = first.codes[:n].reshape((n,) + shape)
    if len(shape) == 3:  # colour images as (H, W, 3) in [0, 1]; one channel as grey
        images = np.moveaxis(images, 1, -1) if shape[0] == 3 else images.mean(axis=1)
        lo, hi = float(np.min(images)), float(np.max(images))
        images = (images - lo) / (hi - lo) if hi > lo else np.zeros_like(images)
    panels, titles = [], []
    for name, r in image_sets.items():
        for e in r:
            if is_control(e.method):
                continue
            v = e.flat_values[:n].reshape((n,) + shape)
            panels.append(v.sum(axis=1) if len(shape) == 3 else v)  # channels summed
            titles.append(f"{name} · {e.method}")
    svg = figures.image_grid(images, panels, titles)
    return Section("figure", "Images: every model and method on the same pixels (each pixel's share of |attribution| "
                   "over the image, shared colour scale per row; large images shown block-averaged)",
                   {"svg": svg})


def build_report(source, *, title: str = "Explanation report", rows=(0, 1, 2), provenance_fields=None,
                 images: dict | None = None, row_ids=None, y=None, global_views: bool = True) -> Report:
    """Lay out a report from a Comparison, an ExplanationSet, or a dict of name -> ExplanationSet.

    Parameters
    ----------
    source : Comparison, ExplanationSet or dict
    title : str
    rows : sequence of int
        Positions of the rows drawn as figures and expanded in the page, the same for every model. Every
        explained row is listed (table of predictions) and has its own view either way.
    provenance_fields : dict, optional
        From :func:`provenance`.
    images : dict of name -> ExplanationSet, optional
        Image explanations shown as one grid (models x methods on the same pixels).
    row_ids : sequence, optional
        One id per explained row (the data's index or an id column), shown and searchable in the page;
        default: the row's position.
    y : array-like of shape (n_rows,), optional
        Labels of the explained rows: the "Global behaviour" section then ranks features by permutation
        importance of the loss; without labels, by mean |Shapley value| (it says which).
    global_views : bool, default=True
        Add the "Global behaviour" (importance with intervals, PD and ALE curves of the top features) and
        "Interactions" (exact pairwise SII heat maps where cheap) sections, computed from what ``explain()``
        validated on a few rows (see ``explain.report.global_section``). False leaves both out.
    """
    comparison = None
    if hasattr(source, "scorecard"):
        comparison, results = source, dict(source.explanations)
    elif isinstance(source, ExplanationSet):
        results = {source.model_name: source}
    else:
        results = dict(source)
    sections = [Section("provenance", "Provenance", {"fields": provenance_fields or {}})]
    if comparison is not None:
        scale = _scale_section(comparison)
        sections = ([scale] if scale is not None else []) + sections + [_scorecard_section(comparison)]
    for k, (name, result) in enumerate(results.items()):
        sections.append(_model_section(name, result, list(rows), comparison, anchor=f"m{k}", row_ids=row_ids))
    if global_views:
        sections += global_sections(results, comparison, y=y)
    grid = _images_section(dict(images or {}) or results)
    if grid is not None:
        sections.append(grid)
    if images:
        results = {**results, **{f"images/{k}": v for k, v in images.items()}}
    scores = None
    if comparison is not None:
        scores = comparison.scores[~comparison.scores.metric.isin(_VOLATILE_METRICS)].reset_index(drop=True)
    notes = {name: method_notes(r) for name, r in results.items()}
    if comparison is not None and comparison.params.get("notes"):
        notes["(scores)"] = list(comparison.params["notes"])
    return Report(title, sections, provenance_fields or {}, results, scores,
                  {k: v for k, v in notes.items() if v})
