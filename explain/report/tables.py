"""A report's building blocks as plain data: ``Section`` and the score table (report, notebook view, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics.scale import scorecard_units, shared_unit

__all__ = ["Section", "scorecard_table"]


@dataclass
class Section:
    """One block of a report: its kind picks the template; ``data`` holds plain values."""

    kind: str
    title: str
    data: dict = field(default_factory=dict)
    children: list = field(default_factory=list)


def scorecard_table(comparison, *, digits: int = 4, drop=()) -> tuple[pd.DataFrame, list[str]]:
    """The scorecard as text, metrics as rows (wide tables stay readable), with a unit column.

    A row whose models share one unit shows it in the unit column and plain numbers; a row whose models
    were explained in different outputs says "per cell: not comparable" and puts each cell's unit after
    its number. Returns the table and the metrics of such mixed rows.
    """
    card = comparison.scorecard()
    card = card[[c for c in card.columns if c not in drop]]
    units = scorecard_units(comparison.scores, comparison.models)
    mixed = [m for m in card.columns if units.get(m) and shared_unit(units[m]) is None]
    table = pd.DataFrame({"metric": list(card.columns),
                          "unit": [shared_unit(units.get(m, {})) or ("per cell: not comparable" if m in mixed
                                                                       else "-") for m in card.columns]})
    for model in card.index:
        table[str(model)] = [_cell(card.at[model, m], units[m].get(model) if m in mixed else None, digits)
                             for m in card.columns]
    return table, mixed


def _cell(value, unit=None, digits: int = 4) -> str:
    """A number for display ("–" when missing), followed by its unit when the row has no single unit."""
    if isinstance(value, (float, np.floating)):
        text = "–" if not np.isfinite(value) else f"{value:.{digits}g}"
    else:
        text = str(value)
    return text if unit is None or text == "–" else f"{text} {unit}"
