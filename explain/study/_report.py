"""The study as a report: provenance, the verdict, headline tables with units and intervals, the rest.

Uses the report tree and its renderers (HTML, Markdown, JSON), so the study file
is as self-contained and escaped as every other report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.build import Report, Section, _table, provenance
from ._verdict import HEADLINE, MEASURES, threats

__all__ = ["study_report"]


def _cell(row) -> str:
    if not np.isfinite(row["mean"]):
        return "n/a"
    if not np.isfinite(row["lo"]):
        return f"{row['mean']:.3g}"
    return f"{row['mean']:.3g} [{row['lo']:.3g}, {row['hi']:.3g}]"


def _table_for(summary: pd.DataFrame, dataset: str, measures) -> dict:
    ds = summary[summary.dataset == dataset]
    families = list(dict.fromkeys(ds.family))
    cols = {"family": families}
    for m in measures:
        if m not in set(ds.measure):
            continue
        direction, unit, _ = MEASURES[m]
        sub = ds[ds.measure == m].set_index("family")
        arrow = "↓" if direction == "lower" else "↑"
        cols[f"{m} ({unit}) {arrow}"] = [_cell(sub.loc[f]) if f in sub.index else "n/a" for f in families]
    return _table(pd.DataFrame(cols))


_SHOWN = ["hypothesis", "dataset", "protocol", "measure", "family_a", "family_b", "n", "effect", "ci_low", "ci_high",
          "d_z", "p_value", "p_adjusted", "p_equivalence_adjusted", "decision"]


def _comparison_sections(study) -> list:
    """The paired comparisons behind the verdict, the protocol sensitivity, and what the verdict leaves out."""
    v, comps = study.verdict, study.comparisons
    out = [Section("table", "Paired comparisons (effect = family_a - family_b, mean over seeds, 95% t-interval; "
                            "p from the named test, Holm within each hypothesis)", {
        "table": _table(comps[_SHOWN] if len(comps) else pd.DataFrame(columns=_SHOWN)),
        "note": (f"{int((~comps['can_reject']).sum())} of {len(comps)} comparisons cannot reject with their "
                 "number of seeds after Holm (the verdict says how many seeds they need); "
                 f"{int((comps['decision'] == 'invalid').sum())} are invalid (values outside the measure's "
                 "stated range).") if len(comps) else ""})]
    if len({p for s in v["sensitivity"] for p in s["decisions"]}) > 1:
        out.append(Section("text", "Protocol sensitivity: decisions that change with the protocol", {
            "paragraphs": [f"{a['hypothesis']}: " + ", ".join(f"{p}: {x}" for p, x in a["answers"].items())
                           + (" (robust)" if a["robust"] else " (the answer depends on the protocol)")
                           for a in v["by_protocol"]],
            "bullets": [f"{s['hypothesis']} · {s['dataset']} · {s['measure']} · {s['family_a']} vs "
                        f"{s['family_b']}: {s['flip']}" for s in v["sensitivity"] if not s["robust"]]}))
    failed = [g for g in v["additivity"] if g["failed"]]
    out.append(Section("text", "Not in the verdict (measured, reported, never tested as explainability)", {
        "paragraphs": [f"Additivity gaps beyond round-off: {len(failed)} of {len(v['additivity'])} data set x "
                       "family cells" + (": " + ", ".join(f"{g['dataset']}/{g['family']} {g['largest_gap']:.3g}"
                                                          for g in failed) if failed else ".")],
        "bullets": [f"{e['measure']} ({e['role']}): {e['reason']}" for e in v["excluded"]]}))
    return out


def study_report(study, *, timestamp: bool = True) -> Report:
    from . import config_dict

    cfg = study.config
    v = study.verdict
    prov = provenance(seed=list(cfg.seeds), parameters=config_dict(cfg),
                      command="python -m explain study" + (" --quick" if cfg.name == "quick" else ""),
                      timestamp=timestamp)
    prov["run_minutes"] = round(study.seconds / 60, 1) if timestamp else "(omitted)"
    if getattr(study, "source", None):
        prov["records_from"] = study.source
    sections = [Section("provenance", "Provenance", {"fields": prov})]
    sections.append(Section("text", "Verdict (generated from the numbers below)", {
        "paragraphs": v["sentences"], "bullets": []}))
    sections.append(Section("text", "Protocol", {"paragraphs": [
        "Every family is refitted with each seed on a seeded 90% subsample of the training split and explained "
        "on the same held-out rows with the same background, in the probability of the explained class (the "
        "positive class for binary tasks, the predicted class otherwise); a removed feature takes the values of "
        "background rows and the output is averaged over 20 of them (removal='sample', the game the Shapley "
        "values use). Values are means over seeds with 95% t-intervals; arrows give "
        "the direction in which a model is easier to explain. Accuracy is shown beside every score: comparing "
        "badly fitted models would mean nothing."]}))
    for dataset in dict.fromkeys(study.summary.dataset):
        sections.append(Section("table", f"{dataset}: headline measures", {
            "table": _table_for(study.summary, dataset, ("accuracy",) + HEADLINE), "note": ""}))
        rest = [m for m in MEASURES if m not in HEADLINE and m != "accuracy"]
        sections.append(Section("table", f"{dataset}: every other measure", {
            "table": _table_for(study.summary, dataset, rest), "note": ""}))
    sections.append(Section("text", "Rankings (easiest to explain first; mean [95% interval])", {
        "paragraphs": [], "bullets": [f"{r['dataset']} · {r['measure']} ({r['unit']}): {r['text']}"
                                    for r in v["rankings"]]}))
    sections += _comparison_sections(study)
    sections.append(Section("text", "Threats to validity", {"paragraphs": [], "bullets": threats(cfg, study.seconds)}))
    summary = study.summary.replace({np.nan: None})
    extra = {"study": {"config": config_dict(cfg), "seconds": round(study.seconds, 1) if timestamp else None,
                       "summary": summary.to_dict(orient="records"), "verdict": v,
                       "comparisons": study.comparisons.replace({np.nan: None}).to_dict(orient="records"),
                       "sensitivity": v["sensitivity"],
                       "records": study.records.replace({np.nan: None}).to_dict(orient="records"),
                       "measures": {k: {"direction": d, "unit": u, "meaning": m} for k, (d, u, m) in
                                    MEASURES.items()}}}
    return Report("Are deep models harder to explain? A study on one common scale", sections, prov, {},
                  None, extra=extra)
