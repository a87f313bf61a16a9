"""Compact HTML for notebooks (``_repr_html_``): small tables, every user string escaped."""

from __future__ import annotations

import html

__all__ = ["explanation_html", "explanation_set_html", "comparison_html"]


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _top(e, k=5) -> str:
    return ", ".join(f"{name} ({val:.3g})" for name, val in e.global_importance().head(k).items())


def explanation_html(e) -> str:
    n, d = e.shape
    shape = f", image {e.image_shape}" if e.image_shape else ""
    rows = [["method", e.method], ["model", e.model_name], ["output", e.output], ["rows x features", f"{n} x {d}{shape}"],
            ["top features (mean |a|)", _top(e)], ["additivity gap", e.params.get("additivity_gap", "n/a")]]
    return "<div><b>Explanation</b>" + _table(["field", "value"], rows) + "</div>"


def explanation_set_html(s) -> str:
    rows = [[e.method, e.output, _top(e, 3), e.params.get("algorithm", "")] for e in s]
    return f"<div><b>ExplanationSet</b> for {html.escape(s.model_name)}" + \
        _table(["method", "output", "top features", "algorithm"], rows) + "</div>"


def comparison_html(c) -> str:
    from .tables import scorecard_table

    table, _ = scorecard_table(c, digits=3)
    scale = c.params.get("scale") or {}
    head = f"<div><b>Comparison</b> (scorecard, method 'shap'; {html.escape(scale.get('reason', ''))})"
    return head + _table(list(table.columns), table.itertuples(index=False)) + "</div>"
