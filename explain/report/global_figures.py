"""Figures of the report's global views: importance with intervals, PD/ALE curves across models, interaction
heat maps. Inline SVG, drawn as in ``figures.py`` (deterministic bytes, text as paths, long labels wrapped)."""

from __future__ import annotations

import numpy as np

from .figures import BLUE, _draw, _label

__all__ = ["importance_interval_figure", "curves_figure", "interaction_heatmaps"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def importance_interval_figure(entries: dict, features: list, xlabel: str) -> str:
    """One panel per model: bars of importance for ``features`` with the interval as whiskers, one x axis.

    ``entries``: model -> {feature: (mean, low, high)}.
    """
    order = list(features)[::-1]

    def draw(fig):
        axes = fig.subplots(1, len(entries), sharex=True, sharey=True, squeeze=False)[0]
        for ax, (name, values) in zip(axes, entries.items()):
            mean = np.array([values.get(f, (np.nan,) * 3)[0] for f in order])
            low = np.array([values.get(f, (np.nan,) * 3)[1] for f in order])
            high = np.array([values.get(f, (np.nan,) * 3)[2] for f in order])
            err = np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)])
            ax.barh(range(len(order)), mean, color=BLUE, xerr=err, ecolor="#333", capsize=2,
                    error_kw={"lw": 0.8})
            ax.axvline(0, color="#999", lw=0.5)
            ax.set_yticks(range(len(order)), [_label(f) for f in order])
            ax.set_title(_label(name))
            ax.set_xlabel(_label(xlabel, 40))
    return _draw(draw, 2.4 * len(entries) + 1.6, 0.3 * len(order) + 1.4)


def _positions(curve, reference):
    """x positions of a curve: its numbers, or for categories their place among the reference's labels."""
    x, labels = curve
    if labels is None:
        return np.asarray(x, float)
    place = {str(v): k for k, v in enumerate(reference)}
    return np.array([place.get(str(v), np.nan) for v in labels], float)


def curves_figure(panels: dict, ylabel: str, kind: str) -> str:
    """One panel per feature, one line per model, one y axis for all (the models share ``ylabel``'s unit).

    ``panels``: feature -> {model: (x, y, labels)}, ``labels`` the category values of a categorical feature
    (drawn at positions with the values as ticks) or None.
    """
    models = list(dict.fromkeys(m for curves in panels.values() for m in curves))

    def draw(fig):
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, (feature, curves) in zip(axes, panels.items()):
            reference = next((c[2] for c in curves.values() if c[2] is not None), None)
            for name, (x, y, labels) in curves.items():
                colour = _COLOURS[models.index(name) % len(_COLOURS)]
                xs = _positions((x, labels), reference) if reference is not None else np.asarray(x, float)
                order = np.argsort(xs, kind="stable")
                ax.plot(xs[order], np.asarray(y, float)[order], color=colour, marker="." if len(xs) < 30 else None,
                        lw=1.2, label=_label(name, 24))
            if reference is not None:
                ax.set_xticks(range(len(reference)), [_label(str(v), 14) for v in reference], rotation=30,
                              ha="right")
            if kind == "ALE":  # centred curves: 0 is the average prediction
                ax.axhline(0, color="#999", lw=0.4)
            ax.set_xlabel(_label(feature, 30))
            ax.set_title(_label(f"{kind}: {feature}", 30))
        axes[0].set_ylabel(_label(ylabel, 36))
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=7)
    return _draw(draw, 2.6 * len(panels) + 1.2, 2.6)


def interaction_heatmaps(matrices: dict, label: str, per_row: int = 3) -> str:
    """One heat map per model (its top features), at most ``per_row`` a row, every panel on one colour scale
    with one legend.

    ``matrices``: model -> DataFrame (features x features) of a non-negative pair strength (diagonal NaN).
    """
    vmax = max((float(np.nanmax(m.to_numpy(float))) for m in matrices.values() if m.size), default=0.0) or 1.0
    size = max(len(m) for m in matrices.values())
    cols = min(per_row, len(matrices))
    rows = -(-len(matrices) // cols)

    def draw(fig):
        grid = fig.subplots(rows, cols, squeeze=False, gridspec_kw={"wspace": 0.9, "hspace": 0.5})
        axes = list(grid.ravel())
        shown = None
        for ax, (name, m) in zip(axes, matrices.items()):
            values = m.to_numpy(float)
            shown = ax.imshow(np.ma.masked_invalid(values), cmap="Purples", vmin=0, vmax=vmax)
            labels = [_label(x, 16) for x in m.index]
            ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if np.isfinite(values[i, j]):
                        ax.text(j, i, f"{values[i, j]:.2g}", ha="center", va="center", fontsize=5,
                                color="white" if values[i, j] > 0.6 * vmax else "black")
            ax.set_title(_label(name, 24))
        for ax in axes[len(matrices):]:
            ax.set_visible(False)
        bar = fig.colorbar(shown, ax=axes, shrink=0.8 if rows == 1 else 0.5, pad=0.02)
        bar.set_label(_label(label, 40))
    return _draw(draw, (0.5 * size + 1.6) * cols + 1.6, (0.5 * size + 1.0) * rows)
