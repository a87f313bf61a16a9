"""The study's forest plot: every paired comparison's effect with its 95% interval, one panel per hypothesis.

Effects of different measures have different units, so each is drawn in units of
its measure's equivalence margin (stated before the run) and signed so that right
of 0 means "family_a is harder to explain" whatever the measure's direction: the
band between -1 and +1 is "within the margin". Rows are measures; within a row
each comparison (data set x family pair) is one horizontal interval, coloured by
its decision. Intervals reaching beyond +-``CLIP`` margins are cut at the edge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..report.figures import _draw, _label

__all__ = ["forest_figure", "COLOURS", "CLIP"]

COLOURS = {"harder": "#d62728", "easier": "#1f77b4", "equivalent": "#2ca02c", "inconclusive": "#9a9a9a",
           "invalid": "#000000"}
CLIP = 6.0


def _scaled(comps: pd.DataFrame) -> pd.DataFrame:
    """effect, ci_low, ci_high in margins, signed so that > 0 means family_a is harder to explain."""
    sign = np.where(comps["direction"] == "higher", -1.0, 1.0)
    margin = comps["margin"].astype(float).to_numpy()
    lo, hi = comps["ci_low"].to_numpy(float) * sign / margin, comps["ci_high"].to_numpy(float) * sign / margin
    return comps.assign(x=comps["effect"].to_numpy(float) * sign / margin, lo=np.minimum(lo, hi),
                        hi=np.maximum(lo, hi))


def forest_figure(comparisons: pd.DataFrame, hypotheses, *, protocol: str | None = None) -> str:
    """Inline SVG: one panel per hypothesis with comparisons; ``protocol`` keeps one protocol's comparisons."""
    comps = comparisons if protocol is None else comparisons[comparisons.protocol == protocol]
    comps = _scaled(comps[np.isfinite(comps["effect"].astype(float))])
    shown = [h for h in hypotheses if (comps.hypothesis == h.id).any()]
    measures = list(dict.fromkeys(comps["measure"]))
    if not shown or not measures:
        return ""

    def draw(fig):
        axes = fig.subplots(1, len(shown), sharey=True, squeeze=False)[0]
        for ax, hyp in zip(axes, shown):
            sub = comps[comps.hypothesis == hyp.id]
            ax.axvspan(-1, 1, color="#2ca02c", alpha=0.08, lw=0)
            ax.axvline(0, color="#444444", lw=0.8)
            for row, measure in enumerate(measures):
                m = sub[sub.measure == measure]
                if not len(m):
                    continue
                offsets = np.linspace(-0.38, 0.38, len(m)) if len(m) > 1 else np.zeros(1)
                for off, (_, c) in zip(offsets, m.sort_values("x").iterrows()):
                    y = row + off
                    colour = COLOURS.get(c["decision"], "#9a9a9a")
                    lo, hi = np.clip([c["lo"], c["hi"]], -CLIP, CLIP) if np.isfinite(c["lo"]) else (c["x"], c["x"])
                    ax.plot([lo, hi], [y, y], color=colour, lw=0.7, alpha=0.8)
                    ax.plot([np.clip(c["x"], -CLIP, CLIP)], [y], "o", color=colour, ms=2.2)
            ax.set_xlim(-CLIP - 0.3, CLIP + 0.3)
            ax.set_title(_label(f"{hyp.id}: {', '.join(hyp.family_a)} vs {', '.join(hyp.family_b)}", 40))
            ax.set_xlabel("effect / margin (> 0: first family harder to explain)")
            ax.grid(axis="x", color="#dddddd", lw=0.5)
        axes[0].set_yticks(range(len(measures)), [_label(m, 24) for m in measures])
        axes[0].set_ylim(len(measures) - 0.5, -0.5)
        handles = [axes[0].plot([], [], "o-", color=c, lw=0.8, ms=3)[0] for c in COLOURS.values()]
        fig.legend(handles, list(COLOURS), loc="upper center", ncol=len(COLOURS), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))  # below the axis labels (the saved box grows to hold it)
    return _draw(draw, 3.6 * len(shown) + 1.6, 0.42 * len(measures) + 1.6)
