"""A diff as a report: the summary, the per-feature table, a slope chart, per-row changes (HTML/MD/JSON)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report import figures
from ..report.build import Report, Section, _table

__all__ = ["diff_report"]


def diff_report(d, *, title: str) -> Report:
    f = d.features
    sections = [Section("text", "Summary (generated from the numbers)", {"paragraphs": d.summary})]
    head = {"top-k overlap": d.metrics["top_k_overlap"], f"nDCG@{d.meta['k']}": d.metrics["ndcg_at_k"],
            "rank correlation": d.metrics["rank_correlation"], "features beyond noise": d.metrics["n_flagged"],
            "sign flips": d.metrics["n_sign_flips"]}
    sections.append(Section("table", "Headline", {"table": _table(pd.DataFrame([head])), "note": ""}))
    table = f.reset_index().rename(columns={"index": "feature"})
    table["flagged"] = np.where(table["flagged"], "CHANGED", "")
    sections.append(Section("table", f"Per feature: global importance (mean |{d.meta['method']}|, "
                                     f"{d.meta['output_new']}) with the 95% noise band of the change",
                            {"table": _table(table), "note": ""}))
    sections.append(Section("figure", "Importance old -> new (red: beyond the noise band)", {
        "svg": figures.slope_figure(list(f.index), f["importance_old"], f["importance_new"], f["flagged"],
                                    f"mean |{d.meta['method']}| per feature")}))
    if d.rows is not None:
        sections.append(Section("figure", "Distribution of per-row changes in contribution", {
            "svg": figures.histogram_figure(d.rows.attrs.get("changes", []), "new - old, every row and feature",
                                            f"change in contribution ({d.meta['output_new']})")}))
        sections.append(Section("table", "Per explained row: predictions, sign flips, largest changes",
                                {"table": _table(d.rows), "note": ""}))
    if d.added or d.removed:
        sections.append(Section("text", "Schema change", {"paragraphs": [
            f"Added: {', '.join(d.added) or 'none'}.", f"Removed: {', '.join(d.removed) or 'none'}."]}))
    return Report(title, sections, {"method": d.meta["method"], "k": d.meta["k"]}, {}, None,
                  extra={"diff": d.to_dict()})
