"""The study as a report: the answers first (one sentence per hypothesis beside a forest plot), then accuracy,
then the details (data sets, protocols, measures, sensitivity, comparisons, threats, provenance).

Uses the report tree and its renderers (HTML, Markdown, JSON). The JSON file holds
the issue-24 contract (version 2: config, protocols, measures, records,
comparisons, verdict, sensitivity), numbers at 6 significant digits, each record
once. The HTML page embeds the same document without the records (they are in the
JSON file) and with the comparisons as one tab-separated text, so it stays small.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..report.build import Report, Section, _table, provenance
from ._hypotheses import MEASURE_SPECS
from ._verdict import noise_threat, threats

__all__ = ["study_report", "StudyReport", "compact"]

CONTRACT = ["hypothesis", "dataset", "protocol", "measure", "family_a", "family_b", "test", "n", "effect", "ci_low",
            "ci_high", "d_z", "p_value", "p_adjusted", "p_equivalence_adjusted", "decision"]
ACCURACY_GAP = 0.05  # a family this far below the GLM's accuracy is flagged as badly fitted


def compact(obj):
    """JSON-ready copy: floats at 6 significant digits, NaN/inf as None, numpy scalars as Python ones."""
    if isinstance(obj, dict):
        return {str(k): compact(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [compact(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    return obj


@dataclasses.dataclass
class StudyReport(Report):
    """A Report whose HTML page embeds ``page_extra`` (no records) instead of the JSON file's ``extra``."""

    page_extra: dict = dataclasses.field(default_factory=dict)

    def _page(self) -> Report:
        return Report(self.title, self.sections, self.provenance, self.explanations, self.scores, self.notes,
                      self.page_extra)

    def to_html(self) -> str:
        return self._page().to_html()

    def save(self, path) -> str:
        import json
        import os

        suffix = os.path.splitext(os.fspath(path))[1].lower()
        if suffix in (".html", ".htm"):
            return self._page().save(path)
        if suffix == ".json":  # the validated bundle without indentation: ~50,000 records stay a few MB
            from .._utils.atomic import atomic_write_text

            text = json.dumps(json.loads(self.to_json()), separators=(",", ":"), allow_nan=False)
            atomic_write_text(os.fspath(path), text + "\n")
            return os.fspath(path)
        return super().save(path)


def _sentence(h: dict) -> str:
    counts = h.get("counts") or {}
    if not counts:
        return f"{h['id']}: {h['statement']} Not tested (no records of the families it names)."
    n = sum(counts.values())
    parts = ", ".join(f"{k} in {counts[k]}" for k in ("harder", "easier", "equivalent", "inconclusive", "invalid")
                      if counts.get(k))
    return (f"{h['id']}: {h['statement']} — {h['answer'].upper()}: {parts} of {n} paired comparisons "
            f"({h.get('test', '')}, Holm within {h['id']}).")


def _accuracy_table(study) -> tuple[dict, list]:
    acc = study.summary[study.summary.measure == "accuracy"]
    families = list(dict.fromkeys(acc.family))
    rows, flags = [], []
    for dataset, grp in acc.groupby("dataset", sort=False):
        g = grp.set_index("family")
        glm = g["mean"].get("glm", np.nan)
        row = {"data set": dataset}
        for f in families:
            if f not in g.index:
                row[f] = "—"
                continue
            r = g.loc[f]
            bad = np.isfinite(glm) and r["mean"] < glm - ACCURACY_GAP
            if bad:
                flags.append(f"{dataset} / {f}: {r['mean']:.3f} against the GLM's {glm:.3f}")
            row[f] = f"{'⚠ ' if bad else ''}{r['mean']:.3f} [{r['lo']:.3f}–{r['hi']:.3f}]"
        rows.append(row)
    return _table(pd.DataFrame(rows)), flags


def _details(study) -> list:
    v, comps, cfg = study.verdict, study.comparisons, study.config
    out = [Section("text", "Answers in full (generated from the comparisons)", {"paragraphs": v["sentences"]})]
    if study.datasets:
        ds = pd.DataFrame(study.datasets)
        cols = [c for c in ("name", "kind", "task", "n_rows", "n_features", "image_shape", "source") if c in ds]
        out.append(Section("table", "Data sets", {"table": _table(ds[cols].astype(str)), "note": ""}))
    from ._run import PROTOCOLS

    out.append(Section("text", "Protocols (every comparison is made under each)", {
        "paragraphs": [], "bullets": [f"{p.name}: {p.description}" for p in PROTOCOLS]}))
    specs = pd.DataFrame([dict(measure=k, role=s.role, unit=s.unit, easier_when=s.direction, margin=s.margin,
                               range=f"[{s.low:g}, {s.high:g}]") for k, s in MEASURE_SPECS.items()
                          if k in set(study.records.measure)])
    out.append(Section("table", "Measures, roles and equivalence margins (stated before the run)", {
        "table": _table(specs), "note": "Only role 'explainability' enters a verdict."}))
    flips = [s for s in v["sensitivity"] if not s["robust"]]
    out.append(Section("text", "Protocol sensitivity", {
        "paragraphs": [f"{a['hypothesis']}: " + ", ".join(f"{p}: {x}" for p, x in a["answers"].items())
                       + (" (robust)" if a["robust"] else " (the answer depends on the protocol)")
                       for a in v["by_protocol"]]
        + [f"{len(flips)} of {len(v['sensitivity'])} (hypothesis, data set, measure, family pair) cells change their "
           "decision with the protocol:"],
        "bullets": [f"{s['hypothesis']} · {s['dataset']} · {s['measure']} · {s['family_a']} vs {s['family_b']}: "
                    f"{s['flip']}" for s in flips]}))
    decided = comps[comps.decision != "inconclusive"] if len(comps) else comps
    out.append(Section("table", "Decided comparisons (effect = family_a − family_b, mean over seeds, 95% t-interval)",
                       {"table": _table(decided[CONTRACT] if len(decided) else pd.DataFrame(columns=CONTRACT)),
                        "note": f"{len(decided)} of {len(comps)} comparisons decided; every comparison is in the "
                                "JSON file."}))
    failed = [g for g in v["additivity"] if g["failed"]]
    out.append(Section("text", "Not in the verdict (measured, reported, never tested as explainability)", {
        "paragraphs": [f"Additivity gaps beyond round-off: {len(failed)} of {len(v['additivity'])} data set x "
                       "family cells" + (": " + ", ".join(f"{g['dataset']}/{g['family']} {g['largest_gap']:.3g}"
                                                          for g in failed) if failed else ".")],
        "bullets": [f"{e['measure']} ({e['role']}): {e['reason']}" for e in v["excluded"]]}))
    out.append(Section("text", "Threats to validity", {"paragraphs": [], "bullets": threats(cfg, study.seconds)
                                                                + noise_threat(study.records)}))
    return out


def _contract(study, timestamp: bool) -> dict:
    from . import VERSION, config_dict
    from ._families import FAMILIES
    from ._run import PROTOCOLS

    cfg = config_dict(study.config)
    blank = dict.fromkeys(("kind", "task", "n_features", "image_shape", "n_rows", "source"))
    cfg["datasets"] = study.datasets or [dict(blank, name=n) for n in dict.fromkeys(study.records.dataset)]
    cfg["families"] = [f for f in FAMILIES if f in set(study.records.family)]
    v = {k: val for k, val in study.verdict.items() if k not in ("sensitivity", "rankings", "sentences")}
    comps = study.comparisons
    return compact({"version": VERSION, "config": cfg,
                    "seconds": round(study.seconds, 1) if timestamp else None,
                    "protocols": [dataclasses.asdict(p) for p in PROTOCOLS],
                    "measures": {k: dict(unit=s.unit, direction=s.direction, role=s.role, margin=s.margin,
                                         low=s.low, high=s.high, reason=s.reason)
                                 for k, s in MEASURE_SPECS.items() if k in set(study.records.measure)},
                    "records": study.records[["dataset", "family", "protocol", "measure", "seed", "value"]]
                    .to_dict(orient="records") if "protocol" in study.records else
                    study.records.to_dict(orient="records"),
                    "summary": study.summary.drop(columns=["sd"], errors="ignore").to_dict(orient="records"),
                    "comparisons": comps.drop(columns=["seeds"], errors="ignore").to_dict(orient="records"),
                    "verdict": v, "sensitivity": study.verdict["sensitivity"]})


def _page(contract: dict) -> dict:
    page = {k: v for k, v in contract.items() if k != "records"}
    page["records"] = f"{len(contract['records'])} records: in the JSON file (study.json)"
    page["summary"] = [r for r in contract["summary"] if r["measure"] == "accuracy"]  # the rest: study.json
    comps = contract["comparisons"]
    page["comparisons"] = {"columns": CONTRACT, "tsv": "\n".join(
        "\t".join("" if c.get(k) is None else str(c.get(k)) for k in CONTRACT) for c in comps)}
    return page


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
    comps = study.comparisons
    first = comps["protocol"].iloc[0] if len(comps) else None
    svg = study.forest(first)
    aside = {"title": f"Effects with 95% intervals, in units of each measure's equivalence margin (protocol "
                      f"{first}; green band: within the margin; colour: decision)", "svg": svg} if svg else None
    sections = [Section("text", "Are deep models harder to explain? The answers", {"level": 2, "paragraphs": [
        _sentence(h) for h in v["hypotheses"]] + [
        "Decisions: harder/easier when the Holm-adjusted p < 0.05 (by the measure's direction); equivalent when "
        "the two one-sided tests put the effect inside the measure's margin; otherwise inconclusive."],
        "aside": aside})]  # the forest plot beside the answers (below them on a narrow screen)
    table, flags = _accuracy_table(study)
    sections.append(Section("table", "Accuracy (held-out share correct; R² for regression): mean [smallest–largest "
                                     "over seeds]", {"table": table, "note": (
                                         f"⚠ {len(flags)} families fit more than {ACCURACY_GAP:g} below the GLM: "
                                         + "; ".join(flags)) if flags else "No family fits more than "
                                     f"{ACCURACY_GAP:g} below the GLM."}))
    sections += _details(study)
    sections.append(Section("provenance", "Provenance", {"fields": prov}))
    contract = _contract(study, timestamp)
    title = "Are deep models harder to explain? The study, version 2" if study.records_version == 2 else \
        (f"Are deep models harder to explain? The study, version {study.records_version} "
         "(its records re-read with version 2's statistics)")
    return StudyReport(title, sections, prov, {}, None,
                       extra={"study": contract}, page_extra={"study": _page(contract)})
