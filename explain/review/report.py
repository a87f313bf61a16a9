"""A diff as a report: the summary, the per-feature table, a slope chart, per-row changes (HTML/MD/JSON)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report import figures
from ..report.build import Report, Section, _table
from .summary import band_sentence

__all__ = ["diff_report"]


def diff_report(d, *, title: str) -> Report:
    f = d.features
    sections = [Section("text", "Summary (generated from the numbers)", {"paragraphs": d.summary})]
    if d.added or d.removed:  # schema changes lead: no band applies to them
        sections.append(Section("text", "Schema change", {"paragraphs": [
            f"Removed: {', '.join(d.removed) or 'none'}.", f"Added: {', '.join(d.added) or 'none'}."]}))
    output = d.meta["output_new"] if d.meta["output_old"] == d.meta["output_new"] else \
        f"{d.meta['output_old']} -> {d.meta['output_new']}"
    head = {"output": output, "top-k overlap": d.metrics["top_k_overlap"],
            f"nDCG@{d.meta['k']}": d.metrics["ndcg_at_k"], "rank correlation": d.metrics["rank_correlation"],
            "features beyond noise": d.metrics["n_flagged"], "sign flips": d.metrics["n_sign_flips"],
            "noise band": d.meta["band"], "refits": d.meta["refits"]}
    sections.append(Section("table", "Headline", {"table": _table(pd.DataFrame([head])), "note": ""}))
    table = f.reset_index().rename(columns={"index": "feature"})
    table["flagged"] = np.where(table["flagged"], "CHANGED", "")
    sections.append(Section("table", f"Per feature, largest change first: global importance (mean "
                                     f"|{d.meta['method']}|, {output}) old and new, the 95% interval of the "
                                     f"change and the noise band", {"table": _table(table),
                                                                    "note": band_sentence(d.meta)}))
    sections.append(Section("figure", f"Importance old -> new in {output} (red: beyond the noise band)", {
        "svg": figures.slope_figure(list(f.index), f["importance_old"], f["importance_new"], f["flagged"],
                                    f"mean |{d.meta['method']}| per feature ({output})")}))
    if d.rows is not None:
        sections.append(Section("figure", "Distribution of per-row changes in contribution", {
            "svg": figures.histogram_figure(d.rows.attrs.get("changes", []), "new - old, every row and feature",
                                            f"change in contribution ({output})")}))
        sections.append(Section("table", "Per explained row: predictions, sign flips, largest changes",
                                {"table": _table(d.rows), "note": ""}))
    return Report(title, sections, {"method": d.meta["method"], "k": d.meta["k"]}, {}, None,
                  extra={"diff": d.to_dict()})
