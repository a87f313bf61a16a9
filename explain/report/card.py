"""A report as the "Explanations" section of a model card (Hugging Face style: YAML front matter + Markdown)."""

from __future__ import annotations

import json
import os

import numpy as np

from ..methods.base import is_control

__all__ = ["model_card"]


def _yaml_value(v) -> str:
    """A scalar in YAML that is also JSON (strings quoted, numbers plain): no YAML library needed."""
    if isinstance(v, (float, np.floating)):
        return "null" if not np.isfinite(v) else f"{float(v):.6g}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return json.dumps(str(v))


def model_card(report, figure_dir=None) -> str:
    from .._utils.atomic import atomic_write_text
    from .render import _md_cell

    lines = ["---", "explain:", f"  schema_version: {_yaml_value('1')}", f"  title: {_yaml_value(report.title)}",
             "  scores:"]
    if report.scores is not None:
        for row in report.scores.itertuples(index=False):
            if is_control(row.method):
                continue
            lines.append(f"    - {{model: {_yaml_value(row.model)}, method: {_yaml_value(row.method)}, "
                         f"metric: {_yaml_value(row.metric)}, value: {_yaml_value(row.value)}, "
                         f"unit: {_yaml_value(getattr(row, 'unit', '-'))}}}")
    lines += ["---", "", "## Explanations", ""]
    for name, result in report.explanations.items():
        lines += [f"### {_md_cell(name)}", ""]
        for e in result:
            if is_control(e.method):
                continue
            top = e.global_importance().head(5)
            exact = "exact" if e.params.get("exact") else "approximate"
            lines.append(f"- **{_md_cell(e.method)}** ({exact}, {e.output}): top features "
                         + ", ".join(f"{_md_cell(f)} ({v:.3g})" for f, v in top.items()))
        lines.append("")
        if figure_dir is not None:
            from . import figures

            os.makedirs(figure_dir, exist_ok=True)
            path = os.path.join(figure_dir, f"importance_{len(os.listdir(figure_dir)):02d}.svg")
            atomic_write_text(path, figures.importance_figure(list(result)))
            lines += [f"![{_md_cell(name)}: global importance]({os.path.basename(os.fspath(figure_dir))}/"
                      f"{os.path.basename(path)})", ""]
    for model, notes in report.notes.items():
        lines += [f"- ⚠ {_md_cell(model)}: {_md_cell(n)}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"
